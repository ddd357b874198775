"""The invoice kind: drafts and issued invoices, finding them by id or bill ID, and billing
per currency.

Lines and their totals live in `invoice_lines`, the lock and permissions in `invoice_lock`,
numbering in `invoice_series`, issuing and credit notes in `invoice_issue`, the hash chain
in `invoice_chain`, and the form in `invoice_forms`.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import peewee

from crm_tui import acl
from crm_tui.db import database
from crm_tui.errors import NotFound, PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import N_, _, kind_name
from crm_tui.models import (
    INVOICE_LANGUAGES,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    ISSUED_CHANGEABLE,
    Attachment,
    Company,
    ContractInvoice,
    Invoice,
    InvoiceDiscount,
    InvoiceLine,
)
from crm_tui.models.base import money_sum
from crm_tui.money import check_currency, sum_by_currency
from crm_tui.services import history, settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.contract_invoices import links_of
from crm_tui.services.invoice_lines import (
    amount_keys,
    amount_row,
    parse_amount_lines,
    stored_discounts,
    stored_lines,
    totals_of,
)

# The lock's use cases are part of this module's interface too (screens and the command
# line call them as invoices.lock, invoices.permissions …).
from crm_tui.services.invoice_lock import (  # noqa: F401
    can_create,
    check_relations,
    edit_refusal,
    lock,
    may_issue,
    permissions,
    refusals,
    toggle_lock,
    unlock,
)
from crm_tui.services.records import Field, Kind, get_kind, register

#: Keys of the --json shape that are derived, not set (a JSON round trip may carry them).
DERIVED_KEYS = ("tax_base", "subtotal", "total_tax", "discount_total", "withholding", "state",
                "tax_rates", "issued", "credit_of")
#: Besides ISSUED_CHANGEABLE, an issued invoice's related contracts may change (no legal
#: field; the lock still guards them).
_ISSUED_OPEN = (*ISSUED_CHANGEABLE, "contracts")


class BillId(str):
    """A bill ID given as such (`--bill-id 1`): never read as a record id, even if all digits."""


def state_of(invoice_type: str, issued: Any) -> str:
    """How lists name an invoice's state: "draft", "issued" or "received"."""
    # Marked for the catalog: screens show the state in the user's language.
    if invoice_type == "received":
        return N_("received")
    return N_("draft") if issued is None else N_("issued")


def default_language(session: Session) -> str:
    """The user's language when invoice documents speak it, else English."""
    language = (session.user.language or "en").split("-")[0].split("_")[0].lower()
    return language if language in INVOICE_LANGUAGES else "en"


# Bulk loads (demo data, tests of the allocator) skip the PDF of issued invoices and render
# them afterwards with a batch; see `deferred_pdfs`.
_PDFS_DEFERRED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "invoice_pdfs_deferred", default=False)


@contextlib.contextmanager
def deferred_pdfs() -> Iterator[None]:
    """Inside this block, issuing an invoice does not render its PDF.

    For bulk loads: render the PDFs afterwards with `documents_service.pdf_batch` or
    `documents_service.refresh_invoice_pdf`.
    """
    token = _PDFS_DEFERRED.set(True)
    try:
        yield
    finally:
        _PDFS_DEFERRED.reset(token)


def pdfs_deferred() -> bool:
    """True inside `deferred_pdfs`."""
    return _PDFS_DEFERRED.get()


def status_pdf(session: Session, invoice_id: int) -> None:
    """Once a payment status change has committed: the issued invoice's new PDF version
    with the PAID / CANCELLED mark (earlier versions are kept); see
    `documents_service.status_version`. Nothing inside a transaction or `deferred_pdfs`."""
    if pdfs_deferred() or database.in_transaction():
        return
    from crm_tui.services import documents_service

    documents_service.status_version(session, invoice_id)


