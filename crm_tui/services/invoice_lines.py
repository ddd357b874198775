"""Invoice concept and discount lines: parsing, reading, and totals by tax rate."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from crm_tui.errors import Problem
from crm_tui.i18n import _
from crm_tui.models import Invoice, InvoiceDiscount, InvoiceLine
from crm_tui.money import compute_rated_totals, plain_rate, quantize
from crm_tui.services import values as V


def parse_amount_lines(label: str, key: str, raw: Any, default_rate: Any,
                        problems: list[Problem]) -> list[dict]:
    """Parse `lines` / `discounts`: a list of {description, amount[, tax_rate]}."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            problems.append(Problem(label, key, raw, _("not a JSON list of {description, "
                                                       "amount}")))
            return []
    if not isinstance(raw, list):
        problems.append(Problem(label, key, str(raw), _("not a list of {description, amount}")))
        return []
    out = []
    for n, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(Problem(label, f"{key}[{n}]", str(item), _("not {description, amount}")))
            continue
        try:
            # One line of text like every single-line value: trimmed, no control characters.
            description = V.parse_text(item.get("description", ""))
        except V.BadValue as exc:
            problems.append(Problem(label, f"{key}[{n}].description",
                                    str(item.get("description"))[:40], str(exc)))
            continue
        try:
            amount = V.parse_decimal(item.get("amount"))
        except V.BadValue as exc:
            problems.append(Problem(label, f"{key}[{n}].amount", str(item.get("amount")), str(exc)))
            continue
        rate_raw = item.get("tax_rate", item.get("rate"))
        try:
            rate = V.parse_decimal(rate_raw, 3) if rate_raw not in (None, "") else None
        except V.BadValue as exc:
            problems.append(Problem(label, f"{key}[{n}].tax_rate", str(rate_raw), str(exc)))
            continue
        if rate is None:
            rate = Decimal(str(default_rate or 0))
        elif not 0 <= rate <= 100:
            problems.append(Problem(label, f"{key}[{n}].tax_rate", str(rate_raw),
                                    _("a percentage from 0 to 100")))
            continue
        if not description:
            problems.append(Problem(label, f"{key}[{n}].description", "", _("required")))
        if amount is None:
            problems.append(Problem(label, f"{key}[{n}].amount", "", _("required")))
            continue
        model = InvoiceDiscount if key == "discounts" else InvoiceLine
        refused = False
        for name, value in (("description", description), ("amount", amount)):
            try:
                V.check_fits(model._meta.fields[name], value)
            except V.BadValue as exc:
                problems.append(Problem(label, f"{key}[{n}].{name}", str(value), str(exc)))
                refused = True
        if refused:
            continue
        if key == "discounts" and amount < 0:
            problems.append(Problem(label, f"{key}[{n}].amount", str(amount),
                                    _("a discount cannot be negative")))
        out.append({"description": description, "amount": amount, "tax_rate": rate})
    return out


def totals_of(lines: list[dict], discounts: list[dict], withholding_rate: Any,
              credit: bool = False):
    """The totals (money.InvoiceTotals) of lines and discounts that carry their rates."""
    return compute_rated_totals(
        [(x["amount"], x["tax_rate"]) for x in lines],
        [(x["amount"], x["tax_rate"]) for x in discounts],
        withholding_rate or 0, credit=credit)


def amount_row(item: dict) -> dict:
    return {"description": item["description"], "amount": V.render(quantize(V.money(
        item["amount"]))),
            "tax_rate": V.render(plain_rate(Decimal(str(item["tax_rate"] or 0))))}


def amount_keys(items: list[dict]) -> list[tuple]:
    return [(x["description"], V.money(x["amount"]), Decimal(str(x["tax_rate"] or 0)))
            for x in items]


def stored_lines(obj: Invoice) -> list[dict]:
    if obj.id is None:
        return []
    return [{"description": x.description, "amount": x.amount, "tax_rate": x.tax_rate}
            for x in InvoiceLine.select().where(InvoiceLine.invoice == obj.id)
            .order_by(InvoiceLine.position, InvoiceLine.id)]


def stored_discounts(obj: Invoice) -> list[dict]:
    if obj.id is None:
        return []
    return [{"description": x.description, "amount": x.amount, "tax_rate": x.tax_rate}
            for x in InvoiceDiscount.select().where(InvoiceDiscount.invoice == obj.id)
            .order_by(InvoiceDiscount.position, InvoiceDiscount.id)]
