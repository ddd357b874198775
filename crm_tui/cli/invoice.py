"""`crm invoice issue|credit|gaps|verify|pdf|lock|unlock|pdf-batch`: the series and documents.

Every command names an invoice the same way: an integer is its record id, anything else
its bill ID (`15/1000`), and `--bill-id` gives a bill ID that is itself all digits.
"""

from __future__ import annotations

import click

from crm_tui.cli.output import print_json
from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _, ngettext


@click.group("invoice")
def invoice_group() -> None:
    """Issue, credit and check invoices; PDFs and locking (records: crm list/show/add/set)."""


def invoice_ref(ref: str | None, bill_id: str | None):
    """The invoice a command names: REF (id or bill ID) or --bill-id, exactly one of them."""
    from crm_tui.services.invoices import BillId

    if (ref is None) == (bill_id is None):
        raise click.UsageError(_("name the invoice by ID (a record id or a bill ID such as "
                                 "15/1000) or by --bill-id, one of the two"))
    return BillId(bill_id) if bill_id is not None else ref


def ref_arguments(command):
    """REF and --bill-id, the two ways to name an invoice."""
    command = click.option("--bill-id", "bill_id", metavar="BILL_ID",
                           help="The invoice's bill ID, even when it is all digits.")(command)
    return click.argument("ref", required=False, metavar="ID")(command)


def _day(value: str | None):
    from crm_tui.errors import ValidationFailed
    from crm_tui.services import values as V

    if value is None:
        return None
    try:
        return V.parse_date(value)
    except V.BadValue as exc:
        raise ValidationFailed.one("invoice", "--date", value, str(exc)) from None


@invoice_group.command("issue")
@ref_arguments
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The issue date (default: today).")
@pass_state
def issue_command(state: CliState, ref, bill_id, day) -> None:
    """Issue a draft: number it, date it, lock it and make its PDF; prints the bill ID."""
    from crm_tui.services import invoice_issue

    done = invoice_issue.issue(state.session(), invoice_ref(ref, bill_id), _day(day))
    click.echo(done.bill_id)


@invoice_group.command("credit")
@ref_arguments
@click.option("--lines", "lines", metavar="N,N…",
              help="Credit only these lines (1 = the first concept); default: all of it.")
@click.option("--date", "day", metavar="YYYY-MM-DD", help="The issue date (default: today).")
@pass_state
def credit_command(state: CliState, ref, bill_id, lines, day) -> None:
    """Cancel an issued invoice (or some lines) by a credit note; prints its bill ID."""
    from crm_tui.errors import ValidationFailed
    from crm_tui.services import invoice_issue

    numbers = None
    if lines is not None:
        words = [w.strip() for w in lines.split(",") if w.strip()]
        if not words or not all(w.isdigit() for w in words):
            raise ValidationFailed.one("invoice credit", "--lines", lines,
                                       _("line numbers separated by commas, e.g. 1,3"))
        numbers = [int(w) for w in words]
    done = invoice_issue.credit(state.session(), invoice_ref(ref, bill_id), numbers, _day(day))
    click.echo(done.bill_id)


@invoice_group.command("gaps")
@click.option("--pattern", metavar="PATTERN",
              help="Only this pattern's series (e.g. '15/[1000]'); default: every series.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def gaps_command(state: CliState, pattern, as_json) -> None:
    """Report each series: first, last, count, and every gap or duplicate (superadmins)."""
    from crm_tui.services import invoice_series

    reports = invoice_series.gaps(state.session(), pattern)
    if as_json:
        print_json([r.as_dict() for r in reports])
        return
    if not reports:
        click.echo(_("no numbered invoices issued yet"))
    for report in reports:
        if not report.count:
            click.echo(_("series {series}: no invoices issued").format(series=report.series))
            continue
        gaps = sum(n for _a, _b, n in report.gaps)
        invoices = ngettext("{count} invoice", "{count} invoices", report.count).format(
            count=report.count)
        click.echo(_("series {series}: first {first}, last {last}, {invoices}, {missing} "
                     "missing, {duplicated} duplicated").format(
                         series=report.series, first=report.first, last=report.last,
                         invoices=invoices, missing=gaps or _("no"),
                         duplicated=len(report.duplicates) or _("no")))
        for first, last, missing in report.gaps:
            span = first if first == last else f"{first} … {last}"
            click.echo(_("  gap: {span} ({missing} missing)").format(span=span, missing=missing))
        for bill, times in report.duplicates:
            click.echo(_("  duplicate: {bill} ({times} times)").format(bill=bill, times=times))


@invoice_group.command("verify")
@click.option("--pattern", metavar="PATTERN", help="Only this pattern's series.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def verify_command(state: CliState, pattern, as_json) -> None:
    """Check the hash chain of the issued invoices; exit 1 naming the first break."""
    from crm_tui.services import invoice_issue

    reports = invoice_issue.verify(state.session(), pattern)
    if as_json:
        print_json([{"series": r.series, "records": r.records, "ok": r.ok,
                     "first_break": r.first_break} for r in reports])
    else:
        for report in reports:
            name = report.series or "(hand-made bill IDs)"
            if report.ok:
                click.echo(_("series {name}: {records} records, chain intact").format(
                    name=name, records=report.records))
    broken = [r for r in reports if not r.ok]
    for report in broken:
        click.echo(_("crm: error: series {series}: chain broken: {first_break}").format(
            series=report.series or _("(hand-made bill IDs)"), first_break=report.first_break),
            err=True)
    if broken:
        raise click.exceptions.Exit(1)


@invoice_group.command("pdf")
@ref_arguments
@click.option("-o", "--output", "output", required=True, metavar="FILE",
              help="Where to write the PDF; a name ending in .zip gets the PDF + attachments.")
@pass_state
def pdf_command(state: CliState, ref, bill_id, output) -> None:
    """Write an issued invoice's PDF (or a ZIP with its attachments), or a Received
    invoice's supplier document; prints the file written."""
    from crm_tui.services import documents_service

    path = documents_service.save_invoice_download(state.session(), invoice_ref(ref, bill_id),
                                                   output)
    click.echo(str(path))


@invoice_group.command("lock")
@ref_arguments
@pass_state
def lock_command(state: CliState, ref, bill_id) -> None:
    """Lock an invoice (IW or IM): only you may change it then."""
    from crm_tui.services import invoices

    invoices.lock(state.session(), invoice_ref(ref, bill_id))


@invoice_group.command("unlock")
@ref_arguments
@pass_state
def unlock_command(state: CliState, ref, bill_id) -> None:
    """Unlock an invoice (IM or superadmin)."""
    from crm_tui.services import invoices

    invoices.unlock(state.session(), invoice_ref(ref, bill_id))


@invoice_group.command("pdf-batch")
@click.option("--month", required=True, metavar="YYYY-MM",
              help="The month whose issued invoices to render (by creation date).")
@click.option("-o", "--output", "output", required=True, metavar="DIR",
              help="Directory to write the PDFs into (created if missing).")
@click.option("--store", is_flag=True,
              help="Also replace each invoice's stored PDF (IM or superadmin).")
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
@pass_state
def pdf_batch_command(state: CliState, month, output, store, quiet) -> None:
    """Render every issued Submitted invoice of a month; prints each file written."""
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
            click.echo(_("crm: error: invoice {bill_id!r}: {reason}").format(
                bill_id=bill_id, reason=reason), err=True)
        raise click.exceptions.Exit(1)


COMMANDS = [invoice_group]
