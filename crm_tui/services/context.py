"""The acting user and the clock that every service call receives."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from crm_tui.models import User


class Clock:
    """Tells the time in UTC; tests pass a frozen one."""

    def now(self) -> dt.datetime:
        """The current time as a naive UTC datetime (how the database stores times)."""
        return dt.datetime.now(dt.UTC).replace(tzinfo=None)

    def today(self) -> dt.date:
        """Today's date in UTC."""
        return self.now().date()


@dataclass
class FrozenClock(Clock):
    """A clock that always says the same time (tests, demo data)."""

    at: dt.datetime = dt.datetime(2026, 1, 15, 9, 30)

    def now(self) -> dt.datetime:
        return self.at


@dataclass
class Session:
    """Who is acting, and the clock; the first argument of every service function."""

    user: User
    clock: Clock = field(default_factory=Clock)
    #: Which face acts (cli, tui, mail, intake, import): recorded in the history.
    face: str = "cli"

    @property
    def login(self) -> str:
        """The acting user's login."""
        return self.user.login


class HasSession(Protocol):
    """Anything that carries a session (the app, a screen)."""

    session: Session
