"""`crm contract copy|pdf|invoice|link|unlink|invoices|lines|expiring`: contract use cases
beyond records."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.group("contract")
def contract_group() -> None:
    """Renew contracts, make their PDFs and invoices, link invoices."""


@contract_group.command("copy")
@click.argument("contract_id")
@click.option("--start", "start", required=True, metavar="DATE", help="New start date.")
@click.option("--end", "end", required=True, metavar="DATE", help="New end date.")
@click.option("--name", default=None, help="Name of the copy (default: the same name).")
@pass_state
def copy_command(state: CliState, contract_id, start, end, name) -> None:
    """Renew a contract: same terms, new dates; prints the new contract's id."""
    from crm_tui.services import contracts

    click.echo(contracts.copy(state.session(), contract_id, start, end, name=name))


@contract_group.command("pdf")
@click.argument("contract_id")
@click.option("--template", "template", default="Default", show_default=True,
              metavar="NAME", help="The contract template (name or id).")
@pass_state
def pdf_command(state: CliState, contract_id, template) -> None:
    """Generate the contract's PDF from a template, attach it, print where it is stored."""
    from crm_tui.services import contracts

    click.echo(contracts.attach_pdf(state.session(), contract_id, template)["path"])


@contract_group.command("invoice")
@click.argument("contract_id")
@click.option("--amount", default=None, help="Amount of the contract's concept line.")
@click.option("--type", "invoice_type", type=click.Choice(["submitted", "received"]),
              default="submitted", show_default=True)
@click.option("--bill-id", default=None, help="A manual bill ID (default: from the pattern).")
@pass_state
def invoice_command(state: CliState, contract_id, amount, invoice_type, bill_id) -> None:
    """Generate an invoice from a contract; prints the invoice's id."""
    from crm_tui.services import contracts

    overrides = {"type": invoice_type}
    if bill_id:
        overrides["bill_id"] = bill_id
    click.echo(contracts.generate_invoice(state.session(), contract_id, amount, overrides))


@contract_group.command("link")
@click.argument("contract_id")
@click.argument("invoices", nargs=-1, required=True, metavar="BILL_ID…")
@pass_state
def link_command(state: CliState, contract_id, invoices) -> None:
    """Relate invoices (bill IDs or ids) to a contract."""
    from crm_tui.services import contracts

    contracts.add_invoices(state.session(), contract_id, list(invoices))


@contract_group.command("unlink")
@click.argument("contract_id")
@click.argument("invoices", nargs=-1, required=True, metavar="BILL_ID…")
@pass_state
def unlink_command(state: CliState, contract_id, invoices) -> None:
    """Remove invoices from a contract's related invoices."""
    from crm_tui.services import contracts

    contracts.remove_invoices(state.session(), contract_id, list(invoices))


@contract_group.command("invoices")
@click.argument("contract_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def invoices_command(state: CliState, contract_id, as_json) -> None:
    """List the invoices related to a contract."""
    from crm_tui.cli.output import print_json, print_table
    from crm_tui.services import contracts

    rows = contracts.related_invoices(state.session(), contract_id)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "bill_id", "type", "status", "created", "total", "locked"])


@contract_group.command("lines")
@click.argument("contract_id")
@click.argument("lines", nargs=-1, metavar="[DESCRIPTION=AMOUNT[@RATE]]…")
@click.option("--clear", is_flag=True, help="Remove every recurring line.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def lines_command(state: CliState, contract_id, lines, clear, as_json) -> None:
    """Show a contract's recurring invoice lines, or replace them with the LINEs given
    (e.g. "Support=100.00" or "Hosting=20@10"; without @RATE the default tax rate)."""
    from crm_tui.cli.output import print_json, print_table
    from crm_tui.services import contract_billing

    if clear and lines:
        raise click.UsageError(_("give LINEs or --clear, not both"))
    session = state.session()
    if lines or clear:
        items = contract_billing.lines_from_texts(contract_id, list(lines))
        contract_billing.set_lines(session, contract_id, items)
    rows = contract_billing.lines(session, contract_id)
    if as_json:
        print_json(rows)
    elif not (lines or clear):
        print_table(rows, ["description", "amount", "tax_rate"])


@contract_group.command("expiring")
@click.option("--days", required=True, metavar="N", help="Ending within N days from today.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def expiring_command(state: CliState, days, as_json) -> None:
    """List the contracts you may see that end within N days (soonest first)."""
    from crm_tui.cli.output import print_json, print_table
    from crm_tui.services import contract_reminders

    rows = contract_reminders.expiring(state.session(), days)
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["id", "name", "contract_number", "company_name", "date_end",
                           "days_left", "manager"])


COMMANDS = [contract_group]
