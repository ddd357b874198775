"""Recurring drafts: a contract's billing period and lines, and the worker making the draft of
each period once (re-runs, deleted drafts, end dates), on both backends."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from crm_tui.errors import NotFound, PermissionDenied, ValidationFailed
from crm_tui.models import ContractBillingLine, ContractBillingRun, Invoice
from crm_tui.services import contract_billing, settings
from crm_tui.services.context import FrozenClock
from crm_tui.services.records import get_kind


def at(day: str) -> FrozenClock:
    return FrozenClock(dt.datetime.fromisoformat(day + "T06:00:00"))


def test_periods_count_in_whole_months_clamped_to_the_month():
    assert contract_billing.add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert contract_billing.add_months(dt.date(2026, 11, 30), 3) == dt.date(2027, 2, 28)
    assert contract_billing.add_months(dt.date(2026, 3, 15), -3) == dt.date(2025, 12, 15)
    starts = contract_billing.period_starts(dt.date(2026, 1, 31), "monthly", dt.date(2026, 4, 30))
    assert starts == [dt.date(2026, 1, 31), dt.date(2026, 2, 28), dt.date(2026, 3, 31),
                      dt.date(2026, 4, 30)]
    assert contract_billing.period_starts(dt.date(2026, 1, 1), "quarterly",
                                          dt.date(2026, 12, 31))[-1] == dt.date(2026, 10, 1)
    assert contract_billing.period_end(dt.date(2026, 1, 15), "yearly") == dt.date(2027, 1, 14)
    # The period under way when billing is chosen, counted from the contract's start.
    assert contract_billing.current_period_start(dt.date(2025, 10, 20), "monthly",
                                                 dt.date(2026, 1, 15)) == dt.date(2025, 12, 20)
    assert contract_billing.current_period_start(dt.date(2026, 3, 1), "monthly",
                                                 dt.date(2026, 1, 15)) == dt.date(2026, 3, 1)


def _contract(world, **fields) -> int:
    raw = {"name": "Support A", "company": str(world.cid("Customer #A")),
           "date_begin": "2025-10-20", **fields}
    return get_kind("contract").create(world.session("admin"), raw)


def test_billing_period_and_lines_are_fields_of_the_contract(any_world):
    admin = any_world.session("admin")
    cid = _contract(any_world, billing_period="monthly")
    row = get_kind("contract").get(admin, cid)
    # The first period billed is the one under way (clock: 2026-01-15), never older ones.
    assert (row["billing_period"], row["billing_start"]) == ("monthly", "2025-12-20")
    assert row["billing_lines"] == []
    assert contract_billing.set_lines(admin, cid, [
        {"description": "Support", "amount": "100"},
        {"description": "Hosting", "amount": "20.5", "tax_rate": "10"}]) == 2
    assert contract_billing.lines(admin, cid) == [
        {"description": "Support", "amount": "100.00", "tax_rate": ""},
        {"description": "Hosting", "amount": "20.50", "tax_rate": "10"}]
    assert get_kind("contract").get(admin, cid)["billing_lines"][1]["amount"] == "20.50"

    with pytest.raises(ValidationFailed) as bad:
        get_kind("contract").update(admin, cid, {"billing_period": "weekly"})
    assert bad.value.problems[0].field == "billing_period"
    with pytest.raises(ValidationFailed) as bad:
        contract_billing.set_lines(admin, cid, [{"description": "Ok", "amount": "1"},
                                                {"description": "Bad", "amount": "1,5"}])
    assert bad.value.problems[0].field == "billing_lines[2].amount"
    with pytest.raises(ValidationFailed):
        contract_billing.set_lines(admin, cid, [{"description": "", "amount": "3"}])
    with pytest.raises(ValidationFailed) as bad:
        contract_billing.set_lines(admin, cid, [{"description": "Two\nlines", "amount": "3"}])
    assert bad.value.problems[0].field == "billing_lines[1].description"
    assert len(contract_billing.lines(admin, cid)) == 2  # nothing written
    # The history keeps the lines as it keeps the fields.
    from crm_tui.services import history

    [change] = [h for h in history.of_record(admin, "contract", cid)
                if "billing_lines" in h["changes"]]
    assert change["changes"]["billing_lines"] == [None, "Support=100.00; Hosting=20.50@10"]
    # A new contract may carry its lines from the start (`crm add contract --json`).
    other = get_kind("contract").create(admin, {
        "name": "Yearly", "company": str(any_world.cid("Customer #B")),
        "billing_period": "yearly",
        "billing_lines": [{"description": "Licence", "amount": "1200", "tax_rate": "21"}]})
    assert contract_billing.lines(admin, other)[0]["amount"] == "1200.00"


def test_lines_follow_the_contract_access(any_world):
    cid_b = get_kind("contract").create(any_world.session("admin"), {
        "name": "B deal", "company": str(any_world.cid("Customer #B"))})
    # User #1 views B read-only; User #2 sees nothing, and learns nothing.
    assert contract_billing.lines(any_world.session("user1"), cid_b) == []
    with pytest.raises(PermissionDenied):
        contract_billing.set_lines(any_world.session("user1"), cid_b,
                                   [{"description": "x", "amount": "1"}])
    with pytest.raises(NotFound):
        contract_billing.set_lines(any_world.session("user2"), cid_b,
                                   [{"description": "x", "amount": "1"}])
    assert not ContractBillingLine.select().exists()


def _drafts(cid: int) -> list[Invoice]:
    runs = ContractBillingRun.select(ContractBillingRun.invoice).where(
        ContractBillingRun.contract == cid)
    return list(Invoice.select().where(Invoice.id.in_(runs)).order_by(Invoice.id))


def test_the_worker_makes_each_period_draft_once(any_world):
    admin = any_world.session("admin")
    settings.set_value(admin, "invoice.tax_rate", "21")
    cid = _contract(any_world, billing_period="monthly", billing_start="2025-11-20",
                    date_end="2026-03-31", contract_number="C-7")
    contract_billing.set_lines(admin, cid, [{"description": "Support", "amount": "100"},
                                            {"description": "Hosting", "amount": "20",
                                             "tax_rate": "10"}])
    _contract(any_world, name="No lines", billing_period="monthly")
    _contract(any_world, name="Inactive", billing_period="monthly", status="0",
              billing_lines='[{"description": "x", "amount": "5"}]')

    report = contract_billing.create_due_drafts(at("2026-01-15"))
    # 2025-11-20 and 2025-12-20 have begun; the contracts without lines or inactive have none.
    assert report.created == 2
    first, second = _drafts(cid)
    assert first.bill_id is None and first.issued is None  # drafts, numbered on issue
    assert first.description == "Support A: 2025-11-20 – 2025-12-19"
    assert second.description == "Support A: 2025-12-20 – 2026-01-19"
    assert first.reference == "C-7" and first.company_id == any_world.cid("Customer #A")
    shown = get_kind("invoice").get(admin, first.id)
    assert shown["state"] == "draft" and shown["contracts"] == [cid]
    assert [(x["description"], x["amount"], x["tax_rate"]) for x in shown["lines"]] == [
        ("Support", "100.00", "21"), ("Hosting", "20.00", "10")]
    assert Decimal(shown["total"]) == Decimal("143.00")

    # Run again, the same day or later in the same period: nothing new.
    assert contract_billing.create_due_drafts(at("2026-01-15")).created == 0
    assert contract_billing.create_due_drafts(at("2026-01-19")).created == 0
    # A draft the operator deleted is not made again.
    get_kind("invoice").delete(admin, first.id)
    assert contract_billing.create_due_drafts(at("2026-01-19")).created == 0
    # The next period, once it begins; then the two begun by the end date, none after it.
    assert contract_billing.create_due_drafts(at("2026-01-20")).created == 1
    assert contract_billing.create_due_drafts(at("2026-09-01")).created == 2
    assert [d.description[-23:] for d in _drafts(cid)] == [
        "2025-12-20 – 2026-01-19", "2026-01-20 – 2026-02-19", "2026-02-20 – 2026-03-19",
        "2026-03-20 – 2026-04-19"]
    assert ContractBillingRun.select().where(ContractBillingRun.contract == cid).count() == 5


def test_a_refused_draft_is_named_and_tried_again(any_world):
    admin = any_world.session("admin")
    cid = _contract(any_world, billing_period="quarterly", billing_start="2026-01-01")
    contract_billing.set_lines(admin, cid, [{"description": "Support", "amount": "300"}])
    # A line spoilt underneath the service (an empty description) makes the invoice refuse
    # the draft: the contract is named, nothing is written, and the next pass tries again.
    ContractBillingLine.update(description="").execute()
    report = contract_billing.create_due_drafts(at("2026-01-15"))
    assert report.created == 0 and f"contract {cid}" in report.lines[0]
    assert not ContractBillingRun.select().exists()  # rolled back: tried again next pass
    ContractBillingLine.update(description="Support").execute()
    assert contract_billing.create_due_drafts(at("2026-01-15")).created == 1


def test_an_older_database_keeps_its_contract_links_on_upgrade(backend_url):
    """The new contract column is added in place: SQLite does not rebuild the table (whose
    drop would cascade into the links between contracts and invoices)."""
    from playhouse.migrations import Runner

    from crm_tui import db, schema

    database = db.open_database(backend_url)
    try:
        runner = Runner(database, directory=str(schema.MIGRATIONS_DIR),
                        table_name="schema_migration")
        for name in schema.migration_names():
            if name >= "0062":
                break
            runner.up(name)
        p = "?" if db.is_sqlite() else "%s"
        database.execute_sql("INSERT INTO company (name, address, fiscal_id, country, website, "
                             "comments) VALUES ('Old', '', '', '', '', '')")
        (company,) = database.execute_sql("SELECT id FROM company").fetchone()
        database.execute_sql("INSERT INTO contract (name, contract_number, description, "
                             "company_id, private, status) VALUES ('Old deal', '', '', "
                             f"{p}, {p}, 1)", (company, False))
        database.execute_sql("INSERT INTO invoice (company_id, type, reference, status, "
                             "created, currency, language, tax_rate, withholding_rate, "
                             "internal_note, description, total, locked) VALUES "
                             f"({p}, 'submitted', '', 'pending', '2026-01-01', 'EUR', 'en', "
                             f"0, 0, '', '', 0, {p})", (company, False))
        database.execute_sql("INSERT INTO contract_invoice (contract_id, invoice_id) "
                             "SELECT contract.id, invoice.id FROM contract, invoice")
        schema.upgrade()
        assert database.execute_sql("SELECT count(*) FROM contract_invoice").fetchone() == (1,)
        assert database.execute_sql("SELECT billing_period FROM contract").fetchone() == (
            "none",)
    finally:
        db.close_database()
