"""The CSV export dialog: a file name (and whether to keep the list's filter)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, Static

from crm_tui.i18n import _, kind_name
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.record_list import ExportRequest


def write_export(
    session: Session, kind: str, path: Path, filters: dict[str, str] | None
) -> int:
    """Write an export to `path` through `crm_tui.services.exports.write` (what `crm export`
    calls); returns the rows written. The file appears only once complete.
    """
    from crm_tui.services import exports

    partial = path.with_name(path.name + ".part")
    try:
        with open(partial, "w", encoding="utf-8", newline="") as out:
            count = exports.write(session, kind, out, filters)
        partial.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return count


class ExportCsvModal(Dialog[ExportRequest | None]):
    """Ask where to write the export; dismisses with an ExportRequest or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close, export nothing"),
        Binding("ctrl+s", "confirm", "Export", priority=True, id=keymap.SAVE_ID,
                tooltip="Write the file"),
    ]
    """Enter or ctrl+s writes; escape closes."""

    DEFAULT_CSS = """
    ExportCsvModal {
        align: center middle;
        & > #dialog {
            width: 72;
            max-width: 100%;
            height: auto;
            border: thick $primary 60%;
            background: $surface;
            padding: 1 2;
        }
        & #export-title {
            text-style: bold;
            width: 100%;
        }
        & #path-row {
            height: 1;
            margin-top: 1;
            & > Label {
                width: 6;
                color: $text-muted;
            }
            & > Input {
                width: 1fr;
            }
        }
        & Checkbox {
            margin-top: 1;
        }
        & #export-note {
            margin-top: 1;
            color: $text-muted;
            width: 100%;
        }
        & #export-note.-warn {
            color: $warning;
        }
    }
    """

    def __init__(self, kind: str, default: Path, has_filter: bool = False) -> None:
        """Create the dialog.

        Args:
            kind: companies, contacts, contracts, leads or invoices.
            default: The proposed file name.
            has_filter: Offer to export only the rows the list's filter shows.
        """
        super().__init__()
        self.kind = kind
        self.default = default
        self.has_filter = has_filter
        self._replace_ok: Path | None = None

    def compose(self) -> ComposeResult:
        """File name, the filter choice, and a note."""
        with Vertical(id="dialog"):
            yield Label(_("Export {kind} to CSV").format(kind=kind_name(self.kind)), id="export-title")
            with Horizontal(id="path-row"):
                yield Label(_("File"))
                yield Input(str(self.default), id="path", compact=True)
            if self.has_filter:
                yield Checkbox(_("Only the rows the list shows (its filter)"), True,
                               id="use-filter", compact=True)
            yield Static(_("Everything you may see, with a header line. Enter writes the file."),
                         id="export-note", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start in the file name."""
        self.query_one("#path", Input).focus()

    @on(Input.Submitted, "#path")
    def _entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    @on(Input.Changed, "#path")
    def _changed(self, event: Input.Changed) -> None:
        self._replace_ok = None

    def _note(self, text: str, warn: bool) -> None:
        note = self.query_one("#export-note", Static)
        note.update(text)
        note.set_class(warn, "-warn")

    def action_confirm(self) -> None:
        """Check the name, ask once before replacing a file, then close with the request."""
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self._note(_("Give a file name."), True)
            return
        path = Path(text).expanduser()
        if path.is_dir():
            self._note(_("{path} is a folder: give a file name.").format(path=path), True)
            return
        if not path.parent.is_dir():
            self._note(_("The folder {parent} does not exist.").format(parent=path.parent), True)
            return
        if path.exists() and self._replace_ok != path:
            self._replace_ok = path
            self._note(_("{name} exists: press enter again to replace it.").format(name=path.name), True)
            return
        use_filter = False
        if self.has_filter:
            use_filter = self.query_one("#use-filter", Checkbox).value
        self.dismiss(ExportRequest(path, use_filter))

    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
