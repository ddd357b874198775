"""A yes/no question; every delete asks one."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label

from crm_tui.i18n import _
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter


class ConfirmModal(Dialog[bool]):
    """Ask a question; dismisses with True (y) or False (n, escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Go ahead"),
        Binding("n", "answer(False)", "No", id="confirm.no", tooltip="Keep things as they are"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, show=False,
                tooltip="Keep things as they are"),
    ]
    """y answers yes; n answers no, and escape closes as every dialog does (no)."""

    DEFAULT_CSS = """
    ConfirmModal {
        align: center middle;
        & > #dialog {
            width: 60;
            max-width: 90%;
            height: auto;
            border: thick $error 60%;
            background: $surface;
            padding: 1 2;
        }
        & #question {
            text-style: bold;
            width: 100%;
        }
        & #detail {
            color: $text-muted;
            width: 100%;
        }
        & #keys {
            margin-top: 1;
            color: $text-muted;
        }
    }
    """

    def __init__(self, question: str, detail: str = "") -> None:
        """Create the dialog with a question and an optional line of detail."""
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        """The question, the detail and the keys."""
        with Vertical(id="dialog"):
            yield Label(self.question, id="question", markup=False)
            if self.detail:
                yield Label(self.detail, id="detail", markup=False)
            yield Label(_("y yes · n no"), id="keys")
        yield KeyFooter(show_command_palette=False)

    def action_cancel(self) -> None:
        """Close with no."""
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        """Close with the answer."""
        self.dismiss(yes)
