"""Who may see and change what: the access rules of the CRM, in one place.

The rules (SPEC section 1): a company's manager views and modifies it; a user of the same
company as the manager views it, and modifies it only with CM; a company without a parent
is seen only by its manager and superadmins; without CR a user sees no CRM data at all.
Contacts, contracts, invoices and leads inherit their company's access; invoices and leads
add their own bits on top. Services call these functions on every read and write path.
"""

from __future__ import annotations

import peewee

from crm_tui.db import is_sqlite
from crm_tui.i18n import _
from crm_tui.models import Company, Invoice, Lead, LeadTally, User

CRM_BITS = ("CR", "CW", "CM")
INVOICE_BITS = ("IR", "IW", "IM")
LEAD_BITS = ("LR", "LW", "LM")
ALL_BITS = CRM_BITS + INVOICE_BITS + LEAD_BITS

# Expressions that are always true / always false, portable across SQLite and PostgreSQL.
_ALWAYS = peewee.SQL("1 = 1")
_NEVER = peewee.SQL("1 = 0")


def bits_of(user: User) -> frozenset[str]:
    """The union of the user's profile bits (every bit for a superadmin); cached on the user."""
    cached = getattr(user, "_crm_bits", None)
    if cached is not None:
        return cached
    if user.superadmin:
        bits = frozenset(ALL_BITS)
    else:
        from crm_tui.models import Profile, UserProfile

        rows = (
            Profile.select(Profile.bits)
            .join(UserProfile)
            .where(UserProfile.user == user.id)
            .tuples()
        )
        bits = frozenset(b for (text,) in rows for b in text.split(",") if b)
    user._crm_bits = bits
    return bits


def forget_bits(user: User) -> None:
    """Drop the cached bits (after the user's profiles change)."""
    if hasattr(user, "_crm_bits"):
        del user._crm_bits


def has(user: User, bit: str) -> bool:
    """True when the user holds the bit (superadmins hold every bit)."""
    return bit in bits_of(user)


def is_admin(user: User) -> bool:
    """Superadmins see and change everything."""
    return bool(user.superadmin)


# --- companies ------------------------------------------------------------------------------


def company_view_expr(user: User, model=Company) -> peewee.Expression:
    """A WHERE expression on Company selecting the companies `user` may view.

    `model` may be an alias of Company (e.g. a company's parent in a correlated query).
    The rule is two indexed equalities: the manager, or the manager's company (kept on
    the company as `manager_company_id`, see `manager_company_of`) for a company with a
    parent. No list of users or companies is built, however many the user may see.
    """
    if is_admin(user):
        return _ALWAYS
    if not has(user, "CR"):
        return _NEVER
    return _company_rule(user, model, shared=True)


def _company_rule(user: User, model, *, shared: bool) -> peewee.Expression:
    """The manager is `user`, or (`shared`) a colleague manages a company with a parent."""
    expr = model.manager == user.id
    if shared and user.company_id is not None:
        # Same company as the manager: visible, but never a root (parentless) company.
        expr |= (model.manager_company_id == user.company_id) & model.parent.is_null(False)
    return expr


def company_modify_expr(user: User) -> peewee.Expression:
    """A WHERE expression on Company selecting the companies `user` may modify."""
    if is_admin(user):
        return _ALWAYS
    if not (has(user, "CR") and has(user, "CW")):
        return _NEVER
    return _company_rule(user, Company, shared=has(user, "CM"))


def visible_company_ids(user: User) -> peewee.Select:
    """A subquery of the ids of the companies `user` may view."""
    return Company.select(Company.id).where(company_view_expr(user))


def modifiable_company_ids(user: User) -> peewee.Select:
    """A subquery of the ids of the companies `user` may modify."""
    return Company.select(Company.id).where(company_modify_expr(user))


def manager_company_of(manager_id: int | None) -> int | None:
    """The company the user `manager_id` belongs to: what a company he manages keeps in
    `manager_company_id` (services set it whenever a manager or a membership changes)."""
    if manager_id is None:
        return None
    row = User.select(User.company).where(User.id == manager_id).tuples().first()
    return row[0] if row else None


def can_view_company(user: User, company: Company) -> bool:
    """May `user` view this company?"""
    if is_admin(user):
        return True
    if not has(user, "CR"):
        return False
    if company.manager_id == user.id:
        return True
    return (
        company.parent_id is not None
        and user.company_id is not None
        and manager_company_of(company.manager_id) == user.company_id
    )


