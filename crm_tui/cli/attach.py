"""`crm attach KIND ID FILE`: attach a file to a company, contract, invoice or lead."""

from __future__ import annotations

from pathlib import Path

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import ValidationFailed


@click.command("attach")
@click.argument("kind", type=click.Choice(["company", "contract", "invoice", "lead"]))
@click.argument("record_id")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@pass_state
def attach_command(state: CliState, kind, record_id, path: Path) -> None:
    """Attach FILE to a record; prints the attachment id."""
    from crm_tui.services import attachments

    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValidationFailed.one("attachment", "file", str(path),
                                   error.strerror or str(error)) from None
    from crm_tui.cli.records import followed

    session = state.session()
    record_id = followed(session, kind, record_id)
    click.echo(attachments.add(session, kind, record_id, path.name, data))


COMMANDS = [attach_command]
