"""The keys of the jobs every screen shares (DESIGN "Keys"): one place, so the same job has
the same key on every screen and dialog (tests/screens/test_key_map.py holds them to it)."""

from __future__ import annotations

NEXT_TAB = "right_square_bracket"
"""`]` shows the next tab."""
PREVIOUS_TAB = "left_square_bracket"
"""`[` shows the previous tab."""
ATTACH = "t"
"""Attach a file to the record on view."""
ADD_NOTE = "a"
"""Add a note to the record on view."""
SAVE = "ctrl+s"
"""Save (send, confirm) the form or dialog on view."""
OPEN = "enter"
"""Open the row under the cursor."""
BACK = "escape"
"""Go back from a detail screen, close a dialog."""

SHARED_JOBS: dict[str, str] = {
    "next tab": NEXT_TAB,
    "previous tab": PREVIOUS_TAB,
    "attach": ATTACH,
    "add note": ADD_NOTE,
    "save": SAVE,
    "open": OPEN,
    "back": BACK,
}
"""Job -> its key, everywhere."""
