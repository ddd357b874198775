"""Invoices: concepts and discounts, Decimal totals, bill IDs, and lock / unlock."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import zlib
from collections.abc import Iterator
from typing import Any

import peewee

from crm_tui import acl
from crm_tui.db import database, is_postgres, write_transaction
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.models import (
    INVOICE_STATUSES,
    INVOICE_TYPES,
    Attachment,
    Company,
    ContractInvoice,
    Invoice,
    InvoiceDiscount,
    InvoiceLine,
    Setting,
)
from crm_tui.money import compute_totals
from crm_tui.services import settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import Field, Kind, get_kind, register

log = logging.getLogger(__name__)


def _parse_amount_lines(label: str, key: str, raw: Any, problems: list[Problem]) -> list[dict]:
    """Parse `lines` / `discounts`: a list of {description, amount}."""
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            problems.append(Problem(label, key, raw, "not a JSON list of {description, amount}"))
            return []
    if not isinstance(raw, list):
        problems.append(Problem(label, key, str(raw), "not a list of {description, amount}"))
        return []
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Problem(label, f"{key}[{n}]", str(item), "not {description, amount}"))
            continue
        description = str(item.get("description", "")).strip()
        try:
            amount = V.parse_decimal(item.get("amount"))
        except V.BadValue as exc:
            problems.append(Problem(label, f"{key}[{n}].amount", str(item.get("amount")), str(exc)))
            continue
        if not description:
            problems.append(Problem(label, f"{key}[{n}].description", "", "required"))
        if amount is None:
            problems.append(Problem(label, f"{key}[{n}].amount", "", "required"))
            continue
        if key == "discounts" and amount < 0:
            problems.append(Problem(label, f"{key}[{n}].amount", str(amount),
                                    "a discount cannot be negative"))
        out.append({"description": description, "amount": amount})
    return out


def totals_of(invoice: Invoice, lines: list, discounts: list) -> dict:
    """Derived totals of an invoice as Decimals (tax_base, subtotal, total_tax, total…)."""
    return compute_totals(
        [line["amount"] for line in lines],
        [d["amount"] for d in discounts],
        invoice.tax_rate or 0,
        invoice.withholding_rate or 0,
    ).as_dict()


def _series_lock(pattern: str) -> None:
    """Serialise bill-ID allocation on PostgreSQL (SQLite's IMMEDIATE transaction already does).

    The pattern's settings row is locked FOR UPDATE, so a second allocation waits until the
    first transaction ends and then, under READ COMMITTED, sees the invoice it inserted. If
    that row is missing, a transaction-scoped advisory lock on the pattern does the same.
    """
    rows = list(Setting.select(Setting.key).where(Setting.key == "invoice.id_pattern")
                .for_update())
    if not rows:
        key = zlib.crc32(pattern.encode("utf-8"))
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def _number_text(number: int, digits: str) -> str:
    # A pattern such as INV-[0001] keeps its width: INV-0001, INV-0002 … INV-10000.
    return str(number).zfill(len(digits))


def allocate_bill_id(pattern: str, *, reserve: bool = True) -> tuple[str, int]:
    """The next bill ID of a pattern, from its numeric part (15/9999 → 15/10000).

    Call it inside the write transaction that saves the invoice (`reserve=True`): on SQLite
    that transaction holds the write lock from BEGIN, on PostgreSQL the allocation takes a
    row lock first, so two operators never get the same number, and a rollback frees the
    number for the next invoice (no gap). The unique index on bill_id is the last guard.
    `reserve=False` only previews the number and takes no lock.

    Raises:
        V.BadValue: the pattern does not hold exactly one bracketed number.
    """
    prefix, first, suffix = settings.parse_bill_pattern(pattern)
    digits = pattern.split("[", 1)[1].split("]", 1)[0]
    if reserve and is_postgres():
        _series_lock(pattern)
    last = (
        Invoice.select(peewee.fn.MAX(Invoice.bill_number))
        .where(Invoice.bill_series == pattern)
        .scalar()
    )
    number = first if last is None else max(last + 1, first)
    # A manual exception may already hold the next ID: skip past it, never duplicate.
    while Invoice.select(Invoice.id).where(
        Invoice.bill_id == f"{prefix}{_number_text(number, digits)}{suffix}"
    ).exists():
        number += 1
    return f"{prefix}{_number_text(number, digits)}{suffix}", number


def auto_id_enabled() -> bool:
    """True while Submitted invoices get their bill ID from the pattern."""
    return settings.raw_value("invoice.auto_id", "1") == "1"


def preview_bill_id() -> str | None:
    """The ID the next Submitted invoice would get (not reserved), or None when auto is off."""
    if not auto_id_enabled():
        return None
    try:
        return allocate_bill_id(settings.raw_value("invoice.id_pattern", ""), reserve=False)[0]
    except V.BadValue:
        return None


# Bulk loads (demo data, tests of the allocator) skip the per-invoice PDF and regenerate
# them afterwards with a batch; see `deferred_pdfs`.
_PDFS_DEFERRED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "invoice_pdfs_deferred", default=False)


@contextlib.contextmanager
def deferred_pdfs() -> Iterator[None]:
    """Inside this block, saving a Submitted invoice does not render its PDF.

    For bulk loads: render the PDFs afterwards with `documents_service.pdf_batch` or
    `documents_service.refresh_invoice_pdf`.
    """
    token = _PDFS_DEFERRED.set(True)
    try:
        yield
    finally:
        _PDFS_DEFERRED.reset(token)


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
                     "manager_login")
    fields = (
        Field("company", "ref", ref="company", required=True),
        Field("type", "choice", choices=INVOICE_TYPES),
        Field("bill_id", max_length=100),
        Field("reference", max_length=100),
        Field("status", "choice", choices=INVOICE_STATUSES),
        Field("created", "date"),
        Field("expires", "date"),
        Field("paid_on", "date"),
        Field("currency", max_length=3),
        Field("language", max_length=10),
        Field("tax_rate", "rate"),
        Field("withholding_rate", "rate"),
        Field("internal_note", "textarea"),
        Field("description", "textarea"),
        Field("contracts", "refs", ref="contract"),
        Field("locked", "bool", readonly=True),
        Field("locked_by", "user", readonly=True),
        Field("total", "decimal", readonly=True),
    )

    # --- access -------------------------------------------------------------------------

    def view_expr(self, session):
        return acl.invoice_view_expr(session.user)

    def check_view(self, session, obj):
        if not acl.can_view_invoice(session.user, obj):
            raise PermissionDenied(f"{session.login} may not view {self.label(obj)}")

    def check_write_any(self, session):
        user = session.user
        if not (acl.is_admin(user) or acl.has(user, "IW") or acl.has(user, "IM")):
            raise PermissionDenied(f"{session.login} may not create or change invoices")

    def check_modify(self, session, obj):
        if obj.id is None:
            if obj.company_id is not None and not acl.can_create_invoice(
                session.user, obj.company, obj.type
            ):
                raise PermissionDenied(
                    f"{session.login} may not create invoices for company {obj.company.name!r}"
                )
            return
        reason = acl.invoice_edit_refusal(session.user, obj)
        if reason:
            raise PermissionDenied(f"{session.login} may not change {self.label(obj)}: {reason}")

    def check_delete(self, session, obj):
        if not acl.can_delete_invoice(session.user, obj):
            raise PermissionDenied(f"{session.login} may not delete {self.label(obj)}")

    # --- parsing and saving -------------------------------------------------------------

    def defaults(self, session, obj):
        obj.type = "submitted"
        obj.status = "pending"
        obj.created = session.clock.today()
        obj.currency = settings.raw_value("invoice.currency", "EUR") or "EUR"
        obj.language = session.user.language or "en"
        obj.tax_rate = V.parse_decimal(settings.raw_value("invoice.tax_rate", "0") or "0", 3)

    def parse(self, session, obj, raw, creating):
        raw = dict(raw)
        lines_raw = raw.pop("lines", None)
        discounts_raw = raw.pop("discounts", None)
        # Derived totals may come back in a --json round trip; they are computed, not set.
        for derived in ("tax_base", "subtotal", "total_tax", "discount_total", "withholding"):
            raw.pop(derived, None)
        parsed, custom, problems = super().parse(session, obj, raw, creating)
        label = self.label(obj) if not creating else self._new_label(raw)
        if lines_raw is not None:
            parsed["lines"] = _parse_amount_lines(label, "lines", lines_raw, problems)
        if discounts_raw is not None:
            parsed["discounts"] = _parse_amount_lines(label, "discounts", discounts_raw, problems)
        return parsed, custom, problems

    def validate(self, session, obj, parsed, problems):
        label = self.label(obj)
        if obj.currency and len(obj.currency) != 3:
            problems.append(Problem(label, "currency", obj.currency, "a 3-letter code like EUR"))
        for key in ("tax_rate", "withholding_rate"):
            rate = getattr(obj, key)
            if rate is not None and not 0 <= rate <= 100:
                problems.append(Problem(label, key, str(rate), "a percentage from 0 to 100"))
        if obj.expires and obj.created and obj.expires < obj.created:
            problems.append(Problem(label, "expires", str(obj.expires), "is before created"))
        auto = auto_id_enabled()
        if obj.id is None and not obj.bill_id and not (auto and obj.type == "submitted"):
            problems.append(Problem(label, "bill_id", "", "required (automatic IDs apply only "
                                    "to Submitted invoices while invoice.auto_id is on)"))
        if obj.id is not None and "bill_id" in parsed and not obj.bill_id:
            problems.append(Problem(label, "bill_id", "", "required"))
        if obj.id is None and obj.type == "submitted" and not obj.bill_id and auto:
            try:
                settings.parse_bill_pattern(settings.raw_value("invoice.id_pattern"))
            except V.BadValue as exc:
                problems.append(Problem("setting invoice.id_pattern", "value",
                                        settings.raw_value("invoice.id_pattern"), str(exc)))
        if problems:
            return  # the stored total is recomputed only from values that passed
        lines = parsed.get("lines")
        discounts = parsed.get("discounts")
        if lines is None and discounts is None and (
                obj.id is None or not {"tax_rate", "withholding_rate"} & set(parsed)):
            return
        current_lines = lines if lines is not None else _lines(obj)
        current_discounts = discounts if discounts is not None else _discounts(obj)
        try:
            obj.total = totals_of(obj, current_lines, current_discounts)["total"]
        except ValueError as exc:
            problems.append(Problem(label, "discounts", "", str(exc)))

    def before_save(self, session, obj, created):
        obj.updated = session.clock.now()
        if created and obj.type == "submitted" and not obj.bill_id:
            # Inside the write transaction: the number is taken only now, under the lock.
            pattern = settings.raw_value("invoice.id_pattern")
            obj.bill_id, obj.bill_number = allocate_bill_id(pattern)
            obj.bill_series = pattern
        if obj.type == "submitted":
            # Submitted invoices lock on create and on every edit, held by the editor.
            obj.locked = True
            obj.locked_by = session.user.id

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
            ContractInvoice.delete().where(ContractInvoice.invoice == obj.id,
                                           ContractInvoice.contract.in_(visible)).execute()
            for contract in parsed["contracts"]:
                ContractInvoice.get_or_create(contract=contract.id, invoice=obj.id)
        for hook in AFTER_SAVE_HOOKS:
            hook(session, obj, created)

    def before_delete(self, session, obj):
        ContractInvoice.delete().where(ContractInvoice.invoice == obj.id).execute()
        # The rows go with the invoice; their files are removed once the delete commits.
        query = Attachment.select(Attachment.stored_name).where(
            Attachment.owner_kind == "invoice", Attachment.owner_id == obj.id)
        _DELETED_FILES.get().extend(name for (name,) in query.tuples())
        Attachment.delete().where(Attachment.owner_kind == "invoice",
                                  Attachment.owner_id == obj.id).execute()

    # --- the use cases, with what happens after the commit ------------------------------

    def create(self, session, raw):
        """Add an invoice; a Submitted one gets its bill ID, its lock and its PDF.

        Raises:
            PermissionDenied, ValidationFailed (nothing written).
        """
        try:
            invoice_id = super().create(session, raw)
        except peewee.IntegrityError as exc:
            raise _integrity_problem(self._new_label(raw), raw, exc) from None
        _after_commit(session, invoice_id)
        return invoice_id

    def update(self, session, record_id, raw, unchanged_since=None):
        """Change an invoice; a Submitted one is locked again and its PDF replaced.

        Raises:
            NotFound, PermissionDenied, ValidationFailed (nothing written).
        """
        invoice_id = self.load(session, record_id).id
        try:
            super().update(session, invoice_id, raw, unchanged_since=unchanged_since)
        except peewee.IntegrityError as exc:
            raise _integrity_problem(f"invoice {record_id}", raw, exc) from None
        _after_commit(session, invoice_id)

    def load(self, session, record_id):
        """An invoice by id, or by bill ID when given as text that is one.

        Raises:
            NotFound, PermissionDenied.
        """
        if isinstance(record_id, str):
            invoice = Invoice.get_or_none(Invoice.bill_id == record_id)
            if invoice is not None:
                self.check_view(session, invoice)
                return invoice
        return super().load(session, record_id)

    def delete(self, session, record_id):
        """Delete an invoice with its lines, links and attachments (IM or superadmin).

        Raises:
            NotFound, PermissionDenied.
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
                raise V.BadValue("a contract id")
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
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for model, target in ((InvoiceLine, lines), (InvoiceDiscount, discounts)):
                query = (model.select(model.invoice, model.description, model.amount)
                         .where(model.invoice.in_(chunk)).order_by(model.position).tuples())
                for invoice_id, description, amount in query:
                    target.setdefault(invoice_id, []).append(
                        {"description": description, "amount": amount})
            query = (ContractInvoice.select(ContractInvoice.invoice, ContractInvoice.contract)
                     .where(ContractInvoice.invoice.in_(chunk)).tuples())
            for invoice_id, contract_id in query:
                contracts.setdefault(invoice_id, []).append(contract_id)
        for row in rows:
            own_lines = lines.get(row["id"], [])
            own_discounts = discounts.get(row["id"], [])
            totals = compute_totals([x["amount"] for x in own_lines],
                                    [x["amount"] for x in own_discounts],
                                    row.get("tax_rate") or 0, row.get("withholding_rate") or 0)
            row["lines"] = [{"description": x["description"],
                             "amount": V.render(V.money(x["amount"]))} for x in own_lines]
            row["discounts"] = [{"description": x["description"],
                                 "amount": V.render(V.money(x["amount"]))}
                                for x in own_discounts]
            row["contracts"] = sorted(contracts.get(row["id"], []))
            for key, value in totals.as_dict().items():
                row[key] = V.render(value)


#: Functions called as (session, invoice, created) after an invoice is saved, inside the
#: transaction. (The PDF of Submitted invoices is made after the commit instead; see
#: `_after_commit`.)
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
                                    "another invoice already has it")
    return ValidationFailed.one(label, "id", "", f"the database refused it: {exc}")


