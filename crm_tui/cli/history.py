"""`crm history KIND ID` and `crm history --user LOGIN --since DATE`: who changed what."""

from __future__ import annotations

import click

from crm_tui.cli.output import print_json, visible
from crm_tui.cli.records import KIND_NAMES
from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _


@click.command("history")
@click.argument("kind", required=False, type=click.Choice(KIND_NAMES))
@click.argument("record_id", required=False)
@click.option("--user", "login", metavar="LOGIN", help="Every change this user made (audit).")
@click.option("--since", metavar="DATE", help="With --user: from this date or time on (UTC).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def history_command(state: CliState, kind, record_id, login, since, as_json) -> None:
    """Show the history of a record, or every change a user made (an audit: of the records
    you may view; a superadmin sees them all, deleted ones included)."""
    from crm_tui.services import history
    from crm_tui.services import values as V

    if login is not None:
        if kind is not None or record_id is not None:
            raise click.UsageError(_("give KIND ID, or --user LOGIN, not both"))
        try:
            when = V.parse_datetime(since) if since else None
        except V.BadValue as error:
            raise ValidationFailed.one("history", "--since", since, str(error)) from None
        entries = history.of_user(state.session(), login, when)
    else:
        if kind is None or record_id is None:
            raise click.UsageError(_("give KIND ID, or --user LOGIN [--since DATE]"))
        if since is not None:
            raise click.UsageError(_("--since goes with --user"))
        from crm_tui.cli.records import followed

        session = state.session()
        entries = history.of_record(session, kind, followed(session, kind, record_id))
    if as_json:
        print_json(entries)
        return
    if not entries:
        click.echo(_("(none)"))
    for entry in entries:
        head = f"{entry['at']}  {entry['user']} ({entry['face']})  {entry['action']}"
        if login is not None:
            head += f" {entry['kind']} #{entry['id']}"
        click.echo(visible(head))
        for field, (old, new) in entry["changes"].items():
            click.echo(visible(f"    {field}: {_shown(old)} -> {_shown(new)}"))


def _shown(value) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, list):
        return ",".join(map(str, value)) or "(empty)"
    return repr(value) if isinstance(value, str) else str(value)