@register
class InvoiceKind(Kind):
    """Invoices with the IR / IW / IM rules of SPEC section 5."""

    name = "invoice"
    model = Invoice
    title_attr = "bill_id"
    order_attr = "created"
    newest_first = True
    extra_filters = ("q", "created_from", "created_to", "expires_from", "expires_to",
                     "total_min", "total_max", "contract", "contract_id", "role",
                     "manager_login", "state")
    fields = (
        Field("company", "ref", ref="company", required=True),
        Field("type", "choice", choices=INVOICE_TYPES),
        Field("bill_id", max_length=100),
        Field("reference", max_length=100),
        Field("status", "choice", choices=INVOICE_STATUSES),
        Field("created", "date"),
        Field("issued", "date", readonly=True),
        Field("expires", "date"),
        Field("paid_on", "date"),
        Field("currency", max_length=3),
        Field("language", max_length=10),
        Field("tax_rate", "rate"),
        Field("withholding_rate", "rate"),
        Field("internal_note", "textarea"),
        Field("description", "textarea"),
        Field("contracts", "refs", ref="contract"),
        Field("credit_of", "ref", ref="invoice", readonly=True),
        Field("locked", "bool", readonly=True),
        Field("locked_by", "user", readonly=True),
        Field("total", "decimal", readonly=True),
    )

    # --- access -------------------------------------------------------------------------

    def view_expr(self, session):
        return acl.invoice_view_expr(session.user)

    def check_view(self, session, obj):
        if not acl.can_view_invoice(session.user, obj):
            raise PermissionDenied(_("{login} may not view {record}").format(
                login=session.login, record=self.label(obj)))

    def check_write_any(self, session):
        user = session.user
        if not (acl.is_admin(user) or acl.has(user, "IW") or acl.has(user, "IM")):
            raise PermissionDenied(_("{login} may not create or change invoices").format(login=session.login))

    def check_modify(self, session, obj):
        if obj.id is None:
            if obj.company_id is not None and not acl.can_create_invoice(
                session.user, obj.company, obj.type
            ):
                raise PermissionDenied(
                    _("{login} may not create invoices for company {name!r}").format(login=session.login, name=obj.company.name)
                )
            return
        reason = edit_refusal(session.user, obj)
        if reason:
            raise PermissionDenied(_("{login} may not change {record}: {reason}").format(login=session.login, record=self.label(obj), reason=reason))

    def check_delete(self, session, obj):
        if not acl.can_delete_invoice(session.user, obj):
            raise PermissionDenied(_("{login} may not delete {record}").format(login=session.login, record=self.label(obj)))
        if obj.issued is not None:
            # Nobody may: the number stays given for good.
            raise PermissionDenied(
                _("{login} may not delete {record}: an issued invoice is never deleted; "
                  "cancel it with a credit note (crm invoice credit {id})").format(login=session.login, record=self.label(obj), id=obj.id))

    # --- looking invoices up ------------------------------------------------------------

    def _by_bill_id(self, session, bill_id: str) -> Invoice | None:
        """The visible invoice with that bill ID: a Submitted one, else the one Received.

        A bill ID only some supplier's invoices carry is unique per supplier; when several
        visible Received invoices share it, the id must be given.
        """
        visible = self.view_expr(session)
        submitted = Invoice.get_or_none(Invoice.type == "submitted", Invoice.bill_id == bill_id)
        if submitted is not None:
            return submitted if Invoice.select().where(
                Invoice.id == submitted.id, visible).exists() else None
        received = list(Invoice.select().where(Invoice.type == "received",
                                               Invoice.bill_id == bill_id, visible).limit(2))
        if len(received) > 1:
            raise ValidationFailed.one(f"{kind_name('invoice')} {bill_id!r}", "bill_id", bill_id,
                                       _("several suppliers' invoices have this number; give "
                                         "the invoice's id instead"))
        return received[0] if received else None

    def load(self, session, record_id):
        """An invoice by record id (an int, or text of digits) or by bill ID.

        Text that is not all digits is a bill ID; a `BillId` is one even when all digits.
        An invoice the user may not see answers exactly like one that does not exist.

        Raises:
            NotFound, ValidationFailed (a Received number several suppliers share).
        """
        is_id = not isinstance(record_id, BillId) and (
            isinstance(record_id, int) or str(record_id).strip().isdigit())
        if is_id:
            return super().load(session, record_id)
        text = str(record_id).strip()
        invoice = self._by_bill_id(session, text) if text else None
        if invoice is None:
            raise NotFound(_("invoice {text} does not exist").format(text=text))
        return invoice

    def resolve(self, session, text):
        try:
            return self.load(session, text)
        except (NotFound, PermissionDenied, ValidationFailed):
            raise V.BadValue(_("no such invoice")) from None

    # --- parsing and saving -------------------------------------------------------------

    def defaults(self, session, obj):
        obj.type = "submitted"
        obj.status = "pending"
        obj.created = session.clock.today()
        obj.currency = settings.raw_value("invoice.currency", "EUR") or "EUR"
        obj.language = default_language(session)
        obj.tax_rate = V.parse_decimal(settings.raw_value("invoice.tax_rate", "0") or "0", 3)

    def parse(self, session, obj, raw, creating):
        raw = dict(raw)
        lines_raw = raw.pop("lines", None)
        discounts_raw = raw.pop("discounts", None)
        # Derived values may come back in a --json round trip; they are computed, not set.
        for derived in DERIVED_KEYS:
            raw.pop(derived, None)
        # What the record held before, so an issued invoice's unchanged fields pass.
        obj._before = {} if creating else {
            f.column: getattr(obj, f.column + "_id" if f.kind in ("ref", "user") else f.column)
            for f in self.fields if f.kind != "refs"}
        parsed, custom, problems = super().parse(session, obj, raw, creating)
        label = self.label(obj) if not creating else self._new_label(raw)
        if lines_raw is not None:
            parsed["lines"] = parse_amount_lines(label, "lines", lines_raw, obj.tax_rate,
                                                  problems)
        if discounts_raw is not None:
            parsed["discounts"] = parse_amount_lines(label, "discounts", discounts_raw,
                                                      obj.tax_rate, problems)
        return parsed, custom, problems

    def _changed(self, obj, parsed: dict) -> list[str]:
        """The keys of `parsed` that really change the stored record."""
        before = getattr(obj, "_before", {})
        out = []
        for key, value in parsed.items():
            if key in ("lines", "discounts"):
                current = stored_lines(obj) if key == "lines" else stored_discounts(obj)
                if amount_keys(current) != amount_keys(value):
                    out.append(key)
                continue
            if key == "contracts":
                out.append(key)
                continue
            field = self.field(key)
            old = before.get(field.column) if field else None
            new = value.id if isinstance(value, peewee.Model) else value
            old = old.id if isinstance(old, peewee.Model) else old
            if old != new:
                out.append(key)
        return out

    def validate(self, session, obj, parsed, problems):
        label = self.label(obj)
        if obj.id is not None and obj.issued is not None:
            for key in self._changed(obj, parsed):
                if key not in _ISSUED_OPEN:
                    problems.append(Problem(
                        label, key, _shown(parsed[key]),
                        _("cannot change once the invoice is issued (only status, paid_on "
                          "and internal_note do); correct it with a credit note (crm invoice "
                          "credit {id})").format(id=obj.id)))
            return
        if obj.currency:
            try:
                obj.currency = check_currency(obj.currency)
            except ValueError:
                problems.append(Problem(label, "currency", obj.currency,
                                        _("an ISO 4217 code such as EUR or USD")))
        # A language code is compared as written in lower case ("ES" is "es"), as a
        # currency code is in upper case.
        obj.language = (obj.language or "").strip().lower()
        if obj.language not in INVOICE_LANGUAGES:
            problems.append(Problem(label, "language", obj.language,
                                    _("documents are translated into {languages} only").format(
                                        languages=", ".join(INVOICE_LANGUAGES))))
        for key in ("tax_rate", "withholding_rate"):
            rate = getattr(obj, key)
            if rate is not None and not 0 <= rate <= 100:
                problems.append(Problem(label, key, str(rate), _("a percentage from 0 to 100")))
        if obj.expires and obj.created and obj.expires < obj.created:
            problems.append(Problem(label, "expires", str(obj.expires), _("is before created")))
        self._check_bill_id(obj, parsed, problems)
        if problems:
            return  # the stored total is recomputed only from values that passed
        lines = parsed.get("lines")
        discounts = parsed.get("discounts")
        if lines is None and discounts is None and (
                obj.id is not None and "withholding_rate" not in parsed):
            return
        current_lines = lines if lines is not None else stored_lines(obj)
        current_discounts = discounts if discounts is not None else stored_discounts(obj)
        try:
            total = totals_of(current_lines, current_discounts, obj.withholding_rate).total
        except ValueError as exc:
            problems.append(Problem(label, "discounts", "", str(exc)))
            return
        try:
            V.check_fits(Invoice.total, total)
        except V.BadValue as exc:
            # Lines that each fit can still add up, with their tax, to more than it holds.
            problems.append(Problem(label, "total", str(total), _("{exc} (lines plus tax)").format(exc=exc)))
            return
        obj.total = total

    def _check_bill_id(self, obj, parsed, problems) -> None:
        """Received invoices need their supplier's number, unique per supplier; a Submitted
        draft may carry a hand-made bill ID (an exception to the pattern), unique system-wide."""
        label = self.label(obj)
        if obj.bill_id is not None:
            obj.bill_id = obj.bill_id.strip() or None
        if obj.type == "received":
            if not obj.bill_id:
                problems.append(Problem(label, "bill_id", "", _("required: the supplier's invoice "
                                                                "number")))
                return
            same = Invoice.select(Invoice.id).where(
                Invoice.type == "received", Invoice.bill_id == obj.bill_id,
                Invoice.company == obj.company_id)
            message = _("this supplier already sent an invoice with this number")
        else:
            if not obj.bill_id:
                return
            same = Invoice.select(Invoice.id).where(Invoice.type == "submitted",
                                                    Invoice.bill_id == obj.bill_id)
            message = _("another Submitted invoice already has it")
        if obj.id is not None:
            same = same.where(Invoice.id != obj.id)
        if same.exists():
            problems.append(Problem(label, "bill_id", obj.bill_id, message))

    def check_unique(self, obj, problems):
        """Bill IDs are checked in `validate` (their uniqueness depends on the type)."""

    def before_save(self, session, obj, created):
        obj.updated = session.clock.now()

    def after_save(self, session, obj, parsed, created):
        if "lines" in parsed:
            InvoiceLine.delete().where(InvoiceLine.invoice == obj.id).execute()
            for n, line in enumerate(parsed["lines"]):
                InvoiceLine.create(invoice=obj.id, position=n, **line)
        if "discounts" in parsed:
            InvoiceDiscount.delete().where(InvoiceDiscount.invoice == obj.id).execute()
            for n, line in enumerate(parsed["discounts"]):
                InvoiceDiscount.create(invoice=obj.id, position=n, **line)
        if "contracts" in parsed:
            from crm_tui.models import Contract

            # Links to contracts the user cannot see are not his to drop.
            visible = Contract.select(Contract.id).where(
                get_kind("contract").view_expr(session))
            with history.cascade(session, links_of("invoice", obj.id, parsed["contracts"])):
                ContractInvoice.delete().where(ContractInvoice.invoice == obj.id,
                                               ContractInvoice.contract.in_(visible)).execute()
                for contract in parsed["contracts"]:
                    ContractInvoice.get_or_create(contract=contract.id, invoice=obj.id)
        for hook in AFTER_SAVE_HOOKS:
            hook(session, obj, created)

    def before_delete(self, session, obj):
        with history.cascade(session, links_of("invoice", obj.id)):
            ContractInvoice.delete().where(ContractInvoice.invoice == obj.id).execute()
        # The rows go with the invoice; their files are removed once the delete commits.
        query = Attachment.select(Attachment.stored_name).where(
            Attachment.owner_kind == "invoice", Attachment.owner_id == obj.id)
        _DELETED_FILES.get().extend(name for (name,) in query.tuples())
        Attachment.delete().where(Attachment.owner_kind == "invoice",
                                  Attachment.owner_id == obj.id).execute()

    # --- the use cases ------------------------------------------------------------------

    def create(self, session, raw):
        """Add an invoice: a Submitted one is a draft until issued (`invoice_issue.issue`).

        Raises:
            PermissionDenied, ValidationFailed (nothing written).
        """
        try:
            return super().create(session, raw)
        except peewee.IntegrityError as exc:
            raise _integrity_problem(self._new_label(raw), raw, exc) from None

    def update(self, session, record_id, raw, unchanged_since=None):
        """Change a draft or Received invoice, or an issued one's payment fields and note.

        Raises:
            NotFound, PermissionDenied, ValidationFailed, Conflict (nothing written).
        """
        try:
            super().update(session, record_id, raw, unchanged_since=unchanged_since)
        except peewee.IntegrityError as exc:
            raise _integrity_problem(f"invoice {record_id}", raw, exc) from None
        if "status" in raw:
            status_pdf(session, self.load(session, record_id).id)

    def delete(self, session, record_id):
        """Delete a draft or Received invoice with its lines, links and attachments (IM or
        superadmin); an issued invoice is never deleted.

        Raises:
            NotFound, PermissionDenied (issued, too).
        """
        token = _DELETED_FILES.set([])
        try:
            super().delete(session, record_id)
            names = _DELETED_FILES.get()
        finally:
            _DELETED_FILES.reset(token)
        _unlink_stored(names)

    # --- queries ------------------------------------------------------------------------

    def extra_filter(self, session, name, value):
        from crm_tui.models import Contract, User

        if name == "q":
            companies = Company.select(Company.id).where(Company.name.contains(value))
            return (Invoice.bill_id.contains(value) | Invoice.reference.contains(value)
                    | Invoice.company.in_(companies))
        if name == "state":
            if value == "received":
                return Invoice.type == "received"
            if value in ("draft", "issued"):
                issued = Invoice.issued.is_null(value == "draft")
                return (Invoice.type == "submitted") & issued
            raise V.BadValue(_("must be one of draft, issued, received"))
        if name in ("created_from", "created_to", "expires_from", "expires_to"):
            day = V.parse_date(value)
            column = Invoice.created if name.startswith("created") else Invoice.expires
            return column >= day if name.endswith("from") else column <= day
        if name in ("total_min", "total_max"):
            amount = V.parse_decimal(value)
            return Invoice.total >= amount if name == "total_min" else Invoice.total <= amount
        if name == "contract":
            contracts = Contract.select(Contract.id).where(
                (Contract.contract_number == value) | (Contract.name == value)
                | (Contract.id == (V.parse_int(value) if value.isdigit() else -1)))
            linked = ContractInvoice.select(ContractInvoice.invoice).where(
                ContractInvoice.contract.in_(contracts))
            return Invoice.id.in_(linked)
        if name == "contract_id":
            contract_id = V.parse_int(value)
            if contract_id is None:
                raise V.BadValue(_("a contract id"))
            linked = ContractInvoice.select(ContractInvoice.invoice).where(
                ContractInvoice.contract == contract_id)
            return Invoice.id.in_(linked)
        if name == "role":
            companies = Company.select(Company.id).join(
                Company.role.rel_model, on=Company.role).where(
                Company.role.rel_model.name == value)
            return Invoice.company.in_(companies)
        if name == "manager_login":
            managers = User.select(User.id).where(User.login == value)
            return Invoice.company.in_(Company.select(Company.id).where(
                Company.manager.in_(managers)))
        return super().extra_filter(session, name, value)

    def decorate(self, session, rows):
        ids = [r["id"] for r in rows]
        lines: dict[int, list] = {}
        discounts: dict[int, list] = {}
        contracts: dict[int, list] = {}
        from crm_tui.models import Contract

        visible_contracts = Contract.select(Contract.id).where(
            get_kind("contract").view_expr(session))
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for model, target in ((InvoiceLine, lines), (InvoiceDiscount, discounts)):
                query = (model.select(model.invoice, model.description, model.amount,
                                      model.tax_rate)
                         .where(model.invoice.in_(chunk))
                         .order_by(model.position, model.id).tuples())
                for invoice_id, description, amount, rate in query:
                    target.setdefault(invoice_id, []).append(
                        {"description": description, "amount": amount, "tax_rate": rate})
            # Only the contracts the user may see: a hidden one is not even named by its id.
            query = (ContractInvoice.select(ContractInvoice.invoice, ContractInvoice.contract)
                     .where(ContractInvoice.invoice.in_(chunk),
                            ContractInvoice.contract.in_(visible_contracts)).tuples())
            for invoice_id, contract_id in query:
                contracts.setdefault(invoice_id, []).append(contract_id)
        for row in rows:
            own_lines = lines.get(row["id"], [])
            own_discounts = discounts.get(row["id"], [])
            totals = totals_of(own_lines, own_discounts, row.get("withholding_rate") or 0,
                               credit=row.get("credit_of") is not None)
            row["state"] = state_of(row.get("type"), row.get("issued"))
            row["lines"] = [amount_row(x) for x in own_lines]
            row["discounts"] = [amount_row(x) for x in own_discounts]
            row["contracts"] = sorted(contracts.get(row["id"], []))
            for key, value in totals.as_dict().items():
                row[key] = V.render(value)
            row["tax_rates"] = [{"rate": V.render(r.rate), "base": V.render(r.base),
                                 "tax": V.render(r.tax)} for r in totals.by_rate]


