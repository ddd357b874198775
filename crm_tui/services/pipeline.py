"""The pipeline board's data: a column per status, counted and summed in the database, and
pages of cards in the chosen order (each served by a (status, …) index)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import peewee

from crm_tui.db import is_postgres
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import N_, _
from crm_tui.models import CLOSED_STATUSES, LOST_STATUS, OPEN_STATUSES, WON_STATUS, Lead, User
from crm_tui.models.base import money_sum
from crm_tui.services import lead_tally, settings
from crm_tui.services.context import Session
from crm_tui.services.lead_stats import to_money
from crm_tui.services.leads import tag_chips_of
from crm_tui.services.records import get_kind

#: Card orders, cycled by the board's `o` key.
ORDERS = ("estimated_sale", "updated", "estimated_close")
ORDER_LABELS = {
    "estimated_sale": N_("estimated sale"),
    "updated": N_("last change"),
    "estimated_close": N_("estimated close date"),
}
MAX_PAGE = 500
#: The statuses the board's one-key moves close a lead with: won (W) and lost (X).
WON = WON_STATUS
LOST = LOST_STATUS


@dataclass(frozen=True)
class Column:
    """One status column: its number, configured name, and its leads' count and sum."""

    status: int
    name: str
    count: int
    total: Decimal
    closed: bool


@dataclass(frozen=True)
class Card:
    """What a card shows of a lead."""

    id: int
    full_name: str
    company_name: str
    country: str
    estimated_sale: Decimal
    estimated_close: dt.date | None
    updated: dt.datetime
    status: int
    tags: tuple[tuple[str, str], ...] = ()
    owner: str = ""
    """The owner's login ("" for a lead without one)."""


def next_order(order: str) -> str:
    """The order after `order` in the cycle."""
    position = ORDERS.index(order) if order in ORDERS else -1
    return ORDERS[(position + 1) % len(ORDERS)]


def statuses(show_closed: bool = False) -> tuple[int, ...]:
    """The statuses the board shows: the open ones, then the closed ones when asked."""
    return OPEN_STATUSES + CLOSED_STATUSES if show_closed else OPEN_STATUSES


def titles(show_closed: bool = False) -> list[tuple[int, str]]:
    """The board's columns as (status, configured name), without counting anything.

    The board shows these at once and fills in `columns()`' figures when they arrive:
    counting a column of 100,000 leads takes longer than a frame, reading its first cards
    does not.
    """
    names = settings.status_labels()
    return [(status, names[status]) for status in statuses(show_closed)]


def reads_are_local() -> bool:
    """Whether a few indexed rows are read without a network round trip (the embedded
    SQLite file), so that a screen may read them while it is composed."""
    return not is_postgres()


def board_filters(session: Session, filters: dict[str, str] | None = None, *,
                  mine: bool = False) -> dict[str, str] | None:
    """The lead filters of a board view: `filters`, narrowed to the user's own leads when
    `mine` ("my leads")."""
    out = dict(filters or {})
    if mine:
        out["owner"] = session.login
    return out or None


def _visible(session: Session, filters: dict[str, str] | None) -> peewee.Select:
    # The generic lead query applies the access rules and the list's filters in one place.
    return get_kind("lead").query(session, filters)


def columns(
    session: Session, *, show_closed: bool = False, filters: dict[str, str] | None = None,
    mine: bool = False,
) -> list[Column]:
    """The board's columns with each one's count and estimated-sale sum (one GROUP BY);
    `mine` counts only the user's own leads."""
    shown = statuses(show_closed)
    filters = board_filters(session, filters, mine=mine)
    if filters:
        query = (
            _visible(session, filters)
            .select(Lead.status, peewee.fn.COUNT(Lead.id), money_sum(Lead.estimated_sale))
            .where(Lead.status.in_(shown))
            .group_by(Lead.status)
            .tuples()
        )
        figures = {status: (count, total) for status, count, total in query}
    else:
        # Every visible lead: the lead tally has the figures (services.lead_tally).
        figures = {int(status): (count, total) for status, count, total
                   in lead_tally.grouped(session, "status", None)}
    names = settings.status_labels()
    out = []
    for status in shown:
        count, total = figures.get(status, (0, None))
        out.append(Column(status, names[status], count, to_money(total),
                          status in CLOSED_STATUSES))
    return out


