"""`crm` run in-process (click's runner) on a test database, as admin or as a world user."""

from __future__ import annotations

from click.testing import CliRunner, Result


def crm(db: str, *args: str, user: str | None = None) -> Result:
    """`crm` on `db` as admin (the OS login's user) or as `user`, whose password in the test
    world is LOGIN-pw; the connection is closed afterwards."""
    from crm_tui import db as database
    from crm_tui.cli import cli

    head = ["--db", db] + (["--user", user] if user else [])
    env = {"CRM_PASSWORD": f"{user}-pw"} if user else {}
    try:
        return CliRunner().invoke(cli, [*head, *args], env=env)
    finally:
        database.close_database()
