"""The invoice series on both backends: drafts, issue, credit notes, numbers that follow
dates, pattern changes, the gaps report, the hash chain, currencies and addressing."""

from __future__ import annotations

import datetime as dt
import io
import unicodedata
from decimal import Decimal

import pytest
from pypdf import PdfReader

from crm_tui.db import database
from crm_tui.errors import NotFound, PermissionDenied, ValidationFailed
from crm_tui.models import InvoiceLine
from crm_tui.services import documents_service, invoice_issue, invoice_series, invoices, settings
from crm_tui.services.invoices import BillId
from crm_tui.services.records import get_kind

MANUAL = {
    "lines": [{"description": "Annual support", "amount": "2400"}],
    "discounts": [{"description": "promotion", "amount": "240"}],
    "tax_rate": "21",
}
TWO_LINES = {"lines": [{"description": "Support", "amount": "1000"},
                       {"description": "Licence", "amount": "500", "tax_rate": "10"}]}
ONE = {"lines": [{"description": "x", "amount": "100"}]}


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFC", text).replace("\xa0", " ")


def draft(session, company_id: int, **fields) -> int:
    return get_kind("invoice").create(session, {"company": str(company_id), **fields})


def row(session, ref) -> dict:
    return invoices.find(session, ref)


def day(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- drafts and issue ----------------------------------------------------------------------


def test_a_draft_is_editable_deletable_and_has_no_number(any_world):
    admin = any_world.session("admin")
    kind = get_kind("invoice")
    invoice_id = draft(admin, any_world.cid("Customer #A"), **MANUAL)
    shown = row(admin, invoice_id)
    assert (shown["state"], shown["bill_id"], shown["issued"], shown["locked"]) == (
        "draft", None, None, False)
    assert shown["total"] == "2613.60"
    kind.update(admin, invoice_id, {"lines": [{"description": "Support", "amount": "100"}],
                                    "discounts": [], "created": "2026-01-02"})
    assert row(admin, invoice_id)["total"] == "121.00"
    assert [r["id"] for r in kind.list(admin, {"state": "draft"})] == [invoice_id]
    kind.delete(admin, invoice_id)
    with pytest.raises(NotFound):
        row(admin, invoice_id)
    assert invoice_series.preview_bill_id() == "15/1000"  # nothing was taken


def test_issue_numbers_dates_locks_and_makes_the_pdf(any_world):
    admin = any_world.session("admin")
    kind = get_kind("invoice")
    invoice_id = draft(admin, any_world.cid("Customer #A"), **MANUAL)
    done = invoice_issue.issue(admin, invoice_id)
    assert (done.bill_id, done.issued) == ("15/1000", any_world.clock.today())
    shown = row(admin, "15/1000")
    assert (shown["id"], shown["state"], shown["locked"], shown["locked_by"]) == (
        invoice_id, "issued", True, "admin")
    name, pdf = documents_service.invoice_pdf(admin, invoice_id)
    text = text_of(pdf)
    assert name == "invoice-15_1000.pdf"
    assert "Invoice 15/1000" in text and "2,613.60" in text and "Jan 15, 2026" in text

    with pytest.raises(ValidationFailed, match="already issued as 15/1000"):
        invoice_issue.issue(admin, invoice_id)
    # Its legal fields never change again; payment status, date and note do.
    for change in ({"lines": [{"description": "Other", "amount": "1"}]},
                   {"company": str(any_world.cid("Customer #B"))}, {"created": "2026-01-01"},
                   {"bill_id": "15/999"}, {"tax_rate": "10"}, {"currency": "USD"},
                   {"type": "received"}):
        with pytest.raises(ValidationFailed, match="cannot change once the invoice is issued"):
            kind.update(admin, invoice_id, change)
    kind.update(admin, invoice_id, {"status": "paid", "paid_on": "2026-01-15",
                                    "internal_note": "transfer 4711"})
    # A --json round trip of the whole record passes: nothing legal changes.
    kind.update(admin, invoice_id, {k: v for k, v in row(admin, invoice_id).items()
                                    if k not in ("id", "locked", "locked_by", "total",
                                                 "credit_of")})
    assert row(admin, invoice_id)["status"] == "paid"
    # Never deleted, not even by a superadmin.
    with pytest.raises(PermissionDenied, match="never deleted.*credit note"):
        kind.delete(admin, invoice_id)
    assert row(admin, invoice_id)["bill_id"] == "15/1000"


def test_an_empty_draft_cannot_be_issued_and_iw_may_issue(any_world):
    admin = any_world.session("admin")
    empty = draft(admin, any_world.cid("Customer #A"))
    with pytest.raises(ValidationFailed, match="without concepts"):
        invoice_issue.issue(admin, empty)
    get_kind("profile").create(admin, {"name": "Clerk", "bits": "CR,CW,IW"})
    get_kind("user").update(admin, "user1", {"profiles": "Clerk"})
    clerk = any_world.session("user1")
    mine = draft(clerk, any_world.cid("Customer #A"), **ONE)
    assert invoice_issue.issue(clerk, mine).bill_id == "15/1000"
    # IW changes the payment fields of an issued invoice, but not its legal ones.
    get_kind("invoice").update(clerk, mine, {"status": "paid"})
    with pytest.raises(ValidationFailed):
        get_kind("invoice").update(clerk, mine, {"reference": "x"})
    with pytest.raises(PermissionDenied):
        get_kind("invoice").delete(clerk, mine)
    # A company he may only view: no issuing there.
    other = draft(admin, any_world.cid("Customer #B"), **ONE)
    with pytest.raises(PermissionDenied):
        invoice_issue.issue(clerk, other)


def test_numbers_follow_dates(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    first, second, third = (draft(admin, cid, **ONE) for _ in range(3))
    invoice_issue.issue(admin, first, day("2026-01-10"))
    with pytest.raises(ValidationFailed) as err:
        invoice_issue.issue(admin, second, day("2026-01-05"))
    message = str(err.value)
    assert "2026-01-05" in message and "2026-01-10" in message and "15/1000" in message
    assert "numbers follow dates" in message
    assert row(admin, second)["state"] == "draft"  # nothing written, no number taken
    with pytest.raises(ValidationFailed, match="future"):
        invoice_issue.issue(admin, second, day("2026-02-01"))
    assert invoice_issue.issue(admin, second, day("2026-01-10")).bill_id == "15/1001"
    assert invoice_issue.issue(admin, third).bill_id == "15/1002"


# --- credit notes --------------------------------------------------------------------------


def test_a_credit_note_cancels_an_issued_invoice(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    original = draft(admin, cid, language="es", **MANUAL)
    invoice_issue.issue(admin, original)
    note = invoice_issue.credit(admin, "15/1000")
    assert note.bill_id == "R15/1"
    credit = row(admin, "R15/1")
    assert credit["credit_of"] == original and credit["state"] == "issued"
    assert (credit["tax_base"], credit["discount_total"], credit["subtotal"],
            credit["total_tax"], credit["total"]) == (
        "-2400.00", "-240.00", "-2160.00", "-453.60", "-2613.60")
    assert credit["reference"] == "15/1000"
    assert row(admin, original)["status"] == "cancelled"
    text = text_of(documents_service.invoice_pdf(admin, note.id)[1])
    assert "Factura rectificativa R15/1" in text and "15/1000" in text
    assert "-2.613,60" in text
    # Nothing is credited twice over, a credit note is not credited, a draft needs none.
    with pytest.raises(ValidationFailed, match="would credit"):
        invoice_issue.credit(admin, original)
    with pytest.raises(ValidationFailed, match="itself a credit note"):
        invoice_issue.credit(admin, note.id)
    with pytest.raises(ValidationFailed, match="only an issued"):
        invoice_issue.credit(admin, draft(admin, cid, **ONE))


def test_a_credit_note_of_some_lines_keeps_their_rates(any_world):
    admin = any_world.session("admin")
    original = draft(admin, any_world.cid("Customer #B"), **TWO_LINES)
    invoice_issue.issue(admin, original)
    assert row(admin, original)["total"] == "1760.00"  # 1000 + 21% + 500 + 10%
    with pytest.raises(ValidationFailed, match="no such line"):
        invoice_issue.credit(admin, original, [3])
    note = invoice_issue.credit(admin, original, [2])
    credit = row(admin, note.id)
    assert credit["lines"] == [{"description": "Licence", "amount": "-500.00",
                                "tax_rate": "10"}]
    assert credit["tax_rates"] == [{"rate": "10", "base": "-500.00", "tax": "-50.00"}]
    assert credit["total"] == "-550.00"
    assert row(admin, original)["status"] == "pending"  # only partly credited
    invoice_issue.credit(admin, original, [1])
    assert row(admin, original)["status"] == "cancelled"


def test_credit_notes_need_their_own_series(any_world):
    admin = any_world.session("admin")
    with pytest.raises(ValidationFailed, match="series of their own"):
        settings.set_value(admin, "invoice.credit_pattern", "15/[1]")
    settings.set_value(admin, "invoice.credit_pattern", "")
    original = draft(admin, any_world.cid("Customer #A"), **ONE)
    invoice_issue.issue(admin, original)
    with pytest.raises(ValidationFailed, match="invoice.credit_pattern.*is not set"):
        invoice_issue.credit(admin, original)


# --- patterns and the series report --------------------------------------------------------


def test_changing_the_pattern_never_repeats_or_restarts_a_number(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")

    def issue_one() -> str:
        return invoice_issue.issue(admin, draft(admin, cid, **ONE)).bill_id

    assert [issue_one(), issue_one()] == ["15/1000", "15/1001"]
    settings.set_value(admin, "invoice.id_pattern", "15/[1]")  # same fixed part
    assert issue_one() == "15/1002"
    settings.set_value(admin, "invoice.id_pattern", "15/[5000]")  # a jump ahead is honoured
    assert issue_one() == "15/5000"
    settings.set_value(admin, "invoice.id_pattern", "15/[1000]")  # never back
    assert issue_one() == "15/5001"
    settings.set_value(admin, "invoice.id_pattern", "INV-[001]")  # a new series
    assert issue_one() == "INV-001"


@pytest.mark.parametrize(("pattern", "reason"), [
    ("15/[1]/[2]", "exactly one bracketed number"),
    ("15/", "exactly one bracketed number"),
    ("15/[x]", "exactly one bracketed number"),
    ("15\n/[1]", "control characters or line breaks"),
    ("15\x07/[1]", "control characters or line breaks"),
    ("15/[99999999999]", "must not pass"),
    ("X" * 95 + "[1]", "too long"),
])
def test_patterns_are_checked_when_configured(world, pattern, reason):
    admin = world.session("admin")
    with pytest.raises(ValidationFailed, match=reason):
        settings.set_value(admin, "invoice.id_pattern", pattern)
    assert settings.raw_value("invoice.id_pattern") == "15/[1000]"


def test_the_gaps_report(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    ids = [draft(admin, cid, **ONE) for _ in range(4)]
    for invoice_id in ids:
        invoice_issue.issue(admin, invoice_id)
    (report,) = invoice_series.gaps(admin)
    assert (report.series, report.first, report.last, report.count) == (
        "15/[]", "15/1000", "15/1003", 4)
    assert report.gaps == [] and report.duplicates == []
    # Damage the series behind the CRM's back: a number skipped, one given twice.
    p = database.param if hasattr(database, "param") else "%s"
    database.execute_sql(f"UPDATE invoice SET bill_number = 1006, bill_id = '15/1006' "
                         f"WHERE id = {p}", (ids[3],))
    database.execute_sql(f"UPDATE invoice SET bill_number = 1000, bill_id = '15/01000' "
                         f"WHERE id = {p}", (ids[1],))
    (report,) = invoice_series.gaps(admin, "15/[1]")
    assert (report.first, report.last, report.count) == ("15/1000", "15/1006", 4)
    assert report.gaps == [("15/1001", "15/1001", 1), ("15/1003", "15/1005", 3)]
    assert report.duplicates == [("15/1000", 2)]
    assert invoice_series.gaps(admin, "NEW-[1]")[0].count == 0
    with pytest.raises(PermissionDenied):
        invoice_series.gaps(any_world.session("manager1"))


# --- the hash chain ------------------------------------------------------------------------


def test_verify_names_the_first_tampered_record(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    ids = [draft(admin, cid, **MANUAL) for _ in range(3)]
    for invoice_id in ids:
        invoice_issue.issue(admin, invoice_id)
    credit = invoice_issue.credit(admin, ids[0])
    reports = {r.series: r for r in invoice_issue.verify(admin)}
    assert reports["15/[]"].ok and reports["15/[]"].records == 3
    assert reports["R15/[]"].ok and reports["R15/[]"].records == 1
    stored = {r["id"]: r for r in invoices.get_kind("invoice").list(admin)}
    assert stored[ids[1]]["bill_id"] == "15/1001" and credit.bill_id == "R15/1"

    p = database.param if hasattr(database, "param") else "%s"
    # A changed amount on one line breaks the chain at that invoice.
    # (Written as the column stores amounts: cents on SQLite, NUMERIC on PostgreSQL.)
    database.execute_sql(f"UPDATE invoice_line SET amount = {p} WHERE invoice_id = {p}",
                         (InvoiceLine.amount.db_value(Decimal("24")), ids[1]))
    (broken,) = invoice_issue.verify(admin, "15/[1000]")
    assert not broken.ok and "'15/1001'" in broken.first_break
    assert "changed after it was issued" in broken.first_break
    database.execute_sql(f"UPDATE invoice_line SET amount = {p} WHERE invoice_id = {p}",
                         (InvoiceLine.amount.db_value(Decimal("2400")), ids[1]))
    assert invoice_issue.verify(admin, "15/[1000]")[0].ok
    # A record taken out of the chain is missed.
    for table in ("invoice_line", "invoice_discount"):
        database.execute_sql(f"DELETE FROM {table} WHERE invoice_id = {p}", (ids[1],))
    database.execute_sql(f"DELETE FROM invoice WHERE id = {p}", (ids[1],))
    (broken,) = invoice_issue.verify(admin, "15/[1000]")
    assert "record 2 of the chain is missing" in broken.first_break
    assert "'15/1000'" in broken.first_break
    with pytest.raises(PermissionDenied):
        invoice_issue.verify(any_world.session("manager1"))


# --- amounts -------------------------------------------------------------------------------


def test_billing_and_totals_are_per_currency(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    eur = draft(admin, cid, currency="eur", **MANUAL)
    usd = draft(admin, cid, currency="USD", **ONE)
    draft(admin, cid, currency="USD", **ONE)  # a draft is not billed
    for invoice_id in (eur, usd):
        invoice_issue.issue(admin, invoice_id)
    assert row(admin, eur)["currency"] == "EUR"
    billed = invoices.billing_by_currency([cid, any_world.cid("Customer #B")])
    assert billed == {cid: {"EUR": Decimal("2613.60"), "USD": Decimal("121.00")}}
    invoice_issue.credit(admin, usd)  # a cancelled invoice and its credit note count nothing
    assert invoices.billing_by_currency([cid]) == {cid: {"EUR": Decimal("2613.60")}}
    assert invoices.totals_by_currency(admin, {"state": "issued"}) == {
        "EUR": Decimal("2613.60"), "USD": Decimal("0.00")}
    for field, value, reason in (("currency", "XYZ", "ISO 4217"),
                                 ("currency", "EURO", "currency"),
                                 ("language", "fr", "en, es")):
        with pytest.raises(ValidationFailed, match=reason):
            draft(admin, cid, **{field: value})


def test_several_tax_rates_on_one_invoice(any_world):
    admin = any_world.session("admin")
    invoice_id = draft(admin, any_world.cid("Customer #A"), withholding_rate="15",
                       lines=[{"description": "Support", "amount": "100"},
                              {"description": "Books", "amount": "100", "tax_rate": "4"},
                              {"description": "Training", "amount": "50.50", "tax_rate": "10"}],
                       discounts=[{"description": "promotion", "amount": "10"}])
    shown = row(admin, invoice_id)
    assert shown["tax_rates"] == [
        {"rate": "4", "base": "100.00", "tax": "4.00"},
        {"rate": "10", "base": "50.50", "tax": "5.05"},
        {"rate": "21", "base": "90.00", "tax": "18.90"}]
    assert (shown["subtotal"], shown["total_tax"], shown["withholding"], shown["total"]) == (
        "240.50", "27.95", "36.08", "232.37")
    invoice_issue.issue(admin, invoice_id)
    text = text_of(documents_service.invoice_pdf(admin, invoice_id)[1])
    for expected in ("VAT (4 %, base €100.00) €4.00", "VAT (10 %, base €50.50) €5.05",
                     "VAT (21 %, base €90.00) €18.90", "€232.37"):
        assert expected in text, expected


# --- addressing ----------------------------------------------------------------------------


def test_an_integer_is_the_record_id_and_a_bill_id_is_given_as_such(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    settings.set_value(admin, "invoice.id_pattern", "[1]")  # bill IDs that are all digits
    first, second, third = (draft(admin, cid, **ONE) for _ in range(3))
    invoice_issue.issue(admin, third)
    assert row(admin, third)["bill_id"] == "1"
    assert row(admin, "1")["id"] == 1 == first  # an integer is always the record id
    assert row(admin, BillId("1"))["id"] == third
    assert row(admin, BillId(" 1 "))["id"] == third
    with pytest.raises(NotFound):
        row(admin, BillId("2"))
    settings.set_value(admin, "invoice.id_pattern", "15/[1000]")
    invoice_issue.issue(admin, second)
    assert row(admin, "15/1000")["id"] == second
    invoices.unlock(admin, BillId("1"))
    assert row(admin, third)["locked"] is False and row(admin, first)["locked"] is False
    invoices.lock(admin, "1")  # the record id 1: the draft
    assert row(admin, first)["locked"] is True
    # Someone who may not see the invoice gets the answer of one that does not exist.
    hidden = any_world.session("user2")
    for ref, missing in (("15/1000", "NOPE/1"), (BillId("1"), BillId("77"))):
        with pytest.raises(NotFound) as seen:
            row(hidden, ref)
        with pytest.raises(NotFound) as unknown:
            row(hidden, missing)
        assert str(seen.value).replace(str(ref).strip(), "?") == str(unknown.value).replace(
            str(missing).strip(), "?")


def test_received_numbers_are_unique_per_supplier(any_world):
    admin = any_world.session("admin")
    a, b = any_world.cid("Customer #A"), any_world.cid("Customer #B")
    first = draft(admin, a, type="received", bill_id="F-1", **ONE)
    second = draft(admin, b, type="received", bill_id="F-1", **ONE)
    assert first != second
    with pytest.raises(ValidationFailed, match="give the invoice's id"):
        row(admin, "F-1")
    assert row(admin, first)["bill_id"] == row(admin, second)["bill_id"] == "F-1"
    with pytest.raises(ValidationFailed, match="only Submitted invoices are issued"):
        invoice_issue.issue(admin, first)


# --- the lock covers the relations ---------------------------------------------------------


def test_the_lock_covers_contract_links(world):
    from crm_tui.services import contracts

    admin = world.session("admin")
    manager = world.session("manager1")
    get_kind("profile").create(admin, {"name": "CRM and invoices", "bits": "CR,CW,CM,IR,IW,IM"})
    get_kind("user").update(admin, "manager1", {"profiles": "CRM and invoices"})
    contract = get_kind("contract").create(admin, {"name": "Support",
                                                   "company": str(world.cid("Customer #B"))})
    invoice_id = draft(admin, world.cid("Customer #B"), **ONE)
    invoice_issue.issue(admin, invoice_id)  # locked by admin
    with pytest.raises(PermissionDenied, match="unlock it first"):
        contracts.add_invoices(manager, contract, ["15/1000"])
    with pytest.raises(PermissionDenied, match="unlock it first"):
        get_kind("contract").update(manager, contract, {"invoices": "15/1000"})
    assert contracts.related_invoices(admin, contract) == []
    invoices.unlock(manager, invoice_id)
    assert contracts.add_invoices(manager, contract, ["15/1000"]) == 1
    invoices.lock(admin, invoice_id)
    with pytest.raises(PermissionDenied):
        contracts.remove_invoices(manager, contract, [str(invoice_id)])
    assert [r["id"] for r in contracts.related_invoices(admin, contract)] == [invoice_id]


def test_csv_export_writes_negative_amounts_as_numbers(any_world):
    import csv

    from crm_tui.money import quantize

    admin = any_world.session("admin")
    original = draft(admin, any_world.cid("Customer #A"), **MANUAL)
    invoice_issue.issue(admin, original)
    invoice_issue.credit(admin, original)
    out = io.StringIO(newline="")
    from crm_tui.services import exports

    assert exports.write(admin, "invoices", out) == 2
    rows = {r["bill_id"]: r for r in csv.DictReader(io.StringIO(out.getvalue(), newline=""))}
    assert rows["R15/1"]["total"] == "-2613.60"  # a number, no formula guard
    assert rows["15/1000"]["total"] == "2613.60"
    assert ",-2613.60," in out.getvalue() and "'-" not in out.getvalue()
    # A zero is never written or shown as -0.00.
    assert str(quantize(Decimal("-0.004"))) == "0.00"


def test_issue_and_credit_are_in_the_history(world):
    from crm_tui.models import History

    admin = world.session("admin")
    invoice_id = draft(admin, world.cid("Customer #A"), **MANUAL)
    invoice_issue.issue(admin, invoice_id)
    note = invoice_issue.credit(admin, invoice_id)
    entries = [(h.record_id, h.action) for h in History.select().where(
        History.kind == "invoice").order_by(History.id)]
    assert entries == [(invoice_id, "create"), (invoice_id, "change"), (note.id, "create"),
                       (invoice_id, "change")]
    issued = History.select().where(History.kind == "invoice",
                                    History.action == "change").order_by(History.id).first()
    assert "15/1000" in str(issued.changes)


# --- the migration -------------------------------------------------------------------------


def test_numbered_invoices_of_an_older_database_migrate_as_issued_and_sealed(backend_url,
                                                                           clock):
    from playhouse.migrations import Runner

    from crm_tui import db, schema
    from crm_tui.models import User
    from crm_tui.services.context import Session

    database_ = db.open_database(backend_url)
    try:
        Runner(database_, directory=str(schema.MIGRATIONS_DIR),
               table_name="schema_migration").up("0006_filed_message_folder")
        sql = database_.execute_sql
        sql("INSERT INTO company (name, address, fiscal_id, country, website, comments) "
            "VALUES ('Vieja S.A.', '', '', '', '', '')")
        (company,) = sql("SELECT id FROM company").fetchone()
        old = [("15/1000", "'15/[1000]'", "1000", "submitted", "2025-03-01"),
               ("15/1001", "'15/[1000]'", "1001", "submitted", "2025-03-02"),
               ("HAND-7", "NULL", "NULL", "submitted", "2025-03-03"),
               ("SUP-1", "NULL", "NULL", "received", "2025-03-04")]
        for bill, series, number, kind, created in old:
            sql("INSERT INTO invoice (company_id, type, bill_id, bill_series, bill_number, "
                "reference, status, created, currency, language, tax_rate, withholding_rate, "
                "internal_note, description, total, locked) VALUES "
                f"({company}, '{kind}', '{bill}', {series}, {number}, '', 'pending', "
                f"'{created}', 'EUR', 'es', 21, 0, '', '', 2613.6, false)")
            (invoice_id,) = sql(f"SELECT id FROM invoice WHERE bill_id = '{bill}'").fetchone()
            sql("INSERT INTO invoice_line (invoice_id, position, description, amount) "
                f"VALUES ({invoice_id}, 0, 'Soporte', 2400)")
            sql("INSERT INTO invoice_discount (invoice_id, position, description, amount) "
                f"VALUES ({invoice_id}, 0, 'promoción', 240)")
        schema.upgrade()
        from crm_tui.services.users import ensure_admin

        ensure_admin(clock)
        admin = Session(User.get(User.login == "admin"), clock)
        rows = {r["bill_id"]: r for r in get_kind("invoice").list(admin)}
        assert {b: r["state"] for b, r in rows.items()} == {
            "15/1000": "issued", "15/1001": "issued", "HAND-7": "issued", "SUP-1": "received"}
        assert rows["15/1001"]["issued"] == "2025-03-02"
        assert rows["15/1000"]["tax_rates"] == [{"rate": "21", "base": "2160.00",
                                                 "tax": "453.60"}]
        assert rows["15/1000"]["total"] == "2613.60"
        reports = {r.series: r for r in invoice_issue.verify(admin)}
        assert reports["15/[]"].ok and reports["15/[]"].records == 2
        assert reports[""].ok and reports[""].records == 1
        # The series continues after its highest number, and credit notes have theirs.
        assert invoice_series.preview_bill_id() == "15/1002"
        assert settings.raw_value("invoice.credit_pattern") == "R15/[1]"
    finally:
        db.close_database()
