"""Issuing Submitted invoices (number, date, lock, hash chain, PDF) and cancelling issued
ones with credit notes, and checking the chains."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, replace
from decimal import Decimal

from crm_tui.db import database, write_transaction
from crm_tui.documents import collect_warnings
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import _, in_language
from crm_tui.models import Invoice, InvoiceDiscount, InvoiceLine
from crm_tui.money import quantize
from crm_tui.services import history, invoice_chain, invoice_series, settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.invoice_lines import totals_of
from crm_tui.services.invoice_lock import may_issue
from crm_tui.services.invoices import find_invoice, pdfs_deferred, status_pdf
from crm_tui.services.records import get_kind

log = logging.getLogger(__name__)

CREDIT_PATTERN_KEY = "invoice.credit_pattern"


@dataclass(frozen=True)
class Issued:
    """What issuing gave an invoice."""

    id: int
    bill_id: str
    issued: dt.date
    #: What making its PDF warned about (characters no font could draw), for the faces.
    warnings: tuple[str, ...] = ()


def _label(invoice: Invoice) -> str:
    return get_kind("invoice").label(invoice)


def _pattern(key: str) -> invoice_series.Pattern:
    text = settings.raw_value(key, "")
    if not text:
        example = "R15/[1]" if key == CREDIT_PATTERN_KEY else "15/[1000]"
        raise ValidationFailed.one(_("setting {key}").format(key=key), "value", "",
                                   _("is not set; configure it first, e.g. crm config set "
                                     "{key} '{example}'").format(key=key, example=example))
    try:
        return invoice_series.parse_pattern(text)
    except V.BadValue as exc:
        raise ValidationFailed.one(_("setting {key}").format(key=key), "value", text, str(exc)) from None


def _issue_in_transaction(session: Session, invoice: Invoice, day: dt.date,
                          pattern: invoice_series.Pattern | None,
                          created: bool = False) -> Issued:
    """Number, date, lock and seal a draft, and record it in the history; the caller holds
    the write transaction.

    `pattern` None keeps the bill ID the draft was given by hand (series ""); `created`
    says the record is new in this transaction (a credit note), so history records its
    creation.
    """
    label = _label(invoice)
    kind = get_kind("invoice")
    before = {} if created else kind._snapshot(session, invoice.id)
    if day > session.clock.today():
        raise ValidationFailed.one(label, "issued", day.isoformat(),
                                   _("an invoice cannot be issued in the future"))
    series = pattern.series if pattern else invoice_series.MANUAL_SERIES
    invoice_series.lock_series(series)
    last = invoice_chain.chain_end(database, series)
    if last is not None:
        last_day = invoice_chain.as_date(last["issued"])
        if last_day is not None and day < last_day:
            raise ValidationFailed.one(
                label, "issued", day.isoformat(),
                _("is before {day}, the issue date of invoice {bill_id}, the last issued in "
                  "series {series}: numbers follow dates").format(
                    day=last_day.isoformat(), bill_id=last["bill_id"],
                    series=series or _("(hand-made IDs)")))
    if pattern is not None:
        invoice.bill_id, invoice.bill_number = invoice_series.allocate(pattern, reserve=False)
    else:
        taken = Invoice.select(Invoice.id).where(
            Invoice.type == "submitted", Invoice.bill_id == invoice.bill_id,
            Invoice.id != invoice.id).exists()
        if taken:
            raise ValidationFailed.one(label, "bill_id", invoice.bill_id,
                                       _("another Submitted invoice already has it"))
        invoice.bill_number = None
    invoice.bill_series = series
    invoice.issued = day
    invoice.locked, invoice.locked_by = True, session.user.id
    invoice.updated = session.clock.now()
    invoice.save()
    invoice_chain.seal(database, invoice.id)
    history.record(session, "invoice", invoice.id, "create" if created else "change",
                   history.diff(before, kind._snapshot(session, invoice.id)))
    return Issued(invoice.id, invoice.bill_id, day)


def _check_issuable(session: Session, invoice: Invoice) -> None:
    label = _label(invoice)
    if invoice.type != "submitted":
        raise ValidationFailed.one(label, "type", invoice.type,
                                   _("only Submitted invoices are issued; a Received invoice "
                                     "carries its supplier's number"))
    if invoice.issued is not None:
        raise ValidationFailed.one(label, "issued", invoice.issued.isoformat(),
                                   _("is already issued as {bill_id}").format(
                                       bill_id=invoice.bill_id))
    reason = may_issue(session, invoice)
    if reason:
        raise PermissionDenied(_("{login} may not issue {record}: {reason}").format(
            login=session.login, record=label, reason=reason))
    if not InvoiceLine.select().where(InvoiceLine.invoice == invoice.id).exists():
        raise ValidationFailed.one(label, "lines", "",
                                   _("an invoice without concepts cannot be issued"))


def issue(session: Session, ref: str | int, on: dt.date | None = None) -> Issued:
    """Issue a draft: the next number of the series, the issue date (today unless `on`),
    the lock, its place in the hash chain, all in one transaction; then its PDF.

    A draft given a bill ID by hand keeps it (an exception to the pattern). The issue
    date may not be before the last issued invoice of the series: numbers follow dates.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    day = on or session.clock.today()
    with write_transaction():
        invoice = find_invoice(session, ref)
        _check_issuable(session, invoice)
        if invoice.bill_id:
            pattern = None
        elif invoice_series.auto_id_enabled():
            pattern = _pattern("invoice.id_pattern")
        else:
            raise ValidationFailed.one(_label(invoice), "bill_id", "",
                                       _("required: automatic bill IDs are off "
                                         "(invoice.auto_id), so give it one before issuing"))
        done = _issue_in_transaction(session, invoice, day, pattern)
    with collect_warnings() as warnings:
        make_pdf(session, done.id)
    return replace(done, warnings=tuple(warnings))