def can_modify_company(user: User, company: Company) -> bool:
    """May `user` change this company (and the records that inherit its access)?"""
    if is_admin(user):
        return True
    if not (has(user, "CR") and has(user, "CW")):
        return False
    if company.manager_id == user.id:
        return True
    return (
        has(user, "CM")
        and company.parent_id is not None
        and user.company_id is not None
        and manager_company_of(company.manager_id) == user.company_id
    )


def can_manage_companies(user: User) -> bool:
    """Mass operations on companies (a mass edit, giving a manager's companies to another)
    take CM; each company is still checked with `can_modify_company`."""
    return is_admin(user) or (has(user, "CR") and has(user, "CW") and has(user, "CM"))


def can_create_company(user: User) -> bool:
    """May `user` create companies at all (the new one must also end up modifiable)?"""
    return is_admin(user) or (has(user, "CR") and has(user, "CW"))


# --- catalogues: roles, types, fields, tags, templates, users ---------------------------------


def can_read_catalogue(user: User) -> bool:
    """Roles, types, fields, tags and templates: readable by anyone who sees CRM data."""
    return is_admin(user) or has(user, "CR")


def can_manage_catalogue(user: User) -> bool:
    """Changing roles, types, fields, sections, tags and templates takes CM."""
    return is_admin(user) or (has(user, "CR") and has(user, "CM"))


def can_manage_lead_catalogue(user: User) -> bool:
    """Lead types and tags may also be managed with LM."""
    return can_manage_catalogue(user) or (has(user, "CR") and has(user, "LM"))


def can_manage_users(user: User) -> bool:
    """Users and profiles are changed only by superadmins."""
    return is_admin(user)


# --- invoices -------------------------------------------------------------------------------


def _any_invoice_bit(user: User) -> bool:
    return any(has(user, b) for b in INVOICE_BITS)


def invoice_view_expr(user: User) -> peewee.Expression:
    """A WHERE expression on Invoice selecting the invoices `user` may view."""
    if is_admin(user):
        return _ALWAYS
    if not _any_invoice_bit(user) or not has(user, "CR"):
        return _NEVER
    return Invoice.company.in_(visible_company_ids(user))


def can_view_invoice(user: User, invoice: Invoice) -> bool:
    """IR, IW or IM on a visible company."""
    return is_admin(user) or (_any_invoice_bit(user) and can_view_company(user, invoice.company))


def can_create_invoice(user: User, company: Company, kind: str) -> bool:
    """IW or IM, on a company the user may modify."""
    if is_admin(user):
        return True
    return (has(user, "IW") or has(user, "IM")) and can_modify_company(user, company)


def invoice_edit_refusal(user: User, invoice: Invoice) -> str | None:
    """Why `user` may not edit this invoice, or None when he may."""
    if invoice.locked and invoice.locked_by_id != user.id:
        return _("it is locked by another user: unlock it first")
    if is_admin(user):
        return None
    if not can_modify_company(user, invoice.company):
        return _("you may not modify its company")
    if invoice.type == "submitted":
        # IR and IW see Submitted invoices read-only; only IM edits them.
        return None if has(user, "IM") else _("Submitted invoices are edited only with IM")
    return None if (has(user, "IW") or has(user, "IM")) else _("editing invoices takes IW or IM")


def can_lock_invoice(user: User, invoice: Invoice) -> bool:
    """IW or IM lock an unlocked invoice of a company they may modify."""
    if invoice.locked:
        return False
    if is_admin(user):
        return True
    return (has(user, "IW") or has(user, "IM")) and can_modify_company(user, invoice.company)


def can_unlock_invoice(user: User, invoice: Invoice) -> bool:
    """Only IM (or a superadmin) unlocks, on a company the user may modify."""
    if not invoice.locked:
        return False
    return is_admin(user) or (has(user, "IM") and can_modify_company(user, invoice.company))


def can_delete_invoice(user: User, invoice: Invoice) -> bool:
    """Only IM or superadmins delete, and never an invoice another user holds locked."""
    if invoice.locked and invoice.locked_by_id != user.id:
        return False
    return is_admin(user) or (has(user, "IM") and can_modify_company(user, invoice.company))


# --- leads ----------------------------------------------------------------------------------


def _any_lead_bit(user: User) -> bool:
    return any(has(user, b) for b in LEAD_BITS)


