"""Company statistics, counted and summed by the database (GROUP BY), never by loading rows.

Every figure covers only the companies the acting user may view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import peewee

from crm_tui import acl
from crm_tui.i18n import N_, _
from crm_tui.models import (
    Company,
    CompanyActivity,
    CompanyRole,
    Contract,
    Invoice,
    Lead,
)
from crm_tui.models.base import money_sum
from crm_tui.money import quantize
from crm_tui.services.companies import sees_invoice_amounts
from crm_tui.services.context import Session
from crm_tui.services.records import user_logins

Bar = tuple[str, int | Decimal]
"""One bar: its label and its value."""

TOP = 10
"""How many bars a chart shows; the rest of a breakdown is summed into one "others" bar."""



@dataclass(frozen=True)
class Chart:
    """One statistic, ready to draw."""

    key: str
    """Stable id (e.g. "per_manager")."""
    title: str
    bars: list[Bar] = field(default_factory=list)
    money: bool = False
    """Values are amounts of money (Decimal), else counts."""
    note: str = ""
    """Why the chart has no bars although there may be data (the user may not see it)."""


def _visible(session: Session) -> peewee.Expression:
    return acl.company_view_expr(session.user)


def _with_others(rows: list[tuple[str, int]], total: int, limit: int) -> list[Bar]:
    """The first `limit` groups, plus one bar for every group after them."""
    bars: list[Bar] = list(rows[:limit])
    rest = total - sum(value for _, value in bars)
    if len(rows) > limit and rest > 0:
        bars.append(("others", rest))
    return bars


def _breakdown(session: Session, column: peewee.Field, limit: int) -> tuple[list, int]:
    """(group value, count) rows of visible companies by `column`, biggest first, and the
    total count; one row beyond `limit` tells whether there are others."""
    count = peewee.fn.COUNT(Company.id)
    query = (
        Company.select(column, count.alias("n"))
        .where(_visible(session))
        .group_by(column)
        .order_by(count.desc(), column)
        .limit(limit + 1)
        .tuples()
    )
    rows = list(query)
    total = Company.select(Company.id).where(_visible(session)).count() if rows else 0
    return rows, total


def companies_per_manager(session: Session, limit: int = TOP) -> list[Bar]:
    """Visible companies per manager (login)."""
    rows, total = _breakdown(session, Company.manager, limit)
    logins = user_logins()
    named = [(logins.get(manager, f"#{manager}") if manager else _("(no manager)"), n)
             for manager, n in rows]
    return _with_others(named, total, limit)


def companies_per_role(session: Session, limit: int = TOP) -> list[Bar]:
    """Visible companies per company role."""
    rows, total = _breakdown(session, Company.role, limit)
    names = dict(CompanyRole.select(CompanyRole.id, CompanyRole.name).tuples())
    named = [(names.get(role, f"#{role}") if role else _("(no role)"), n) for role, n in rows]
    return _with_others(named, total, limit)


def companies_per_country(session: Session, limit: int = TOP) -> list[Bar]:
    """Visible companies per country."""
    rows, total = _breakdown(session, Company.country, limit)
    named = [(country or _("(no country)"), n) for country, n in rows]
    return _with_others(named, total, limit)


def _top(session: Session, model: type[peewee.Model], value: peewee.Node,
         *where: peewee.Expression, limit: int = TOP) -> list[tuple[str, object]]:
    """The `limit` visible companies with the biggest `value` over their `model` rows."""
    query = (
        model.select(Company.name, value.alias("v"))
        .join(Company, on=(model.company == Company.id))
        .where(_visible(session), *where)
        .group_by(Company.id, Company.name)
        .order_by(value.desc(), Company.name)
        .limit(limit)
        .tuples()
    )
    return list(query)


INVOICES_NOT_VISIBLE = N_("(not visible): invoice amounts need an invoice profile (IR, IW or IM)")


def top_by_invoiced(session: Session, limit: int = TOP) -> list[Bar]:
    """Companies with the highest billed amount, per currency (EUR and USD are never added):
    the top `limit` of each currency, each bar labelled "name (EUR)", currencies in
    alphabetical order. Billed: issued Submitted invoices less their credit notes, not
    cancelled (`invoices.billed_expr`), over the invoices the user may see; nothing without
    an invoice bit."""
    from crm_tui.services.invoices import billed_expr

    if not sees_invoice_amounts(session):
        return []
    total = money_sum(Invoice.total)
    query = (Invoice.select(Invoice.currency, Company.name, total.alias("v"))
             .join(Company, on=(Invoice.company == Company.id))
             .where(_visible(session), billed_expr(), acl.invoice_view_expr(session.user))
             .group_by(Invoice.currency, Company.id, Company.name)
             .order_by(Invoice.currency, total.desc(), Company.name)
             .tuples())
    bars: list[Bar] = []
    shown: dict[str, int] = {}
    for currency, name, value in query:
        if shown.get(currency, 0) < limit:
            shown[currency] = shown.get(currency, 0) + 1
            bars.append((f"{name} ({currency})", quantize(Decimal(str(value or 0)))))
    return bars


def top_by_contracts(session: Session, limit: int = TOP) -> list[Bar]:
    """Companies with the most contracts."""
    return [(n, int(v)) for n, v in _top(session, Contract, peewee.fn.COUNT(Contract.id),
                                         limit=limit)]


def top_by_leads(session: Session, limit: int = TOP) -> list[Bar]:
    """Companies managing the most leads the user may see."""
    rows = _top(session, Lead, peewee.fn.COUNT(Lead.id), acl.lead_view_expr(session.user),
                limit=limit)
    return [(n, int(v)) for n, v in rows]


def top_by_activity(session: Session, limit: int = TOP) -> list[Bar]:
    """Companies with the most activity notes."""
    rows = _top(session, CompanyActivity, peewee.fn.COUNT(CompanyActivity.id), limit=limit)
    return [(n, int(v)) for n, v in rows]


#: Every company chart, in the order the statistics screen lists them.
CHARTS = (
    ("per_manager", N_("Companies per manager"), companies_per_manager, False),
    ("per_role", N_("Companies per role"), companies_per_role, False),
    ("per_country", N_("Companies per country"), companies_per_country, False),
    ("top_invoiced", N_("Top 10 by invoiced amount"), top_by_invoiced, True),
    ("top_contracts", N_("Top 10 by contracts"), top_by_contracts, False),
    ("top_leads", N_("Top 10 by leads"), top_by_leads, False),
    ("top_activity", N_("Top 10 by activity"), top_by_activity, False),
)


def chart(session: Session, key: str) -> Chart:
    """One chart by key.

    Raises:
        KeyError: unknown key.
    """
    for chart_key, title, compute, money in CHARTS:
        if chart_key == key:
            return _chart(session, chart_key, title, compute, money)
    raise KeyError(key)


def _chart(session: Session, key: str, title: str, compute, money: bool) -> Chart:
    note = INVOICES_NOT_VISIBLE if money and not sees_invoice_amounts(session) else ""
    return Chart(key, _(title), compute(session), money, _(note))


def company_statistics(session: Session) -> list[Chart]:
    """Every company chart, in display order."""
    return [_chart(session, key, title, compute, money)
            for key, title, compute, money in CHARTS]
