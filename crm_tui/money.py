"""Money arithmetic for invoices: parsing, rounding, totals and display, all in Decimal."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from crm_tui.i18n import N_, gettext

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
    A zero is always 0.00, never -0.00 (-0.004 rounds to a plain zero).
    """
    result = amount.quantize(CENT, rounding=ROUND_HALF_UP)
    return ZERO if result.is_zero() else result


class MoneyError(ValueError):
    """An amount, rate or currency that is not one; read in the language where it is shown.

    The message is an English message id with named parameters (`what` is itself a message
    id, "amount" or "rate"): `str(exc)` translates it when a face shows it, so a reason kept
    or logged elsewhere is not frozen in one user's language.
    """

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message, params)
        self.message = message
        self.params = params

    def __str__(self) -> str:
        params = dict(self.params)
        if "what" in params:
            params["what"] = gettext(str(params["what"]))
        return gettext(self.message).format(**params)


def _to_decimal(value: object, what: str) -> Decimal:
    """Turn an int, Decimal or plain number string into a finite Decimal, or explain why not."""
    # bool is an int subclass; True as "1.00 EUR" is always a bug in the caller.
    if isinstance(value, bool):
        raise MoneyError(N_("{what} must be a number, not a boolean ({value})"), what=what,
                         value=repr(value))
    if isinstance(value, float):
        # Floats cannot hold 0.1 exactly; accepting them would let binary noise into totals.
        raise MoneyError(N_("{what} must be a Decimal, an int or a string like '1234.56', not a "
                            "float ({value})"), what=what, value=repr(value))
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            raise MoneyError(N_("{what} is empty"), what=what)
        if not _AMOUNT_RE.fullmatch(text):
            if "," in text:
                message = N_("{what} {value} is not a valid number: use a dot for decimals and "
                             "no thousands separators, e.g. 1234.56")
            else:
                message = N_("{what} {value} is not a valid number: expected a plain number "
                             "like 1234.56")
            raise MoneyError(message, what=what, value=repr(value))
        try:
            result = Decimal(text)
        except InvalidOperation as exc:  # pragma: no cover - the regex already vetted it
            raise MoneyError(N_("{what} {value} is not a valid number"), what=what,
                             value=repr(value)) from exc
    else:
        raise MoneyError(N_("{what} must be a number, got {kind}"), what=what,
                         kind=type(value).__name__)
    if not result.is_finite():
        raise MoneyError(N_("{what} must be a finite number, got {value}"), what=what,
                         value=repr(value))
    return result


def to_money(value: object) -> Decimal:
    """Parse an amount ("2400", "2400.50", Decimal, int) into a 2-place Decimal.

    Raises ValueError with the reason for floats, NaN/Infinity, decimal commas, thousands
    separators, and more than two decimals (a sub-cent amount is a typo, not something to
    round away silently).
    """
    amount = _to_decimal(value, N_("amount"))
    if amount != amount.quantize(CENT, rounding=ROUND_HALF_UP):
        raise MoneyError(N_("amount {value} has more than 2 decimal places"), value=repr(value))
    return quantize(amount)


def to_rate(value: object) -> Decimal:
    """Parse a percentage (tax or withholding rate) between 0 and 100, e.g. "21" or "10.5"."""
    rate = _to_decimal(value, N_("rate"))
    if rate < 0 or rate > HUNDRED:
        raise MoneyError(N_("rate {value} must be between 0 and 100"), value=repr(value))
    return rate


@dataclass(frozen=True)
class RateTotal:
    """The tax base and tax of one rate on an invoice."""

    rate: Decimal
    base: Decimal
    tax: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    """The printed totals of an invoice, every field already rounded to cents."""

    tax_base: Decimal  # sum of the concepts
    discount_total: Decimal  # sum of the discounts
    subtotal: Decimal  # tax_base - discount_total: what tax and withholding apply to
    total_tax: Decimal  # the sum of the per-rate taxes
    withholding: Decimal  # subtotal * withholding_rate / 100, subtracted from the total
    total: Decimal  # subtotal + total_tax - withholding
    #: One base and tax per rate, lowest rate first (the invoice prints one row each).
    by_rate: tuple[RateTotal, ...] = field(default=(), compare=False)

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
    """Compute an invoice's totals when every concept and discount has the same tax rate.

    The manual's example: one concept 2400, discount 240, tax 21% gives tax base 2400,
    subtotal 2160, tax 453.60 and total 2613.60.
    """
    return compute_rated_totals(
        [(amount, tax_rate) for amount in line_amounts],
        [(amount, tax_rate) for amount in discount_amounts],
        withholding_rate,
    )


