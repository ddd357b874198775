"""Screen 0: the catalogues (users and profiles, roles, custom fields and sections, contract
and lead types, tags, templates, lead status names), a side list of them beside the list of
the one chosen, with the list keys of every other screen."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import N_, _, kind_name
from crm_tui.services import admin, forms
from crm_tui.services.admin import STATUSES, Catalogue
from crm_tui.services.context import Session
from crm_tui.services.rows import ListRows, RecordRows
from screens import keymap
from screens.modals.confirm import ConfirmModal
from screens.modals.service_form import ServiceFormModal
from screens.record_list import COUNT_PROBE, RecordListScreen
from screens.refusals import refusal_text
from widgets.filter_bar import FilterBar


class StatusNameModal(ServiceFormModal):
    """The form that renames a status: the whole width of an 80-column terminal, so no
    sliver of the catalogues behind shows beside it."""

    DEFAULT_CSS = """
    StatusNameModal > #dialog {
        width: 80;
    }
    """


class DeleteEntryModal(ConfirmModal):
    """Whether to delete an entry, and what uses it: as wide as the terminal, like the
    forms, so no sliver of the catalogues behind shows beside it."""

    DEFAULT_CSS = """
    DeleteEntryModal > #dialog {
        width: 80;
        max-width: 100%;
    }
    """


class AdminScreen(RecordListScreen):
    """The catalogues the user is offered (the services say which), one list at a time:
    `[` / `]` (or the side list) choose it; n, enter, e, d and `/` work as on every list."""

    SCREEN_TITLE = N_("0 Admin")
    EMPTY_TEXT = N_("Nothing here yet")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keymap.NEXT_TAB, "next_tab", "Next list", id=keymap.NEXT_TAB_ID,
                tooltip="Show the next catalogue"),
        Binding(keymap.PREVIOUS_TAB, "previous_tab", "Previous list", show=False,
                id=keymap.PREVIOUS_TAB_ID, tooltip="Show the previous catalogue"),
    ]
    """`]` / `[` step through the catalogues (the same keys as tabs elsewhere)."""

    DEFAULT_CSS = """
    AdminScreen {
        & #admin-body {
            height: 1fr;
        }
        & #catalogues {
            width: 26;
            height: 1fr;
            border: none;
            border-right: solid $panel-lighten-1;
            padding: 0;
            scrollbar-size-vertical: 1;
        }
        & #admin-list {
            width: 1fr;
            height: 1fr;
        }
    }
    """

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the screen; the catalogues the user is offered are read once mounted."""
        super().__init__(session, **kwargs)
        self.KIND = ""  # type: ignore[misc]  # the catalogue shown, once chosen
        self.catalogues: list[Catalogue] = []
        self.catalogue: Catalogue | None = None
        self._wanted = ""  # a catalogue asked for before the list of them was read

    # -- layout and sources ------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        """The side list of catalogues beside the filter bar and the chosen one's list."""
        with Horizontal(id="admin-body"):
            yield OptionList(id="catalogues")
            with Vertical(id="admin-list"):
                yield FilterBar(placeholder=_(self.FILTER_HINT))
                yield self.make_table()

    def make_source(self, filters: dict[str, str]) -> Any:
        """The chosen catalogue's rows (none until one is chosen)."""
        entry = self.catalogue
        if entry is None:
            return ListRows([], [])
        if entry.kind == STATUSES:
            return admin.StatusRows(self.session, entry.columns, filters.get("q", ""))
        return RecordRows(self.session, entry.kind, filters, entry.columns, probe=COUNT_PROBE)

    def current_filters(self) -> dict[str, str]:
        """What `/` typed: FIELD=VALUE words and text, as on every list (statuses: text)."""
        if self.catalogue is None:
            return {}
        if self.catalogue.kind == STATUSES:
            return {"q": self.filter_text}
        return super().current_filters()

    def screen_title(self) -> str:
        """"0 Admin · Tags", with the filter in force."""
        title = _(self.SCREEN_TITLE)
        if self.catalogue is not None:
            title += f" · {_(self.catalogue.title)}"
        return title + self.filter_suffix()

    # -- choosing a catalogue ----------------------------------------------------------------

    def on_mount(self, event: events.Mount) -> None:
        """Ask the services which catalogues the user is offered (the list's own mount
        asks about a kind, which is not chosen yet)."""
        event.prevent_default()
        self.call_service(admin.catalogues, self.session, done=self._catalogues_loaded,
                          group="admin.catalogues")

    def _catalogues_loaded(self, entries: list[Catalogue]) -> None:
        self.catalogues = entries
        side = self.query_one("#catalogues", OptionList)
        side.clear_options()
        side.add_options([Option(_(entry.title), id=entry.kind) for entry in entries])
        if entries:
            self.choose(self._position(self._wanted))
        self.focus_list()

    def _position(self, kind: str) -> int:
        """The side list's position of the catalogue of `kind` (the first when not offered)."""
        return next((n for n, entry in enumerate(self.catalogues) if entry.kind == kind), 0)

    def show_catalogue(self, kind: str) -> None:
        """Show the catalogue of `kind` (once the catalogues are read); a catalogue the
        user is not offered leaves the first."""
        self._wanted = kind
        if self.catalogues:
            self.choose(self._position(kind))
            self.focus_list()

    def choose(self, index: int) -> None:
        """Show catalogue number `index` of the side list (its filter cleared)."""
        if not self.catalogues:
            return
        index %= len(self.catalogues)
        entry = self.catalogues[index]
        side = self.query_one("#catalogues", OptionList)
        if side.highlighted != index:
            side.highlighted = index
        if entry is self.catalogue:
            return
        self.catalogue = entry
        self.KIND = entry.kind  # type: ignore[misc]
        self._kind_permissions = None
        self._row_permissions.clear()
        self._cursor_record = None
        bar = self.filter_bar
        if bar is not None:
            bar.hide()
            if bar.value:
                bar.clear()
        self.apply_filter("")
        self._load_kind_permissions()

    def _index(self) -> int:
        return next((n for n, entry in enumerate(self.catalogues) if entry is self.catalogue), 0)

    def action_next_tab(self) -> None:
        """Show the next catalogue."""
        self.choose(self._index() + 1)

    def action_previous_tab(self) -> None:
        """Show the previous catalogue."""
        self.choose(self._index() - 1)

    @on(OptionList.OptionHighlighted, "#catalogues")
    def _side_moved(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self.choose(event.option_index)

    @on(OptionList.OptionSelected, "#catalogues")
    def _side_chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.choose(event.option_index)
        self.focus_list()

    # -- permissions (the services' answers, per catalogue) -----------------------------------

    def _load_kind_permissions(self) -> None:
        kind = self.KIND

        def loaded(permissions: dict[str, bool]) -> None:
            if kind == self.KIND:
                self._kind_permissions_loaded(permissions)
                self._load_row_permissions(self.current_record_id())

        if kind == STATUSES:
            self.call_service(admin.status_permissions, self.session, done=loaded,
                              group="permissions.kind")
        elif kind:
            self.call_service(forms.permissions, self.session, kind, done=loaded,
                              group="permissions.kind")

    def _load_row_permissions(self, record_id: int | None) -> None:
        self._cursor_record = record_id
        kind = self.KIND
        if record_id is None or record_id in self._row_permissions or not kind:
            self.refresh_bindings()
            return
        if kind == STATUSES:
            # Every status name is renamed on the same terms.
            if self._kind_permissions is not None:
                self._row_permissions[record_id] = self._kind_permissions
            self.refresh_bindings()
            return

        def loaded(permissions: dict[str, bool]) -> None:
            if kind == self.KIND:  # not an answer about the catalogue shown before
                self._row_permissions[record_id] = permissions
            self.refresh_bindings()

        self.call_service(forms.permissions, self.session, kind, record_id,
                          done=loaded, group="permissions.row", exclusive=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The list keys as on every list; `[` / `]` once the catalogues are read (not
        while typing a filter)."""
        if action in ("next_tab", "previous_tab"):
            focused = self.focused
            if isinstance(focused, Input):
                return False
            return len(self.catalogues) > 1
        if not self.KIND:
            return action in ("filter", "filter_done") and super().check_action(
                action, parameters)
        return super().check_action(action, parameters)

    def extra_check(self, action: str, record_id: int | None) -> bool | None:
        """Status names are renamed, never added or deleted (the nine are fixed)."""
        if self.KIND == STATUSES and action in ("new_record", "delete_record"):
            return False
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """A greyed `d` asks the services why the entry may not go, and says their line (an
        entry in use by records the user may not see or change: no count, no names)."""
        if action == "delete_record" and self.KIND and self.KIND != STATUSES:
            record_id = self.current_record_id()
            if record_id is not None and self.permission("delete", record_id) is False:
                self.action_delete_record()
                return None
        return super().refusal(action, parameters)

    # -- the keys -----------------------------------------------------------------------------

    def current_record_title(self) -> str:
        """How dialogs name the entry under the cursor (a status by its name)."""
        if self.KIND != STATUSES:
            return super().current_record_title()
        table = self.table
        row = table.get_row(table.cursor_index) if table is not None else None
        return row[1][1] if row else ""

    def edit_record(self, record_id: int) -> None:
        """Edit an entry; a status name in a form of its own (renamed as a setting)."""
        if self.KIND != STATUSES:
            super().edit_record(record_id)
            return
        title = self.current_record_title()
        if self.permission("edit", record_id) is False:
            self.notify(refusal_text("edit", title), severity="warning", timeout=5,
                        markup=False)
            return
        from screens.modals.service_form import field

        session = self.session
        self.app.push_screen(StatusNameModal(
            _("Rename status {number} {name!r}").format(number=record_id, name=title),
            [field("name", _("Name"), title, required=True,
                   help=_("the board and lead lists show it; the order is fixed"))],
            lambda values: admin.rename_status(session, record_id, values["name"])),
            self._renamed)

    def _renamed(self, number: int | None) -> None:
        if number is not None:
            self.notify(_("Renamed status {number}").format(number=number))
            self.records_changed()

    def action_delete_record(self) -> None:
        """Ask, then delete the entry under the cursor: the services say whether it may go
        and what uses it (a superadmin's yes deletes an entry in use, as `--force`)."""
        record_id = self.current_record_id()
        kind = self.KIND
        if record_id is None or not kind or kind == STATUSES:
            return
        title = self.current_record_title() or f"#{record_id}"
        self.call_service(admin.delete_check, self.session, kind, record_id,
                          done=lambda check: self._ask_delete(kind, record_id, title, check),
                          group="admin.delete")

    def _ask_delete(self, kind: str, record_id: int, title: str, check: admin.DeleteCheck,
                    ) -> None:
        if not check.allowed:
            self.notify(check.note, severity="warning", timeout=8, markup=False)
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(admin.delete_entry, self.session, kind, record_id,
                                  done=lambda _none: self._entry_deleted(kind, record_id, title),
                                  group="admin.delete")

        question = _("Delete {kind} {title!r}?").format(kind=kind_name(kind), title=title)
        self.app.push_screen(
            DeleteEntryModal(question, check.note or _("This cannot be undone.")), confirmed)

    def _entry_deleted(self, kind: str, record_id: int, title: str) -> None:
        self.notify(_("Deleted {kind} {title!r}").format(kind=kind_name(kind), title=title))
        if kind == self.KIND:
            self._row_permissions.pop(record_id, None)
            self.records_changed()


__all__ = ["AdminScreen"]
