"""A harness app for the lead screens: one screen, the acting user's session, recorded
notifications, and a helper that waits until every worker and its messages are done."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from textual.app import App
from textual.pilot import Pilot
from textual.screen import Screen
from textual.worker import WorkerCancelled, WorkerFailed


class LeadHarness(App[None]):
    """Shows the screen `make_screen()` builds; records every notification."""

    def __init__(self, make_screen: Callable[[], Screen]) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.notes: list[tuple[str, str]] = []
        self.status_text = ""

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notes.append((severity, message))
        super().notify(message, title=title, severity=severity, timeout=timeout,
                       markup=markup)


async def settle(pilot: Pilot) -> None:
    """Let workers finish and what they post be handled, and any follow-up work too.

    Quiet means two rounds in a row without an unfinished worker, each round longer than
    the screens' short timers (the board starts counting from one).
    """
    quiet = 0
    for _ in range(60):
        # A read that a newer one replaced is cancelled: that is no failure.
        with contextlib.suppress(WorkerFailed, WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if all(worker.is_finished for worker in pilot.app.workers):
            quiet += 1
            if quiet == 2:
                return
        else:
            quiet = 0