def _after_commit(session: Session, invoice_id: int) -> None:
    """Render a Submitted invoice's PDF once its row has committed.

    The file is written only after the commit, so a rejected or rolled-back save leaves
    nothing behind; inside a caller's own transaction (or `deferred_pdfs`) nothing is made.
    A PDF that cannot be made is logged: the invoice itself is saved.
    """
    if _PDFS_DEFERRED.get() or database.in_transaction():
        return
    from crm_tui.documents import DocumentError
    from crm_tui.services import documents_service

    try:
        documents_service.refresh_invoice_pdf(session, invoice_id)
    except (DocumentError, OSError) as exc:
        log.warning("invoice %s saved, but its PDF could not be made: %s", invoice_id, exc)


def _lines(obj: Invoice) -> list[dict]:
    if obj.id is None:
        return []
    return [{"description": x.description, "amount": x.amount}
            for x in InvoiceLine.select().where(InvoiceLine.invoice == obj.id)]


def _discounts(obj: Invoice) -> list[dict]:
    if obj.id is None:
        return []
    return [{"description": x.description, "amount": x.amount}
            for x in InvoiceDiscount.select().where(InvoiceDiscount.invoice == obj.id)]


def _find(session: Session, bill_id_or_id: str | int) -> Invoice:
    return get_kind("invoice").load(session, bill_id_or_id)


