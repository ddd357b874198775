"""A one-line bar docked on top: a title on the left, a status text on the right."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label


class TopBar(Horizontal):
    """One line on top: where you are on the left, who you are and the status on the right."""

    DEFAULT_CSS = """
    TopBar {
        dock: top;
        height: 1;
        background: $panel;
        & > #top-title {
            width: 1fr;
            text-style: bold;
            color: $text;
            padding: 0 1;
        }
        & > #top-status {
            width: auto;
            color: $text-muted;
            padding: 0 1;
        }
    }
    """

    def __init__(self, title: str, status: str = "") -> None:
        """Create the bar with its title and status texts."""
        super().__init__()
        self._title = title
        self._status = status

    def compose(self) -> ComposeResult:
        """The two labels."""
        yield Label(self._title, id="top-title", markup=False)
        yield Label(self._status, id="top-status", markup=False)

    def set_title(self, text: str) -> None:
        """Replace the title."""
        self._title = text
        if self.is_mounted:
            self.query_one("#top-title", Label).update(text)

    def set_status(self, text: str) -> None:
        """Replace the status text."""
        self._status = text
        if self.is_mounted:
            self.query_one("#top-status", Label).update(text)
