"""Paged row sources for list screens: a count and pages of any record kind, never a whole table.

`RecordRows` satisfies the `RowSource` protocol of `widgets.lazy_table` structurally (it
never imports widgets): `columns()`, `count()` and `page(offset, limit)`, plus the optional
`row_style(row_id, cells)` hook. Pages come from `get_kind(kind).query(session, filters)`, so
every access rule of the service layer applies, and each page costs a fixed number of
queries whatever its size (no query per row).
"""

from __future__ import annotations

import datetime as dt
import shlex
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import peewee

from crm_tui import formatting
from crm_tui.db import is_sqlite
from crm_tui.i18n import N_, gettext
from crm_tui.services import list_sorts, references, search
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import Kind, get_kind
from crm_tui.services.words import service_word

Row = tuple[int, tuple[str, ...]]
"""One row: its record id and its cell texts in column order."""


@dataclass(frozen=True)
class Column:
    """A list column; the same shape as `widgets.lazy_table.ColumnSpec`."""

    key: str
    """A field name, `custom.NAME`, or a derived key of the --json shape (billing, total…)."""
    label: str
    """Header text."""
    width: int
    """Width in terminal cells."""
    justify: Literal["left", "right"] = "left"
    """"right" for numbers and money."""
    translated: bool = False
    """The cells are words the services name (an invoice's state, a status's default name),
    shown in the user's language; stored values (data) never are."""


def _c(key: str, label: str, width: int, justify: Literal["left", "right"] = "left",
       translated: bool = False) -> Column:
    return Column(key, label, width, justify, translated)


#: The columns each kind's list shows unless a screen asks for others; every set fits 80 cells.
DEFAULT_COLUMNS: dict[str, tuple[Column, ...]] = {
    "company": (_c("name", N_("Name"), 27), _c("role", N_("Role"), 10), _c("manager", N_("Manager"), 10),
                _c("country", N_("Country"), 12), _c("billing", N_("Billing"), 13, "right")),
    "contact": (_c("full_name", N_("Full name"), 20), _c("email", N_("Email"), 26),
                _c("company", N_("Company"), 16), _c("phone", N_("Phone"), 13)),
    "contract": (_c("name", N_("Name"), 20), _c("contract_number", N_("Number"), 10),
                 _c("company", N_("Company"), 16), _c("date_begin", N_("Begins"), 10),
                 _c("date_end", N_("Ends"), 10), _c("status_name", N_("Status"), 6, translated=True)),
    "invoice": (_c("bill_id", N_("Bill ID"), 12), _c("company", N_("Company"), 14),
                _c("type", N_("Type"), 9, translated=True), _c("status", N_("Status"), 9, translated=True), _c("created", N_("Created"), 10),
                _c("total", N_("Total"), 12, "right"), _c("currency", N_("Cur"), 3)),
    "lead": (_c("full_name", N_("Name"), 18), _c("company_name", N_("Company"), 14),
             _c("country", N_("Country"), 10), _c("owner", N_("Owner"), 8),
             _c("status_name", N_("Status"), 12, translated=True), _c("estimated_sale", N_("Est. sale"), 10, "right")),
}

#: Derived columns holding per-currency totals as `money.amounts_text` writes them.
_TOTALS = frozenset({"billing"})

_PAGE_CACHE = 64
#: Up to this many matching rows are sorted for a page; more are walked in sort order.
_SORT_LIMIT = 10_000
_KEY_CACHE = 4096
_REF_PAGE_LIMIT = 500
_CENTS = Decimal("0.01")


def default_columns(kind: str) -> tuple[Column, ...]:
    """The default columns of a kind: the table above, else its first five fields."""
    if kind in DEFAULT_COLUMNS:
        return DEFAULT_COLUMNS[kind]
    fields = [f for f in get_kind(kind).fields if f.kind not in ("password", "textarea")]
    return tuple(Column(f.name, f.title, 16) for f in fields[:5])


