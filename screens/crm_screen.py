"""`CrmScreen`, the base of every full screen: the session, top bar, footer and service calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.screen import Screen
from textual.worker import Worker

from crm_tui.i18n import _
from crm_tui.services.changes import Change
from crm_tui.services.context import Session
from screens.footer import KeyFooter
from screens.service_calls import notify_error, run_service
from widgets.top_bar import TopBar


class CrmScreen(Screen[None]):
    """A full screen of the CRM: gets the session by constructor, runs services on threads."""

    SCREEN_TITLE: ClassVar[str] = ""
    """Shown in the top bar, e.g. "1 Companies"."""
    FOOTER_PALETTE: ClassVar[bool] = True
    """Show the ctrl+p key in the footer (lists with many keys leave it to `?`)."""

    def __init__(
        self,
        session: Session,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the screen for the acting user's `session`."""
        super().__init__(name=name, id=id, classes=classes)
        self.session = session

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Top bar, the screen's body, and the footer with the keys that work here."""
        yield TopBar(self.screen_title(), self._status_text())
        yield from self.compose_body()
        yield KeyFooter(show_command_palette=self.FOOTER_PALETTE)

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets (override)."""
        yield from ()

    def screen_title(self) -> str:
        """The top bar's title (override for dynamic titles)."""
        return _(self.SCREEN_TITLE) if self.SCREEN_TITLE else ""

    def _status_text(self) -> str:
        status = str(getattr(self.app, "status_text", "") or "")
        return f"{self.session.login}  {status}".rstrip()

    def set_title(self, text: str) -> None:
        """Change the top bar's title."""
        for bar in self.query(TopBar):
            bar.set_title(text)

    def refresh_status(self) -> None:
        """Show the app's current status line (the app calls this when it changes)."""
        for bar in self.query(TopBar):
            bar.set_status(self._status_text())

    live_stale: bool = False
    """Other processes changed records while this screen was hidden (screens.live)."""

    def on_screen_resume(self) -> None:
        """The status may have changed while another screen was shown; a live screen that
        missed changes meanwhile re-reads them."""
        self.refresh_status()
        if self.live_stale:
            self.live_stale = False
            refresh = getattr(self, "live_refresh", None)
            if refresh is not None:
                refresh(Change(None, None, time.time()))

    # -- service calls --------------------------------------------------------------------

    def call_service(
        self,
        fn: Callable[..., Any],
        *args: Any,
        done: Callable[[Any], Any] | None = None,
        failed: Callable[[BaseException], Any] | None = None,
        group: str = "service",
        exclusive: bool = False,
    ) -> Worker[None]:
        """Run a service call on a thread (see `run_service`)."""
        return run_service(self, fn, *args, done=done, failed=failed, group=group,
                           exclusive=exclusive)

    def show_error(self, error: BaseException) -> None:
        """Tell the user what went wrong, in one line."""
        notify_error(self, error)

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Why the greyed key of `action` does nothing, when it is greyed because the user
        may not do it (the app says it when the key is pressed); None otherwise (override)."""
        return None

