"""Helpers for driving the whole app with Pilot: an app that records its notifications,
and a wait until every worker (and what it started) has finished."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from textual.keys import _character_to_key
from textual.pilot import Pilot
from textual.worker import WorkerState

from crm_tui.app import CrmApp
from crm_tui.services.context import Session

SIZE = (80, 24)


class RecordingApp(CrmApp):
    """The real app, remembering every notification it showed."""

    def __init__(self, session: Session, *, live: bool = False, **options: Any) -> None:
        # Screens do not follow other processes' commits unless a test asks (the live
        # screens' own tests): a refresh arriving between a key and an assertion is noise.
        super().__init__(session, live=live, **options)
        self.notes: list[tuple[str, str]] = []

    def notify(self, message: str, *, title: str = "", severity: str = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        self.notes.append((severity, str(message)))
        super().notify(message, title=title, severity=severity, timeout=timeout,
                       markup=markup)

    def said(self, text: str, severity: str | None = None) -> bool:
        """Whether a notification contained `text` (with that severity, if given)."""
        return any(text in message and (severity is None or severity == level)
                   for level, message in self.notes)


def app_for(world: Any, login: str, *, live: bool = False) -> RecordingApp:
    """The app as `login` of the worked example, on the world's frozen clock (`live`: its
    screens follow what other processes commit)."""
    return RecordingApp(world.session(login), live=live)


#: Workers that live as long as their widget (DirectoryTree's queue loop): never waited for.
LONG_LIVED = {"_loader"}


async def settle(pilot: Pilot, timeout: float = 15.0) -> None:
    """Wait until no worker runs and the messages they posted have been handled."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        busy = [w for w in app.workers
                if w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                and w.name not in LONG_LIVED]
        await pilot.pause(0.01 if busy else None)
        quiet = 0 if busy else quiet + 1
        if quiet >= 3:
            return
    raise AssertionError("workers still running: " + ", ".join(
        w.description for w in app.workers if w.state == WorkerState.RUNNING))


async def until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait until `condition()` holds: for what a key starts that `settle` may not see yet
    (a form's save begins once the form has checked its values, a moment after the key)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not so after {timeout} s")
        await pilot.pause(0.05)
    await settle(pilot)


async def press(pilot: Pilot, *keys: str) -> None:
    """Press keys, then wait for what they started."""
    await pilot.press(*keys)
    await settle(pilot)


async def type_text(pilot: Pilot, text: str) -> None:
    """Type text key by key (what a user does), then settle."""
    await pilot.press(*[_key(char) for char in text])
    await settle(pilot)


def _key(char: str) -> str:
    return _character_to_key(char)


def footer_keys(app: CrmApp) -> dict[str, bool]:
    """The keys the current screen offers: key -> enabled (absent: hidden)."""
    return {key: active.enabled for key, active in app.screen.active_bindings.items()}
