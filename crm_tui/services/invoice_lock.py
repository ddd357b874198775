"""The invoice lock and who may do what with one invoice: edit, lock, unlock, delete,
issue, credit, and change its contract links."""

from __future__ import annotations

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import Invoice
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind


def edit_refusal(user, invoice: Invoice) -> str | None:
    """Why `user` may not change this invoice, or None.

    Issued invoices change only their payment fields and note, which IW and IM may do (the
    lock still applies); drafts and Received invoices follow acl's rules.
    """
    if invoice.type == "submitted" and invoice.issued is not None:
        if invoice.locked and invoice.locked_by_id != user.id:
            return _("it is locked by another user: unlock it first")
        if acl.is_admin(user):
            return None
        if not acl.can_modify_company(user, invoice.company):
            return _("you may not modify its company")
        if acl.has(user, "IW") or acl.has(user, "IM"):
            return None
        return _("changing invoices takes IW or IM")
    return acl.invoice_edit_refusal(user, invoice)


def _find(session: Session, ref: str | int) -> Invoice:
    return get_kind("invoice").load(session, ref)


def _label(invoice: Invoice) -> str:
    return get_kind("invoice").label(invoice)


def lock(session: Session, ref: str | int) -> None:
    """Lock an invoice (IW or IM).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (already locked).
    """
    with write_transaction():
        invoice = _find(session, ref)
        if invoice.locked:
            raise ValidationFailed.one(_label(invoice), "locked", "1", _("is already locked"))
        if not acl.can_lock_invoice(session.user, invoice):
            raise PermissionDenied(_("{login} may not lock {record}").format(
                login=session.login, record=_label(invoice)))
        invoice.locked, invoice.locked_by = True, session.user.id
        invoice.save(only=[Invoice.locked, Invoice.locked_by])


def unlock(session: Session, ref: str | int) -> None:
    """Unlock an invoice (IM or superadmin only).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (not locked).
    """
    with write_transaction():
        invoice = _find(session, ref)
        if not invoice.locked:
            raise ValidationFailed.one(_label(invoice), "locked", "0", _("is not locked"))
        if not acl.can_unlock_invoice(session.user, invoice):
            raise PermissionDenied(_("{login} may not unlock {record}").format(
                login=session.login, record=_label(invoice)))
        invoice.locked, invoice.locked_by = False, None
        invoice.save(only=[Invoice.locked, Invoice.locked_by])


def check_relations(session: Session, invoice: Invoice) -> None:
    """Raise PermissionDenied unless the user may link or unlink the invoice's contracts:
    the lock covers them as it covers the invoice (only its holder changes them)."""
    if invoice.locked and invoice.locked_by_id != session.user.id:
        raise PermissionDenied(_("{login} may not change the contracts of {record}: it is "
                                 "locked by another user: unlock it first").format(
                                     login=session.login, record=_label(invoice)))


def may_issue(session: Session, invoice: Invoice) -> str | None:
    """Why the user may not issue (or credit) this invoice, or None when he may."""
    user = session.user
    if invoice.locked and invoice.locked_by_id != user.id:
        return _("it is locked by another user: unlock it first")
    if not acl.can_create_invoice(user, invoice.company, invoice.type):
        return _("issuing invoices takes IW or IM on their company")
    return None


def permissions(session: Session, invoice_id: int | str) -> dict[str, bool]:
    """What the acting user may do with one invoice (the TUI greys keys from this)."""
    invoice = get_kind("invoice").load(session, invoice_id)
    user = session.user
    issued = invoice.issued is not None
    submitted = invoice.type == "submitted"
    issue_ok = submitted and may_issue(session, invoice) is None
    return {
        "edit": edit_refusal(user, invoice) is None,
        "lock": acl.can_lock_invoice(user, invoice),
        "unlock": acl.can_unlock_invoice(user, invoice),
        "delete": acl.can_delete_invoice(user, invoice) and not issued,
        "issue": issue_ok and not issued,
        "credit": (submitted and issued and invoice.credit_of_id is None
                   and acl.can_create_invoice(user, invoice.company, "submitted")),
    }


def refusals(session: Session, invoice_id: int | str) -> dict[str, str]:
    """Why the keys `permissions` greys for want of a right do nothing, by key ("issue",
    "credit", "lock"), naming only the invoice the user sees. An action that does not apply
    (issuing an issued invoice) has no entry: its key stays quiet."""
    invoice = get_kind("invoice").load(session, invoice_id)
    user = session.user
    name = _label(invoice)
    submitted, issued = invoice.type == "submitted", invoice.issued is not None
    locked_by_other = invoice.locked and invoice.locked_by_id != user.id
    out: dict[str, str] = {}
    if submitted and not issued and may_issue(session, invoice) is not None:
        out["issue"] = (_("{record} is locked by another user: unlock it first").format(
            record=name) if locked_by_other else
            _("you may not issue {record}").format(record=name))
    if (submitted and issued and invoice.credit_of_id is None
            and not acl.can_create_invoice(user, invoice.company, "submitted")):
        out["credit"] = _("you may not issue a credit note for {record}").format(record=name)
    if invoice.locked and not acl.can_unlock_invoice(user, invoice):
        out["lock"] = _("you may not unlock {record}").format(record=name)
    elif not invoice.locked and not acl.can_lock_invoice(user, invoice):
        out["lock"] = _("you may not lock {record}").format(record=name)
    return out


def toggle_lock(session: Session, ref: str | int) -> bool:
    """Lock an unlocked invoice or unlock a locked one; returns the new locked state.

    Raises:
        NotFound, PermissionDenied.
    """
    invoice = _find(session, ref)
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
