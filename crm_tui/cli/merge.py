"""`crm merge KIND KEEP OTHER`: fold a duplicate company, contact or lead into another."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state


@click.command("merge")
@click.argument("kind", type=click.Choice(("company", "contact", "lead")))
@click.argument("keep_id")
@click.argument("other_id")
@pass_state
def merge_command(state: CliState, kind: str, keep_id: str, other_id: str) -> None:
    """Merge record OTHER_ID of KIND into KEEP_ID.

    Activity, attachments, contacts, contracts, draft invoices and leads move to KEEP_ID;
    the other's differing values are kept as a note; OTHER_ID then names KEEP_ID. A company
    that holds issued invoices stays, archived, with those invoices.
    """
    from crm_tui.services.merging import merge

    result = merge(state.session(), kind, keep_id, other_id)
    click.echo(f"crm: {result.summary()}", err=True)
