"""`crm attachment list|save`: the files attached to records, and copies of them."""

from __future__ import annotations

import click

from crm_tui.cli.output import print_json, print_table
from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _

RECORD_KINDS = ("company", "contract", "invoice", "lead")
"""The kinds that have files (the service checks this too)."""


@click.group("attachment")
def attachment_group() -> None:
    """List the files attached to records and save copies of them."""


@attachment_group.command("list")
@click.argument("kind", type=click.Choice(RECORD_KINDS))
@click.argument("record_id")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
@pass_state
def list_command(state: CliState, kind: str, record_id: str, as_json: bool) -> None:
    """List a record's files (a lead's include those of its activity entries)."""
    from crm_tui.services import attachments

    files = attachments.files_of(state.session(), kind, record_id)
    if as_json:
        print_json(files)
        return
    rows = [{**item, "from": kind if item["entry"] is None else f"activity {item['entry']}"}
            for item in files]
    print_table(rows, ["id", "name", "size", "created", "author", "from"])


@attachment_group.command("save")
@click.argument("attachment_id")
@click.option("-o", "--output", "target", default=".", show_default="the current directory",
              metavar="PATH", help="File to write, or an existing directory to write into.")
@click.option("--force", is_flag=True, help="Replace an existing file.")
@pass_state
def save_command(state: CliState, attachment_id: str, target: str, force: bool) -> None:
    """Save a copy of an attachment on this machine; prints the path written."""
    from crm_tui.errors import Conflict
    from crm_tui.services import attachments

    try:
        path = attachments.save_copy(state.session(), attachment_id, target, overwrite=force)
    except Conflict as error:
        raise Conflict(_("{error}; --force replaces it").format(error=error)) from None
    click.echo(str(path))


COMMANDS = [attachment_group]
