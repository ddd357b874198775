"""`crm config get|set KEY [VALUE]`: business settings (secrets: in the secrets file)."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state


@click.group("config")
def config_group() -> None:
    """Read or change settings (e.g. invoice.id_pattern, mail.imap_host)."""


@config_group.command("get")
@click.argument("key", required=False)
@pass_state
def get_command(state: CliState, key) -> None:
    """Print one setting, or every setting as KEY=VALUE lines. A secret (mail passwords,
    intake.token) is never printed: it shows as (set) or (not set)."""
    from crm_tui.services import settings

    session = state.session()
    if key is None:
        for name, value in settings.all_settings(session).items():
            click.echo(f"{name}={value}")
    else:
        click.echo(settings.get(session, key))


@config_group.command("set")
@click.argument("key")
@click.argument("value")
@pass_state
def set_command(state: CliState, key, value) -> None:
    """Change one setting. A secret goes to the secrets file of this account (0600), never
    into the database; VALUE "-" reads it from stdin (kept out of the process list)."""
    from crm_tui.services import secrets, settings

    if value == "-" and secrets.is_secret(key):
        value = click.get_text_stream("stdin").readline().rstrip("\r\n")
    settings.set_value(state.session(), key, value)


COMMANDS = [config_group]
