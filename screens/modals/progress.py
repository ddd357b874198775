"""A progress bar over a long job that runs on a thread; escape asks the job to stop."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, ProgressBar

from crm_tui.i18n import N_, _
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter

Job = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]
"""`job(progress, cancelled)`: calls `progress(done, total)` now and then, checks
`cancelled()` between steps, and returns its result (or raises)."""


@dataclass(frozen=True)
class ProgressOutcome:
    """How a job ended."""

    value: Any = None
    """What the job returned."""
    error: BaseException | None = None
    """What it raised, if it failed."""
    cancelled: bool = False
    """The user pressed escape and the job stopped early."""


class ProgressModal(Dialog[ProgressOutcome]):
    """Run a job on a thread with a progress bar; dismisses with its ProgressOutcome."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Stop the job (nothing is written when it stops early)"),
    ]
    """Escape cancels the job."""

    DEFAULT_CSS = """
    ProgressModal {
        align: center middle;
        & > #dialog {
            width: 64;
            max-width: 100%;
            height: auto;
            border: thick $primary 60%;
            background: $surface;
            padding: 1 2;
            & > #progress-title {
                text-style: bold;
                width: 100%;
            }
            & > ProgressBar {
                margin: 1 0;
            }
            & > #progress-text {
                color: $text-muted;
                width: 100%;
            }
        }
    }
    """

    @dataclass
    class Progress(Message, bubble=False):
        """The job reported how far it got."""

        done: int
        total: int

        def can_replace(self, message: Message) -> bool:
            """A flood of updates collapses into the latest one."""
            return isinstance(message, ProgressModal.Progress)

    @dataclass
    class _Finished(Message, bubble=False):
        outcome: ProgressOutcome

    def __init__(self, title: str, job: Job, *, unit: str = N_("rows")) -> None:
        """Create the dialog.

        Args:
            title: What is being done, e.g. "Importing companies".
            job: The work; see `Job`.
            unit: What is being worked through, shown as "40% of the rows".
        """
        super().__init__()
        self.title_text = title
        self.job = job
        self.unit = unit
        self._cancel = threading.Event()

    def compose(self) -> ComposeResult:
        """The title, the bar and a line of text."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="progress-title", markup=False)
            yield ProgressBar(total=None, show_eta=False, id="bar")
            yield Label(_("Starting…"), id="progress-text")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start the job."""
        self.run_worker(self._run, thread=True, group="progress.job", exit_on_error=False,
                        description=self.title_text)

    def _run(self) -> None:
        cancelled = self._cancel.is_set

        def progress(done: int, total: int) -> None:
            self.post_message(self.Progress(done, total))

        try:
            value = self.job(progress, cancelled)
        except Exception as error:  # noqa: BLE001 - handed to whoever pushed the dialog
            outcome = ProgressOutcome(error=error, cancelled=cancelled())
        else:
            outcome = ProgressOutcome(value=value)
        self.post_message(self._Finished(outcome))

    @property
    def is_cancelling(self) -> bool:
        """Whether escape was pressed."""
        return self._cancel.is_set()

    @on(Progress)
    def _show_progress(self, message: Progress) -> None:
        bar = self.query_one("#bar", ProgressBar)
        bar.update(total=max(1, message.total), progress=message.done)
        if not self._cancel.is_set():
            share = message.done * 100 // max(1, message.total)
            self.query_one("#progress-text", Label).update(
                _("{percent} of the {unit} · escape cancels").format(percent=f"{share}%",
                                                                   unit=_(self.unit)))

    @on(_Finished)
    def _finish(self, message: _Finished) -> None:
        self.dismiss(message.outcome)

    def action_cancel(self) -> None:
        """Ask the job to stop; the dialog closes when it has."""
        self._cancel.set()
        self.query_one("#progress-text", Label).update(_("Cancelling…"))
