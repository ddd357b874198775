"""`DetailScreen`, the base of one record's detail, and the blocks the detail screens show."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from crm_tui import formatting
from crm_tui.errors import NotFound
from crm_tui.i18n import _, kind_name
from crm_tui.services.changes import Change
from crm_tui.services.rows import cell_text
from screens import keymap
from screens.crm_screen import CrmScreen
from screens.tables import reload_table
from widgets.lazy_table import LazyTable


def detail_block(title: str, rows: Iterable[tuple[str, str]]) -> Vertical:
    """A titled block of label/value rows, as the detail screens show a record's fields.

    The screens style `.detail-section`, `.detail-row`, `.detail-label` and `.detail-value`.
    """
    block = Vertical(*[
        Horizontal(Label(label, classes="detail-label", markup=False),
                   Static(text, classes="detail-value", markup=False),
                   classes="detail-row")
        for label, text in rows
    ], classes="detail-section")
    block.border_title = _(title)
    return block


def files_block(files: Iterable[dict[str, Any]]) -> Vertical:
    """A record's files (as `attachments.files_of` lists them) as a detail block."""
    rows = [(f["name"], _("{size} bytes, {author}, {created}").format(
                size=formatting.count_text(f["size"]), author=f["author"],
                created=cell_text(f.get("created"), "datetime"))) for f in files]
    return detail_block(_("Files"), rows or [("", _("No files yet. Press t to attach one."))])


class DetailScreen(CrmScreen):
    """One record's detail: blocks of labelled values (`detail_block`), often in tabs.

    Subclasses declare the `[` / `]` bindings (actions `previous_tab` / `next_tab`) when
    they have tabs; the tabs are stepped in the order their panes were composed.
    """

    DEFAULT_CSS = """
    DetailScreen {
        & TabbedContent {
            height: 1fr;
        }
        & TabPane {
            padding: 0;
        }
        & #details, #files, #notes {
            height: 1fr;
            padding: 0 1;
        }
        & .detail-section {
            height: auto;
            border: round $panel-lighten-1;
            border-title-color: $accent;
            padding: 0 1;
        }
        & .detail-row {
            height: auto;
        }
        & .detail-label {
            width: 20;
            color: $text-muted;
        }
        & .detail-value {
            width: 1fr;
        }
        & LazyTable {
            height: 1fr;
            scrollbar-size-vertical: 1;
        }
        & .placeholder {
            color: $text-muted;
            padding: 1 1;
        }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(keymap.BACK, "back", "Back", id=keymap.BACK_ID, show=False,
                tooltip="Back to where you came from"),
        Binding("H", "show_history", "History", id=keymap.HISTORY_ID, show=False,
                tooltip="Who changed what, and when"),
    ]
    """escape goes back, H shows the record's history (every detail screen)."""

    def action_back(self) -> None:
        """Back to where the screen was opened from."""
        self.dismiss()

    #: The kind and the attribute holding the record's id, for the history (`H`).
    record_kind: ClassVar[str] = ""
    record_id_attr: ClassVar[str] = ""

    def action_show_history(self) -> None:
        """Show who changed this record, what and when."""
        show_history(self, self.record_kind, getattr(self, self.record_id_attr))

    # -- reading and showing the record -------------------------------------------------

    _shown_data: Any = None

    def read_data(self) -> Any:
        """Read what the screen shows, through the services (runs on a thread; override)."""
        raise NotImplementedError

    def show_data(self, data: Any) -> None:
        """Show what `read_data` returned (override)."""
        raise NotImplementedError

    def reload(self) -> None:
        """Read the record again and show it; back to the list when it cannot be shown."""
        self.call_service(self.read_data, done=self._show_read, failed=self._cannot_show,
                          group=f"{self.record_kind}.load", exclusive=True)

    def _show_read(self, data: Any) -> None:
        self._shown_data = data
        self.show_data(data)

    def _cannot_show(self, error: BaseException) -> None:
        self.show_error(error)
        self.app.pop_screen()

    def live_refresh(self, change: Change) -> None:
        """Another process committed a change: read the record again, and show it only if
        what it shows changed, where the user had scrolled to (screens.live).

        An edit form open over this screen is left alone: its save meets the per-field
        conflict rule instead.
        """
        self.call_service(self.read_data, done=self._show_if_changed, failed=self._live_failed,
                          group=f"{self.record_kind}.load", exclusive=True)
        for table in self.query(LazyTable).results(LazyTable):
            reload_table(table)

    def _show_if_changed(self, data: Any) -> None:
        if data == self._shown_data:
            return
        offsets = [(box, box.scroll_y) for box in self.query(VerticalScroll)]
        self._show_read(data)

        def restore() -> None:
            for box, y in offsets:
                if box.is_attached:
                    box.scroll_to(y=y, animate=False, force=True)

        # The new blocks are laid out on the next refresh; scroll back once they are.
        self.call_after_refresh(lambda: self.call_after_refresh(restore))

    def _live_failed(self, error: BaseException) -> None:
        if isinstance(error, NotFound):
            # Deleted (or no longer visible) meanwhile: say so once, and leave when on top.
            self.notify(_("This {kind} was deleted or is no longer visible to you").format(
                            kind=kind_name(self.record_kind)),
                        severity="warning", timeout=8)
            if self.is_current:
                self.app.pop_screen()
            return
        self.show_error(error)

    def action_next_tab(self) -> None:
        """Show the next tab."""
        self._step_tab(1)

    def action_previous_tab(self) -> None:
        """Show the previous tab."""
        self._step_tab(-1)

    def _step_tab(self, step: int) -> None:
        from textual.widgets import TabbedContent, TabPane

        tabs = self.query_one(TabbedContent)
        ids = [pane.id for pane in tabs.query(TabPane) if pane.id]
        current = ids.index(tabs.active) if tabs.active in ids else 0
        tabs.active = ids[(current + step) % len(ids)]
        pane = tabs.get_pane(tabs.active)
        focusable = [w for w in pane.query("*") if w.focusable]
        if focusable:
            focusable[0].focus()


def show_history(screen: CrmScreen, kind: str, record_id: int) -> None:
    """Open the history of one record over `screen`."""
    from screens.modals.history import HistoryModal

    screen.app.push_screen(HistoryModal(screen.session, kind, record_id, screen.screen_title()))

