"""The screen shown while the database opens: the app's chrome, drawn before any data."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from widgets.top_bar import TopBar


class StartScreen(Screen[None]):
    """The first frame: the top bar of the screen to come and a line saying what happens.

    It imports nothing of the CRM, so it draws while the database and the acting user's
    session are still being opened on a thread.
    """

    DEFAULT_CSS = """
    StartScreen > #start-message {
        width: 1fr;
        height: 1fr;
        content-align: center middle;
        color: $text-muted;
    }
    """

    def __init__(self, title: str, message: str, status: str = "starting…") -> None:
        """Create the screen with the title of the screen to come, a progress message and the
        top bar's status (all in the language known before the user is: --lang, the OS's)."""
        super().__init__()
        self._title = title
        self._message = message
        self._status = status

    def compose(self) -> ComposeResult:
        """Top bar and the message."""
        yield TopBar(self._title, self._status)
        yield Static(self._message, id="start-message", markup=False)

    def show_message(self, text: str) -> None:
        """Replace the progress message (e.g. a failure, just before the app exits)."""
        self._message = text
        if self.is_mounted:
            self.query_one("#start-message", Static).update(text)