def parse_filter_text(kind: str, text: str) -> dict[str, str]:
    """Turn what the user typed after `/` into query filters.

    `FIELD=VALUE` words filter on that field (`role=Customer manager=user1
    country="United Kingdom"`); the other words form the free-text `q` filter (or a filter on
    the kind's title field when it has no `q`). Unknown fields are left for the query to
    reject with a clear problem.
    """
    try:
        words = shlex.split(text)
    except ValueError:  # an unbalanced quote: take the words as typed
        words = text.split()
    filters: dict[str, str] = {}
    free: list[str] = []
    for word in words:
        key, sep, value = word.partition("=")
        if sep and key and " " not in key:
            filters[key] = value
        else:
            free.append(word)
    if free:
        target = get_kind(kind)
        name = "q" if "q" in target.extra_filters else (target.title_attr or "name")
        filters[name] = " ".join(free)
    return filters


def cell_text(value: Any, kind: str = "text") -> str:
    """A --json value as one table cell, numbers and dates as the user reads them
    (`crm_tui.formatting`: babel, the user's language, times in the local zone)."""
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, str) and value:
        return formatting.datetime_text(value)
    if kind == "date" and isinstance(value, str | dt.date) and value:
        return formatting.date_text(value)
    if isinstance(value, bool):
        return gettext("yes") if value else ""
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    if kind == "decimal" and value != "":
        # Sums come back from the database as "423.5": money shows two places.
        return formatting.amount_text(value)
    text = V.render_text(value)
    # Cells are one line; the table cuts the rest.
    return text.replace("\r", " ").replace("\n", " ")


