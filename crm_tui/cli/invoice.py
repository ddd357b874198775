"""`crm invoice pdf|lock|unlock|pdf-batch`: invoice documents and the lock."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state


@click.group("invoice")
def invoice_group() -> None:
    """Invoice PDFs and locking (records themselves: crm list/show/add/set invoice)."""


@invoice_group.command("pdf")
@click.argument("bill_id")
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="Where to write the PDF; a name ending in .zip gets the PDF + attachments.")
@pass_state
def pdf_command(state: CliState, bill_id, output) -> None:
    """Write an invoice's PDF (or a ZIP with its attachments); prints the file written."""
    from crm_tui.services import documents_service

    path = documents_service.save_invoice_download(state.session(), bill_id, output)
    click.echo(str(path))


@invoice_group.command("lock")
@click.argument("bill_id")
@pass_state
def lock_command(state: CliState, bill_id) -> None:
    """Lock an invoice (IW or IM): only you may change it then."""
    from crm_tui.services import invoices

    invoices.lock(state.session(), bill_id)


@invoice_group.command("unlock")
@click.argument("bill_id")
@pass_state
def unlock_command(state: CliState, bill_id) -> None:
    """Unlock an invoice (IM or superadmin)."""
    from crm_tui.services import invoices

    invoices.unlock(state.session(), bill_id)


@invoice_group.command("pdf-batch")
@click.option("--month", required=True, metavar="YYYY-MM",
              help="The month whose Submitted invoices to render (by creation date).")
@click.option("-o", "--output", "output", required=True, metavar="DIR",
              help="Directory to write the PDFs into (created if missing).")
@click.option("--store", is_flag=True,
              help="Also replace each invoice's stored PDF (IM or superadmin).")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@pass_state
def pdf_batch_command(state: CliState, month, output, store, quiet) -> None:
    """Render every Submitted invoice of a month; prints each file written."""
    from crm_tui.services import documents_service

    def progress(done: int, total: int, bill_id: str) -> None:
        if not quiet:
            click.echo(f"\r{done}/{total} {bill_id}".ljust(40), err=True, nl=done == total)

    report = documents_service.pdf_batch(state.session(), month, output, store=store,
                                         progress=progress)
    for path in report.written:
        click.echo(str(path))
    click.echo(documents_service.describe(report), err=True)
    if report.failed:
        for bill_id, reason in report.failed:
            click.echo(f"crm: error: invoice {bill_id!r}: {reason}", err=True)
        raise click.exceptions.Exit(1)


COMMANDS = [invoice_group]
