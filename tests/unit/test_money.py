"""Money parsing, rounding, invoice totals (the manual's example) and display."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_tui.money import InvoiceTotals, compute_totals, format_money, quantize, to_money, to_rate


def test_manual_example_holds_exactly() -> None:
    totals = compute_totals(["2400"], ["240"], "21")
    assert totals == InvoiceTotals(
        tax_base=Decimal("2400.00"),
        discount_total=Decimal("240.00"),
        subtotal=Decimal("2160.00"),
        total_tax=Decimal("453.60"),
        withholding=Decimal("0.00"),
        total=Decimal("2613.60"),
    )
    assert totals.total_tax == Decimal("453.6")
    assert str(totals.total_tax) == "453.60"
    assert all(isinstance(v, Decimal) for v in totals.as_dict().values())


def test_withholding_is_a_percentage_of_the_subtotal_subtracted_from_the_total() -> None:
    totals = compute_totals([Decimal("1000"), Decimal("500.50")], [], 21, withholding_rate=15)
    assert totals.subtotal == Decimal("1500.50")
    assert totals.total_tax == Decimal("315.11")  # 315.105 rounds half up
    assert totals.withholding == Decimal("225.08")  # 225.075 rounds half up
    assert totals.total == Decimal("1590.53")


def test_no_lines_gives_zero_totals() -> None:
    totals = compute_totals([], [], "21")
    assert totals.total == Decimal("0.00")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2400", "2400.00"),
        ("2400.50", "2400.50"),
        (" 12.5 ", "12.50"),
        ("-3", "-3.00"),
        (7, "7.00"),
    ],
)
def test_to_money_accepts_plain_numbers(text: object, expected: str) -> None:
    assert to_money(text) == Decimal(expected)
    assert str(to_money(text)) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2.400,50", "use a dot for decimals"),
        ("1,5", "use a dot for decimals"),
        ("NaN", "plain number"),
        ("inf", "plain number"),
        ("1e3", "plain number"),
        ("abc", "plain number"),
        ("", "empty"),
        ("1.234", "more than 2 decimal places"),
        (Decimal("NaN"), "finite"),
        (Decimal("Infinity"), "finite"),
        (1.5, "not a float"),
        (True, "boolean"),
        (None, "must be a number"),
    ],
)
def test_to_money_rejects_with_a_reason(value: object, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        to_money(value)


def test_quantize_is_half_up() -> None:
    assert quantize(Decimal("0.005")) == Decimal("0.01")
    assert quantize(Decimal("-0.005")) == Decimal("-0.01")
    assert quantize(Decimal("2.344")) == Decimal("2.34")


def test_rates_are_bounded_and_discounts_not_negative() -> None:
    assert to_rate("10.5") == Decimal("10.5")
    with pytest.raises(ValueError, match="between 0 and 100"):
        to_rate("101")
    with pytest.raises(ValueError, match="must not be negative"):
        compute_totals(["100"], ["-5"], "21")


def test_format_money_per_language() -> None:
    assert format_money(Decimal("2613.60"), "EUR", "en") == "€2,613.60"
    assert format_money(Decimal("2613.60"), "EUR", "es") == "2.613,60\xa0€"
    assert format_money(Decimal("5"), "usd", "en") == "$5.00"
    # An unknown locale falls back to English rather than failing a document.
    assert format_money(Decimal("1"), "EUR", "zz") == "€1.00"
    with pytest.raises(ValueError):
        format_money(1.5, "EUR", "en")