def lead_view_expr(user: User) -> peewee.Expression:
    """A WHERE expression on Lead selecting the leads `user` may view."""
    expr = _lead_view_rule(user, Lead.owner, Lead.company, Lead.company.is_null(True))
    if expr is _ALWAYS or expr is _NEVER:
        return expr
    return _scanned(expr) if _sees_most_companies(user) else expr


def lead_tally_view_expr(user: User) -> peewee.Expression:
    """The same rule on the lead tally's rows, whose company and owner are 0 for none."""
    return _lead_view_rule(user, LeadTally.owner_id, LeadTally.company_id,
                           LeadTally.company_id == 0)


def _lead_view_rule(user: User, owner, company, no_company) -> peewee.Expression:
    """The leads `user` may view, on the columns given: his own, those of companies he may
    view, and (LM) those of no company."""
    if is_admin(user):
        return _ALWAYS
    if not (has(user, "CR") and _any_lead_bit(user)):
        return _NEVER
    expr = (owner == user.id) | company.in_(visible_company_ids(user))
    if has(user, "LM"):
        expr |= no_company
    return expr


def _sees_most_companies(user: User) -> bool:
    """Whether the user's company shares most companies with him (as My company's people
    see nearly every customer); asked once per user object."""
    cached = getattr(user, "_crm_broad", None)
    if cached is not None:
        return cached
    broad = False
    if user.company_id is not None and is_sqlite():
        shared = (Company.select(Company.id)
                  .where(Company.manager_company_id == user.company_id,
                         Company.parent.is_null(False)).count())
        size = Company.select(peewee.fn.MAX(Company.id)).scalar() or 0
        broad = shared * 4 >= size > 0
    user._crm_broad = broad
    return broad


def _scanned(expr: peewee.Expression) -> peewee.Expression:
    """The rule as a check on each row, never an index lookup (SQLite's unary plus).

    For a user who sees most leads, an OR of owner and company lookups would fetch nearly
    every lead in random order and sort them (SQLite's MULTI-INDEX OR); checked on each
    row, lists walk their sort index and statistics read their covering indexes.
    """
    return peewee.NodeList((peewee.SQL("+("), expr, peewee.SQL(")")), glue="")


def row_checked(expr: peewee.Expression) -> peewee.Expression:
    """`expr` checked on each row rather than looked up in an index (SQLite; PostgreSQL's
    planner weighs it by its statistics): for a rule that holds for most rows, so a list
    walks its sort index and stops after a page."""
    if expr is _ALWAYS or expr is _NEVER or not is_sqlite():
        return expr
    return _scanned(expr)


def lead_modify_expr(user: User) -> peewee.Expression:
    """A WHERE expression on Lead selecting the leads `user` may modify."""
    if is_admin(user):
        return _ALWAYS
    if not (has(user, "CR") and (has(user, "LW") or has(user, "LM"))):
        return _NEVER
    expr = (Lead.owner == user.id) | Lead.company.in_(modifiable_company_ids(user))
    if has(user, "LM"):
        expr |= Lead.company.is_null(True)
    return expr


def can_view_lead(user: User, lead: Lead) -> bool:
    """Owner, or a visible managing company, with a lead bit; LM also sees unmanaged leads."""
    if is_admin(user):
        return True
    if not (has(user, "CR") and _any_lead_bit(user)):
        return False
    if lead.owner_id == user.id:
        return True
    if lead.company_id is None:
        return has(user, "LM")
    return can_view_company(user, lead.company)


def can_modify_lead(user: User, lead: Lead) -> bool:
    """Owner or a modifiable managing company, with LW or LM."""
    if is_admin(user):
        return True
    if not (has(user, "CR") and (has(user, "LW") or has(user, "LM"))):
        return False
    if lead.owner_id == user.id:
        return True
    if lead.company_id is None:
        return has(user, "LM")
    return can_modify_company(user, lead.company)


def can_create_lead(user: User, company: Company | None) -> bool:
    """LW or LM; a managing company must be one the user may modify."""
    if is_admin(user):
        return True
    if not (has(user, "CR") and (has(user, "LW") or has(user, "LM"))):
        return False
    return company is None or can_modify_company(user, company)


def can_manage_leads(user: User) -> bool:
    """Deleting leads and mass operations take LM."""
    return is_admin(user) or (has(user, "CR") and has(user, "LM"))
