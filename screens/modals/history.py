"""One record's history: who changed which field, when, from which face (key `H`)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from crm_tui.errors import error_text
from crm_tui.i18n import _
from crm_tui.services import history
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service


def history_lines(entries: list[dict[str, Any]]) -> list[str]:
    """The history as lines: a heading per change, then one line per field."""
    lines: list[str] = []
    for entry in reversed(entries):  # newest first, as a timeline reads
        lines.append(f"{entry['at'].replace('T', ' ').rstrip('Z')}  {entry['user']}"
                     f" ({entry['face']})  {entry['action']}")
        for field, (old, new) in entry["changes"].items():
            lines.append(f"    {field}: {_shown(old)} → {_shown(new)}")
    return lines or [_("No changes recorded.")]


def _shown(value: Any) -> str:
    if value is None or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    text = str(value).replace("\n", " ")
    return text if len(text) <= 40 else text[:39] + "…"


class HistoryModal(Dialog[None]):
    """The history of one record, newest first; escape closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id=keymap.BACK_ID, tooltip="Back to the record"),
        Binding("H", "toggle", "Close", id=keymap.HISTORY_ID, show=False,
                tooltip="Back to the record"),
    ]
    """Escape (or H again) closes."""

    DEFAULT_CSS = """
    HistoryModal {
        align: center middle;
        & > #dialog {
            width: 78;
            max-width: 100%;
            height: 90%;
            border: thick $primary 60%;
            background: $surface;
        }
        & #history-title {
            text-style: bold;
            width: 100%;
            padding: 0 1;
            background: $panel;
        }
        & #history {
            height: 1fr;
            padding: 0 1;
        }
    }
    """

    def __init__(self, session: Session, kind: str, record_id: int, title: str) -> None:
        """Create the dialog for one record (`title` names it in the heading)."""
        super().__init__()
        self.session = session
        self.kind = kind
        self.record_id = record_id
        self.title_text = _("History of {title}").format(title=title)

    def compose(self) -> ComposeResult:
        """The heading and the lines (loaded on a thread)."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="history-title", markup=False)
            with VerticalScroll(id="history"):
                yield Static(_("Loading…"), id="history-lines", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Read the history."""
        run_service(self, history.of_record, self.session, self.kind, self.record_id,
                    done=self._show, failed=self._failed, group="history.load")
        self.query_one("#history").focus()

    def _show(self, entries: list[dict[str, Any]]) -> None:
        self.query_one("#history-lines", Static).update("\n".join(history_lines(entries)))

    def _failed(self, error: BaseException) -> None:
        self.query_one("#history-lines", Static).update(error_text(error))

    def action_toggle(self) -> None:
        """Back to the record (H again)."""
        self.dismiss(None)

    def action_close(self) -> None:
        """Back to the record."""
        self.dismiss(None)
