"""Live screens: what other processes commit shows on the open list, detail or board within
a second, without a key press (the watch itself is `crm_tui.services.changes`).

The app starts one `LiveUpdates`; each change wakes it on the watch's thread, and at most
every `MIN_GAP` seconds it asks the screens that are visible (the top screen, and those
under a dialog) to `live_refresh()`; the others re-read when they are shown again. A
screen re-reads through the services (the access rules apply), keeps its cursor and scroll,
and a form being filled in is never refreshed: its save meets the per-field conflict rule.
"""

from __future__ import annotations

import time
from typing import Any

from textual.app import App
from textual.screen import ModalScreen, Screen

from crm_tui.services.changes import Change, ChangeWatch

#: Fewest seconds between two refreshes: a burst of writes (an import) costs one re-read
#: per gap, not one per statement.
MIN_GAP = 0.3


def visible_screens(app: App[Any]) -> tuple[list[Screen[Any]], list[Screen[Any]]]:
    """(screens showing now, screens hidden under another full screen) of the current stack."""
    shown: list[Screen[Any]] = []
    hidden: list[Screen[Any]] = []
    covered = False
    for screen in reversed(app.screen_stack):
        (hidden if covered else shown).append(screen)
        if not isinstance(screen, ModalScreen):
            covered = True
    return shown, hidden


class LiveUpdates:
    """Connects the change watch to an app's screens."""

    def __init__(self, app: App[Any], *, min_gap: float = MIN_GAP) -> None:
        """Prepare for `app` (`start` begins watching); at most one refresh per `min_gap`
        seconds."""
        self.app = app
        self.min_gap = min_gap
        self.watch = ChangeWatch(self._arrived)
        self._pending: Change | None = None
        self._scheduled = False
        self._last = 0.0

    def start(self) -> bool:
        """Start watching the bound database (False when it cannot be watched); returns at
        once: the watch connects on its own thread."""
        return self.watch.start(wait=0)

    def stop(self) -> None:
        """Stop watching."""
        self.watch.stop()

    def _arrived(self, change: Change) -> None:
        """On the watch's thread: hand the change to the event loop."""
        try:
            self.app.call_from_thread(self._queue, change)
        except RuntimeError:  # the app is closing
            pass

    def _queue(self, change: Change) -> None:
        if self._pending is None:
            self._pending = change
        if self._scheduled:
            return
        self._scheduled = True
        delay = max(0.0, self._last + self.min_gap - time.monotonic())
        if delay:
            self.app.set_timer(delay, self._refresh)
        else:
            self.app.call_later(self._refresh)

    def _refresh(self) -> None:
        self._scheduled = False
        change, self._pending = self._pending, None
        if change is None:
            return
        self._last = time.monotonic()
        shown, hidden = visible_screens(self.app)
        for screen in shown:
            refresh = getattr(screen, "live_refresh", None)
            if refresh is not None and screen.is_mounted:
                refresh(change)
        for screen in hidden:
            if hasattr(screen, "live_refresh"):
                screen.live_stale = True  # re-read when it shows again
        # Screens of the other modes re-read when the user switches to them.
        for mode_screen in self._other_mode_screens():
            mode_screen.live_stale = True

    def _other_mode_screens(self) -> list[Screen[Any]]:
        current = self.app.current_mode
        screens = []
        for mode, stack in getattr(self.app, "_screen_stacks", {}).items():
            if mode == current:
                continue
            screens.extend(s for s in stack if hasattr(s, "live_refresh"))
        return screens


__all__ = ["MIN_GAP", "LiveUpdates", "visible_screens"]
