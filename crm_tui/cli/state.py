"""What every command shares: the chosen database, the acting user, and opening them."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import click

from crm_tui.i18n import _
from crm_tui.services.context import Session


@dataclass
class CliState:
    """Global options of `crm`, and the session once opened."""

    db_target: str | None = None
    user_login: str | None = None
    demo: bool = False
    _session: Session | None = field(default=None, repr=False)

    def skip_unused_drivers(self) -> None:
        """On SQLite, keep peewee from importing the PostgreSQL drivers.

        peewee imports every driver it can find when it is first imported (psycopg 3 alone
        costs tens of milliseconds); a run on SQLite never needs one, and start-up is what
        scripts and SSH sessions wait for. Marking the drivers absent before peewee loads
        skips that import (psycopg2 too, should an old one be installed beside).
        """
        from crm_tui import paths

        target = paths.database_target(self.db_target, self.demo)
        if ("://" not in target or target.startswith("sqlite")) and "peewee" not in sys.modules:
            for driver in ("psycopg", "psycopg2", "psycopg2cffi"):
                sys.modules.setdefault(driver, None)

    def open(self) -> None:
        """Open the database (creating or upgrading the schema) without a session."""
        from crm_tui import paths
        from crm_tui.services.database import open_and_prepare

        open_and_prepare(paths.database_target(self.db_target, self.demo))

    def session(self) -> Session:
        """Open the database and the acting user's session (once).

        Raises:
            ServerUnreachable, PermissionDenied.
        """
        if self._session is None:
            from crm_tui.services.users import session_for

            if self.demo:
                # `crm --demo COMMAND` works on the same filled demo database as the app.
                from crm_tui.demo import ensure_demo_database

                ensure_demo_database(self)
            else:
                self.open()
            password = None
            if self.user_login is not None:
                password = os.environ.get("CRM_PASSWORD")
            try:
                self._session = session_for(self.user_login, password)
            except Exception as first:
                from crm_tui.errors import PermissionDenied

                # Ask for the password only where someone can answer.
                if (isinstance(first, PermissionDenied) and self.user_login and password is None
                        and sys.stdin.isatty()):
                    password = click.prompt(_("Password for {login}").format(login=self.user_login),
                                            hide_input=True,
                                            err=True)
                    self._session = session_for(self.user_login, password)
                else:
                    raise
            from crm_tui import i18n

            i18n.use_user_language(self._session.user.language)
        return self._session


pass_state = click.make_pass_decorator(CliState, ensure=True)
