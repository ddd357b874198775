"""Read one message: its sender, subject, reason and the text it would be filed with."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from crm_tui.i18n import _
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter


class MailTextModal(Dialog[None]):
    """A message to read; escape (or q) closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id=keymap.BACK_ID, tooltip="Back to the list"),
    ]
    """escape and q close the message."""

    DEFAULT_CSS = """
    MailTextModal {
        align: center middle;
        & > #dialog {
            width: 90%;
            height: 90%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #mail-title {
            text-style: bold;
        }
        & #mail-reason {
            color: $warning;
        }
    }
    """

    def __init__(self, title: str, reason: str, text: str) -> None:
        """Create the view of a message titled `title`, unfiled because of `reason`."""
        super().__init__()
        self.title_text, self.reason, self.text = title, reason, text

    def compose(self) -> ComposeResult:
        """Title, reason, and the message text (scrolls)."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="mail-title", markup=False)
            yield Label(_("Why: {reason}").format(reason=self.reason), id="mail-reason", markup=False)
            with VerticalScroll(id="mail-body"):
                yield Static(self.text, markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Scroll with the keys at once."""
        self.query_one("#mail-body").focus()

    def action_close(self) -> None:
        """Back to the list."""
        self.dismiss(None)
