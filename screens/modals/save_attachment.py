"""The save-a-file dialog (`w` on the lead, contract and invoice details): pick one of the
record's files and write a copy of it to a path on the machine crm runs on.

The copy is written by the service on a thread; the dialog closes only once it is written,
so a refused path keeps the choice and shows why. A file that exists is replaced only after
the user says yes. Dismisses with the path written, or None when cancelled.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.errors import Conflict, error_text
from crm_tui.i18n import _
from crm_tui.services import attachments
from crm_tui.services.context import Session
from crm_tui.services.rows import cell_text
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.lead_detail import size_text
from screens.service_calls import run_service

NAME_WIDTH = 30
"""Characters of a file's name shown in the list (the rest is cut with an ellipsis)."""


def file_line(item: dict[str, Any], kind: str) -> Text:
    """One file as the list shows it: name, size, where it comes from, when it was added."""
    name = item["name"]
    if len(name) > NAME_WIDTH:
        name = name[:NAME_WIDTH - 1] + "…"
    origin = kind if item.get("entry") is None else f"activity #{item['entry']}"
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(name.ljust(NAME_WIDTH))
    text.append(f" {size_text(item['size']):>9}  ")
    text.append(origin.ljust(13), style="italic")
    text.append(cell_text(item["created"], "datetime"), style="dim")
    return text


class SaveAttachmentModal(Dialog[Path | None]):
    """Choose one of a record's files and where to save a copy of it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save", priority=True, id=keymap.SAVE_ID,
                tooltip="Write a copy of the chosen file to the path"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Close without saving"),
    ]
    """ctrl+s (or enter in the path) saves; escape closes."""

    DEFAULT_CSS = """
    SaveAttachmentModal {
        align: center middle;
        & > #dialog {
            width: 78;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #save-title {
            text-style: bold;
            width: 100%;
            background: $panel;
        }
        & OptionList {
            height: auto;
            max-height: 12;
            margin-top: 1;
        }
        & #path-row {
            height: 1;
            margin-top: 1;
            & > Label {
                width: 9;
                color: $text-muted;
            }
            & > Input {
                width: 1fr;
            }
        }
        & #save-note {
            margin-top: 1;
            color: $text-muted;
            width: 100%;
        }
        & #save-note.-error {
            color: $error;
        }
    }
    """

    def __init__(self, session: Session, kind: str, record_id: int, title: str = "") -> None:
        """Create the dialog.

        Args:
            session: The acting user.
            kind: company, contract, invoice or lead.
            record_id: The record whose files are listed.
            title: The dialog's title (default: "Save a file of <kind> #<id>").
        """
        super().__init__()
        self.session = session
        self.kind = kind
        self.record_id = record_id
        self.title_text = title or _("Save a file of {kind} #{record_id}").format(kind=kind, record_id=record_id)
        self.files: list[dict[str, Any]] = []
        self._busy = False

    def compose(self) -> ComposeResult:
        """Title, the files, the path and a note."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="save-title", markup=False)
            yield OptionList(id="files", compact=True, markup=False)
            with Horizontal(id="path-row"):
                yield Label(_("Save to"))
                yield Input(str(Path.home()), id="path", compact=True)
            yield Label(_("Loading…"), id="save-note", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Ask the service for the record's files."""
        run_service(self, attachments.files_of, self.session, self.kind, self.record_id,
                    done=self._fill, failed=self._cannot_open, group="save_file.list")

    def _fill(self, files: list[dict[str, Any]]) -> None:
        self.files = files
        options = self.query_one("#files", OptionList)
        options.add_options([Option(file_line(item, self.kind), id=str(item["id"]))
                             for item in files])
        if not files:
            self._note(_("This record has no files."), error=True)
            return
        options.highlighted = 0
        options.focus()
        self._note(_("Enter picks the file, enter again saves; in a folder it keeps its name."))

    def _cannot_open(self, error: BaseException) -> None:
        self.notify(error_text(error), severity="error", timeout=8)
        self.dismiss(None)

    def _note(self, text: str, *, error: bool = False) -> None:
        note = self.query_one("#save-note", Label)
        note.update(text)
        note.set_class(error, "-error")

    def chosen_id(self) -> int | None:
        """The attachment under the list's cursor."""
        options = self.query_one("#files", OptionList)
        if options.highlighted is None or not self.files:
            return None
        return int(options.get_option_at_index(options.highlighted).id or 0) or None

    @on(OptionList.OptionSelected, "#files")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_save(self, overwrite: bool = False) -> None:
        """Write the copy on a thread; close once it is written."""
        attachment_id = self.chosen_id()
        if self._busy or attachment_id is None:
            return
        self._busy = True
        target = self.query_one("#path", Input).value
        self._note(_("Saving…"))
        run_service(self, partial(attachments.save_copy, overwrite=overwrite), self.session,
                    attachment_id, target, done=self._saved, failed=self._refused,
                    group="save_file.save")

    def _saved(self, path: Path) -> None:
        self._busy = False
        self.notify(_("Saved {path}").format(path=path), timeout=5)
        self.dismiss(path)

    def _refused(self, error: BaseException) -> None:
        self._busy = False
        if isinstance(error, Conflict):
            self._note(str(error), error=True)
            self._ask_overwrite(str(error))
            return
        self._note(error_text(error), error=True)

    def _ask_overwrite(self, detail: str) -> None:
        from screens.modals.confirm import ConfirmModal

        def answered(yes: bool | None) -> None:
            if yes:
                self.action_save(overwrite=True)
            else:
                self.query_one("#path", Input).focus()

        self.app.push_screen(ConfirmModal(_("Replace the existing file?"), detail), answered)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
