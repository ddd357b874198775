"""The CSV import dialog: pick a file, read the dry run, confirm; then a progress bar.

The dialog only collects the request; `run_import` hands it to
`crm_tui.services.imports.run`, the same call `crm import` makes, on a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DirectoryTree, Input, Label, Static

from crm_tui.errors import CrmError, ValidationFailed, error_text
from crm_tui.i18n import N_, _, kind_name, ngettext
from crm_tui.services.context import Session
from crm_tui.services.rows import Column, ListRows
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.modals.progress import ProgressModal, ProgressOutcome
from screens.service_calls import run_service
from widgets.lazy_table import LazyTable

#: Files bigger than this are refused before they are read into memory.
MAX_IMPORT_BYTES = 512 * 1024 * 1024

PROBLEM_COLUMNS = (
    Column("line", N_("Line"), 5, "right"),
    Column("column", N_("Column"), 14),
    Column("value", N_("Value"), 14),
    Column("reason", N_("Reason"), 38),
)
"""How the dry run's problems are listed."""

PREVIEW_COLUMNS = (
    Column("line", N_("Line"), 5, "right"),
    Column("what", N_("What the import would do"), 68),
)
"""How the dry run's plan is listed."""


@dataclass(frozen=True)
class ImportRequest:
    """A checked import, ready to run: the bytes are those the dry run read."""

    kind: str
    """companies, contacts, contracts or leads."""
    path: Path
    data: bytes
    rows: int
    """Records the dry run said would be created."""


