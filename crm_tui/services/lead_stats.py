"""Statistics over the (filtered) leads a user may see, each one GROUP BY in the database.

Without a filter the figures come from the lead tally (services.lead_tally), which triggers
keep exact; with one, the leads themselves are counted. A test holds the two equal.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

import peewee

from crm_tui.db import is_postgres
from crm_tui.i18n import N_, _
from crm_tui.models import CLOSED_STATUSES, WON_STATUS, Lead
from crm_tui.models.base import money_sum
from crm_tui.services import lead_tally, search
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind, user_logins

_CENT = Decimal("0.01")
# The bars of leads without a channel, country or owner (read in the user's language, as the
# company statistics' "(no country)").
NO_CHANNEL = N_("(no channel)")
NO_COUNTRY = N_("(no country)")
NO_OWNER = N_("(no owner)")


def to_money(value: object) -> Decimal:
    """A stored amount as a Decimal with two places (None is zero)."""
    if value is None:
        return Decimal("0.00")
    if isinstance(value, Decimal):
        return value.quantize(_CENT)
    if isinstance(value, float):
        # Came through float (SQLite): round at the cent, where the value was exact.
        return Decimal(repr(round(value, 2))).quantize(_CENT)
    return Decimal(str(value)).quantize(_CENT)


@dataclass(frozen=True)
class Group:
    """One bar of a grouped statistic: a label, how many leads, their estimated sales."""

    label: str
    count: int
    total: Decimal


@dataclass(frozen=True)
class Conversion:
    """Closed successfully against all closed leads."""

    won: int
    closed: int

    @property
    def rate(self) -> Decimal | None:
        """The share won, in percent with one decimal, or None when nothing is closed."""
        if not self.closed:
            return None
        return (Decimal(self.won) * 100 / Decimal(self.closed)).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class TopLead:
    """A lead of the top estimated sales."""

    id: int
    full_name: str
    company_name: str
    status: int
    estimated_sale: Decimal


@dataclass(frozen=True)
class LeadStatistics:
    """Every lead statistic of one filter, as the statistics screen shows them."""

    total: int
    by_channel: list[Group] = field(default_factory=list)
    by_country: list[Group] = field(default_factory=list)
    per_user: list[Group] = field(default_factory=list)
    conversion: Conversion = Conversion(0, 0)
    top_sales: list[TopLead] = field(default_factory=list)
    new_per_week: list[tuple[dt.date, int]] = field(default_factory=list)


def _leads(session: Session, filters: dict[str, str] | None) -> peewee.Select:
    # Every statistic visits every matching lead: a searched word's leads are gathered.
    with search.for_every_match():
        return get_kind("lead").query(session, filters)


def _tallied(filters: dict[str, str] | None, from_leads: bool) -> bool:
    """Whether the figures may come from the lead tally: no filter, and not asked to count."""
    return not filters and not from_leads


def _grouped(session: Session, filters, column: peewee.Field, limit: int | None,
             from_leads: bool = False) -> list:
    if _tallied(filters, from_leads):
        dimension = "owner" if column is Lead.owner else column.name
        rows = lead_tally.grouped(session, dimension, limit)
        if column is Lead.owner:
            return [(owner or None, n, total) for owner, n, total in rows]
        return rows
    count = peewee.fn.COUNT(Lead.id)
    query = (
        _leads(session, filters)
        .select(column, count, money_sum(Lead.estimated_sale))
        .group_by(column)
        .order_by(count.desc(), column)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(query.tuples())


def by_channel(session: Session, filters: dict[str, str] | None = None,
               limit: int | None = 20, *, from_leads: bool = False) -> list[Group]:
    """Leads per channel/source, most first."""
    return [Group(label or _(NO_CHANNEL), n, total)
            for label, n, total in _grouped(session, filters, Lead.channel, limit, from_leads)]


def by_country(session: Session, filters: dict[str, str] | None = None,
               limit: int | None = 20, *, from_leads: bool = False) -> list[Group]:
    """Leads per country, most first."""
    return [Group(label or _(NO_COUNTRY), n, total)
            for label, n, total in _grouped(session, filters, Lead.country, limit, from_leads)]


def per_user(session: Session, filters: dict[str, str] | None = None,
             limit: int | None = 20, *, from_leads: bool = False) -> list[Group]:
    """Leads per owner (by login), most first."""
    logins = user_logins()
    return [Group(logins.get(owner, f"#{owner}") if owner is not None else _(NO_OWNER), n,
                  total)
            for owner, n, total in _grouped(session, filters, Lead.owner, limit, from_leads)]


def conversion(session: Session, filters: dict[str, str] | None = None, *,
               from_leads: bool = False) -> Conversion:
    """Closed successfully / all closed, counted in one query."""
    if _tallied(filters, from_leads):
        closed, won_count = lead_tally.closed_and_won(session)
        return Conversion(won_count, closed)
    won = peewee.fn.SUM(peewee.Case(None, [(Lead.status == WON_STATUS, 1)], 0))
    query = (_leads(session, filters)
             .select(peewee.fn.COUNT(Lead.id), won)
             .where(Lead.status.in_(CLOSED_STATUSES)))
    closed, won_count = query.tuples().get()
    return Conversion(int(won_count or 0), int(closed or 0))


def top_sales(session: Session, filters: dict[str, str] | None = None,
              limit: int = 10) -> list[TopLead]:
    """The leads with the largest estimated sales."""
    query = (_leads(session, filters)
             .select(Lead.id, Lead.full_name, Lead.company_name, Lead.status,
                     Lead.estimated_sale)
             .order_by(Lead.estimated_sale.desc(), Lead.id)
             .limit(limit))
    return [TopLead(i, name, company, status, to_money(sale))
            for i, name, company, status, sale in query.tuples()]


def week_start(day: dt.date) -> dt.date:
    """The Monday of the week holding `day`."""
    return day - dt.timedelta(days=day.weekday())


def new_per_week(session: Session, filters: dict[str, str] | None = None,
                 weeks: int = 12, *, from_leads: bool = False) -> list[tuple[dt.date, int]]:
    """Leads created per week (Monday first) over the last `weeks` weeks, oldest first.

    Weeks without new leads are listed with 0.
    """
    weeks = max(1, min(int(weeks), 520))
    first = week_start(session.clock.today()) - dt.timedelta(weeks=weeks - 1)
    counts = (lead_tally.created_per_week(session, first) if _tallied(filters, from_leads)
              else _counted_per_week(session, filters, first))
    return [(first + dt.timedelta(weeks=i), counts.get(first + dt.timedelta(weeks=i), 0))
            for i in range(weeks)]


def _counted_per_week(session: Session, filters, first: dt.date) -> dict[dt.date, int]:
    """Leads created per week (by Monday) from `first` on, counted over the leads."""
    if is_postgres():
        # A literal, not a parameter: psycopg 3 binds on the server, where date_trunc($1, …)
        # in SELECT and date_trunc($2, …) in GROUP BY are not the same expression.
        bucket = peewee.Cast(peewee.fn.date_trunc(peewee.SQL("'week'"), Lead.created), "date")
    else:
        # 'weekday 0' moves to the coming Sunday (or stays on one); 6 days back is Monday.
        bucket = peewee.fn.date(Lead.created, "weekday 0", "-6 days").coerce(False)
    query = (_leads(session, filters)
             .select(bucket.alias("week"), peewee.fn.COUNT(Lead.id))
             .where(Lead.created >= dt.datetime.combine(first, dt.time()))
             .group_by(bucket)
             .tuples())
    counts: dict[dt.date, int] = {}
    for week, n in query:
        if isinstance(week, dt.datetime):
            day = week.date()
        elif isinstance(week, dt.date):
            day = week
        else:
            day = dt.date.fromisoformat(str(week)[:10])
        counts[day] = counts.get(day, 0) + n
    return counts


def total(session: Session, filters: dict[str, str] | None = None, *,
          from_leads: bool = False) -> int:
    """How many leads the filter selects."""
    if _tallied(filters, from_leads):
        return lead_tally.total(session)
    return _leads(session, filters).count()


def summary(session: Session, filters: dict[str, str] | None = None,
            weeks: int = 12, *, from_leads: bool = False) -> LeadStatistics:
    """Every lead statistic for one filter (seven GROUP BY / aggregate queries).

    `from_leads` counts the leads themselves even without a filter (the tally's check).

    Raises:
        ValidationFailed: a filter the lead list refuses.
    """
    kw = {"from_leads": from_leads}
    return LeadStatistics(
        total=total(session, filters, **kw),
        by_channel=by_channel(session, filters, **kw),
        by_country=by_country(session, filters, **kw),
        per_user=per_user(session, filters, **kw),
        conversion=conversion(session, filters, **kw),
        top_sales=top_sales(session, filters),
        new_per_week=new_per_week(session, filters, weeks, **kw),
    )
