"""`crm lead reply` and `crm lead forward`: email from a lead, queued in the outbox."""

from __future__ import annotations

from pathlib import Path

import click

from crm_tui.cli.lead import lead_group
from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _


@lead_group.command("reply")
@click.argument("lead_id", type=int)
@click.option("--template", default=None, metavar="NAME",
              help="Mail template to apply, in the lead's language.")
@click.option("--subject", default=None, help="Subject (the [Lead#ID] token is added).")
@click.option("--body-file", default=None, metavar="FILE",
              help="File with the message text (UTF-8; '-' reads stdin).")
@click.option("--attach", "attach", multiple=True, metavar="FILE",
              help="Attach a file (repeat for more).")
@pass_state
def reply_command(state: CliState, lead_id: int, template, subject, body_file, attach) -> None:
    """Email lead LEAD_ID, copied to the reference mailbox; prints the Message-ID.

    The mail and its attachments are logged in the lead's activity and queued in the
    outbox; the mail worker (`crm --sync`) sends it.
    """
    from crm_tui.services import mailing

    session = state.session()
    body = _read_body(body_file) if body_file else None
    files = mailing.files_from_paths(attach)
    result = mailing.reply(session, lead_id, subject=subject, body=body, template=template,
                           attachments=files)
    _report(result)


@lead_group.command("forward")
@click.argument("lead_id", type=int)
@click.option("--to", "to", required=True, metavar="ADDRESS", help="Who receives the lead.")
@click.option("--note", default="", help="A line to put above the lead's data.")
@pass_state
def forward_command(state: CliState, lead_id: int, to: str, note: str) -> None:
    """Send lead LEAD_ID's data to ADDRESS (queued in the outbox); prints the Message-ID."""
    from crm_tui.services import mailing

    result = mailing.forward(state.session(), lead_id, to, note=note)
    _report(result)


def _read_body(name: str) -> str:
    if name == "-":
        return click.get_text_stream("stdin", encoding="utf-8").read()
    try:
        return Path(name).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.one("lead email", "body-file", name,
                                   _("not UTF-8 text")) from None
    except OSError as exc:
        raise ValidationFailed.one("lead email", "body-file", name,
                                   exc.strerror or str(exc)) from None


def _report(result) -> None:
    click.echo(f"<{result.message_id}>")
    # The mail worker (`crm --sync`, `--watch`, the app) sends it; `crm outbox list` follows it.
    click.echo(_("crm: queued as outbox mail {mail_id}; the mail worker sends it").format(
        mail_id=result.mail_id), err=True)


# The commands live in the `lead` group of crm_tui.cli.lead, registered there.
COMMANDS: list = []