def column_page(
    session: Session,
    status: int,
    order: str,
    offset: int,
    limit: int,
    filters: dict[str, str] | None = None,
    *,
    mine: bool = False,
) -> list[Card]:
    """One page of a column's cards (only the user's own leads when `mine`).

    Orders: estimated sale (largest first), last change (newest first), estimated close
    date (soonest first, leads without one last).

    Raises:
        ValidationFailed: an unknown order or status, or a filter the lead list refuses.
    """
    if order not in ORDERS:
        raise ValidationFailed.one("pipeline", "order", order, _("must be one of {choices}").format(
                                       choices=", ".join(ORDERS)))
    if not isinstance(status, int) or not 0 <= status <= 8:
        raise ValidationFailed.one("pipeline", "status", status, _("must be 0 to 8"))
    offset, limit = max(0, int(offset)), max(0, min(int(limit), MAX_PAGE))
    if limit == 0:
        return []
    base = _visible(session, board_filters(session, filters, mine=mine)).select(
        Lead.id, Lead.full_name, Lead.company_name, Lead.country, Lead.estimated_sale,
        Lead.estimated_close, Lead.updated, Lead.status, Lead.owner,
    ).where(Lead.status == status)
    if order == "estimated_sale":
        rows = list(base.order_by(Lead.estimated_sale.desc(), Lead.id.desc())
                    .offset(offset).limit(limit).tuples())
    elif order == "updated":
        rows = list(base.order_by(Lead.updated.desc(), Lead.id.desc())
                    .offset(offset).limit(limit).tuples())
    else:
        rows = _close_date_page(base, offset, limit)
    chips = tag_chips_of([row[0] for row in rows])
    owners = _logins({row[8] for row in rows if row[8] is not None})
    return [Card(*row[:4], to_money(row[4]), row[5], row[6], row[7],
                 tuple(chips.get(row[0], ())), owners.get(row[8], "")) for row in rows]


def _logins(user_ids: set[int]) -> dict[int, str]:
    """Logins by user id, read apart from the page so its query keeps its index."""
    if not user_ids:
        return {}
    return dict(User.select(User.id, User.login).where(User.id.in_(sorted(user_ids))).tuples())


def _close_date_page(base: peewee.Select, offset: int, limit: int) -> list[tuple]:
    """Dated leads by close date, then undated ones: two index-ordered parts.

    SQLite sorts NULL first and PostgreSQL last; asking for "NULLS LAST" would cost a full
    sort of the column, so the two parts are read separately and joined.
    """
    dated = base.where(Lead.estimated_close.is_null(False))
    rows: list[tuple] = []
    dated_count = None
    rows = list(dated.order_by(Lead.estimated_close, Lead.id).offset(offset).limit(limit)
                .tuples())
    if len(rows) == limit:
        return rows
    if not rows:
        # Only now is the count needed: how far the offset reaches into the undated part.
        dated_count = dated.count()
    else:
        dated_count = offset + len(rows)
    undated = base.where(Lead.estimated_close.is_null())
    rest = limit - len(rows)
    rows += list(undated.order_by(Lead.id).offset(max(0, offset - dated_count)).limit(rest)
                 .tuples())
    return rows


def card(session: Session, lead_id: int) -> Card:
    """The card of one visible lead (after a move or an edit).

    Raises:
        NotFound, PermissionDenied.
    """
    lead = get_kind("lead").load(session, lead_id)
    chips = tag_chips_of([lead.id]).get(lead.id, [])
    owners = _logins({lead.owner_id} if lead.owner_id is not None else set())
    return Card(lead.id, lead.full_name, lead.company_name, lead.country,
                to_money(lead.estimated_sale), lead.estimated_close, lead.updated,
                lead.status, tuple(chips), owners.get(lead.owner_id, ""))


def check_move(session: Session, lead_id: int) -> str:
    """Refuse early a move the user may not make (before asking which status or why);
    returns the lead's name. The move itself checks again.

    Raises:
        NotFound, PermissionDenied: the usual message ("… may not modify lead 'X'").
    """
    kind = get_kind("lead")
    lead = kind.load(session, lead_id)
    kind.check_modify(session, lead)
    return lead.full_name


def may_move(session: Session, lead_id: int) -> tuple[bool, str]:
    """Whether the user may move the lead (change its status), and its name: the board
    greys its move keys on a lead the user may only look at, and says why.

    Raises:
        NotFound: the lead is gone, or the user may not see it.
    """
    kind = get_kind("lead")
    lead = kind.load(session, lead_id)
    return kind.can_modify(session, lead), lead.full_name


def move_choices() -> list[tuple[int, str]]:
    """Every status a card may be moved to, as (number, name as the user reads it), in order."""
    return list(enumerate(settings.status_labels()))