def _shown(value: Any) -> str:
    if isinstance(value, peewee.Model):
        return str(value.id)
    if isinstance(value, list):
        return json.dumps([{k: V.render(v) for k, v in x.items()} if isinstance(x, dict)
                           else str(x) for x in value], ensure_ascii=False)
    return "" if value is None else str(V.render(value))


#: Functions called as (session, invoice, created) after an invoice is saved, inside the
#: transaction.
AFTER_SAVE_HOOKS: list = []

# Stored names of attachment files whose rows a delete removed; unlinked after the commit.
_DELETED_FILES: contextvars.ContextVar[list[str]] = contextvars.ContextVar("deleted_files")


def _unlink_stored(names: list[str]) -> None:
    from crm_tui.services.attachments import path_of

    for name in names:
        path_of(name).unlink(missing_ok=True)


def _integrity_problem(label: str, raw: dict, exc: Exception) -> ValidationFailed:
    """The database refused a duplicate another operator saved first (the last guard)."""
    if "bill_id" in str(exc):
        return ValidationFailed.one(label, "bill_id", raw.get("bill_id", ""),
                                    _("another invoice already has it"))
    return ValidationFailed.one(label, "id", "", _("the database refused it: {exc}").format(exc=exc))


def find_invoice(session: Session, ref: str | int) -> Invoice:
    """An invoice the user may see, by record id or bill ID (see `InvoiceKind.load`).

    Raises:
        NotFound, ValidationFailed.
    """
    return get_kind("invoice").load(session, ref)


