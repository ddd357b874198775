"""`crm note add KIND ID TEXT`: a note on a company's or a lead's activity."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state


@click.group("note")
def note_group() -> None:
    """Notes on the activity of companies and leads."""


@note_group.command("add")
@click.argument("kind", type=click.Choice(("company", "lead")))
@click.argument("record_id")
@click.argument("text")
@pass_state
def add_command(state: CliState, kind, record_id, text) -> None:
    """Add TEXT as a note to the activity of a company or lead; prints the note's id."""
    from crm_tui.cli.records import followed

    session = state.session()
    record_id = followed(session, kind, record_id)
    if kind == "company":
        from crm_tui.services.companies import add_note
    else:
        from crm_tui.services.leads import add_note
    click.echo(add_note(session, record_id, text))
