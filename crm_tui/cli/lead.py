"""`crm lead …`: lead commands beyond the generic record ones (create from outside, merge).

Other modules add subcommands to `lead_group` (e.g. reply, forward); keep it importable.
"""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.group("lead")
def lead_group() -> None:
    """Lead commands beyond add/set/show: create from outside, duplicates, merge, mail."""


@lead_group.command("create")
@click.option("--name", "full_name", required=True, help="Full name of the contact person.")
@click.option("--email", required=True, help="Email address.")
@click.option("--company", "company_name", default="", help="Company name (free text).")
@click.option("--country", default="", help="Country.")
@click.option("--role", "position", default="", help="Position or role.")
@click.option("--phone", default="", help="Phone number.")
@click.option("--comments", "description", default="", help="Comments (the description).")
@click.option("--owner", default=None, metavar="LOGIN",
              help="Owner's login (default: the acting user).")
@click.option("--channel", default="", help="Channel or source, e.g. web form.")
@click.option("--no-duplicates", is_flag=True,
              help="Refuse (exit 1, nothing written) when the lead resembles an existing one.")
@pass_state
def create_command(state: CliState, no_duplicates: bool, **fields: str) -> None:
    """Create a lead from outside (the web-form integration's create_lead); prints its id.

    A lead whose email, or company name and full name, matches an existing lead is still
    created, with one warning line per match on stderr, unless --no-duplicates is given.
    """
    from crm_tui.services.leads import create_lead

    raw = {key: value for key, value in fields.items() if value not in (None, "")}
    raw["email"] = fields["email"]
    session = state.session()
    created = create_lead(session, raw, on_duplicate="refuse" if no_duplicates else "create")
    for duplicate in created.duplicates:
        click.echo(_("crm: warning: the new lead resembles {duplicate}").format(
            duplicate=duplicate.describe()), err=True)
    click.echo(created.id)


@lead_group.command("merge")
@click.argument("keep_id", type=int)
@click.argument("other_id", type=int)
@pass_state
def merge_command(state: CliState, keep_id: int, other_id: int) -> None:
    """Merge lead OTHER_ID into KEEP_ID (timeline, files, tags move over) and delete it."""
    from crm_tui.services.leads import merge

    merge(state.session(), keep_id, other_id)
    click.echo(_("lead {other_id} merged into lead {keep_id}").format(
        other_id=other_id, keep_id=keep_id), err=True)


@lead_group.command("duplicates")
@click.argument("lead_id", type=int)
@pass_state
def duplicates_command(state: CliState, lead_id: int) -> None:
    """List the leads that LEAD_ID resembles (same email, or same company and name)."""
    from crm_tui.services.leads import find_duplicates
    from crm_tui.services.records import get_kind

    session = state.session()
    row = get_kind("lead").get(session, lead_id)
    for duplicate in find_duplicates(session, row, exclude_id=row["id"]):
        click.echo(f"{duplicate.id}\t{duplicate.reason}\t{duplicate.full_name}")


@lead_group.command("convert")
@click.argument("lead_id")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@pass_state
def convert_command(state: CliState, lead_id: str, as_json: bool) -> None:
    """Turn won lead LEAD_ID into a customer: its company and contact (found by the
    duplicate rule, or created), linked, and the lead closed successfully."""
    from crm_tui.cli.records import followed
    from crm_tui.services.conversion import convert

    session = state.session()
    done = convert(session, followed(session, "lead", lead_id))
    if as_json:
        from crm_tui.cli.output import print_json

        print_json(done.as_json())
    click.echo(f"crm: {done.summary()}", err=True)


COMMANDS = [lead_group]
