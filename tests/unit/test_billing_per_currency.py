"""Billing and totals per currency everywhere: a company's billing (list, detail, `crm show`,
CSV export) and the statistics (service, `crm stats companies`) never add EUR and USD."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from crm_tui.money import amounts_text
from crm_tui.services import exports, forms, invoice_issue, invoices, stats
from crm_tui.services.records import get_kind


def test_amounts_text_keeps_currencies_apart():
    assert amounts_text({}) == "0.00"
    assert amounts_text({"EUR": Decimal("2613.6")}) == "2613.60 EUR"
    assert amounts_text({"EUR": Decimal("-0.001"), "USD": Decimal("121")}) == (
        "0.00 EUR; 121.00 USD")  # never -0.00


def billed_in_two_currencies(world) -> tuple[int, int]:
    """Customer #A: 2613.60 EUR and 121.00 USD issued, a USD draft (not billed); Customer #B:
    242.00 EUR issued, then cancelled by a credit note of 100 (+21 tax) of its lines."""
    admin = world.session("admin")
    kind = get_kind("invoice")
    a, b = world.cid("Customer #A"), world.cid("Customer #B")
    with invoices.deferred_pdfs():
        for company, currency, amount, discount in ((a, "EUR", "2400", "240"),
                                                    (a, "USD", "100", "0")):
            invoice_issue.issue(admin, kind.create(admin, {
                "company": str(company), "currency": currency, "tax_rate": "21",
                "lines": [{"description": "Support", "amount": amount}],
                "discounts": [{"description": "promotion", "amount": discount}]}))
        kind.create(admin, {"company": str(a), "currency": "USD",
                            "lines": [{"description": "Draft", "amount": "999"}]})
        b_invoice = kind.create(admin, {"company": str(b), "tax_rate": "21", "lines": [
            {"description": "One", "amount": "100"}, {"description": "Two", "amount": "100"}]})
        invoice_issue.issue(admin, b_invoice)
        invoice_issue.credit(admin, b_invoice, lines=[1])
    return a, b


def test_company_billing_is_per_currency_on_every_face(any_world, any_db, run_crm):
    a, b = billed_in_two_currencies(any_world)
    admin = any_world.session("admin")
    rows = {r["name"]: r["billing"] for r in get_kind("company").list(admin)}
    assert rows == {"My company": "0.00", "Customer #A": "2613.60 EUR; 121.00 USD",
                    "Customer #B": "121.00 EUR"}  # 242.00 less the credit note of 121.00
    shown = {f["key"]: f["text"] for f in forms.display(admin, "company", a)}
    assert shown["billing"] == "2613.60 EUR; 121.00 USD"
    out = run_crm("show", "company", str(a), db=any_db)
    assert out.returncode == 0, out.stderr
    assert "2613.60 EUR; 121.00 USD" in out.stdout and "2734.60" not in out.stdout
    as_json = json.loads(run_crm("show", "company", str(a), "--json", db=any_db).stdout)
    assert as_json["billing"] == "2613.60 EUR; 121.00 USD"
    buffer = io.StringIO()
    exports.write(admin, "companies", buffer)
    exported = {r["name"]: r["billing"] for r in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert exported["Customer #A"] == "2613.60 EUR; 121.00 USD"


def test_statistics_rank_each_currency_apart(any_world, any_db, run_crm):
    billed_in_two_currencies(any_world)
    admin = any_world.session("admin")
    assert stats.top_by_invoiced(admin) == [("Customer #A (EUR)", Decimal("2613.60")),
                                            ("Customer #B (EUR)", Decimal("121.00")),
                                            ("Customer #A (USD)", Decimal("121.00"))]
    assert stats.top_by_invoiced(admin, limit=1) == [("Customer #A (EUR)", Decimal("2613.60")),
                                                     ("Customer #A (USD)", Decimal("121.00"))]
    charts = json.loads(run_crm("stats", "companies", "--json", db=any_db).stdout)
    invoiced = next(c for c in charts if c["key"] == "top_invoiced")
    assert {"label": "Customer #A (USD)", "value": "121.00"} in invoiced["bars"]
    # User #1 has no invoice bit: no amounts at all.
    assert stats.top_by_invoiced(any_world.session("user1")) == []

