"""`crm privacy export|erase KIND ID`: a person's data, handed over or anonymised."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _

kind_choice = click.Choice(("contact", "lead"))


@click.group("privacy")
def privacy_group() -> None:
    """Personal data of a contact or lead (access requests and erasure)."""


@privacy_group.command("export")
@click.argument("kind", type=kind_choice)
@click.argument("record_id")
@click.option("--out", "directory", metavar="DIR",
              help="Directory to create (default: privacy-KIND-ID in the current one).")
@pass_state
def export_command(state: CliState, kind, record_id, directory) -> None:
    """Write everything held about one contact or lead (data.json plus its files)."""
    from crm_tui.cli.records import followed
    from crm_tui.services import privacy

    session = state.session()
    record_id = followed(session, kind, record_id)
    path = privacy.export(session, kind, record_id, directory or f"privacy-{kind}-{record_id}")
    click.echo(str(path))


@privacy_group.command("erase")
@click.argument("kind", type=kind_choice)
@click.argument("record_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def erase_command(state: CliState, kind, record_id, yes) -> None:
    """Anonymise one contact or lead: its personal fields, mail, files and their history.

    The record stays (company, status, amounts, dates) and is opted out of mail; issued
    invoices are not touched.
    """
    from crm_tui.cli.records import followed
    from crm_tui.services import privacy

    session = state.session()
    # A record that does not exist (or is hidden) is said so before anything is asked; an
    # id merged away names the record the person now is.
    record_id = followed(session, kind, record_id)
    if not yes:
        click.confirm(_("Erase the personal data of {kind} {id}? This cannot be undone")
                      .format(kind=kind, id=record_id), abort=True, err=True)
    counts = privacy.erase(session, kind, record_id)
    click.echo(", ".join(f"{name} {count}" for name, count in counts.items()))
