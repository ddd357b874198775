"""Tests of the CSV export use case: headers, neutralised cells, visibility, pages, filters."""

from __future__ import annotations

import csv
import io

import pytest

from crm_tui.errors import ValidationFailed
from crm_tui.models import Contact, Lead
from crm_tui.services import exports, imports
from crm_tui.services.records import get_kind

COMPANY_EXPORT_HEADER = (
    "name,address,fiscal_id,country,website,comments,id_company_role,id_parent,manager,"
    "last_update,payment_conditions,billing,Office Phone,General email,id,created")


def _export(session, kind: str, filters: dict | None = None) -> tuple[int, str]:
    out = io.StringIO(newline="")
    count = exports.write(session, kind, out, filters)
    return count, out.getvalue()


def _rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_company_export_has_the_pandora_header_then_id(world) -> None:
    admin = world.session("admin")

    count, text = _export(admin, "companies")

    assert text.splitlines()[0] == COMPANY_EXPORT_HEADER
    assert exports.header("companies") == COMPANY_EXPORT_HEADER.split(",")
    assert count == 3
    rows = {row["name"]: row for row in _rows(text)}
    customer_a = rows["Customer #A"]
    assert customer_a["id_parent"] == str(world.cid("My company"))
    assert customer_a["manager"] == "user1"
    assert customer_a["id"] == str(world.cid("Customer #A"))
    assert customer_a["billing"] == "0.00"
    # Times as the manuals write them.
    assert customer_a["last_update"] == "2026-01-15 09:30:00"


def test_cells_a_spreadsheet_would_run_are_neutralised(world) -> None:
    admin = world.session("admin")
    get_kind("company").create(admin, {
        "name": "=HYPERLINK(\"x\")", "comments": "@SUM(A1)", "address": "+1",
        "custom.Office Phone": "-5"})

    _, text = _export(admin, "companies")

    line = next(line for line in text.splitlines() if "HYPERLINK" in line)
    assert line.startswith("\"'=HYPERLINK(\"\"x\"\")\"")
    assert ",'@SUM(A1)," in line
    # A plain number is data, not a formula: a spreadsheet reads it as a number.
    assert ",+1," in line and ",-5," in line


def test_only_what_the_user_may_see(world) -> None:
    _, text = _export(world.session("user1"), "companies")
    assert sorted(row["name"] for row in _rows(text)) == ["Customer #A", "Customer #B"]

    count, text = _export(world.session("user2"), "companies")
    assert count == 0
    assert text == COMPANY_EXPORT_HEADER + "\n"


def test_filters_narrow_and_bad_filters_write_nothing(world) -> None:
    admin = world.session("admin")
    get_kind("company").update(admin, world.cid("Customer #A"), {"country": "Spain"})

    count, text = _export(admin, "companies", {"country": "spa"})
    assert count == 1 and _rows(text)[0]["name"] == "Customer #A"

    out = io.StringIO()
    with pytest.raises(ValidationFailed):
        exports.write(admin, "companies", out, {"colour": "red"})
    assert out.getvalue() == ""


def test_large_exports_are_read_in_pages(admin) -> None:
    total = exports.CHUNK * 2 + 7
    data = "".join(f"Company {n:05d},,,,,,,,admin,,,,\n" for n in range(total))
    imports.run(admin, "companies", data.encode(), dry_run=False)

    count, text = _export(admin, "companies")

    assert count == total
    ids = [int(row["id"]) for row in _rows(text)]
    assert ids == sorted(set(ids)) and len(ids) == total


def test_contracts_export_carries_newer_columns_and_custom_fields_by_name(world) -> None:
    admin = world.session("admin")
    get_kind("field").create(admin, {"name": "Licence type", "kind": "text",
                                     "entity": "contract_type:2"})
    get_kind("field").create(admin, {"name": "Seats", "kind": "numeric",
                                     "entity": "contract_type:1"})
    customer = world.cid("Customer #A")
    get_kind("contract").create(admin, {
        "name": "SAMPLE", "contract_number": "21/1001", "company": str(customer),
        "contract_type": "2", "manager": "admin", "date_begin": "2021-01-20",
        "custom.Licence type": "Beta"})

    _, text = _export(admin, "contracts")

    header = text.splitlines()[0]
    assert header == ("name,contract_number,description,date_begin,date_end,id_company,id_sla,"
                      "id_group,private,status,id_contract_type,related_contract,manager,company,"
                      "Seats,Licence type,id,created,updated")
    row = _rows(text)[0]
    assert row["created"] == row["updated"] == "2026-01-15 09:30:00"
    assert (row["id_company"], row["company"], row["private"], row["status"]) == (
        str(customer), "Customer #A", "0", "1")
    assert (row["Licence type"], row["Seats"], row["manager"]) == ("Beta", "", "admin")


def test_contacts_and_leads_exports(world) -> None:
    admin = world.session("admin")
    customer = world.cid("Customer #B")
    get_kind("contact").create(admin, {"full_name": "Bea", "email": "bea@example.com",
                                       "company": str(customer)})
    get_kind("tag").create(admin, {"name": "hot"})
    get_kind("tag").create(admin, {"name": "new"})
    get_kind("lead").create(admin, {"full_name": "Lee", "company": str(customer),
                                    "tags": "new,hot", "estimated_sale": "99.5"})

    _, contacts = _export(admin, "contacts")
    _, leads = _export(admin, "leads")

    assert contacts.splitlines()[0] == (
        "full_name,email,company,phone,mobile,position,description,company_name,id,created,"
        "updated")
    assert _rows(contacts)[0]["company_name"] == "Customer #B"
    assert _rows(contacts)[0]["id"] == str(Contact.get(Contact.full_name == "Bea").id)
    lead = _rows(leads)[0]
    assert (lead["tags"], lead["estimated_sale"], lead["managing_company"]) == (
        "hot,new", "99.50", "Customer #B")
    assert lead["created"] == "2026-01-15 09:30:00"
    assert lead["id"] == str(Lead.get(Lead.full_name == "Lee").id)


def test_invoices_export_with_totals(world) -> None:
    admin = world.session("admin")
    invoice = get_kind("invoice").create(admin, {
        "company": str(world.cid("Customer #A")), "type": "received", "bill_id": "R-1",
        "tax_rate": "21", "lines": [{"description": "Support", "amount": "2400"}],
        "discounts": [{"description": "promotion", "amount": "240"}]})

    count, text = _export(admin, "invoices")

    assert count == 1
    row = _rows(text)[0]
    assert row["id"] == str(invoice)
    assert (row["bill_id"], row["company_name"], row["subtotal"], row["total"]) == (
        "R-1", "Customer #A", "2160.00", "2613.60")
    # user1 has no invoice bits: nothing.
    assert _export(world.session("user1"), "invoices")[0] == 0


def test_unknown_kind_is_rejected(admin) -> None:
    with pytest.raises(ValidationFailed):
        exports.write(admin, "users", io.StringIO())
