"""`crm db grant LOGIN` / `crm db revoke LOGIN`: an operator's PostgreSQL role
(superadmins)."""

from __future__ import annotations

import os
import sys

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.group("db")
def db_group() -> None:
    """Database roles of operators (PostgreSQL)."""


@db_group.command("grant")
@click.argument("login")
@click.option("--role", metavar="NAME",
              help="The role's name (default: the user's OS login, else his CRM login).")
@click.option("--peer", is_flag=True,
              help="No password: the operator logs in by peer authentication.")
@pass_state
def grant_command(state: CliState, login: str, role: str | None, peer: bool) -> None:
    """Create or update the PostgreSQL role of user LOGIN and link the user to it.

    The role's password comes from a prompt (asked twice) or, without a terminal, from
    CRM_ROLE_PASSWORD (CRM_PASSWORD is the acting user's own, for --user). With --peer the
    role gets none. The operator's `crm` then connects as that role and acts as LOGIN;
    row-level security enforces the access rules in the server.
    """
    from crm_tui.errors import ValidationFailed
    from crm_tui.services.db_roles import grant_role, role_target

    session = state.session()
    role_target(session, login, "grant")  # refused (SQLite, rights, no user) before a prompt
    password = None
    if not peer:
        password = os.environ.get("CRM_ROLE_PASSWORD")
        if password is None and sys.stdin.isatty():
            password = click.prompt(_("Password of the database role for {login}")
                                    .format(login=login), hide_input=True, err=True,
                                    confirmation_prompt=_("Repeat the password"))
        if password is None:
            raise ValidationFailed.one(f"user {login!r}", "password", "",
                                       _("no password: set CRM_ROLE_PASSWORD, run on a "
                                         "terminal, or use --peer"))
    grant = grant_role(session, login, role=role, password=password)
    click.echo(grant.role)
    for note in grant.notes:
        click.echo(note, err=True)


@db_group.command("revoke")
@click.argument("login")
@pass_state
def revoke_command(state: CliState, login: str) -> None:
    """Take user LOGIN's PostgreSQL role back: unlink it from the user, revoke its
    privileges on the CRM's tables and stop it logging in (the role itself stays)."""
    from crm_tui.services.db_roles import revoke_role

    for note in revoke_role(state.session(), login):
        click.echo(note, err=True)
