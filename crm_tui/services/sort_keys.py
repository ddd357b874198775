"""What a list sorts by when a column shows something other than a column of its own table:
a user's login, a role's name, a lead's first tag, a custom value, a company's billing.

Each builder returns an SQL expression over the listed record (a correlated subquery), so
the database orders and pages the rows; what the user may not see never orders them (a
role he may not see, invoices he may not see: they count as empty).
"""

from __future__ import annotations

import peewee

from crm_tui import acl
from crm_tui.db import is_sqlite
from crm_tui.models import Company, CompanyRole, CustomField, CustomValue, Lead, LeadTag, Tag, User
from crm_tui.services.context import Session

#: Custom fields of each kind whose values a list may be sorted by.
CUSTOM_ENTITIES = {"lead": "lead_type", "company": "company"}


def _login_of(column: peewee.Field) -> peewee.Node:
    """The login of the user `column` names ("" for none), as the lists show it."""
    login = User.select(User.login).where(User.id == column)
    return peewee.fn.COALESCE(login, "")


def lead_owner(session: Session) -> peewee.Node:
    """A lead's owner, by login (the Owner column)."""
    return _login_of(Lead.owner)


def company_manager(session: Session) -> peewee.Node:
    """A company's manager, by login (the Manager column)."""
    return _login_of(Company.manager)


def company_role(session: Session) -> peewee.Node:
    """A company's role, by name; a role the user may not see counts as none."""
    from crm_tui.services.records import get_kind

    name = (CompanyRole.select(CompanyRole.name)
            .where((CompanyRole.id == Company.role) & get_kind("role").view_expr(session)))
    return peewee.fn.COALESCE(name, "")


def lead_tags(session: Session) -> peewee.Node:
    """A lead's tags by the first of their names in alphabetical order (the Tags cell lists
    them so); a lead without tags sorts before the tagged ones."""
    first = (LeadTag.select(peewee.fn.MIN(Tag.name)).join(Tag)
             .where(LeadTag.lead == Lead.id))
    return peewee.fn.COALESCE(first, "")


def company_billing(session: Session) -> peewee.Node:
    """What a company was billed, over the invoices the user may see: the largest of its
    per-currency totals (amounts of two currencies are never added); nothing billed is 0.
    Without the right to see invoice amounts every company counts as 0 (by id then)."""
    from crm_tui.models import Invoice
    from crm_tui.models.base import money_sum
    from crm_tui.services.companies import sees_invoice_amounts
    from crm_tui.services.invoices import billed_expr

    if not sees_invoice_amounts(session):
        return peewee.Value(0)
    total = money_sum(Invoice.total)  # (orders the same on both backends; cents on SQLite)
    largest = (Invoice.select(total)
               .where((Invoice.company == Company.id) & billed_expr()
                      & acl.invoice_view_expr(session.user))
               .group_by(Invoice.currency).order_by(total.desc()).limit(1))
    return peewee.fn.COALESCE(largest, 0)


def custom_value(kind: str, name: str, numeric: bool) -> peewee.Node:
    """The record's value of its custom field `name` (NULL when empty), as a number for a
    numeric field (a stored value that is no number counts as empty)."""
    model = Lead if kind == "lead" else Company
    value = (CustomValue.select(peewee.fn.MIN(peewee.fn.NULLIF(CustomValue.value, "")))
             .join(CustomField)
             .where((CustomField.entity == CUSTOM_ENTITIES[kind]) & (CustomField.name == name)
                    & (CustomValue.record_id == model.id)))
    if not numeric:
        # A subquery as a value: wrapped so it may be ordered and tested for NULL.
        return peewee.NodeList([value])
    if is_sqlite():
        return peewee.Cast(value, "REAL")
    # PostgreSQL refuses to cast text that is no number: only numbers are cast.
    number = peewee.Expression(value, "~", r"^\s*-?[0-9]+(\.[0-9]*)?\s*$")
    return peewee.Case(None, [(number, peewee.Cast(value, "NUMERIC"))], None)


def custom_kind(kind: str, name: str) -> str | None:
    """The kind of custom field `name` of `kind`'s records (numeric, text…); None when
    there is none of that name."""
    entity = CUSTOM_ENTITIES.get(kind)
    if entity is None:
        return None
    found = (CustomField.select(CustomField.kind)
             .where(CustomField.entity == entity, CustomField.name == name)
             .order_by(CustomField.id).first())
    return found.kind if found is not None else None
