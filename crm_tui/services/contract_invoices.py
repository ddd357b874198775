"""The invoices of a contract: its related invoices (linked and unlinked under the invoice
lock), and the draft invoice generated from it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import NotFound, PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import Contract, ContractInvoice, Invoice
from crm_tui.services import history
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind


def visible_invoice_ids(session: Session):
    """The ids of the invoices the user may see (a subquery)."""
    return Invoice.select(Invoice.id).where(acl.invoice_view_expr(session.user))


def links_of(kind: str, record_id: int, also: Iterable[Any] = ()) -> list[tuple[str, int]]:
    """The records on the other side of a contract's or an invoice's links, plus `also`
    (records or ids about to be linked): whose history a change of the links touches."""
    if kind == "contract":
        other, mine, theirs = "invoice", ContractInvoice.contract, ContractInvoice.invoice
    else:
        other, mine, theirs = "contract", ContractInvoice.invoice, ContractInvoice.contract
    ids = {i for (i,) in ContractInvoice.select(theirs).where(mine == record_id).tuples()}
    ids.update(getattr(item, "id", item) for item in also)
    return [(other, i) for i in sorted(ids)]


def link_once(contract_id: int, invoice_id: int) -> bool:
    """Link a contract and an invoice once; True when the link is new."""
    exists = ContractInvoice.select().where(ContractInvoice.contract == contract_id,
                                            ContractInvoice.invoice == invoice_id).exists()
    if not exists:
        ContractInvoice.create(contract=contract_id, invoice=invoice_id)
    return not exists


def check_locked_links(session: Session, contract: Contract) -> None:
    """Deleting a contract unlinks its invoices: the lock covers those links too, so a link
    to an invoice locked by another user refuses the delete (a hidden invoice unnamed)."""
    from crm_tui.services.invoices import check_relations

    linked = ContractInvoice.select(ContractInvoice.invoice).where(
        ContractInvoice.contract == contract.id)
    locked = Invoice.select().where(
        Invoice.id.in_(linked), Invoice.locked == True,  # noqa: E712
        Invoice.locked_by.is_null() | (Invoice.locked_by != session.user.id))
    for invoice in locked.where(acl.invoice_view_expr(session.user)):
        check_relations(session, invoice)  # names the invoice
    if locked.exists():
        raise PermissionDenied(_("{login} may not delete contract {name!r}: it is linked to "
                                 "an invoice locked by another user").format(login=session.login, name=contract.name))


def related_invoices(session: Session, contract_id: int | str) -> list[dict]:
    """The invoices linked to a contract that the user may see, in the --json shape."""
    contract = get_kind("contract").load(session, contract_id)
    linked = ContractInvoice.select(ContractInvoice.invoice).where(
        ContractInvoice.contract == contract.id)
    kind = get_kind("invoice")
    query = kind.query(session).where(Invoice.id.in_(linked)).order_by(Invoice.created,
                                                                        Invoice.id)
    return kind.rows(session, query)


def _invoices_for_link(session: Session, contract_id, invoice_refs) -> tuple[Contract, list]:
    kind = get_kind("contract")
    contract = kind.load(session, contract_id)
    kind.check_modify(session, contract)
    invoice_kind = get_kind("invoice")
    found, problems = [], []
    for ref in V.parse_list(invoice_refs) if isinstance(invoice_refs, str) else invoice_refs:
        try:
            found.append(invoice_kind.load(session, ref))
        except (NotFound, PermissionDenied):  # the same answer: nothing is revealed
            problems.append(Problem(kind.label(contract), "invoices", str(ref),
                                    _("no such invoice")))
    if problems:
        raise ValidationFailed(problems)
    from crm_tui.services.invoices import check_relations

    for invoice in found:
        check_relations(session, invoice)
    return contract, found


def add_invoices(session: Session, contract_id: int | str, invoice_refs) -> int:
    """Link invoices (by bill ID or id) to a contract; returns how many links are new.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (an invoice the user cannot see).
    """
    contract, invoices = _invoices_for_link(session, contract_id, invoice_refs)
    with write_transaction(), history.cascade(
            session, [("contract", contract.id), *(("invoice", i.id) for i in invoices)]):
        return sum(link_once(contract.id, invoice.id) for invoice in invoices)


def remove_invoices(session: Session, contract_id: int | str, invoice_refs) -> int:
    """Unlink invoices from a contract; returns how many links were removed."""
    contract, invoices = _invoices_for_link(session, contract_id, invoice_refs)
    with write_transaction(), history.cascade(
            session, [("contract", contract.id), *(("invoice", i.id) for i in invoices)]):
        return ContractInvoice.delete().where(
            ContractInvoice.contract == contract.id,
            ContractInvoice.invoice.in_([i.id for i in invoices]),
        ).execute()


def invoice_draft(session: Session, contract_id: int | str) -> dict[str, Any]:
    """The fields of a new invoice generated from a contract (for a form to complete).

    Company, related contract, reference (the contract number) and one concept naming the
    contract and its period; the amount is left for the operator.
    """
    contract = get_kind("contract").get(session, contract_id)
    period = " – ".join(d for d in (contract.get("date_begin"), contract.get("date_end")) if d)
    concept = contract["name"] + (f" ({contract['contract_number']})"
                                  if contract.get("contract_number") else "")
    if period:
        concept += f", {period}"
    return {
        "company": str(contract["company"]),
        "type": "submitted",
        "reference": contract.get("contract_number") or "",
        "description": contract.get("description") or "",
        "contracts": str(contract["id"]),
        "lines": [{"description": concept, "amount": "0"}],
    }


def generate_invoice(session: Session, contract_id: int | str, amount: str | None = None,
                     overrides: dict[str, Any] | None = None) -> int:
    """Create a draft invoice from a contract (see `invoice_draft`); returns its id.

    A Submitted draft has no bill ID until it is issued (`crm invoice issue`).

    `amount` prices the contract's concept line; `overrides` replaces any draft field
    (e.g. `lines`, `type`, `tax_rate`).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    raw = invoice_draft(session, contract_id)
    if amount is not None:
        raw["lines"][0]["amount"] = amount
    raw.update(overrides or {})
    return get_kind("invoice").create(session, raw)