def find(session: Session, bill_id_or_id: str) -> dict:
    """An invoice by bill ID (or id), in the --json shape."""
    invoice = _find(session, bill_id_or_id)
    return get_kind("invoice").get(session, invoice.id)


def lock(session: Session, bill_id_or_id: str) -> None:
    """Lock an invoice (IW or IM).

    Raises:
        NotFound, PermissionDenied.
    """
    with write_transaction():
        invoice = _find(session, bill_id_or_id)
        if invoice.locked:
            raise ValidationFailed.one(f"invoice {invoice.bill_id!r}", "locked", "1",
                                       "is already locked")
        if not acl.can_lock_invoice(session.user, invoice):
            raise PermissionDenied(f"{session.login} may not lock invoice {invoice.bill_id!r}")
        invoice.locked, invoice.locked_by = True, session.user.id
        invoice.save(only=[Invoice.locked, Invoice.locked_by])


def unlock(session: Session, bill_id_or_id: str) -> None:
    """Unlock an invoice (IM or superadmin only).

    Raises:
        NotFound, PermissionDenied.
    """
    with write_transaction():
        invoice = _find(session, bill_id_or_id)
        if not invoice.locked:
            raise ValidationFailed.one(f"invoice {invoice.bill_id!r}", "locked", "0",
                                       "is not locked")
        if not acl.can_unlock_invoice(session.user, invoice):
            raise PermissionDenied(f"{session.login} may not unlock invoice {invoice.bill_id!r}")
        invoice.locked, invoice.locked_by = False, None
        invoice.save(only=[Invoice.locked, Invoice.locked_by])


