"""Money arithmetic for invoices: parsing, rounding, totals and display, all in Decimal."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)

# A plain amount as typed by an operator or read from CSV: optional sign, digits, at most
# one dot and two decimals. Thousands separators and decimal commas are refused on purpose:
# "2.400" means 2400 in Spain and 2.4 in England, and guessing would corrupt invoices.
_AMOUNT_RE = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def quantize(amount: Decimal) -> Decimal:
    """Round to cents: 2 decimal places, ROUND_HALF_UP (0.005 -> 0.01, -0.005 -> -0.01).

    This is the one rounding rule of the whole CRM. Every stored or printed amount and
    every computed total goes through it, so a tax of 21% on 0.05 is 0.01 everywhere.
    """
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _to_decimal(value: object, what: str) -> Decimal:
    """Turn an int, Decimal or plain number string into a finite Decimal, or explain why not."""
    # bool is an int subclass; True as "1.00 EUR" is always a bug in the caller.
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number, not a boolean ({value!r})")
    if isinstance(value, float):
        # Floats cannot hold 0.1 exactly; accepting them would let binary noise into totals.
        raise ValueError(
            f"{what} must be a Decimal, an int or a string like '1234.56', not a float ({value!r})"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise ValueError(f"{what} is empty")
        if not _AMOUNT_RE.fullmatch(text):
            if "," in text:
                reason = "use a dot for decimals and no thousands separators, e.g. 1234.56"
            else:
                reason = "expected a plain number like 1234.56"
            raise ValueError(f"{what} {value!r} is not a valid number: {reason}")
        try:
            result = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the regex already vetted it
            raise ValueError(f"{what} {value!r} is not a valid number") from exc
    else:
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value!r}")
    return result


def to_money(value: object) -> Decimal:
    """Parse an amount ("2400", "2400.50", Decimal, int) into a 2-place Decimal.

    Raises ValueError with the reason for floats, NaN/Infinity, decimal commas, thousands
    separators, and more than two decimals (a sub-cent amount is a typo, not something to
    round away silently).
    """
    amount = _to_decimal(value, "amount")
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError(f"amount {value!r} has more than 2 decimal places")
    return quantize(amount)


def to_rate(value: object) -> Decimal:
    """Parse a percentage (tax or withholding rate) between 0 and 100, e.g. "21" or "10.5"."""
    rate = _to_decimal(value, "rate")
    if rate < 0 or rate > HUNDRED:
        raise ValueError(f"rate {value!r} must be between 0 and 100")
    return rate


@dataclass(frozen=True)
class InvoiceTotals:
    """The printed totals of an invoice, every field already rounded to cents."""

    tax_base: Decimal  # sum of the concepts
    discount_total: Decimal  # sum of the discounts
    subtotal: Decimal  # tax_base - discount_total: what tax and withholding apply to
    total_tax: Decimal  # subtotal * tax_rate / 100
    withholding: Decimal  # subtotal * withholding_rate / 100, subtracted from the total
    total: Decimal  # subtotal + total_tax - withholding

    def as_dict(self) -> dict[str, Decimal]:
        """The totals as a plain dict (the shape the documents layer and CSV export use)."""
        return {
            "tax_base": self.tax_base,
            "discount_total": self.discount_total,
            "subtotal": self.subtotal,
            "total_tax": self.total_tax,
            "withholding": self.withholding,
            "total": self.total,
        }


def compute_totals(
    line_amounts: Iterable[object],
    discount_amounts: Iterable[object],
    tax_rate: object,
    withholding_rate: object = 0,
) -> InvoiceTotals:
    """Compute an invoice's totals from its concept and discount amounts and its rates.

    The manual's example: one concept 2400, discount 240, tax 21% gives tax base 2400,
    subtotal 2160, tax 453.60 and total 2613.60. Tax and withholding are each rounded once
    (on the subtotal, not per line) so the printed figures always add up.
    """
    lines = [to_money(a) for a in line_amounts]
    discounts = [to_money(a) for a in discount_amounts]
    for amount in discounts:
        if amount < 0:
            # A negative discount is a surcharge; it belongs on a concept line, where the
            # customer can read what it is for.
            raise ValueError(f"discount {amount} must not be negative; add a concept instead")
    tax = to_rate(tax_rate)
    withholding_pct = to_rate(withholding_rate)

    tax_base = quantize(sum(lines, ZERO))
    discount_total = quantize(sum(discounts, ZERO))
    subtotal = quantize(tax_base - discount_total)
    total_tax = quantize(subtotal * tax / HUNDRED)
    withholding = quantize(subtotal * withholding_pct / HUNDRED)
    total = quantize(subtotal + total_tax - withholding)
    return InvoiceTotals(tax_base, discount_total, subtotal, total_tax, withholding, total)


def format_money(amount: object, currency: str, locale: str = "en") -> str:
    """Format an amount for people, e.g. en "€2,613.60", es "2.613,60 €" (babel, CLDR data).

    The space babel puts between number and symbol is a no-break space, so an amount never
    wraps across lines.
    """
    from babel.numbers import format_currency  # heavy: only when something is displayed

    value = _to_decimal(amount, "amount")
    return format_currency(value, currency.upper(), locale=babel_locale(locale))


def babel_locale(locale: str) -> str:
    """Normalise "es-ES" / "es_ES" / "" to a locale babel accepts, falling back to English."""
    from babel import Locale, UnknownLocaleError

    tag = (locale or "en").replace("-", "_")
    try:
        Locale.parse(tag)
    except (UnknownLocaleError, ValueError):
        return "en"
    return tag
