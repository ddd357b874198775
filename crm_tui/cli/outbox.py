"""`crm outbox list|retry ID|cancel ID`: the outgoing mail the mail worker sends."""

from __future__ import annotations

import click

from crm_tui.cli.output import print_json, print_table
from crm_tui.cli.state import CliState, pass_state
from crm_tui.models import OUTBOX_STATUSES

COLUMNS = ["id", "lead", "status", "attempts", "next_attempt", "recipients", "subject",
           "answer"]


@click.group("outbox")
def outbox_group() -> None:
    """Outgoing mail: queued, sent, failed or cancelled."""


@outbox_group.command("list")
@click.option("--status", type=click.Choice(OUTBOX_STATUSES), default=None,
              help="Only mail in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_command(state: CliState, status, as_json) -> None:
    """The outgoing mail of the leads you may see, newest first."""
    from crm_tui.services import outbox

    rows = outbox.list_mail(state.session(), status)
    if as_json:
        print_json(rows)
        return
    # JSON keeps the stored answer (English, the scripting contract); the table reads it.
    print_table([{**row, "recipients": ", ".join(row["recipients"]),
                  "answer": outbox.answer_text(row["answer"])} for row in rows], COLUMNS)


@outbox_group.command("retry")
@click.argument("mail_id", type=int)
@pass_state
def retry_command(state: CliState, mail_id: int) -> None:
    """Queue mail MAIL_ID again (failed, cancelled or waiting) for the worker's next pass."""
    from crm_tui.services import outbox

    row = outbox.retry(state.session(), mail_id)
    click.echo(f"outbox mail {row['id']}: {row['status']}")


@outbox_group.command("cancel")
@click.argument("mail_id", type=int)
@pass_state
def cancel_command(state: CliState, mail_id: int) -> None:
    """Keep mail MAIL_ID from being sent (a sent mail cannot be cancelled)."""
    from crm_tui.services import outbox

    row = outbox.cancel(state.session(), mail_id)
    click.echo(f"outbox mail {row['id']}: {row['status']}")
