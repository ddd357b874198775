"""`crm passwd`: change your own password."""

from __future__ import annotations

import os
import sys

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _


@click.command("passwd")
@pass_state
def passwd_command(state: CliState) -> None:
    """Change your own password (asks the current one when one is set).

    On a terminal it asks the current password, then the new one twice. Without one, it
    reads the current password from CRM_PASSWORD and the new one from CRM_NEW_PASSWORD.
    """
    from crm_tui.services.users import MIN_PASSWORD_LENGTH, change_own_password, has_password

    session = state.session()
    interactive = sys.stdin.isatty()
    current = None
    if has_password(session):
        current = os.environ.get("CRM_PASSWORD")
        if current is None and interactive:
            current = click.prompt(_("Current password"), hide_input=True, err=True)
        if current is None:
            raise PermissionDenied(_("the current password is needed: set CRM_PASSWORD or "
                                     "run crm passwd on a terminal"))
    new = os.environ.get("CRM_NEW_PASSWORD")
    if new is None and interactive:
        new = click.prompt(_("New password (at least {count} characters)").format(
                               count=MIN_PASSWORD_LENGTH), hide_input=True, err=True,
                           confirmation_prompt=_("Repeat the new password"))
    if new is None:
        raise ValidationFailed.one(f"user {session.login!r}", "password", "",
                                   _("no new password: set CRM_NEW_PASSWORD or run crm "
                                     "passwd on a terminal"))
    change_own_password(session, current, new)
    click.echo(_("password changed for {login}").format(login=session.login), err=True)


COMMANDS = [passwd_command]