def permissions(session: Session, invoice_id: int) -> dict[str, bool]:
    """What the acting user may do with one invoice (the TUI greys keys from this)."""
    invoice = get_kind("invoice").load(session, invoice_id)
    user = session.user
    return {
        "edit": acl.invoice_edit_refusal(user, invoice) is None,
        "lock": acl.can_lock_invoice(user, invoice),
        "unlock": acl.can_unlock_invoice(user, invoice),
        "delete": acl.can_delete_invoice(user, invoice),
    }



def toggle_lock(session: Session, bill_id_or_id: str | int) -> bool:
    """Lock an unlocked invoice or unlock a locked one; returns the new locked state.

    Raises:
        NotFound, PermissionDenied.
    """
    invoice = _find(session, bill_id_or_id)
    if invoice.locked:
        unlock(session, invoice.id)
        return False
    lock(session, invoice.id)
    return True


def can_create(session: Session) -> bool:
    """May the acting user create invoices at all (IW, IM or superadmin)?"""
    try:
        get_kind("invoice").check_write_any(session)
    except PermissionDenied:
        return False
    return True


def parse_lines_text(text: str, key: str = "lines") -> list[dict]:
    """Concept or discount lines typed one per line as `AMOUNT DESCRIPTION`.

    Returns [{description, amount}] as the `lines` / `discounts` fields take them.

    Raises:
        ValidationFailed: every line that is not an amount followed by a description.
    """
    problems: list[Problem] = []
    out: list[dict] = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        amount_text, _, description = line.strip().partition(" ")
        try:
            amount = V.parse_decimal(amount_text)
        except V.BadValue as exc:
            problems.append(Problem(f"invoice {key}", f"{key}[{number}]", line.strip(),
                                    f"start with the amount, then the description: {exc}"))
            continue
        if not description.strip():
            problems.append(Problem(f"invoice {key}", f"{key}[{number}]", line.strip(),
                                    "a description must follow the amount"))
            continue
        out.append({"description": description.strip(), "amount": format(amount, "f")})
    if problems:
        raise ValidationFailed(problems)
    return out


