"""Small lead dialogs: write a note for the timeline, or name a file to attach."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, TextArea

from crm_tui.i18n import _
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter


class LeadNoteModal(Dialog[str | None]):
    """A note for a lead's timeline; dismisses with its text (ctrl+s) or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", id=keymap.SAVE_ID, tooltip="Add the note"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close without adding"),
    ]
    """ctrl+s adds the note, escape gives up."""

    DEFAULT_CSS = """
    LeadNoteModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: 14;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #note-title {
            text-style: bold;
        }
        & TextArea {
            height: 1fr;
        }
    }
    """

    def __init__(self, title: str) -> None:
        """Create the dialog titled `title`."""
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        """The title and the text area."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="note-title", markup=False)
            yield TextArea(id="note", soft_wrap=True, compact=True)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start typing at once."""
        self.query_one("#note", TextArea).focus()

    def action_save(self) -> None:
        """Close with the text (an empty note is refused by the services, not here)."""
        self.dismiss(self.query_one("#note", TextArea).text)

    def action_cancel(self) -> None:
        """Close without a note."""
        self.dismiss(None)


class AttachPathModal(Dialog[str | None]):
    """Asks for the path of a file to attach; dismisses with it (enter) or None (escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Attach nothing"),
    ]
    """Enter attaches, escape gives up."""

    DEFAULT_CSS = """
    AttachPathModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: auto;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #attach-title {
            text-style: bold;
        }
        & #attach-hint {
            color: $text-muted;
        }
    }
    """

    def __init__(self, title: str) -> None:
        """Create the dialog titled `title`."""
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        """The title, the path input and a hint."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="attach-title", markup=False)
            yield Input(placeholder=_("path of the file, e.g. ~/offer.pdf"), id="path",
                        compact=True)
            yield Label(_("enter attaches · escape cancels"), id="attach-hint")
        yield KeyFooter(show_command_palette=False)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: close with the path."""
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        """Close without a path."""
        self.dismiss(None)
