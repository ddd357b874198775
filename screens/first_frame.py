"""Keeping Python's cyclic garbage collector out of a screen's first frame."""

from __future__ import annotations

import gc

_pauses = 0
"""Pauses in force (screens being built at the same time)."""
_resume_enabled = False
"""Whether the collector was on when the first of them began."""


class CollectorPause:
    """A pause of the cyclic garbage collector, for one screen, from its compose to its
    first frame.

    Building a screen makes tens of thousands of objects, often enough to start a full
    collection, which walks every object of the app: 40 to 120 ms on a busy two-core
    machine, in the middle of the first frame (the board at 100 leads took 1.3x a bare
    Textual app's first frame, 2.4x when the collection fell inside it). Paused, the
    collection runs after the frame instead, as Textual's own `App.PAUSE_GC_ON_SCROLL`
    does while scrolling. Reference counting frees everything else as usual.
    """

    def __init__(self) -> None:
        """A pause not started yet."""
        self._active = False

    @property
    def active(self) -> bool:
        """Whether this pause is in force."""
        return self._active

    def start(self) -> None:
        """Pause the collector (once; pauses of several screens nest)."""
        global _pauses, _resume_enabled
        if self._active:
            return
        self._active = True
        if _pauses == 0:
            _resume_enabled = gc.isenabled()
            gc.disable()
        _pauses += 1

    def end(self) -> None:
        """End this pause; the collector runs again once no pause is left (if it ran before)."""
        global _pauses
        if not self._active:
            return
        self._active = False
        _pauses -= 1
        if _pauses == 0 and _resume_enabled:
            gc.enable()
