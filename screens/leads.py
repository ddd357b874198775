"""Screen 5: the lead list, paged from the database, with quick and advanced search, saved
searches, tag colours, the lead types' visible custom fields as columns, and mass edits."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType

from crm_tui.i18n import N_, _, ngettext
from crm_tui.services import lead_mass
from crm_tui.services.context import Session
from crm_tui.services.lead_rows import LEAD_COLUMNS, LeadRows, lead_list_columns
from crm_tui.services.rows import Column
from screens.lead_detail import safe_colour
from screens.list_sort import SORT_BINDING, SortedList
from screens.mass_flow import MassFlow, first_upper
from screens.record_list import RecordListScreen
from widgets.lazy_table import LazyTable

#: The lead list counts this many rows before painting (a few screenfuls); the exact
#: count follows on a thread. A small probe keeps a search for a common name quick.
LEAD_COUNT_PROBE = 200


class _TintedRows(LeadRows):
    """Lead rows whose Tags cell shows each tag in its colour (read-only rows stay dim)."""

    def cell_spans(self, row_id: int, cells: tuple[str, ...]) -> dict[int, list[tuple[int, int, str]]]:
        """Each tag's name in the Tags cell, in the tag's colour when Rich knows it."""
        keys = [column.key for column in self.columns()]
        if "tags" not in keys:
            return {}
        position = keys.index("tags")
        text = cells[position] if position < len(cells) else ""
        spans: list[tuple[int, int, str]] = []
        start = 0
        for name, colour in self.tag_chips(row_id):
            found = text.find(name, start)
            if found < 0:
                break
            start = found + len(name)
            known = safe_colour(colour) if colour else None
            if known:
                spans.append((found, start, f"bold {known}"))
        return {position: spans} if spans else {}


class LeadsScreen(MassFlow, SortedList, RecordListScreen):
    """Leads: `/` quick search, `f` advanced search and saved searches, `c` closed leads,
    `o` sorts, space marks rows, `m` edits the marked leads at once, enter opens a lead."""

    KIND = "lead"
    CSV_KIND = "leads"
    SCREEN_TITLE = N_("5 Leads")
    FILTER_HINT = N_("name, email or company; owner=LOGIN status=N country=… tag=…")
    EMPTY_TEXT = N_("No leads")
    AUTO_FOCUS = "#records"
    COLUMNS = LEAD_COLUMNS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "advanced_search", "Search", id="leads.search",
                tooltip="Advanced search: owner, status, country, type and fields, tag, "
                        "dates; saved searches"),
        Binding("c", "toggle_closed", "Closed", id="leads.closed",
                tooltip="Show or hide closed leads"),
        Binding("m", "mass_edit", "Mass edit", id="leads.mass_edit",
                tooltip="Owner, status, tags or delete for the marked leads (space marks)"),
        SORT_BINDING,
    ]
    """Lead keys beside the list's n, enter, e, d, i, x and /."""

    def __init__(self, session: Session, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the list for `session` (open leads, no search)."""
        super().__init__(session, name=name, id=id, classes=classes)
        self.search: dict[str, str] = {}
        self.columns: list[Column] = list(LEAD_COLUMNS)

    # -- the list -------------------------------------------------------------------------

    def base_filters(self) -> dict[str, str]:
        """The advanced search, and open leads only unless closed ones are asked for."""
        filters = dict(self.search)
        filters.setdefault("closed", "0")
        return filters

    @property
    def show_closed(self) -> bool:
        """Whether closed leads are listed."""
        return self.search.get("closed") == "1"

    def make_source(self, filters: dict[str, str]) -> Any:
        """Lead rows (with tag colours) over the current columns; counted up to a probe
        first, so a million leads paint as fast as a hundred (the exact count follows)."""
        return _TintedRows(self.session, filters, self.columns, probe=LEAD_COUNT_PROBE,
                           sort=self.sort)

    def make_table(self) -> LazyTable:
        """The list, with space marking rows for mass edits."""
        table = super().make_table()
        table.multi_select = True
        return table

    def screen_title(self) -> str:
        """The title says which search applies."""
        parts = [_(self.SCREEN_TITLE)]
        if self.search.keys() - {"closed"}:
            parts.append(_("search"))
        if self.show_closed:
            parts.append(_("with closed"))
        return " · ".join(parts) + self.sort_title()

    def on_mount(self) -> None:
        """Add the lead types' visible custom fields as columns (RecordListScreen's own
        mount handler asks for the permissions)."""
        self.call_service(lead_list_columns, self.session, done=self._got_columns,
                          group="leads.columns")

    def _got_columns(self, columns: list[Column]) -> None:
        if [c.key for c in columns] != [c.key for c in self.columns]:
            self.columns = columns
            self.refilter()

    def refilter(self) -> None:
        """Show the list again under the current search (marks are cleared)."""
        self.set_title(self.screen_title())
        self.apply_filter(self.filter_text)

    def open_record(self, record_id: int) -> None:
        """Enter: the lead's detail view."""
        from screens.lead_detail import LeadDetailScreen

        def closed(_: object) -> None:
            self.reload()
            # Opening his own lead may have seen its new mail: the status line counts it.
            refresh = getattr(self.app, "refresh_mail_status", None)
            if refresh is not None:
                refresh()

        self.app.push_screen(LeadDetailScreen(self.session, record_id), closed)

    def action_new_record(self) -> None:
        """The new-lead form, which warns about duplicates before saving."""
        from screens.modals.lead_duplicates import NewLeadModal

        def done(lead_id: int | None) -> None:
            if lead_id is not None:
                self.records_changed()
                self.open_record(lead_id)

        self.app.push_screen(NewLeadModal(self.session, initial=self.new_record_initial()),
                             done)

    def extra_check(self, action: str, record_id: int | None) -> bool | None:
        """Mass edit needs marked rows or a row under the cursor."""
        if action == "mass_edit":
            table = self.table
            if table is None:
                return None
            return True if (table.selected_ids or record_id is not None) else None
        if action == "cycle_sort":
            return self.sort_check(action)
        return True

    # -- search ---------------------------------------------------------------------------

    def action_advanced_search(self) -> None:
        """Every filter in one form, with saved searches."""
        from screens.modals.lead_search import LeadSearchModal

        def chosen(filters: dict[str, str] | None) -> None:
            if filters is not None:
                self.search = dict(filters)
                self.refilter()

        self.app.push_screen(LeadSearchModal(self.session, self.search), chosen)

    def action_toggle_closed(self) -> None:
        """Show or hide closed leads."""
        if self.show_closed:
            self.search.pop("closed", None)
        else:
            self.search["closed"] = "1"
        self.refilter()

    # -- mass edit ------------------------------------------------------------------------

    def selected_leads(self) -> list[int]:
        """The marked leads, or the one under the cursor when none is marked."""
        table = self.table
        if table is None:
            return []
        if table.selected_ids:
            return sorted(table.selected_ids)
        record_id = self.current_record_id()
        return [record_id] if record_id is not None else []

    def action_mass_edit(self) -> None:
        """Pick an operation and its value, confirm, and apply it to the selected leads."""
        from screens.modals.mass_edit import MassEditModal, MassRequest

        chosen_ids = self.selected_leads()
        if not chosen_ids:
            return

        def picked(request: MassRequest | None) -> None:
            if request is not None:
                self._confirm_mass(request, chosen_ids)

        self.app.push_screen(MassEditModal(self.session, len(chosen_ids)), picked)

    def _confirm_mass(self, request: Any, lead_ids: list[int]) -> None:
        from screens.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run_mass(request, lead_ids, partial=False)

        detail = _("This cannot be undone.") if request.action == "delete" else _(
            "Each lead is checked against your rights; nothing changes if one is refused.")
        question = ngettext("{action} on {count} lead?", "{action} on {count} leads?",
                            len(lead_ids)).format(action=first_upper(request.label),
                                                  count=len(lead_ids))
        self.app.push_screen(
            ConfirmModal(question, detail),
            confirmed)

    MASS_REFUSED = lead_mass.MassRefused
    MASS_GROUP = "leads.mass"

    def _mass(self, request: Any, lead_ids: list[int], partial: bool) -> lead_mass.MassResult:
        return lead_mass.mass_update(self.session, lead_ids, request.action, request.value,
                                 partial=partial)

    def _partial_question(self, refused: int, allowed: int, ids: list[int]) -> str:
        return _("{refused} of {count} leads may not be changed. Apply to the other "
                 "{allowed}?").format(refused=refused, count=len(ids), allowed=allowed)