class _LRU(OrderedDict):
    """A tiny LRU mapping (callers hold the source's lock)."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def remember(self, key: Any, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.size:
            self.popitem(last=False)

    def recall(self, key: Any) -> Any:
        value = self.get(key)
        if value is not None:
            self.move_to_end(key)
        return value


class RecordRows:
    """The visible records of one kind, counted and paged for a LazyTable.

    Sequential pages use keyset pagination (`WHERE (sort, id) > (last sort, last id)`) when
    the sort column is not nullable, so scrolling costs the same at any depth; a jump far
    into the list reads from the nearer end. Pages are kept in an LRU cache; after a change
    call `invalidate()` before the table's `reload()` (which asks for pages while it
    counts), so fresh rows are read.

    Safe to call from several threads: the caches are guarded by a lock and every thread
    uses its own database connection.
    """

    def __init__(
        self,
        session: Session,
        kind: str,
        filters: dict[str, str] | None = None,
        columns: Sequence[Column] | None = None,
        *,
        mark_readonly: bool = True,
        probe: int | None = None,
        sort: str | None = None,
    ) -> None:
        """Create the source (no query runs until `count()` or `page()`).

        Args:
            session: The acting user; the kind's access rules apply to every row.
            kind: A record kind name ("company", "contact"…).
            filters: Query filters, as `crm list KIND --filter` takes them.
            columns: Columns to show; default `default_columns(kind)`.
            mark_readonly: Style rows the user may not modify dim (kinds with a
                `modifiable` filter only).
            probe: Let `count()` stop at this many rows (then `estimated` is True) until
                `exact_count()` has run, so a huge list paints at once; None counts all.
            sort: One of the kind's orders (`list_sorts.SORTS`); None: its default order.

        Raises:
            ValidationFailed: `sort` is not one of the kind's orders.
        """
        self.session = session
        self.kind_name = kind
        self.kind: Kind = get_kind(kind)
        self.filters = dict(filters or {})
        self._columns = tuple(columns) if columns is not None else default_columns(kind)
        self._mark_readonly = mark_readonly and "modifiable" in self.kind.extra_filters
        model = self.kind.model
        chosen = list_sorts.sort_of(kind, sort)
        self.sort = chosen.key if chosen is not None else None
        """The order asked for (None: the kind's default)."""
        # A column of another table (a login, a role's name) or a derived value sorts by
        # an SQL expression; a column of the record's own table by that column.
        # The expression is built on the first page's thread: it may read the database
        # (a custom field's kind, the user's rights), and a source is made on the UI's.
        self._chosen = chosen
        self._by_expr = chosen is not None and chosen.expr is not None
        self._expr: peewee.Node | None = None
        self._nullable = self._by_expr and chosen is not None and chosen.nullable
        if self._by_expr:
            self._sort: peewee.Field = model.id
        else:
            self._sort = getattr(
                model, chosen.attr if chosen is not None else self.kind.order_attr)
        self._by_id = not self._by_expr and self._sort is model.id
        # Display order runs against the key order for kinds shown newest first and for
        # orders that put the largest first.
        self._reverse = chosen.descending if chosen is not None else self.kind.newest_first
        # Keyset needs a total order without NULLs over a column; otherwise (and for an
        # expression, which no index holds) fall back to OFFSET.
        self._keyset = not self._by_expr and (self._by_id or not self._sort.null)
        self._lock = threading.Lock()
        self._pages: _LRU = _LRU(_PAGE_CACHE)
        self._after: _LRU = _LRU(_KEY_CACHE)
        self._first: _LRU = _LRU(_KEY_CACHE)
        self._readonly: set[int] = set()
        self._count: int | None = None
        self._probe = probe
        self._exact: int | None = None
        self.estimated = False
        """The last `count()` stopped at the probe: there are more rows than it said."""
        self._dense = True
        self._fields = {f.name: f for f in self.kind.fields}

    # -- the RowSource protocol ---------------------------------------------------------

    def columns(self) -> list[Column]:
        """The columns, in display order."""
        return list(self._columns)

    def count(self) -> int:
        """Count the matching rows; also drops cached pages so fresh data is read.

        With a probe, the count stops at `probe + 1` rows (`estimated` is then True)
        unless `exact_count()` has run since the last `invalidate()`.

        Raises:
            ValidationFailed: a filter names an unknown field or has a bad value.
        """
        model = self.kind.model
        with self._lock:
            exact = self._exact
        estimated = False
        if exact is not None:
            total = exact
        elif self._probe is not None:
            total = search.capped_count(self.query, model, self._probe + 1)
            estimated = total > self._probe
        else:
            with search.for_every_match():
                query = self.query()
            total = query.select(model.id).count()
        dense = True if estimated else self._is_dense(total)
        with self._lock:
            self._pages.clear()
            self._after.clear()
            self._first.clear()
            self._readonly.clear()
            self._count = total
            self._dense = dense
            self.estimated = estimated
        return total

    @property
    def probing(self) -> bool:
        """Whether `count()` may stop at the probe (so `exact_count()` is worth calling)."""
        return self._probe is not None

    def exact_count(self) -> int:
        """Count every matching row and remember it for `count()` until `invalidate()`."""
        with search.for_every_match():
            query = self.query()
        total = query.select(self.kind.model.id).count()
        with self._lock:
            self._exact = total
        return total

    def invalidate(self) -> None:
        """The data changed: drop cached pages; the next `count()` counts (or probes) again.

        Call it before the table reloads: a table asks for pages while it recounts.
        """
        with self._lock:
            self._exact = None
            # The old count no longer bounds the pages: a table reads its first page beside
            # the new count, and a list that had no rows must not answer "none" again.
            self._count = None
            self._pages.clear()
            self._after.clear()
            self._first.clear()

    def _is_dense(self, total: int) -> bool:
        # Few matching rows are found through the indexes and sorted at small cost; many are
        # read along the sort index, a page costing about page / (share of rows matching)
        # steps. MAX(id) estimates the table's size for free.
        if total > _SORT_LIMIT:
            return True
        model = self.kind.model
        size = model.select(peewee.fn.MAX(model.id)).scalar() or 0
        return total * 20 >= size

    def page(self, offset: int, limit: int) -> list[Row]:
        """Up to `limit` rows from row `offset` on (0-based), in list order."""
        offset, limit = max(0, offset), max(0, limit)
        with self._lock:
            cached = self._pages.recall((offset, limit))
            after = self._after.get(offset)
            before = self._first.get(offset + limit)
            total = self._count
        if cached is not None:
            return cached
        raw = self._fetch(offset, limit, after, before, total)
        rows = self._format(raw)
        with self._lock:
            if raw:
                self._after.remember(offset + len(raw), self._key(raw[-1]))
                self._first.remember(offset, self._key(raw[0]))
            self._pages.remember((offset, limit), rows)
        return rows

    def row_style(self, row_id: int, cells: tuple[str, ...]) -> str | None:
        """Read-only rows are dim (a set lookup: safe to call while painting)."""
        return "dim" if row_id in self._readonly else None

    # -- helpers ------------------------------------------------------------------------

    def query(self, *, dense: bool = False) -> peewee.Select:
        """The kind's query of visible, filtered rows (unordered).

        On SQLite, when many rows match (`dense`), the whole condition is wrapped so the
        planner cannot answer it through an index (the manager or status index, say): it
        then walks the sort index and stops after one page, instead of sorting every
        matching row for each page (seconds at a million rows, against milliseconds). When
        few rows match, the planner's indexes find them and the sort is small.
        """
        query = self.kind.query(self.session, self.filters)
        if dense and is_sqlite() and query._where is not None:
            query._where = peewee.NodeList((peewee.SQL("+("), query._where, peewee.SQL(")")),
                                           glue="")
        return query

    def check(self) -> int:
        """Build the query and count it: raises ValidationFailed for bad filters."""
        return self.count()

    def _sort_expr(self) -> peewee.Node:
        """The expression of an order by another table's value (built once).

        Raises:
            ValidationFailed: the order names a custom field that does not exist.
        """
        with self._lock:
            if self._expr is None and self._chosen is not None and self._chosen.expr:
                self._expr = self._chosen.expr(self.session)
            assert self._expr is not None
            return self._expr

    def _key(self, raw: dict) -> tuple:
        if self._by_id or self._by_expr:
            return (raw["id"],)
        return (raw[self._sort.name], raw["id"])

    def _order(self, descending: bool) -> list[peewee.Node]:
        """ORDER BY for display order (`descending`: its reverse)."""
        model = self.kind.model
        descending = descending != self._reverse
        if self._by_id:
            return [model.id.desc() if descending else model.id]
        key = self._sort_expr() if self._by_expr else self._sort
        terms: list[peewee.Node] = [key, model.id]
        if self._nullable:
            # Empty values last on both backends (SQLite puts NULLs first, PostgreSQL last).
            terms.insert(0, key.is_null())
        if descending:
            return [term.desc() for term in terms]
        return terms

    def _compare(self, key: tuple, greater: bool) -> peewee.Expression:
        """Rows after `key` in display order (`greater`), or before it."""
        model = self.kind.model
        greater = greater != self._reverse
        if self._by_id:
            return model.id > key[0] if greater else model.id < key[0]
        left = peewee.Tuple(self._sort, model.id)
        right = peewee.Tuple(self._sort.to_value(key[0]), key[1])
        return left > right if greater else left < right

    def _fetch(
        self, offset: int, limit: int, after: tuple | None, before: tuple | None,
        total: int | None,
    ) -> list[dict]:
        if limit == 0 or (total is not None and offset >= total):
            return []
        query = self.query(dense=self._dense)
        if self._keyset and after is not None:
            # The next page after one we have read: seek, do not skip.
            return list(query.where(self._compare(after, True))
                        .order_by(*self._order(False)).limit(limit).dicts())
        if self._keyset and before is not None:
            # The page before one we have read (paging up from deep in the list).
            rows = list(query.where(self._compare(before, False))
                        .order_by(*self._order(True)).limit(limit).dicts())
            rows.reverse()
            return rows
        if total is not None and offset > total // 2:
            # Deep jumps (end, scrollbar drags) read from the end: a shorter OFFSET.
            size = min(limit, total - offset)
            rows = list(query.order_by(*self._order(True))
                        .offset(max(0, total - offset - size)).limit(size).dicts())
            rows.reverse()
            return rows
        return list(query.order_by(*self._order(False)).offset(offset).limit(limit).dicts())

    def _format(self, raw: list[dict]) -> list[Row]:
        if not raw:
            return []
        shaped = self.kind.present(self.session, raw)
        titles = self._ref_titles(shaped)
        readonly = self._readonly_ids([row["id"] for row in shaped])
        withheld = getattr(self.kind, "withheld_fields", ())
        rows: list[Row] = []
        for row in shaped:
            cells = []
            for column in self._columns:
                field = self._fields.get(column.key)
                if column.key.startswith("custom."):
                    value: Any = (row.get("custom") or {}).get(column.key[len("custom."):])
                else:
                    value = row.get(column.key)
                if field is not None and field.kind == "ref" and value is not None:
                    value = titles.get(column.key, {}).get(value, value)
                elif value is None and column.key in withheld:
                    value = references.not_visible()
                if column.key in _TOTALS and isinstance(value, str):
                    text = formatting.totals_text(value)
                else:
                    text = cell_text(value, field.kind if field else "text")
                cells.append(service_word(text) if column.translated else text)
            rows.append((row["id"], tuple(cells)))
        if readonly:
            with self._lock:
                self._readonly |= readonly
        return rows

    def _ref_titles(self, shaped: list[dict]) -> dict[str, dict[int, str]]:
        """Titles of referenced records, one query per reference column (a record the user
        may not see reads `references.not_visible()`: a visible lead may belong to a hidden company)."""
        out: dict[str, dict[int, str]] = {}
        for column in self._columns:
            field = self._fields.get(column.key)
            if field is None or field.kind != "ref" or field.ref is None:
                continue
            ids = sorted({row[column.key] for row in shaped if row.get(column.key) is not None})
            if not ids:
                continue
            # A reference to a record the user may not see reads "(not visible)".
            out[column.key] = references.titles(self.session, field.ref, ids)
        return out

    def _readonly_ids(self, ids: list[int]) -> set[int]:
        if not self._mark_readonly or not ids:
            return set()
        model = self.kind.model
        query = self.kind.query(self.session, {"modifiable": "1"}).select(model.id)
        if is_sqlite() and query._where is not None:
            # Checked on the page's rows, found by id: otherwise SQLite may walk every
            # record the user owns or manages through their indexes (most of a million).
            query._where = peewee.NodeList((peewee.SQL("+("), query._where, peewee.SQL(")")),
                                           glue="")
        writable = query.where(model.id.in_(ids)).tuples()
        return set(ids) - {row_id for (row_id,) in writable}


def ref_titles(kind: str, ids: Iterable[int]) -> dict[int, str]:
    """The titles of records of a kind by id (one query per 500 ids).

    These are labels for records the caller already sees through a row it may see (a
    contact's company), so no further access check applies.
    """
    target = get_kind(kind)
    model = target.model
    attr = getattr(model, target.title_attr, None) or model.id
    out: dict[int, str] = {}
    ids = list(ids)
    for start in range(0, len(ids), _REF_PAGE_LIMIT):
        chunk = ids[start:start + _REF_PAGE_LIMIT]
        for record_id, title in model.select(model.id, attr).where(model.id.in_(chunk)).tuples():
            out[record_id] = str(title) if title not in (None, "") else f"#{record_id}"
    return out


def find_titles(session: Session, kind: str, text: str, limit: int = 20, *, offset: int = 0,
                filters: dict[str, str] | None = None,
                title_only: bool = False) -> list[tuple[int, str]]:
    """Up to `limit` visible records whose text matches, as (id, title) in title order,
    for pickers and the command palette.

    `offset` skips that many (the next page); `filters` narrow further (the kind's
    filters, e.g. `modifiable`); `title_only` matches the title alone, not the other
    fields a kind's `q` filter reads.
    """
    target = get_kind(kind)
    model = target.model
    title = getattr(model, target.title_attr, None) or model.id
    text = text.strip()
    wanted: dict[str, str] = dict(filters or {})
    if text:
        if "q" in target.extra_filters and not title_only:
            wanted["q"] = text
        else:
            wanted[target.title_attr] = text
    query = (target.query(session, wanted).select(model.id, title)
             .order_by(title, model.id).limit(limit).offset(offset))
    return [(record_id, str(name)) for record_id, name in query.tuples()]


class ListRows:
    """A RowSource over rows already in memory (a dry run's problems, say)."""

    def __init__(self, columns: Sequence[Column], rows: Sequence[Row]) -> None:
        """Wrap `rows` (id, cells) under `columns`."""
        self._columns = list(columns)
        self._rows = list(rows)

    def columns(self) -> list[Column]:
        """The columns."""
        return list(self._columns)

    def count(self) -> int:
        """How many rows."""
        return len(self._rows)

    def page(self, offset: int, limit: int) -> list[Row]:
        """A slice of the rows."""
        return self._rows[max(0, offset):max(0, offset) + max(0, limit)]