def compute_rated_totals(
    lines: Iterable[tuple[object, object]],
    discounts: Iterable[tuple[object, object]],
    withholding_rate: object = 0,
    *,
    credit: bool = False,
) -> InvoiceTotals:
    """Totals of an invoice whose concepts and discounts each carry a tax rate.

    `lines` and `discounts` are (amount, rate) pairs. Each rate's base is its concepts
    minus its discounts, and its tax is rounded once on that base, so the printed rows
    always add up. Withholding applies to the whole subtotal. A credit note (`credit`)
    mirrors an invoice: its concepts and discounts are negative.
    """
    rated_lines = [(to_money(a), to_rate(r)) for a, r in lines]
    rated_discounts = [(to_money(a), to_rate(r)) for a, r in discounts]
    for amount, _rate in rated_discounts:
        if (amount > 0) if credit else (amount < 0):
            # A negative discount is a surcharge; it belongs on a concept line, where the
            # customer can read what it is for.
            raise MoneyError(N_("discount {amount} must not be positive on a credit note; add "
                                "a concept instead") if credit else
                             N_("discount {amount} must not be negative; add a concept instead"),
                             amount=amount)
    withholding_pct = to_rate(withholding_rate)
    bases: dict[Decimal, Decimal] = {}
    for amount, rate in rated_lines:
        bases[rate] = bases.get(rate, ZERO) + amount
    for amount, rate in rated_discounts:
        bases[rate] = bases.get(rate, ZERO) - amount
    by_rate = tuple(
        RateTotal(plain_rate(rate), quantize(base), quantize(base * rate / HUNDRED))
        for rate, base in sorted(bases.items())
    )
    tax_base = quantize(sum((a for a, _ in rated_lines), ZERO))
    discount_total = quantize(sum((a for a, _ in rated_discounts), ZERO))
    subtotal = quantize(tax_base - discount_total)
    total_tax = quantize(sum((r.tax for r in by_rate), ZERO))
    withholding = quantize(subtotal * withholding_pct / HUNDRED)
    total = quantize(subtotal + total_tax - withholding)
    return InvoiceTotals(tax_base, discount_total, subtotal, total_tax, withholding, total,
                         by_rate)


def plain_rate(rate: Decimal) -> Decimal:
    """A rate without trailing zeros or exponent: 21.000 -> 21, 10.500 -> 10.5."""
    if rate == rate.to_integral_value():
        return rate.quantize(Decimal(1))
    return rate.normalize()


def sum_by_currency(amounts: Iterable[tuple[str, object]]) -> dict[str, Decimal]:
    """Add (currency, amount) pairs per currency: EUR and USD are never added together.

    Returns {currency: total}, currencies in alphabetical order.
    """
    out: dict[str, Decimal] = {}
    for currency, amount in amounts:
        code = (currency or "").upper()
        out[code] = out.get(code, ZERO) + _to_decimal(amount, "amount")
    return {code: quantize(out[code]) for code in sorted(out)}


def format_by_currency(totals: Mapping[str, object], locale: str = "en") -> str:
    """Per-currency totals for people, e.g. "€2,613.60 · $100.00" (empty: "0.00")."""
    if not totals:
        return "0.00"
    return " · ".join(format_money(amount, code, locale) for code, amount in totals.items())


def amounts_text(totals: Mapping[str, object]) -> str:
    """Per-currency totals as plain text for lists, CSV and --json: "2613.60 EUR; 100.00 USD"
    (no currency: "0.00"). Amounts of different currencies are never added."""
    if not totals:
        return format(ZERO, "f")
    return "; ".join(f"{format(quantize(_to_decimal(amount, 'amount')), 'f')} {code}"
                     for code, amount in totals.items())


_CURRENCIES: frozenset[str] | None = None


def currency_codes() -> frozenset[str]:
    """The ISO 4217 currency codes babel knows (CLDR data)."""
    global _CURRENCIES
    if _CURRENCIES is None:
        from babel.numbers import list_currencies

        _CURRENCIES = frozenset(list_currencies())
    return _CURRENCIES


def check_currency(code: str) -> str:
    """An ISO 4217 code ("eur" -> "EUR"), or ValueError naming the value."""
    text = (code or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", text) or text not in currency_codes():
        raise MoneyError(N_("{code} is not an ISO 4217 currency code such as EUR or USD"),
                         code=repr(code))
    return text


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
