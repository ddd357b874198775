"""Bill-ID series: patterns, race-proof number allocation, the preview, and the gaps report.

A pattern such as `15/[1000]` has a fixed part (`15/` and an empty suffix) and a bracketed
first number. The series is named by the fixed part (`15/[]`), so changing the pattern's
first number or width continues the same series after its highest number instead of
repeating or restarting one already issued.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass, field

import peewee

from crm_tui import acl
from crm_tui.db import database, is_postgres
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import N_, _
from crm_tui.models import Invoice
from crm_tui.models.base import integer_range
from crm_tui.services import values as V
from crm_tui.services.context import Session

#: The widths of the columns a bill ID and its series are stored in.
BILL_ID_LENGTH = Invoice.bill_id.max_length
SERIES_LENGTH = Invoice.bill_series.max_length
#: The highest number the bill_number column holds (a 32-bit integer on PostgreSQL, the
#: same limit on SQLite).
MAX_NUMBER = integer_range(Invoice.bill_number)[1]
#: The series of bill IDs given by hand (exceptions to the pattern).
MANUAL_SERIES = ""


@dataclass(frozen=True)
class Pattern:
    """A parsed bill-ID pattern."""

    text: str
    prefix: str
    first: int
    suffix: str
    width: int  # the bracketed digits' count: INV-[0001] keeps four digits

    @property
    def series(self) -> str:
        """The series key: the fixed part with empty brackets, e.g. `15/[]`."""
        return f"{self.prefix}[]{self.suffix}"

    def bill_id(self, number: int) -> str:
        """The bill ID of a number in this pattern (15/[1000], 1001 -> 15/1001)."""
        return f"{self.prefix}{str(number).zfill(self.width)}{self.suffix}"


def parse_pattern(text: str) -> Pattern:
    """Check and split a pattern: exactly one bracketed number, a printable fixed part, and
    IDs and numbers that fit the columns.

    Raises:
        V.BadValue: saying which rule the pattern breaks.
    """
    text = text or ""
    matches = re.findall(r"\[(\d+)\]", text)
    if len(matches) != 1 or text.count("[") != 1 or text.count("]") != 1:
        raise V.BadValue(_("needs exactly one bracketed number, e.g. 15/[1000]"))
    prefix, rest = text.split("[", 1)
    digits, suffix = rest.split("]", 1)
    fixed = prefix + suffix
    if any(unicodedata.category(ch).startswith("C") or ch in "\u2028\u2029" for ch in fixed):
        raise V.BadValue(_("the fixed part must not hold control characters or line breaks"))
    if fixed != fixed.strip():
        raise V.BadValue(_("the pattern must not start or end with spaces"))
    first = int(digits)
    if first > MAX_NUMBER:
        raise V.BadValue(_("the number must not pass {most}").format(most=MAX_NUMBER))
    longest = len(fixed) + max(len(digits), len(str(MAX_NUMBER)))
    if longest > BILL_ID_LENGTH or len(fixed) + 2 > SERIES_LENGTH:
        raise V.BadValue(_("too long: its bill IDs could pass {length} characters").format(length=BILL_ID_LENGTH))
    return Pattern(text, prefix, first, suffix, len(digits))


def series_of(text: str) -> str:
    """The series key of a pattern (`15/[1000]` -> `15/[]`).

    Raises:
        V.BadValue: not a valid pattern.
    """
    return parse_pattern(text).series


def lock_series(series: str) -> None:
    """Serialise allocation in one series until the transaction ends.

    On SQLite the IMMEDIATE write transaction already holds the only write lock. On
    PostgreSQL a transaction-scoped advisory lock on the series makes a second issuer wait;
    under READ COMMITTED its next query then sees the invoice the first one committed.
    """
    if is_postgres():
        key = zlib.crc32(("invoice-series:" + series).encode("utf-8"))
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def _taken(bill_id: str) -> bool:
    return Invoice.select(Invoice.id).where(Invoice.type == "submitted",
                                            Invoice.bill_id == bill_id).exists()


def allocate(pattern: Pattern, *, reserve: bool = True) -> tuple[str, int]:
    """The next bill ID of a pattern's series, from its numeric part (15/9999 -> 15/10000).

    Call it inside the write transaction that issues the invoice (`reserve=True` takes the
    series lock first), so two issuers never get the same number and a rollback frees it
    for the next one. The first number is the pattern's own; after that, the series'
    highest number + 1 (or the pattern's number, if higher). A bill ID given by hand that
    already holds the next number is skipped, never duplicated. `reserve=False` previews.
    """
    if reserve:
        lock_series(pattern.series)
    last = (Invoice.select(peewee.fn.MAX(Invoice.bill_number))
            .where(Invoice.bill_series == pattern.series).scalar())
    number = pattern.first if last is None else max(last + 1, pattern.first)
    while _taken(pattern.bill_id(number)):
        number += 1
    if number > MAX_NUMBER:
        # Refused before anything is written, the same on both backends.
        raise ValidationFailed.one(
            f"series {pattern.series}", "bill_number", number,
            _("too large: at most {most}; the series is full, start a new one (crm "
              "config set invoice.id_pattern …)").format(most=MAX_NUMBER))
    return pattern.bill_id(number), number


def configured_pattern(key: str = "invoice.id_pattern") -> Pattern | None:
    """The configured pattern of invoices (or of credit notes), None when unset or invalid."""
    from crm_tui.services import settings

    try:
        return parse_pattern(settings.raw_value(key, ""))
    except V.BadValue:
        return None


def auto_id_enabled() -> bool:
    """True while Submitted invoices get their bill ID from the pattern when issued."""
    from crm_tui.services import settings

    return settings.raw_value("invoice.auto_id", "1") == "1"


def preview_bill_id() -> str | None:
    """The ID the next issued invoice would get (not reserved), or None when auto is off."""
    pattern = configured_pattern() if auto_id_enabled() else None
    try:
        return allocate(pattern, reserve=False)[0] if pattern else None
    except ValidationFailed:
        return None  # the series is full: issuing says so


# --- the series report ----------------------------------------------------------------------


@dataclass
class SeriesReport:
    """One series as `crm invoice gaps` reports it."""

    series: str
    count: int = 0
    first: str | None = None
    last: str | None = None
    #: Missing numbers as (from, to) ranges of bill IDs, e.g. ("15/1002", "15/1004").
    gaps: list[tuple[str, str, int]] = field(default_factory=list)
    #: Numbers given more than once: (bill ID, how many times).
    duplicates: list[tuple[str, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """The --json shape."""
        return {"series": self.series, "count": self.count, "first": self.first,
                "last": self.last,
                "gaps": [{"from": a, "to": b, "missing": n} for a, b, n in self.gaps],
                "duplicates": [{"bill_id": b, "times": n} for b, n in self.duplicates]}


def _check_whole_view(session: Session, what: str) -> None:
    # A series spans every company: its counts would tell of invoices a user may not see.
    if not acl.is_admin(session.user):
        raise PermissionDenied(_("{login} may not {what}: the invoice series span every "
                                 "company (superadmins only)").format(login=session.login, what=_(what)))


def gaps(session: Session, pattern: str | None = None) -> list[SeriesReport]:
    """Report the numbered series of issued invoices: first, last, count, gaps, duplicates.

    `pattern` narrows the report to that pattern's series (any pattern with the same fixed
    part names the same series).

    Raises:
        PermissionDenied: not a superadmin.
        ValidationFailed: `pattern` is not a valid pattern.
    """
    from crm_tui.errors import ValidationFailed

    _check_whole_view(session, N_("report invoice series"))
    query = (Invoice.select(Invoice.bill_series, Invoice.bill_number, Invoice.bill_id)
             .where(Invoice.issued.is_null(False), Invoice.bill_number.is_null(False)))
    if pattern is not None:
        try:
            query = query.where(Invoice.bill_series == series_of(pattern))
        except V.BadValue as exc:
            raise ValidationFailed.one("invoice gaps", "--pattern", pattern, str(exc)) from None
    rows: dict[str, list[tuple[int, str]]] = {}
    for series, number, bill_id in query.order_by(Invoice.bill_series, Invoice.bill_number,
                                                   Invoice.id).tuples():
        rows.setdefault(series, []).append((number, bill_id))
    reports = []
    for series, items in rows.items():
        report = SeriesReport(series, len(items), items[0][1], items[-1][1])
        width_of: dict[int, str] = {}
        for number, bill_id in items:
            width_of.setdefault(number, bill_id)
        seen: dict[int, int] = {}
        for number, _bill in items:
            seen[number] = seen.get(number, 0) + 1
        report.duplicates = [(width_of[n], times) for n, times in seen.items() if times > 1]
        numbers = sorted(seen)
        for before, after in zip(numbers, numbers[1:], strict=False):
            if after > before + 1:
                report.gaps.append((_missing(series, width_of[before], before + 1),
                                    _missing(series, width_of[after], after - 1),
                                    after - before - 1))
        reports.append(report)
    if pattern is not None and not reports:
        reports.append(SeriesReport(series_of(pattern)))
    return reports


def _missing(series: str, neighbour: str, number: int) -> str:
    """The bill ID a missing number would have had, as wide as its neighbour's."""
    prefix, _sep, suffix = series.partition("[]")
    width = len(neighbour) - len(prefix) - len(suffix)
    return f"{prefix}{str(number).zfill(width)}{suffix}"


def check_access(session: Session) -> None:
    """Raise PermissionDenied unless the user may report on whole series (verify, gaps)."""
    _check_whole_view(session, N_("check the invoice chain"))