_find = find_invoice


def find(session: Session, ref: str | int) -> dict:
    """An invoice by record id or bill ID, in the --json shape."""
    invoice = _find(session, ref)
    return get_kind("invoice").get(session, invoice.id)


# --- billing: per currency, never EUR + USD added ---------------------------------------


def billed_expr() -> peewee.Expression:
    """The invoices whose totals count as billed: issued Submitted invoices and their credit
    notes (negative), except invoices marked cancelled and the credit notes of those."""
    cancelled = Invoice.select(Invoice.id).where(Invoice.status == "cancelled")
    return ((Invoice.type == "submitted") & Invoice.issued.is_null(False)
            & (Invoice.status != "cancelled")
            & (Invoice.credit_of.is_null() | Invoice.credit_of.not_in(cancelled)))


def billing_by_currency(company_ids: list[int],
                        where: peewee.Expression | None = None) -> dict[int, dict[str, Decimal]]:
    """What each company was billed, per currency: {company id: {currency: total}}.

    `where` narrows the invoices further (e.g. to those the user may see); a company
    without billed invoices is absent.
    """
    out: dict[int, dict[str, Decimal]] = {}
    for start in range(0, len(company_ids), 500):
        chunk = company_ids[start:start + 500]
        query = (Invoice.select(Invoice.company, Invoice.currency, money_sum(Invoice.total))
                 .where(Invoice.company.in_(chunk), billed_expr())
                 .group_by(Invoice.company, Invoice.currency))
        if where is not None:
            query = query.where(where)
        pairs: dict[int, list] = {}
        for company_id, currency, total in query.tuples():
            pairs.setdefault(company_id, []).append((currency, total))
        for company_id, items in pairs.items():
            out[company_id] = sum_by_currency(items)
    return out


def totals_by_currency(session: Session, filters: dict[str, str] | None = None
                       ) -> dict[str, Decimal]:
    """The sum of the totals of the visible invoices a filter selects, per currency."""
    query = get_kind("invoice").query(session, filters)
    rows = query.select(Invoice.currency, money_sum(Invoice.total)).group_by(
        Invoice.currency).tuples()
    return sum_by_currency(rows)
