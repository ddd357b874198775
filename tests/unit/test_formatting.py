"""Numbers, amounts, dates and times formatted by babel in the user's language, times in the
local time zone; the command line's table uses them, its --json keeps the plain forms."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from crm_tui import formatting, i18n


@pytest.fixture
def language():
    def choose(code: str) -> None:
        i18n.set_language(code)

    yield choose
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def test_amounts_counts_and_money_in_english_and_spanish(language):
    language("en")
    assert formatting.amount_text(Decimal("1234.5")) == "1,234.50"
    assert formatting.money_text(Decimal("1234.56"), "EUR") == "€1,234.56"
    assert formatting.count_text(12345) == "12,345"
    assert formatting.short_amount_text(Decimal("2500000")) == "2.50M"
    language("es")
    assert formatting.amount_text(Decimal("1234.5")) == "1.234,50"
    assert formatting.money_text(Decimal("1234.56"), "EUR") == "1.234,56\xa0€"
    assert formatting.count_text(12345) == "12.345"
    assert formatting.short_amount_text(Decimal("2500000")) == "2,50M"
    assert formatting.number_text("10.5") == "10,5"
    # Text that is no number is shown as given, never a traceback.
    assert formatting.amount_text("n/a") == "n/a"


def test_per_currency_totals_each_as_money(language):
    language("es")
    assert formatting.totals_text("2613.60 EUR; 121.00 USD") == "2.613,60\xa0€; 121,00\xa0US$"
    assert formatting.totals_text("0.00") == "0,00"
    language("en")
    assert formatting.totals_text("-5.00 EUR") == "-€5.00"
    # A withheld value's words, or any other shape, are shown as given.
    for text in ("(not visible)", "12 apples", "1.00 EUR; soon"):
        assert formatting.totals_text(text) == text


def test_file_sizes(language):
    language("en")
    assert [formatting.size_text(n) for n in (300, 1023, 1536, 2_400_000)] == [
        "300 B", "1,023 B", "1.5 KB", "2.3 MB"]
    language("es")
    assert [formatting.size_text(n) for n in (300, 1023, 1536, 2_400_000)] == [
        "300 B", "1.023 B", "1,5 KB", "2,3 MB"]


def test_dates_and_local_times(language, monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    import time

    time.tzset()
    try:
        language("en")
        assert formatting.date_text("2026-02-01") == "2/1/2026"
        # Stored in UTC, shown in the local zone (five hours behind in January).
        assert formatting.datetime_text("2026-01-14T10:00:00Z") == "1/14/2026 5:00\u202fAM"
        assert formatting.datetime_text(dt.datetime(2026, 1, 14, 2, 30)) == (
            "1/13/2026 9:30\u202fPM")
        language("es")
        assert formatting.date_text(dt.date(2026, 2, 1)) == "1/2/2026"
        assert formatting.datetime_text("2026-01-14T10:00:00Z") == "14/1/2026 5:00"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_crm_list_table_speaks_the_language_and_json_stays_plain(run_crm, crm_db):
    run_crm("add", "lead", "full_name=Ann", "estimated_sale=1234.56",
            "estimated_close=2026-02-01", db=crm_db)
    english = run_crm("show", "lead", "1", db=crm_db).stdout
    assert "1,234.56" in english and "2/1/2026" in english
    spanish = run_crm("--lang", "es", "show", "lead", "1", db=crm_db).stdout
    assert "1.234,56" in spanish and "1/2/2026" in spanish
    row = json.loads(run_crm("--lang", "es", "show", "lead", "1", "--json", db=crm_db).stdout)
    assert row["estimated_sale"] == "1234.56" and row["estimated_close"] == "2026-02-01"