def credit(session: Session, ref: str | int, lines: list[int] | None = None,
           on: dt.date | None = None) -> Issued:
    """Cancel an issued invoice, wholly or some of its lines, by a credit note.

    The credit note references the invoice, carries the chosen lines (all lines and
    discounts when `lines` is None; 1-based line numbers otherwise) with negative amounts
    and their rates, and is issued at once in the credit-note series
    (`invoice.credit_pattern`). When the invoice is wholly credited, its status becomes
    cancelled. Nothing is credited twice over: the credit notes of an invoice never pass
    its total.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    day = on or session.clock.today()
    with write_transaction():
        original = find_invoice(session, ref)
        label = _label(original)
        if original.type != "submitted" or original.issued is None:
            raise ValidationFailed.one(label, "issued", "",
                                       _("only an issued Submitted invoice is cancelled by a "
                                         "credit note (a draft is edited or deleted)"))
        if original.credit_of_id is not None:
            raise ValidationFailed.one(label, "credit_of", str(original.credit_of_id),
                                       _("is itself a credit note"))
        from crm_tui import acl

        if not acl.can_create_invoice(session.user, original.company, "submitted"):
            raise PermissionDenied(_("{login} may not credit {record}: issuing invoices takes "
                                     "IW or IM on their company").format(
                                         login=session.login, record=label))
        pattern = _pattern(CREDIT_PATTERN_KEY)
        own_lines = list(InvoiceLine.select().where(InvoiceLine.invoice == original.id)
                         .order_by(InvoiceLine.position, InvoiceLine.id))
        own_discounts = list(InvoiceDiscount.select().where(
            InvoiceDiscount.invoice == original.id)
            .order_by(InvoiceDiscount.position, InvoiceDiscount.id))
        if lines is None:
            chosen, discounts = own_lines, own_discounts
        else:
            problems = [Problem(label, "--lines", str(n),
                                _("no such line (it has {count})").format(
                                    count=len(own_lines)))
                        for n in lines if not 1 <= n <= len(own_lines)]
            if len(set(lines)) != len(lines):
                problems.append(Problem(label, "--lines", ",".join(map(str, lines)),
                                        _("a line is named twice")))
            if problems:
                raise ValidationFailed(problems)
            chosen, discounts = [own_lines[n - 1] for n in lines], []
        # quantize: a zero line stays 0.00, never -0.00.
        negated = [{"description": x.description, "amount": quantize(-V.money(x.amount)),
                    "tax_rate": x.tax_rate} for x in chosen]
        negated_discounts = [{"description": x.description,
                              "amount": quantize(-V.money(x.amount)), "tax_rate": x.tax_rate}
                             for x in discounts]
        total = totals_of(negated, negated_discounts, original.withholding_rate,
                          credit=True).total
        before = sum((V.money(t) for (t,) in Invoice.select(Invoice.total).where(
            Invoice.credit_of == original.id).tuples()), Decimal(0))
        original_total = V.money(original.total)
        if -(before + total) > original_total:
            raise ValidationFailed.one(
                label, "--lines", ",".join(map(str, lines or [])) or "all",
                _("would credit {amount} of a total of {total} ({before} credited "
                  "already)").format(amount=-(before + total), total=original_total,
                                     before=-before))
        note = Invoice.create(
            company=original.company_id, type="submitted", reference=original.bill_id,
            status="pending", created=day, currency=original.currency,
            language=original.language, tax_rate=original.tax_rate,
            withholding_rate=original.withholding_rate, internal_note="",
            description=_credit_description(original), total=total,
            credit_of=original.id, updated=session.clock.now())
        for n, item in enumerate(negated):
            InvoiceLine.create(invoice=note.id, position=n, **item)
        for n, item in enumerate(negated_discounts):
            InvoiceDiscount.create(invoice=note.id, position=n, **item)
        done = _issue_in_transaction(session, note, day, pattern, created=True)
        if before + total == -original_total and original.status != "cancelled":
            history.record(session, "invoice", original.id, "change",
                           {"status": [original.status, "cancelled"]})
            original.status = "cancelled"
            original.updated = session.clock.now()
            original.save(only=[Invoice.status, Invoice.updated])
    with collect_warnings() as warnings:
        make_pdf(session, done.id)
        status_pdf(session, original.id)  # a wholly credited invoice: a CANCELLED version
    return replace(done, warnings=tuple(warnings))


def _credit_description(original: Invoice) -> str:
    """The credit note's description, in the invoice's language (it is printed on it)."""
    with in_language(original.language):
        return _("Credit note for invoice {bill_id}").format(bill_id=original.bill_id)


def make_pdf(session: Session, invoice_id: int) -> None:
    """Render an issued invoice's PDF once its row has committed.

    The file is written only after the commit, so a rolled-back issue leaves nothing
    behind; inside a caller's own transaction (or `deferred_pdfs`) nothing is made. A PDF
    that cannot be made is logged: the invoice itself is issued.
    """
    if pdfs_deferred() or database.in_transaction():
        return
    from crm_tui.documents import DocumentError
    from crm_tui.services import documents_service

    try:
        documents_service.refresh_invoice_pdf(session, invoice_id)
    except (DocumentError, OSError) as exc:
        log.warning("invoice %s issued, but its PDF could not be made: %s", invoice_id, exc)


def verify(session: Session, series: str | None = None) -> list[invoice_chain.ChainReport]:
    """Check the hash chain of every series (or one pattern's series).

    Raises:
        PermissionDenied: not a superadmin (a series spans every company).
        ValidationFailed: `series` is not a valid pattern.
    """
    invoice_series.check_access(session)
    if series is not None:
        try:
            names = [invoice_series.series_of(series)]
        except V.BadValue as exc:
            raise ValidationFailed.one("invoice verify", "--pattern", series, str(exc)) from None
    else:
        names = invoice_chain.all_series(database)
    return [invoice_chain.verify_series(database, name) for name in names]