def read_and_check(session: Session, kind: str, path: Path) -> tuple[bytes, Any]:
    """Read a file and dry-run its import; returns (bytes, report).

    Raises:
        ValidationFailed: with every bad row; OSError: the file cannot be read.
    """
    from crm_tui.services import imports

    size = path.stat().st_size
    if size > MAX_IMPORT_BYTES:
        raise ValidationFailed.one(f"file {path.name}", "size", size,
                                   _("bigger than {size} MB").format(size=MAX_IMPORT_BYTES // (1024 * 1024)))
    data = path.read_bytes()
    return data, imports.run(session, kind, data, dry_run=True)


def problem_rows(problems: Iterable[Any]) -> list[tuple[int, tuple[str, ...]]]:
    """Problems as table rows: line, column, value, reason."""
    rows = []
    for number, problem in enumerate(problems):
        line = "" if getattr(problem, "line", None) is None else str(problem.line)
        rows.append((number, (line, str(problem.field), str(problem.value), str(problem.reason))))
    return rows


class CsvTree(DirectoryTree):
    """A directory tree that shows folders and CSV/text files only."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        """Hide dot files and anything that is not a folder or a .csv/.txt file."""
        return [
            path for path in paths
            if not path.name.startswith(".")
            and (path.is_dir() or path.suffix.lower() in (".csv", ".txt"))
        ]


class ImportCsvModal(Dialog[ImportRequest | None]):
    """Pick a CSV file and see its dry run; dismisses with an ImportRequest or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close, import nothing"),
        Binding("ctrl+r", "dry_run", "Dry run", priority=True, id="import.dry_run",
                tooltip="Check the file without writing anything"),
        Binding("ctrl+s", "confirm", "Import", priority=True, id=keymap.SAVE_ID,
                tooltip="Import the checked file (all rows or none)"),
    ]
    """Escape closes; ctrl+r checks the file; ctrl+s imports it once it checked clean."""

    DEFAULT_CSS = """
    ImportCsvModal {
        align: center middle;
        & > #dialog {
            width: 78;
            max-width: 100%;
            height: 21;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #import-title {
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
        & CsvTree {
            height: 1fr;
            margin-top: 1;
        }
        & #summary {
            height: auto;
            margin-top: 1;
            width: 100%;
        }
        & #summary.-ok {
            color: $success;
        }
        & #summary.-bad {
            color: $error;
        }
        & #problems {
            display: none;
            height: 1fr;
            scrollbar-size-vertical: 1;
        }
        & #dialog.-problems #problems {
            display: block;
        }
        & #problem-detail {
            display: none;
            height: auto;
            max-height: 3;
            color: $text-muted;
        }
        & #dialog.-problems #problem-detail {
            display: block;
        }
        & #dialog.-problems CsvTree {
            display: none;
        }
        & #buttons {
            height: 1;
            margin-top: 1;
            align-horizontal: right;
            & > Button {
                margin-left: 2;
            }
        }
    }
    """

    def __init__(self, session: Session, kind: str, start: Path | None = None) -> None:
        """Create the dialog.

        Args:
            session: The acting user (the dry run applies his rights).
            kind: companies, contacts, contracts or leads.
            start: The folder the file tree opens at (default: the working directory).
        """
        super().__init__()
        self.session = session
        self.kind = kind
        self.start = start or Path.cwd()
        self.report: Any = None
        self.problems: list[Any] = []
        self._checked: tuple[Path, bytes] | None = None
        self._checking = False

    def compose(self) -> ComposeResult:
        """File name, file tree, the dry run's summary and problems, and the buttons."""
        with Vertical(id="dialog"):
            yield Label(_("Import {kind} from CSV").format(kind=kind_name(self.kind)), id="import-title")
            with Horizontal(id="path-row"):
                yield Label(_("File"))
                yield Input(placeholder=_("path/to/file.csv (enter: dry run)"), id="path",
                            compact=True)
            yield CsvTree(self.start, id="files")
            yield Static(_("Pick a file: the dry run shows what would be imported."),
                         id="summary", markup=False)
            yield LazyTable(ListRows(PROBLEM_COLUMNS, []), id="problems",
                            empty_text=_("No problems"))
            yield Static("", id="problem-detail", markup=False)
            with Horizontal(id="buttons"):
                yield Button(_("Dry run"), id="dry-run", compact=True)
                yield Button(_("Import"), id="confirm", compact=True, variant="primary",
                             disabled=True)
                yield Button(_("Cancel"), id="cancel", compact=True)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start in the file name."""
        self.query_one("#path", Input).focus()

    # -- choosing -------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file named in the input, if any."""
        text = self.query_one("#path", Input).value.strip()
        return Path(text).expanduser() if text else None

    @on(DirectoryTree.FileSelected)
    def _file_chosen(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.query_one("#path", Input).value = str(event.path)
        self.action_dry_run()

    @on(Input.Submitted, "#path")
    def _path_entered(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_dry_run()

    @on(Input.Changed, "#path")
    def _path_changed(self, event: Input.Changed) -> None:
        # A new name needs a new dry run before it may be imported.
        if self._checked is not None and self.path != self._checked[0]:
            self._checked = None
            self._update_buttons()

    # -- the dry run ----------------------------------------------------------------------

    def action_dry_run(self) -> None:
        """Check the named file without writing anything."""
        path = self.path
        if path is None or self._checking:
            return
        self._checking = True
        self._checked = None
        self._set_summary(_("Checking {name}…").format(name=path.name), "")
        self._update_buttons()
        run_service(self, read_and_check, self.session, self.kind, path,
                    done=lambda result: self._checked_ok(path, result),
                    failed=lambda error: self._checked_bad(path, error),
                    group="import.dry_run", exclusive=True)

    def _checked_ok(self, path: Path, result: tuple[bytes, Any]) -> None:
        self._checking = False
        data, report = result
        self.report = report
        self.problems = []
        self._checked = (path, data)
        count = self.would_create
        header = _("with a header") if getattr(report, "header", False) else _("no header (by position)")
        delimiter = getattr(report, "delimiter", ",")
        encoding = getattr(report, "encoding", "")
        self._set_summary(
            _("Dry run: {count} {kind} would be created from {name} ({encoding}, {delimiter!r}, {header}). Nothing written yet: ctrl+s imports.").format(count=count, kind=kind_name(self.kind), name=path.name, encoding=encoding, delimiter=delimiter, header=header),
            "-ok",
        )
        preview = list(getattr(report, "preview", []) or [])
        self._show_table(PREVIEW_COLUMNS, [(n, (str(line), str(text)))
                                           for n, (line, text) in enumerate(preview)])
        self._update_buttons()
        if count:
            self.query_one("#confirm", Button).focus()

    def _checked_bad(self, path: Path, error: BaseException) -> None:
        self._checking = False
        self.report = None
        self._checked = None
        if isinstance(error, ValidationFailed):
            self.problems = list(error.problems)
            count = len(self.problems)
            self._set_summary(
                ngettext("{count} problem in {name}: nothing can be imported until the file "
                         "is fixed.", "{count} problems in {name}: nothing can be imported "
                         "until the file is fixed.", count).format(count=count, name=path.name),
                "-bad")
            self._show_problems(self.problems)
        elif isinstance(error, OSError):
            self._set_summary(_("Cannot read {path}: {reason}").format(path=path, reason=error.strerror or error), "-bad")
            self._show_problems([])
        else:
            message = str(error) if isinstance(error, CrmError) else error_text(error)
            self._set_summary(message, "-bad")
            self._show_problems([])
        self._update_buttons()

    @property
    def would_create(self) -> int:
        """How many records the last dry run would create."""
        report = self.report
        if report is None:
            return 0
        return int(getattr(report, "created", 0) or getattr(report, "rows", 0) or 0)

    def _set_summary(self, text: str, state: str) -> None:
        summary = self.query_one("#summary", Static)
        summary.update(text)
        summary.set_class(state == "-ok", "-ok")
        summary.set_class(state == "-bad", "-bad")

    def _show_problems(self, problems: list[Any]) -> None:
        self._show_table(PROBLEM_COLUMNS, problem_rows(problems))

    def _show_table(self, columns: Any, rows: list[tuple[int, tuple[str, ...]]]) -> None:
        table = self.query_one("#problems", LazyTable)
        table.set_source(ListRows(columns, rows))
        self.query_one("#problem-detail", Static).update("")
        self.query_one("#dialog").set_class(bool(rows), "-problems")

    @on(LazyTable.CursorMoved, "#problems")
    def _problem_chosen(self, event: LazyTable.CursorMoved) -> None:
        # Long reasons are cut in the table; the full line shows under it.
        if self.problems and 0 <= event.row_id < len(self.problems):
            self.query_one("#problem-detail", Static).update(str(self.problems[event.row_id]))

    def _update_buttons(self) -> None:
        confirm = self.query_one("#confirm", Button)
        confirm.disabled = not self.ready
        confirm.label = _("Import {would_create}").format(would_create=self.would_create) if self.ready else _("Import")
        self.query_one("#dry-run", Button).disabled = self._checking
        self.refresh_bindings()

    @property
    def ready(self) -> bool:
        """A clean dry run of the named file is at hand."""
        return self._checked is not None and not self._checking and self.would_create > 0

    # -- keys and buttons -------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Import only after a clean dry run (greyed until then)."""
        if action == "confirm":
            return True if self.ready else None
        if action == "dry_run":
            return True if not self._checking else None
        return True

    @on(Button.Pressed, "#dry-run")
    def _dry_run_pressed(self, event: Button.Pressed) -> None:
        self.action_dry_run()

    @on(Button.Pressed, "#confirm")
    def _confirm_pressed(self, event: Button.Pressed) -> None:
        self.action_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self, event: Button.Pressed) -> None:
        self.action_cancel()

    def action_confirm(self) -> None:
        """Close with the checked request."""
        if not self.ready or self._checked is None:
            return
        path, data = self._checked
        self.dismiss(ImportRequest(self.kind, path, data, self.would_create))

    def action_cancel(self) -> None:
        """Close without importing."""
        self.dismiss(None)


def run_import(
    node: Any, session: Session, request: ImportRequest,
    done: Callable[[int], Any] | None = None,
) -> None:
    """Import a checked request behind a progress bar (escape cancels; all or nothing).

    `done(created)` runs after a successful import; failures and cancels are notified.
    """
    from crm_tui.services import imports

    def job(progress: Callable[[int, int], None], cancelled: Callable[[], bool]) -> Any:
        return imports.run(session, request.kind, request.data, dry_run=False,
                           progress=progress, cancelled=cancelled)

    def finished(outcome: ProgressOutcome | None) -> None:
        if outcome is None:
            return
        if outcome.cancelled:
            node.notify(_("Import cancelled: no {kind} were written").format(kind=kind_name(request.kind)), severity="warning")
            return
        if outcome.error is not None:
            error = outcome.error
            if isinstance(error, ValidationFailed):
                node.notify(_("Import refused, nothing written: {count} problem(s); first: {first}").format(
                    count=len(error.problems), first=error.problems[0]), severity="error",
                            timeout=10)
            else:
                node.notify(error_text(error), severity="error", timeout=10)
            return
        created = int(getattr(outcome.value, "created", 0) or 0)
        node.notify(_("Imported {created} {kind} from {name}").format(created=created, kind=kind_name(request.kind), name=request.path.name))
        if done is not None:
            done(created)

    node.app.push_screen(
        ProgressModal(_("Importing {rows} {kind} from {name}").format(rows=request.rows, kind=kind_name(request.kind), name=request.path.name), job),
        finished,
    )
