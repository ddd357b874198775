"""`RecordListScreen`: the paged, filtered list of one record kind with its record keys."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input

from crm_tui.errors import ValidationFailed, error_text
from crm_tui.i18n import N_, _, kind_name
from crm_tui.services import forms
from crm_tui.services.changes import Change
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from crm_tui.services.rows import Column, RecordRows, parse_filter_text
from screens import keymap
from screens.crm_screen import CrmScreen
from screens.refusals import refusal_text
from screens.tables import translated_columns
from widgets.filter_bar import FilterBar
from widgets.lazy_table import LazyTable

# -- a guarded row source ----------------------------------------------------------------


@dataclass
class SourceFailed(Message):
    """The list's row source raised (a bad filter, a lost database)."""

    error: BaseException


class _GuardedSource:
    """Wraps a row source so its errors reach the screen instead of a silent worker."""

    def __init__(self, source: Any, screen: Screen[Any]) -> None:
        self.source = source
        self._screen = screen
        # The table's optional painting hooks pass straight through.
        for hook in ("row_style", "cell_spans"):
            function = getattr(source, hook, None)
            if function is not None:
                setattr(self, hook, function)

    def columns(self) -> list[Any]:
        # Headers are written in English beside the fields they show; translated here.
        return translated_columns(self.source.columns())

    def count(self) -> int:
        try:
            return self.source.count()
        except ValidationFailed as error:
            # A filter the query refuses: show why, and an empty list.
            self._screen.post_message(SourceFailed(error))
            return 0
        except Exception as error:
            self._screen.post_message(SourceFailed(error))
            raise

    def page(self, offset: int, limit: int) -> list[Any]:
        try:
            return self.source.page(offset, limit)
        except Exception as error:
            self._screen.post_message(SourceFailed(error))
            raise


# -- the generic list ----------------------------------------------------------------------

COUNT_PROBE = 10_000
"""Lists first count up to this many rows (instant), then exactly on a thread."""


@dataclass(frozen=True)
class ExportRequest:
    """What the export dialog collected."""

    path: Path
    """The file to write."""
    use_filter: bool
    """Export only the rows matching the list's filter."""


