"""`crm mail unmatched|quarantine …`: the mail the ingest could not file, and its raw copies."""

from __future__ import annotations

import sys

import click

from crm_tui.cli.output import print_json, print_record
from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import CrmError
from crm_tui.i18n import N_, _

UNMATCHED_COLUMNS = ["id", "arrived", "sender", "subject"]
QUARANTINE_COLUMNS = ["id", "kept", "size", "subject"]


def _table_with_reason(rows: list[dict], columns: list[str]) -> None:
    """An aligned table whose last column, the reason, is never cut."""
    if not rows:
        sys.stdout.write("(none)\n")
        return
    from crm_tui.services.mail_unmatched import readable_reason

    cells = [[" ".join(str(row.get(c, "")).split()) for c in columns] for row in rows]
    widths = [min(40, max(len(c), *(len(r[i]) for r in cells))) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
             + "  REASON"]
    for row, values in zip(rows, cells, strict=True):
        lines.append("  ".join(v[:w].ljust(w) for v, w in zip(values, widths, strict=True))
                     + "  " + " ".join(readable_reason(str(row.get("reason", ""))).split()))
    sys.stdout.write("\n".join(lines) + "\n")


@click.group("mail")
def mail_group() -> None:
    """Mail the CRM could not file: unmatched messages and quarantined raw copies."""


@mail_group.group("unmatched")
def unmatched_group() -> None:
    """Messages that named no lead the sender may write to (superadmins, LW or LM)."""


@unmatched_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def unmatched_list(state: CliState, as_json: bool) -> None:
    """The unmatched messages, newest first, with the reason each was not filed."""
    from crm_tui.services import mail_unmatched

    rows = mail_unmatched.list_unmatched(state.session())
    if as_json:
        print_json(rows)
        return
    _table_with_reason(rows, UNMATCHED_COLUMNS)


@unmatched_group.command("show")
@click.argument("unmatched_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def unmatched_show(state: CliState, unmatched_id: str, as_json: bool) -> None:
    """One unmatched message: sender, subject, reason and the text it would be filed with."""
    from crm_tui.services import mail_unmatched

    row = mail_unmatched.show(state.session(), unmatched_id)
    if as_json:
        print_json(row)
        return
    text = row.pop("text")
    row["reason"] = mail_unmatched.readable_reason(row["reason"])
    print_record({k: v for k, v in row.items() if k != "attachments"})
    for attachment in row["attachments"]:
        click.echo(_("attachment: {name} ({size} bytes)").format(
            name=attachment["name"], size=attachment["size"]))
    click.echo("")
    click.echo(text)


@unmatched_group.command("assign")
@click.argument("unmatched_id")
@click.argument("lead_id")
@pass_state
def unmatched_assign(state: CliState, unmatched_id: str, lead_id: str) -> None:
    """File unmatched message UNMATCHED_ID on lead LEAD_ID (you must be able to change the lead)."""
    from crm_tui.services import mail_unmatched

    done = mail_unmatched.assign(state.session(), unmatched_id, lead_id)
    click.echo(_("mail {id}: filed on lead {lead}").format(id=done["id"], lead=done["lead"]))


@unmatched_group.command("new-lead")
@click.argument("unmatched_id")
@pass_state
def unmatched_new_lead(state: CliState, unmatched_id: str) -> None:
    """Make a lead of unmatched message UNMATCHED_ID's sender and file the message on it."""
    from crm_tui.services import mail_unmatched

    done = mail_unmatched.new_lead(state.session(), unmatched_id)
    click.echo(_("mail {id}: filed on new lead {lead}").format(id=done["id"], lead=done["lead"]))


@unmatched_group.command("discard")
@click.argument("unmatched_id")
@pass_state
def unmatched_discard(state: CliState, unmatched_id: str) -> None:
    """Throw unmatched message UNMATCHED_ID away (needs LM)."""
    from crm_tui.services import mail_unmatched

    done = mail_unmatched.discard(state.session(), unmatched_id)
    click.echo(_("mail {id}: discarded").format(id=done["id"]))


@mail_group.group("quarantine")
def quarantine_group() -> None:
    """Raw copies of messages the ingest could not read in full (superadmins)."""


@quarantine_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def quarantine_list(state: CliState, as_json: bool) -> None:
    """The quarantined copies, oldest first, with the reason each was kept."""
    from crm_tui.services import mail_unmatched

    rows = mail_unmatched.list_quarantine(state.session())
    if as_json:
        print_json(rows)
        return
    _table_with_reason(rows, QUARANTINE_COLUMNS)


#: A replay's outcomes as people read them (--json gives the English word).
OUTCOMES = {"filed": N_("filed"), "unmatched": N_("unmatched"), "auto": N_("not filed"),
            "duplicate": N_("duplicate"), "kept": N_("still kept"),
            "oversized": N_("filed as a note")}


def _replayed(row: dict) -> str:
    from crm_tui.services.mail_unmatched import readable_reason

    outcome = _(OUTCOMES.get(row["outcome"], row["outcome"]))
    where = _(" on lead {lead}").format(lead=row["lead"]) if row.get("lead") else ""
    why = f": {readable_reason(row['reason'])}" if row.get("reason") else ""
    return _("quarantined mail {id}: {outcome}{where}{why}").format(
        id=row["id"], outcome=outcome, where=where, why=why)


@quarantine_group.command("replay")
@click.argument("kept_id", required=False)
@click.option("--all", "replay_all", is_flag=True, help="Replay every quarantined copy.")
@pass_state
def quarantine_replay(state: CliState, kept_id: str | None, replay_all: bool) -> None:
    """Read quarantined copy KEPT_ID (or --all) again with the limits as now set, and file it."""
    from crm_tui.services import mail_unmatched

    if bool(kept_id) == replay_all:
        raise click.UsageError(_("give one quarantined mail ID, or --all"))
    if not replay_all:
        click.echo(_replayed(mail_unmatched.replay(state.session(), kept_id)))
        return
    failed = 0
    for row in mail_unmatched.replay_all(state.session()):
        if row.get("error"):
            failed += 1
            click.echo(_("crm: error: {message}").format(message=row["error"]), err=True)
        else:
            click.echo(_replayed(row))
    if failed:
        raise _Partly(_("{failed} quarantined mail(s) stayed").format(failed=failed))


class _Partly(CrmError):
    """Some copies could not be replayed (each was named on stderr)."""
