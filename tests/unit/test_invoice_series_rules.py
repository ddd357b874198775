"""Rules of the invoice series checked on both backends beside `test_invoice_series`: the
lock covers every way a relation changes (a contract's delete too), a supplier's number is
refused twice, language and currency codes are normalised then checked, and no amount shows
as -0.00."""

from __future__ import annotations

import csv
import io
import json

import pytest

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.models import ContractInvoice
from crm_tui.services import contracts, exports, invoice_issue, invoices
from crm_tui.services.records import get_kind

ONE = {"lines": [{"description": "Support", "amount": "100"}]}


def draft(session, company_id: int, **fields) -> int:
    return get_kind("invoice").create(session, {"company": str(company_id), **fields})


def test_the_lock_covers_links_on_both_backends_and_a_contracts_delete(any_world):
    admin, manager = any_world.session("admin"), any_world.session("manager1")
    get_kind("profile").create(admin, {"name": "CRM and invoices",
                                       "bits": "CR,CW,CM,IR,IW,IM"})
    get_kind("user").update(admin, "manager1", {"profiles": "CRM and invoices"})
    b = any_world.cid("Customer #B")
    contract = get_kind("contract").create(admin, {"name": "Support", "company": str(b)})
    with invoices.deferred_pdfs():
        invoice_id = draft(admin, b, **ONE)
        invoice_issue.issue(admin, invoice_id)  # locked by admin
    contracts.add_invoices(admin, contract, [str(invoice_id)])
    for change in (lambda: contracts.remove_invoices(manager, contract, [str(invoice_id)]),
                   lambda: get_kind("contract").update(manager, contract, {"invoices": ""}),
                   lambda: get_kind("contract").delete(manager, contract)):
        with pytest.raises(PermissionDenied, match="unlock it first"):
            change()
    assert ContractInvoice.select().where(ContractInvoice.contract == contract).count() == 1
    # Manager #1 without an invoice bit cannot see the invoice: the refusal does not name it.
    get_kind("user").update(admin, "manager1", {"profiles": "CRM manager"})
    with pytest.raises(PermissionDenied) as refused:
        get_kind("contract").delete(any_world.session("manager1"), contract)
    assert "locked by another user" in str(refused.value) and "15/1000" not in str(refused.value)
    assert get_kind("contract").get(admin, contract)["invoices"] == [invoice_id]
    # The lock holder may delete the contract; the invoice stays.
    get_kind("contract").delete(admin, contract)
    assert invoices.find(admin, invoice_id)["contracts"] == []


def test_a_supplier_number_is_refused_twice_for_the_same_supplier(any_world):
    admin = any_world.session("admin")
    a, b = any_world.cid("Customer #A"), any_world.cid("Customer #B")
    draft(admin, a, type="received", bill_id="F-1", **ONE)
    draft(admin, b, type="received", bill_id="F-1", **ONE)
    with pytest.raises(ValidationFailed, match="this supplier already sent"):
        draft(admin, a, type="received", bill_id=" F-1 ", **ONE)
    # A Submitted bill ID is unique system-wide, also against a hand-made one.
    with invoices.deferred_pdfs():
        invoice_issue.issue(admin, draft(admin, a, **ONE))
        with pytest.raises(ValidationFailed, match="another Submitted invoice already has it"):
            invoice_issue.issue(admin, draft(admin, b, bill_id="15/1000", **ONE))


def test_language_and_currency_codes_are_normalised_then_checked(any_world):
    admin = any_world.session("admin")
    a = any_world.cid("Customer #A")
    shown = invoices.find(admin, draft(admin, a, language=" ES ", currency="usd"))
    assert (shown["language"], shown["currency"]) == ("es", "USD")
    with pytest.raises(ValidationFailed) as bad:
        draft(admin, a, language="de")
    assert bad.value.problems[0].field == "language"
    assert "en, es" in bad.value.problems[0].reason
    with pytest.raises(ValidationFailed, match="ISO 4217"):
        draft(admin, a, currency="ABC")


def test_no_amount_shows_as_minus_zero(any_world, any_db, run_crm):
    admin = any_world.session("admin")
    a = any_world.cid("Customer #A")
    with invoices.deferred_pdfs():
        mixed = draft(admin, a, tax_rate="21", withholding_rate="0", lines=[
            {"description": "Support", "amount": "100"}, {"description": "Free", "amount": "0"}])
        free = draft(admin, a, lines=[{"description": "Free", "amount": "0"}])
        for invoice_id in (mixed, free):
            invoice_issue.issue(admin, invoice_id)
            invoice_issue.credit(admin, invoice_id)
    listed = run_crm("list", "invoice", "--json", db=any_db)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert len(rows) == 4 and "-0.00" not in listed.stdout
    out = io.StringIO()
    exports.write(admin, "invoices", out)
    assert "-0.00" not in out.getvalue()
    totals = {r["bill_id"]: r["total"] for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert sorted(totals.values()) == ["-121.00", "0.00", "0.00", "121.00"]
    shown = run_crm("show", "invoice", "R15/2", db=any_db)
    assert "-0.00" not in shown.stdout and "Free" in shown.stdout