class RecordListScreen(CrmScreen):
    """A paged list of one record kind with `/` filter and n, enter, e, d, i, x keys.

    Extending it (contracts, invoices and leads do):

    - set `KIND` (the record kind, e.g. "contract"), `SCREEN_TITLE`, and `CSV_KIND` (the
      import/export name, e.g. "contracts"; None hides `i` and `x`);
    - optionally `COLUMNS` (a sequence of `crm_tui.services.rows.Column`), `FILTER_HINT`,
      `EMPTY_TEXT`, and `IMPORTABLE = False` for kinds that export only (invoices);
    - override `base_filters()` for filters that always apply (e.g. `{"closed": "0"}`),
      `make_source(filters)` for another row source (a `RecordRows` subclass, other
      columns), `open_record(record_id)` to push a detail screen (default: the edit form,
      read-only when the user may not change the record), `new_record_initial()` for
      prefilled values, `extra_check(action, record_id)` to grey (None) or hide (False)
      screen-specific keys, `records_changed()` to refresh more than the list, and
      `compose_body()` to add widgets around the table (yield `self.make_table()` in it);
    - call `self.reload()` after changing records (`screens.tables.reload_table(table)` for
      other tables), `self.permission("edit", record_id)` for the services' last answer,
      and `self.call_service(fn, *args, done=callback)` for any other service call: it runs
      on a thread, so keys never freeze.

    Keys are declared with stable ids (`record.new`, `record.edit`, …) and `check_action`
    asks the services (`forms.permissions`) whether they apply: hidden without write rights
    to the kind, greyed on a record the user may not change.
    """

    KIND: ClassVar[str] = ""
    """The record kind listed ("company", "contact", "contract", …)."""
    CSV_KIND: ClassVar[str | None] = None
    """The CSV import/export name ("companies"…); None hides `i` and `x`."""
    IMPORTABLE: ClassVar[bool] = True
    """False for kinds that export but do not import (invoices)."""
    COLUMNS: ClassVar[Sequence[Column] | None] = None
    """Columns of the list; None takes the service's default for the kind."""
    FILTER_HINT: ClassVar[str] = N_("text, or FIELD=VALUE…")
    """Placeholder of the filter input."""
    EMPTY_TEXT: ClassVar[str] = N_("Nothing to show")
    """What an empty list says."""
    FOOTER_PALETTE = False
    """Lists have many keys: ctrl+p is listed by `?` instead of the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id=keymap.SEARCH_ID,
                tooltip="Filter the list: words match text, FIELD=VALUE matches a field"),
        Binding("n", "new_record", "New", id=keymap.NEW_ID, tooltip="Create a record"),
        Binding("enter", "open_record", "Open", priority=True, id=keymap.OPEN_ID,
                tooltip="Open the record under the cursor"),
        Binding("enter", "filter_done", "Done", priority=True, show=False,
                id="list.filter_done", tooltip="Apply the filter and go back to the list"),
        Binding("e", "edit_record", "Edit", id=keymap.EDIT_ID,
                tooltip="Edit the record under the cursor"),
        Binding("d", "delete_record", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete the record under the cursor (asks first)"),
        Binding("i", "import_csv", "Import", id="csv.import", tooltip="Import records from CSV"),
        Binding("x", "export_csv", "Export", id="csv.export",
                tooltip="Export what you may see to CSV"),
    ]
    """The list keys; each has a stable id for keymaps and help."""

    DEFAULT_CSS = """
    RecordListScreen {
        & LazyTable {
            height: 1fr;
            scrollbar-size-vertical: 1;
        }
    }
    """

    def __init__(
        self,
        session: Session,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the list for the acting user's `session`."""
        super().__init__(session, name=name, id=id, classes=classes)
        self.filter_text = ""
        self._kind_permissions: dict[str, bool] | None = None
        self._row_permissions: dict[int, dict[str, bool]] = {}
        self._last_source_error: tuple[str, int] | None = None
        self._cursor_record: int | None = None
        self._source: Any = None
        self._table: LazyTable | None = None
        self._filter_bar: FilterBar | None = None

    # -- extension points ---------------------------------------------------------------

    def base_filters(self) -> dict[str, str]:
        """Filters that always apply to this list (override)."""
        return {}

    def current_filters(self) -> dict[str, str]:
        """The base filters plus what the user typed after `/`."""
        filters = dict(self.base_filters())
        if self.filter_text.strip():
            filters.update(parse_filter_text(self.KIND, self.filter_text))
        return filters

    def make_source(self, filters: dict[str, str]) -> Any:
        """The row source of the list (override to change columns or the source).

        The default counts at most COUNT_PROBE rows first, so a huge list paints at once;
        the exact count follows on a thread (any source with `exact_count()` gets that).
        """
        return RecordRows(self.session, self.KIND, filters, self.COLUMNS,
                          probe=COUNT_PROBE)

    def make_table(self) -> LazyTable:
        """The list widget, over the current source."""
        self._source = self.make_source(self.current_filters())
        return LazyTable(self._guard(self._source), id="records", empty_text=_(self.EMPTY_TEXT))

    def _settle_count(self) -> None:
        """If the list was counted only up to the probe, count it exactly on a thread once
        the first rows show, then let the table take the exact count."""
        source = self._source
        if getattr(source, "probing", False):
            self._after_first_page(source, tries=250)

    def _after_first_page(self, source: Any, tries: int) -> None:
        table = self.table
        if table is None or source is not self._source:
            return
        count = table.row_count
        if count is None or (count and table.get_row(table.cursor_index) is None):
            # Not painted yet: the exact count would only slow the first page down.
            if tries:
                self.set_timer(0.02, lambda: self._after_first_page(source, tries - 1))
            return
        if not source.estimated:
            return

        def counted(total: int) -> None:
            current = self.table
            if source is self._source and current is not None and current.row_count != total:
                current.reload()

        self.call_service(source.exact_count, done=counted, failed=lambda _: None,
                          group="list.exact_count", exclusive=True)

    def compose_body(self) -> ComposeResult:
        """The filter bar and the table (override to add widgets)."""
        yield FilterBar(placeholder=_(self.FILTER_HINT))
        yield self.make_table()

    def screen_title(self) -> str:
        """The title, with the filter in force."""
        return _(self.SCREEN_TITLE) + self.filter_suffix()

    def filter_suffix(self) -> str:
        """" · /TEXT" while a filter is in force, else ""."""
        text = self.filter_text.strip()
        return f" · /{text}" if text else ""

    def current_record_id(self) -> int | None:
        """The record under the cursor (override when the screen has other views)."""
        table = self.table
        return table.cursor_row_id if table is not None else None

    def current_record_title(self) -> str:
        """How confirmations name the record under the cursor."""
        table = self.table
        if table is None:
            return ""
        row = table.get_row(table.cursor_index)
        return row[1][0] if row and row[1] else ""

    def open_record(self, record_id: int) -> None:
        """Open a record (override to push a detail screen; default: the edit form)."""
        self.edit_record(record_id)

    def new_record_initial(self) -> dict[str, str]:
        """Prefilled values of a new record (override)."""
        return {}

    def extra_check(self, action: str, record_id: int | None) -> bool | None:
        """Screen-specific key states: True, None (greyed) or False (hidden) (override)."""
        return True

    def records_changed(self) -> None:
        """Records were created, changed or deleted: reload what shows them (override)."""
        self.reload()

    def live_refresh(self, change: Change) -> None:
        """Another process committed a change: re-read the visible rows (screens.live).

        The table draws its old rows until the fresh ones arrive and keeps its cursor row
        and scroll position, so nothing jumps under the user.
        """
        self.records_changed()

    # -- widgets --------------------------------------------------------------------------

    @property
    def table(self) -> LazyTable | None:
        """The list's table, if mounted."""
        # Bindings are checked on every refresh: remember the widget, not a DOM query.
        table = self._table
        if table is None or not table.is_attached:
            table = self._table = next(iter(self.query("#records").results(LazyTable)), None)
        return table

    @property
    def filter_bar(self) -> FilterBar | None:
        """The filter bar, if the screen has one."""
        bar = self._filter_bar
        if bar is None or not bar.is_attached:
            bar = self._filter_bar = next(iter(self.query(FilterBar).results(FilterBar)), None)
        return bar

    def _guard(self, source: Any) -> _GuardedSource:
        return _GuardedSource(source, self)

    def reload(self) -> None:
        """Count again and show fresh pages; ask the per-row permissions again."""
        self._row_permissions.clear()
        invalidate = getattr(self._source, "invalidate", None)
        if invalidate is not None:
            invalidate()
        table = self.table
        if table is not None:
            table.reload()
            self._settle_count()
        # The cursor stays on its row, which announces no move: ask for it now.
        self._load_row_permissions(self._cursor_record)

    def apply_filter(self, text: str) -> None:
        """Show the rows matching `text` (what follows `/`)."""
        self.filter_text = text
        self.set_title(self.screen_title())
        table = self.table
        if table is not None:
            self._source = self.make_source(self.current_filters())
            table.set_source(self._guard(self._source))
            self._settle_count()
        self._row_permissions.clear()

    # -- permissions ------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Ask the services what the user may do with this kind; count the list exactly."""
        self.call_service(forms.permissions, self.session, self.KIND,
                          done=self._kind_permissions_loaded, group="permissions.kind")
        self._settle_count()

    def _kind_permissions_loaded(self, permissions: dict[str, bool]) -> None:
        self._kind_permissions = permissions
        self.refresh_bindings()

    def _load_row_permissions(self, record_id: int | None) -> None:
        self._cursor_record = record_id
        if record_id is None or record_id in self._row_permissions:
            self.refresh_bindings()
            return

        def loaded(permissions: dict[str, bool]) -> None:
            self._row_permissions[record_id] = permissions
            self.refresh_bindings()

        self.call_service(forms.permissions, self.session, self.KIND, record_id,
                          done=loaded, group="permissions.row", exclusive=True)

    def permission(self, what: str, record_id: int | None = None) -> bool | None:
        """The services' answer for `what` ("create", "edit", "delete"), None if not known."""
        if record_id is None:
            if self._kind_permissions is None:
                return None
            return self._kind_permissions.get(what, False)
        row = self._row_permissions.get(record_id)
        return None if row is None else row.get(what, False)

    @on(LazyTable.CursorMoved, "#records")
    def _cursor_moved(self, event: LazyTable.CursorMoved) -> None:
        self._load_row_permissions(event.row_id)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide keys the user has no right to at all; grey those that do not apply here."""
        focused = self.focused
        filter_focused = isinstance(focused, Input) and isinstance(focused.parent, FilterBar)
        if action == "filter_done":
            return filter_focused
        if action == "open_record":
            return self._list_focused() and self.current_record_id() is not None
        if filter_focused and action in ("new_record", "edit_record", "delete_record",
                                         "import_csv", "export_csv", "filter"):
            # Typing in the filter: its keys are letters, not commands.
            return False
        record_id = self.current_record_id()
        if action == "new_record":
            return self._state(self.permission("create"), action, None)
        if action in ("edit_record", "delete_record"):
            if self.permission("create") is False and self.permission("edit", record_id) is not True:
                return False
            if record_id is None:
                return None
            allowed = self.permission("edit" if action == "edit_record" else "delete", record_id)
            return self._state(None if not allowed else True, action, record_id)
        if action == "import_csv":
            if self.CSV_KIND is None or not self.IMPORTABLE:
                return False
            return self._state(self.permission("create"), action, None)
        if action == "export_csv":
            return self.CSV_KIND is not None and self.extra_check(action, record_id) is not False
        return self.extra_check(action, record_id)

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Edit and delete on a row the services said the user may not change."""
        if action not in ("edit_record", "delete_record"):
            return None
        record_id = self.current_record_id()
        if record_id is None:
            return None
        what = "edit" if action == "edit_record" else "delete"
        if self.permission(what, record_id) is not False:
            return None  # allowed, or not known yet
        return refusal_text(what, self.current_record_title() or f"#{record_id}")

    def _state(self, allowed: bool | None, action: str, record_id: int | None) -> bool | None:
        if allowed is False:
            return False
        extra = self.extra_check(action, record_id)
        if extra is False:
            return False
        if allowed is None or extra is None:
            return None
        return True

    def _list_focused(self) -> bool:
        return isinstance(self.focused, LazyTable) and self.focused.id == "records"

    # -- actions --------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Open the filter bar."""
        bar = self.filter_bar
        if bar is not None:
            bar.show()
            self.refresh_bindings()

    def action_filter_done(self) -> None:
        """Apply the filter now and go back to the list."""
        bar = self.filter_bar
        if bar is not None:
            bar.flush()
            bar.hide()
        self.focus_list()

    def focus_list(self) -> None:
        """Give the focus back to the list."""
        table = self.table
        if table is not None:
            table.focus()
        self.refresh_bindings()

    @on(FilterBar.FilterChanged)
    def _filter_changed(self, event: FilterBar.FilterChanged) -> None:
        self.apply_filter(event.text)

    @on(FilterBar.Closed)
    def _filter_closed(self, event: FilterBar.Closed) -> None:
        self.focus_list()

    @on(SourceFailed)
    def _source_failed(self, event: SourceFailed) -> None:
        # Every page of a broken source fails alike: say it once, not once per page.
        text = error_text(event.error)
        now = time.monotonic()
        if self._last_source_error == (text, int(now // 10)):
            return
        self._last_source_error = (text, int(now // 10))
        self.show_error(event.error)

    def action_open_record(self) -> None:
        """Open the cursor row (the table answers once the row's page has arrived)."""
        table = self.table
        if table is not None:
            table.action_select_row()

    @on(LazyTable.RowSelected, "#records")
    def _row_selected(self, event: LazyTable.RowSelected) -> None:
        self.open_record(event.row_id)

    def action_new_record(self) -> None:
        """Open the form for a new record."""
        from screens.modals.record_form import RecordFormModal

        if self.KIND in ("company", "contact"):
            # Kinds with a duplicate rule look for duplicates before saving.
            from screens.modals.lead_duplicates import NewRecordModal

            form = NewRecordModal(self.session, self.KIND, initial=self.new_record_initial())

            def done(record_id: int | None) -> None:
                # An existing record opened or merged into instead: show it.
                if record_id is not None and form.chosen in ("open", "merge"):
                    self.records_changed()
                    self.open_record(record_id)
                else:
                    self._saved(record_id)

            self.app.push_screen(form, done)
            return
        form = RecordFormModal(self.session, self.KIND, None, initial=self.new_record_initial())
        self.app.push_screen(form, self._saved)

    def action_edit_record(self) -> None:
        """Edit the record under the cursor."""
        record_id = self.current_record_id()
        if record_id is not None:
            self.edit_record(record_id)

    def edit_record(self, record_id: int) -> None:
        """Open the edit form of a record."""
        from screens.modals.record_form import RecordFormModal

        title = self.current_record_title() if record_id == self.current_record_id() else ""
        read_only = self.permission("edit", record_id) is False
        heading = None
        if title:
            heading = (_("View {kind} {title!r}") if read_only else _("Edit {kind} {title!r}")
                       ).format(kind=kind_name(self.KIND), title=title)
        self.app.push_screen(
            RecordFormModal(self.session, self.KIND, record_id, title=heading,
                            read_only=read_only),
            self._saved,
        )

    def _saved(self, record_id: int | None) -> None:
        if record_id is not None:
            self.notify(_("Saved {kind} #{id}").format(kind=kind_name(self.KIND), id=record_id))
            self.records_changed()

    def action_delete_record(self) -> None:
        """Ask, then delete the record under the cursor."""
        from screens.modals.confirm import ConfirmModal

        record_id = self.current_record_id()
        if record_id is None:
            return
        title = self.current_record_title() or f"#{record_id}"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(get_kind(self.KIND).delete, self.session, record_id,
                                  done=lambda _: self._deleted(record_id, title))

        self.app.push_screen(
            ConfirmModal(_("Delete {kind} {title!r}?").format(kind=kind_name(self.KIND),
                                                                title=title),
                         _("This cannot be undone.")),
            confirmed,
        )

    def _deleted(self, record_id: int, title: str) -> None:
        self.notify(_("Deleted {kind} {title!r}").format(kind=kind_name(self.KIND), title=title))
        self._row_permissions.pop(record_id, None)
        self.records_changed()

    def action_import_csv(self) -> None:
        """Pick a CSV file, see the dry run, confirm, and import with a progress bar."""
        if self.CSV_KIND is None:
            return
        from screens.modals.import_csv import ImportCsvModal, run_import

        def chosen(request: Any) -> None:
            if request is not None:
                run_import(self, self.session, request, done=self._imported)

        self.app.push_screen(ImportCsvModal(self.session, self.CSV_KIND), chosen)

    def _imported(self, created: int) -> None:
        if created:
            self.records_changed()

    def action_export_csv(self) -> None:
        """Ask for a file name, then export what the user may see."""
        if self.CSV_KIND is None:
            return
        from screens.modals.export_csv import ExportCsvModal

        default = Path.cwd() / f"{self.CSV_KIND}-{dt.date.today():%Y%m%d}.csv"
        has_filter = bool(self.filter_text.strip() or self.base_filters())

        def chosen(request: ExportRequest | None) -> None:
            if request is not None:
                self.export_to(request)

        self.app.push_screen(ExportCsvModal(self.CSV_KIND, default, has_filter), chosen)

    def export_to(self, request: ExportRequest) -> None:
        """Write the export on a thread and say how many rows went out."""
        from screens.modals.export_csv import write_export

        filters = self.current_filters() if request.use_filter else None
        kind = self.CSV_KIND
        assert kind is not None

        def written(count: int) -> None:
            self.notify(_("Exported {count} {kind} to {path}").format(
                count=count, kind=kind_name(kind), path=request.path))

        self.call_service(write_export, self.session, kind, request.path, filters,
                          done=written, group="export")

