"""Textual glue for the app's background jobs (batches): a job runs on a thread and
reports progress and its end as messages. The loops themselves live in the core
(`crm_tui.services`); this module only carries them to and from the UI. (The mailbox is
synced by the mail worker, `crm --sync --watch`, never by the app.)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual.dom import DOMNode
from textual.message import Message
from textual.worker import Worker, WorkerState

from crm_tui.errors import error_text

Job = Callable[[Callable[[int, int], None], Callable[[], bool]], Any]
"""`job(progress, cancelled)`: reports `progress(done, total)`, checks `cancelled()`
between steps, returns a result or raises."""


@dataclass
class JobProgress(Message):
    """A job reported how far it got."""

    job: str
    """The job's name, e.g. "pdf.batch"."""
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        """A flood of updates of one job collapses into the latest."""
        return isinstance(message, JobProgress) and message.job == self.job


@dataclass
class JobFinished(Message):
    """A job ended: with a value, an error, or cancelled."""

    job: str
    value: Any = None
    error: BaseException | None = None
    cancelled: bool = False


@dataclass
class JobHandle:
    """A running job: its worker and the flag that asks it to stop."""

    job: str
    worker: Worker[None]
    _cancel: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        """Whether the job has not ended yet."""
        return self.worker.state in (WorkerState.PENDING, WorkerState.RUNNING)


def start_job(node: DOMNode, job: str, fn: Job, *, description: str = "") -> JobHandle:
    """Run `fn(progress, cancelled)` on a thread; `node` receives JobProgress messages and
    exactly one JobFinished, whatever happens (errors never vanish in a worker)."""
    cancel = threading.Event()

    def progress(done: int, total: int) -> None:
        node.post_message(JobProgress(job, done, total))

    def work() -> None:
        try:
            value = fn(progress, cancel.is_set)
        except Exception as error:  # noqa: BLE001 - delivered as JobFinished(error=…)
            node.post_message(JobFinished(job, error=error, cancelled=cancel.is_set()))
        else:
            node.post_message(JobFinished(job, value=value, cancelled=cancel.is_set()))

    worker = node.run_worker(work, thread=True, group=f"job.{job}", exit_on_error=False,
                             description=description or job)
    return JobHandle(job, worker, cancel)


def failure_text(error: BaseException) -> str:
    """One line for a failed job (the same wording screens use)."""
    return error_text(error)
