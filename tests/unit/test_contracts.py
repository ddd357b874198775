"""Contracts through the services: filters, renewal, invoices, templates and their PDFs."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from crm_tui.documents.templating import CONTRACT_MACROS, default_contract_template
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.services import attachments, contracts, invoice_issue, invoices
from crm_tui.services.records import get_kind


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(unicodedata.normalize("NFC", text).replace("\xa0", " ").split())


def add(session, **fields) -> int:
    return get_kind("contract").create(session, {k: str(v) for k, v in fields.items()})


@pytest.fixture
def licence_field(world) -> int:
    """A text field of contract type 1 (Product contract), as in the export example."""
    return get_kind("field").create(world.session("admin"), {
        "name": "Licence type", "kind": "text", "entity": "contract_type:1"})


# --- list and filters ---------------------------------------------------------------------


def test_filters_on_both_backends(any_world):
    admin = any_world.session("admin")
    a, b = any_world.cid("Customer #A"), any_world.cid("Customer #B")
    # The clock is frozen at 2026-01-15.
    soon = add(admin, name="Soon", company=a, contract_type=1, date_end="2026-01-25")
    later = add(admin, name="Later", company=a, contract_type=2, date_end="2026-06-01")
    old = add(admin, name="Old", company=b, contract_type=1, date_end="2025-12-31", status=0)
    open_ended = add(admin, name="Open", company=b, contract_number="X-9")
    kind = get_kind("contract")

    def names(**filters):
        return [r["name"] for r in kind.list(admin, filters)]

    assert names() == ["Later", "Old", "Open", "Soon"]  # by name
    assert names(company=str(a)) == ["Later", "Soon"]
    assert names(contract_type="1") == ["Old", "Soon"]
    assert names(status="0") == ["Old"]
    assert names(expiring="30") == ["Soon"]
    assert names(expiring="200") == ["Later", "Soon"]
    assert names(expired="1") == ["Old"]
    assert names(expired="0") == ["Later", "Open", "Soon"]
    assert names(q="X-9") == ["Open"]
    assert kind.query(admin, {"company": str(a)}).count() == 2
    assert {r["id"] for r in kind.list(admin, limit=2, offset=2)} <= {soon, later, old,
                                                                      open_ended}
    with pytest.raises(ValidationFailed, match="expiring"):
        kind.list(admin, {"expiring": "soon"})


def test_contracts_inherit_company_access(world):
    admin = world.session("admin")
    add(admin, name="A1", company=world.cid("Customer #A"))
    b1 = add(admin, name="B1", company=world.cid("Customer #B"))
    kind = get_kind("contract")
    assert [r["name"] for r in kind.list(world.session("user1"))] == ["A1", "B1"]
    assert kind.list(world.session("user2")) == []
    with pytest.raises(PermissionDenied):
        kind.update(world.session("user1"), b1, {"description": "no"})
    with pytest.raises(PermissionDenied):
        contracts.copy(world.session("user1"), b1, "2027-01-01", "2027-12-31")


# --- copy -------------------------------------------------------------------------------


def test_copy_keeps_terms_and_custom_values_with_new_dates(world, licence_field):
    admin = world.session("admin")
    original = get_kind("contract").create(admin, {
        "name": "SAMPLE_CUSTOMER__2021", "contract_number": "21/1001",
        "description": "Sample contract.", "date_begin": "2021-01-20",
        "date_end": "2022-01-20", "company": str(world.cid("Customer #A")),
        "contract_type": "1", "private": "1", "manager": "user1", "sla": "3",
        "custom": {"Licence type": "Beta"}})
    copy_id = contracts.copy(world.session("user1"), original, "2022-01-21", "2023-01-20")
    kind = get_kind("contract")
    before, after = kind.get(admin, original), kind.get(admin, copy_id)
    for key in ("name", "contract_number", "description", "company", "contract_type",
                "private", "manager", "sla", "status", "custom"):
        assert after[key] == before[key], key
    assert (after["date_begin"], after["date_end"]) == ("2022-01-21", "2023-01-20")
    assert after["related_contract"] == original and after["invoices"] == []
    renamed = contracts.copy(admin, original, "2023-01-21", "2024-01-20", name="2023 renewal")
    assert kind.get(admin, renamed)["name"] == "2023 renewal"


def test_copy_rejects_bad_dates_and_writes_nothing(world):
    admin = world.session("admin")
    original = add(admin, name="C", company=world.cid("Customer #A"))
    with pytest.raises(ValidationFailed, match="date_end"):
        contracts.copy(admin, original, "2027-01-01", "2026-01-01")
    with pytest.raises(ValidationFailed, match="date_begin"):
        contracts.copy(admin, original, "someday", "2026-01-01")
    assert len(get_kind("contract").list(admin)) == 1


# --- invoices of a contract -----------------------------------------------------------------


def test_generate_invoice_from_contract(world):
    admin = world.session("admin")
    contract = add(admin, name="Support 2026", contract_number="C-26", description="24x7",
                   company=world.cid("Customer #B"), date_begin="2026-01-01",
                   date_end="2026-12-31")
    with invoices.deferred_pdfs():
        invoice_id = contracts.generate_invoice(admin, contract, amount="2400",
                                                overrides={"tax_rate": "21"})
    row = get_kind("invoice").get(admin, invoice_id)
    assert row["company"] == world.cid("Customer #B")
    # A draft: numbered only when issued.
    assert (row["bill_id"], row["state"], row["type"]) == (None, "draft", "submitted")
    assert row["reference"] == "C-26" and row["contracts"] == [contract]
    assert row["lines"] == [{"description": "Support 2026 (C-26), 2026-01-01 – 2026-12-31",
                             "amount": "2400.00", "tax_rate": "21"}]
    assert row["total"] == "2904.00"
    assert [r["id"] for r in contracts.related_invoices(admin, contract)] == [invoice_id]
    # Without IW/IM no invoice is made, whatever the CRM rights.
    with pytest.raises(PermissionDenied):
        contracts.generate_invoice(world.session("manager1"), contract, amount="1")


def test_related_invoices_add_and_remove(world):
    admin = world.session("admin")
    a = world.cid("Customer #A")
    contract = add(admin, name="K", company=a)
    with invoices.deferred_pdfs():
        first = get_kind("invoice").create(admin, {"company": str(a), "lines": [
            {"description": "x", "amount": "1"}]})
        invoice_issue.issue(admin, first)
        second = get_kind("invoice").create(admin, {"company": str(a), "type": "received",
                                                    "bill_id": "R-2"})
    assert contracts.add_invoices(admin, contract, ["15/1000", str(second)]) == 2
    assert contracts.add_invoices(admin, contract, "15/1000") == 0  # already linked
    assert get_kind("contract").get(admin, contract)["invoices"] == [first, second]
    assert get_kind("invoice").get(admin, first)["contracts"] == [contract]
    assert contracts.remove_invoices(admin, contract, ["R-2"]) == 1
    assert [r["bill_id"] for r in contracts.related_invoices(admin, contract)] == ["15/1000"]
    with pytest.raises(ValidationFailed, match="no such invoice"):
        contracts.add_invoices(admin, contract, ["NOPE"])


def test_linking_needs_contract_rights_and_visible_invoices(world):
    admin = world.session("admin")
    contract_b = add(admin, name="KB", company=world.cid("Customer #B"))
    own = add(admin, name="KA", company=world.cid("Customer #A"))
    with invoices.deferred_pdfs():
        invoice_issue.issue(admin, get_kind("invoice").create(admin, {
            "company": str(world.cid("Customer #B")),
            "lines": [{"description": "x", "amount": "1"}]}))
    user1 = world.session("user1")
    with pytest.raises(PermissionDenied):
        contracts.add_invoices(user1, contract_b, ["15/1000"])
    # user1 has no invoice bits: the invoice does not exist for him.
    with pytest.raises(ValidationFailed, match="no such invoice"):
        contracts.add_invoices(user1, own, ["15/1000"])


# --- templates and PDFs ---------------------------------------------------------------------


def test_default_template_ships(world):
    rows = contracts.templates(world.session("admin"))
    assert [r["name"] for r in rows] == ["Default"]
    body = get_kind("template").get(world.session("admin"), rows[0]["id"])["body"]
    assert body == default_contract_template() == contracts.default_template_body()


def test_contract_pdf_carries_every_macro(world, licence_field):
    admin = world.session("admin")
    company = get_kind("company").create(admin, {
        "name": "Компания Ромашка", "address": "ул. Ленина 1", "fiscal_id": "RU-7701",
        "country": "Rusia", "website": "https://romashka.example",
        "comments": "Cliente <preferente>", "payment_conditions": "45",
        "parent": str(world.cid("My company")), "manager": "manager1"})
    contract = get_kind("contract").create(admin, {
        "name": "SAMPLE-2021", "contract_number": "21/1001", "description": "Soporte 24x7",
        "date_begin": "2021-01-20", "date_end": "2022-01-20", "company": str(company),
        "contract_type": "1", "private": "1", "custom": {"Licence type": "Beta-Ω"}})
    every = [*CONTRACT_MACROS, f"_custom_{licence_field}_"]
    body = "\n".join(f"<p>{name[1:-1]} = [{name}]</p>" for name in every)
    template = get_kind("template").create(admin, {"name": "Everything", "body": body,
                                                   "description": "all macros"})
    values = contracts.macro_values(admin, contract, "Everything")
    assert set(every) <= set(values)
    assert values[f"_custom_{licence_field}_"] == "Beta-Ω"
    assert values["_company_manager_"] == "Manager #1"
    assert values["_format_short_time_"] == "15/01/2026"
    assert values["_format_annual_date_"] == "2026"
    assert values["_template_id_"] == str(template)

    result = contracts.attach_pdf(admin, contract, "Everything")
    from pathlib import Path

    pdf = Path(result["path"]).read_bytes()
    text = text_of(pdf)
    for name in every:
        shown = values[name]
        assert f"{name[1:-1]} = [{shown}]" in text, name
    assert "Компания Ромашка" in text and "Cliente <preferente>" in text
    files = contracts.files(admin, contract)
    assert [f["name"] for f in files] == ["SAMPLE-2021-Everything.pdf"]
    assert result["name"] == "SAMPLE-2021-Everything.pdf"


def test_default_template_renders_for_a_contract_without_type(world):
    admin = world.session("admin")
    contract = add(admin, name="Bare", company=world.cid("Customer #A"))
    name, pdf = contracts.render_pdf(admin, contract, "Default")
    assert name == "Bare-Default.pdf" and "Customer #A" in text_of(pdf)


def test_template_safety(world, tmp_path):
    admin = world.session("admin")
    kind = get_kind("template")
    with pytest.raises(ValidationFailed) as err:
        kind.create(admin, {"name": "Typo", "body": "<p>_compny_name_ and _custom_999_</p>"})
    assert "_compny_name_" in str(err.value) and "_custom_999_" in str(err.value)
    with pytest.raises(ValidationFailed, match="cannot be laid out"):
        kind.create(admin, {"name": "Broken", "body": "<td>x</td>"})
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    for code in ("<p>{{ ''.__class__.__mro__ }}</p>", "{% include '" + str(secret) + "' %}",
                 "{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}"):
        with pytest.raises(ValidationFailed) as err:
            kind.create(admin, {"name": "Hostile", "body": code})
        assert len(str(err.value).splitlines()) == 1 and "TOP-SECRET" not in str(err.value)
    assert [t["name"] for t in contracts.templates(admin)] == ["Default"]

    body = (f'<img src="{secret}"><p>_company_name_.__class__</p>'
            "<p>my_var_name and __init__ stay text</p>")
    kind.create(admin, {"name": "Hostile", "body": body})
    company = get_kind("company").create(admin, {
        "name": "<b>Evil</b> _id_contract_", "parent": str(world.cid("My company"))})
    contract = add(admin, name="K", company=company)
    text = text_of(contracts.render_pdf(admin, contract, "Hostile")[1])
    assert "TOP-SECRET" not in text
    # Values are escaped and never expanded again.
    assert "<b>Evil</b> _id_contract_.__class__" in text
    assert "my_var_name and __init__ stay text" in text


def test_broken_template_in_the_database_is_a_clear_error(world):
    admin = world.session("admin")
    from crm_tui.models import ContractTemplate

    # A template that predates the checks (or was edited outside the app).
    ContractTemplate.create(name="Legacy", body="<p>_unknown_macro_</p>")
    contract = add(admin, name="K", company=world.cid("Customer #A"))
    with pytest.raises(ValidationFailed, match="_unknown_macro_"):
        contracts.attach_pdf(admin, contract, "Legacy")
    with pytest.raises(ValidationFailed, match="no such contract template"):
        contracts.render_pdf(admin, contract, "Missing")
    assert contracts.files(admin, contract) == []


def test_type_fields_show_their_macro_ids(world, licence_field):
    admin = world.session("admin")
    fields = contracts.type_fields(admin, 1)
    assert fields == [{"id": licence_field, "name": "Licence type", "kind": "text",
                       "options": None, "macro": f"_custom_{licence_field}_"}]
    types = contracts.contract_types(admin)
    assert [t["name"] for t in types] == ["Product contract", "Services contract"]
    assert types[1]["fields"] == []


def test_delete_contract_removes_its_files(world, data_dir):
    admin = world.session("admin")
    contract = add(admin, name="K", company=world.cid("Customer #A"))
    attachments.add(admin, "contract", contract, "scan.pdf", b"%PDF-scan")
    contracts.attach_pdf(admin, contract, "Default")
    assert len(list((data_dir / "files").iterdir())) == 2
    get_kind("contract").delete(admin, contract)
    assert list((data_dir / "files").iterdir()) == []
