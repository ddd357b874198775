"""Numbers, amounts, dates and times as people read them in their language (babel, CLDR).

The one place that formats for display: screens, widgets (through a formatter the screen
passes in) and the command line's tables. `--json`, JSON Lines and CSV keep their plain
forms (a dot for decimals, ISO 8601 dates): they are the scripting contract. Times are
stored in UTC and shown in the local time zone.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal, InvalidOperation

from crm_tui import i18n
from crm_tui.money import babel_locale, format_money

__all__ = ["amount_text", "count_text", "date_text", "datetime_text", "money_text",
           "number_text", "short_amount_text", "size_text", "totals_text", "value_text"]


def _locale() -> str:
    return babel_locale(i18n.current_language())


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def amount_text(value: object) -> str:
    """An amount with two decimals and grouping: en "1,234.56", es "1.234,56". Text that
    is no number comes back as given."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    from babel.numbers import format_decimal  # heavy: only when something is displayed

    return format_decimal(number, format="#,##0.00", locale=_locale(), decimal_quantization=True)


def short_amount_text(value: object) -> str:
    """An amount for a narrow place: millions as "1.23M" (in the user's digits), else as
    `amount_text`."""
    number = _decimal(value)
    if number is not None and abs(number) >= 1_000_000:
        return amount_text(number / 1_000_000) + "M"
    return amount_text(value)


def money_text(value: object, currency: str) -> str:
    """An amount with its currency: en "€1,234.56", es "1234,56 €"."""
    return format_money(value, currency, _locale())


def size_text(size: int) -> str:
    """A file size in bytes, KB or MB in the user's digits: en "1,000 B", "1.5 KB",
    es "1,5 KB" (the units are symbols, the same in every language)."""
    from babel.numbers import format_decimal

    if size < 1024:
        return f"{count_text(size)} B"
    value, unit = (size / 1024, "KB") if size < 1024 * 1024 else (size / (1024 * 1024), "MB")
    return f"{format_decimal(value, format='#,##0.0', locale=_locale())} {unit}"


def totals_text(text: str) -> str:
    """Per-currency totals as `money.amounts_text` writes them ("1210.00 EUR; 50.00 USD",
    the --json form) in the user's form: es "1210,00 €; 50,00 US$". Text of another shape
    (a withheld value's words) comes back as given."""
    shown = []
    for part in text.split("; "):
        amount, _, code = part.strip().partition(" ")
        if _decimal(amount) is None or (code and not (code.isalpha() and len(code) == 3)):
            return text
        shown.append(money_text(amount, code) if code else amount_text(amount))
    return "; ".join(shown)


def number_text(value: object) -> str:
    """A number as it is (decimals kept), grouped in the user's language."""
    number = _decimal(value)
    if number is None:
        return "" if value is None else str(value)
    from babel.numbers import format_decimal

    return format_decimal(number, locale=_locale(), decimal_quantization=False)


def count_text(value: int) -> str:
    """A count: en "12,345", es "12.345"."""
    from babel.numbers import format_decimal

    return format_decimal(value, locale=_locale())


@functools.lru_cache(maxsize=16)
def _date_pattern(locale: str) -> str:
    """The language's short date with a four-digit year: en "M/d/yyyy", es "d/M/yyyy"."""
    from babel import Locale

    pattern = Locale.parse(locale).date_formats["short"].pattern
    return pattern.replace("yyyy", "y").replace("yy", "y").replace("y", "yyyy")


def date_text(value: object) -> str:
    """A date (or an ISO date string) in the user's short form: en "2/1/2026",
    es "1/2/2026"; text that is no date comes back as given."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10]) if len(value) >= 10 else value
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return "" if value is None else str(value)
    from babel.dates import format_date

    locale = _locale()
    return format_date(value, _date_pattern(locale), locale=locale)


def local_time(value: object) -> dt.datetime | None:
    """A stored time (UTC; naive means UTC; or an ISO string, "…Z") in the local zone."""
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone()


def datetime_text(value: object) -> str:
    """A stored UTC time shown in the local time zone, to the minute, in the user's short
    form: en "2/1/2026 3:04 PM", es "1/2/2026 15:04"."""
    local = local_time(value)
    if local is None:
        return "" if value is None else str(value)
    from babel.dates import format_time

    language = i18n.current_language()
    locale = babel_locale(language)
    # A language babel does not know (a test's pseudo-locale) gets a 24-hour clock, not
    # English's "AM" among its own words.
    known = locale.split("_")[0] == (language or "en").replace("-", "_").split("_")[0]
    pattern = "short" if known else "HH:mm"
    return f"{date_text(local.date())} {format_time(local.time(), pattern, locale=locale)}"


def value_text(value: object) -> str:
    """A chart's value: a count as `count_text`, anything else as an amount."""
    if isinstance(value, int) and not isinstance(value, bool):
        return count_text(value)
    return amount_text(value)