def lines_text(lines: list[dict]) -> str:
    """The inverse of `parse_lines_text`: one `AMOUNT DESCRIPTION` per line."""
    return "\n".join(f"{line['amount']} {line['description']}" for line in lines)


def form_defaults(session: Session) -> dict[str, str]:
    """The values a new invoice form starts with, and the bill ID it would get (a preview)."""
    return {
        "type": "submitted",
        "status": "pending",
        "created": session.clock.today().isoformat(),
        "currency": settings.raw_value("invoice.currency", "EUR") or "EUR",
        "language": session.user.language or "en",
        "tax_rate": settings.raw_value("invoice.tax_rate", "0") or "0",
        "withholding_rate": "0",
        "bill_id_preview": preview_bill_id() or "",
    }


# --- the invoice form (fields, concepts and discounts as text) --------------------------

_LINES_HELP = "one per line: AMOUNT DESCRIPTION, e.g. 2400 Annual support"


def form_fields(session: Session, invoice_id: int | None = None,
                initial: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The invoice form: the record fields (as `forms.describe` gives them) plus the
    concepts and discounts as `AMOUNT DESCRIPTION` lines.

    `initial` may carry `lines` / `discounts` as lists (e.g. a draft from a contract).

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.services import forms

    initial = dict(initial or {})
    lines = initial.pop("lines", None)
    discounts = initial.pop("discounts", None)
    out = forms.describe(session, "invoice", invoice_id, {k: str(v) for k, v in initial.items()})
    if invoice_id is not None:
        row = get_kind("invoice").get(session, invoice_id)
        lines = row["lines"] if lines is None else lines
        discounts = row["discounts"] if discounts is None else discounts
    preview = preview_bill_id() if invoice_id is None else None
    for field in out:
        if field["key"] == "bill_id" and preview:
            field["help"] = f"empty: the next Submitted ID, {preview}"
    out += [
        {"key": "lines", "label": "Concepts", "kind": "textarea", "required": False,
         "options": (), "value": lines_text(lines or []), "help": _LINES_HELP,
         "section": "Concepts and discounts"},
        {"key": "discounts", "label": "Discounts", "kind": "textarea", "required": False,
         "options": (), "value": lines_text(discounts or []), "help": _LINES_HELP,
         "section": "Concepts and discounts"},
    ]
    return out


def submit_form(session: Session, invoice_id: int | None, values: dict[str, str]) -> int:
    """Create or update an invoice from form strings; returns its id.

    Raises:
        forms.FormRejected: each problem under its form key (nothing written).
        PermissionDenied, NotFound.
    """
    from crm_tui.services import forms

    values = dict(values)
    texts = {key: values.pop(key, None) for key in ("lines", "discounts")}
    kind = get_kind("invoice")
    if invoice_id is None:
        required = {f.name for f in kind.fields if f.required}
        raw: dict[str, Any] = {k: v for k, v in values.items() if v != "" or k in required}
        current_texts = {"lines": "", "discounts": ""}
    else:
        current = forms.current_values(session, "invoice", invoice_id)
        raw = {k: v for k, v in values.items() if current.get(k, "") != v}
        row = kind.get(session, invoice_id)
        current_texts = {key: lines_text(row[key]) for key in ("lines", "discounts")}
    problems: list[Problem] = []
    for key, text in texts.items():
        if text is None or text.strip() == current_texts[key].strip():
            continue
        try:
            raw[key] = parse_lines_text(text, key)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    try:
        if problems:
            raise ValidationFailed(problems)
        if invoice_id is None:
            return kind.create(session, raw)
        if raw:
            kind.update(session, invoice_id, raw)
        return invoice_id
    except ValidationFailed as error:
        errors = forms.field_errors(error, [*values, "lines", "discounts"])
        for problem in error.problems:
            # lines[2].amount belongs under the Concepts box.
            key = problem.field.split("[", 1)[0]
            if key in ("lines", "discounts") and problem.field != key:
                message = f"{problem.field}: {problem.reason}"
                errors[key] = f"{errors[key]}; {message}" if key in errors else message
        if "" in errors and all(p.field.split("[", 1)[0] in ("lines", "discounts")
                                for p in error.problems):
            del errors[""]
        raise forms.FormRejected(error.problems, errors) from None


def detail(session: Session, invoice_id: int | str) -> dict[str, Any]:
    """Everything an invoice's detail view shows, in one call (plain data).

    Returns the --json row plus `company_name`, `contract_names` [(id, name)], `files`
    [{id, name, size, generated}] and `permissions` (see `permissions`).

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.models import Contract

    invoice = _find(session, invoice_id)
    row = get_kind("invoice").get(session, invoice.id)
    row["company_name"] = invoice.company.name
    row["contract_names"] = [
        (c.id, c.name) for c in Contract.select(Contract.id, Contract.name)
        .where(Contract.id.in_(row["contracts"])).order_by(Contract.name)] if row[
        "contracts"] else []
    row["files"] = [
        {"id": a.id, "name": a.original_name, "size": a.size, "generated": a.generated}
        for a in Attachment.select().where(Attachment.owner_kind == "invoice",
                                           Attachment.owner_id == invoice.id)
        .order_by(Attachment.id)]
    row["permissions"] = permissions(session, invoice.id)
    return row
