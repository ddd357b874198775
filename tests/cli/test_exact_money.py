"""Money is exact on both backends: the largest amount a column holds goes through create,
show, export, import, sums and ordering unchanged, and an older SQLite file whose amounts
were floating point migrates to whole cents with every value kept."""

from __future__ import annotations

import csv
import io
import json
from decimal import ROUND_HALF_UP, Decimal

from crm_tui import db, schema
from crm_tui.models import Invoice, InvoiceLine, Lead
from crm_tui.services import invoices, lead_stats, pipeline
from crm_tui.services import stats as company_stats

TOP = "99999999999999.99"  # NUMERIC(16, 2)'s largest; a float reads it back as ...98


def _ok(result) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_largest_amount_round_trips_through_the_command_line(any_world, any_db,
                                                                run_crm, tmp_path):
    cid = str(any_world.cid("Customer #A"))
    ids = [_ok(run_crm("add", "lead", f"full_name={name}", f"company={cid}",
                       f"estimated_sale={sale}", db=any_db)).strip()
           for name, sale in (("Top", TOP), ("Near", "99999999999999.98"), ("Cent", "0.01"))]
    shown = json.loads(_ok(run_crm("show", "lead", ids[0], "--json", db=any_db)))
    assert shown["estimated_sale"] == TOP
    assert Lead.get(Lead.full_name == "Top").estimated_sale == Decimal(TOP)

    # Sums and ordering in SQL: a float sum would land on ...99.99, not on the exact total.
    figures = json.loads(_ok(run_crm("stats", "leads", "--json", db=any_db)))
    assert figures["per_user"] == [{"label": "admin", "count": 3,
                                    "total": "199999999999999.98"}]
    assert [(t["full_name"], t["estimated_sale"]) for t in figures["top_sales"]] == [
        ("Top", TOP), ("Near", "99999999999999.98"), ("Cent", "0.01")]
    admin = any_world.session("admin")
    board = {c.status: c.total for c in pipeline.columns(admin)}
    assert board[0] == Decimal("199999999999999.98")

    # Export, then the same file imported again: new leads with the same amounts.
    out = tmp_path / "leads.csv"
    _ok(run_crm("export", "leads", "-o", str(out), db=any_db))
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert {r["full_name"]: r["estimated_sale"] for r in rows}["Top"] == TOP
    _ok(run_crm("import", "leads", str(out), db=any_db))
    assert [lead.estimated_sale for lead in Lead.select().where(Lead.full_name == "Top")] == [
        Decimal(TOP), Decimal(TOP)]

    # An invoice of the largest amount, and the per-currency and per-company sums of two.
    for _ in range(2):
        payload = {"company": cid, "tax_rate": "0",
                   "lines": [{"description": "All of it", "amount": TOP}]}
        added = _ok(run_crm("add", "invoice", "--json", "-", input=json.dumps(payload),
                            db=any_db)).strip()
        _ok(run_crm("invoice", "issue", added, db=any_db))  # billed once issued
    listed = json.loads(_ok(run_crm("list", "invoice", "--json", db=any_db)))
    assert [r["total"] for r in listed] == [TOP, TOP]
    assert InvoiceLine.select(InvoiceLine.amount).tuples().first() == (Decimal(TOP),)
    assert invoices.totals_by_currency(admin) == {"EUR": Decimal("199999999999999.98")}
    assert company_stats.top_by_invoiced(admin) == [("Customer #A (EUR)",
                                                    Decimal("199999999999999.98"))]
    shown = json.loads(_ok(run_crm("show", "company", cid, "--json", db=any_db)))
    assert "199999999999999.98" in json.dumps(shown["billing"])
    # Comparisons with a value run in SQL on the stored form too.
    assert Invoice.select().where(Invoice.total >= Decimal(TOP)).count() == 2
    assert Lead.select().where(Lead.estimated_sale > Decimal("99999999999999.98")).count() == 2


def _before_cents(database) -> None:
    """Every migration before the amounts became cents: the schema an older crm left."""
    from playhouse.migrations import Runner

    names = [n for n in schema.migration_names() if int(n.split("_", 1)[0]) < 70]
    Runner(database, directory=str(schema.MIGRATIONS_DIR),
           table_name="schema_migration").up(names[-1])


def test_an_older_sqlite_file_keeps_its_amounts_as_cents(sqlite_url, clock):
    database = db.open_database(sqlite_url)
    try:
        _before_cents(database)
        run = database.execute_sql
        run("INSERT INTO company (name, address, fiscal_id, country, website, comments, "
            "manager_company_id) VALUES ('Vieja', '', '', '', '', '', NULL)")
        # Amounts as the old DecimalField wrote them: text the column turned into REAL (or
        # INTEGER when whole).
        amounts = ["2400.00", "1234.56", "0.29", "8132.41", "-0.07", "12345678901.23", TOP]
        for n, amount in enumerate(amounts, 1):
            run("INSERT INTO invoice (company_id, type, bill_id, bill_series, bill_number, "
                "reference, status, created, currency, language, tax_rate, withholding_rate, "
                "internal_note, description, total, locked, issued) VALUES (1, 'submitted', "
                "?, '15/[]', ?, '', 'pending', '2026-01-01', 'EUR', 'en', '0', '0', '', '', "
                "?, 0, '2026-01-01')", (f"15/{n}", n, amount))
            run("INSERT INTO invoice_line (invoice_id, position, description, amount, "
                "tax_rate) VALUES (?, 0, 'concept', ?, '0')", (n, amount))
            run("INSERT INTO invoice_discount (invoice_id, position, description, amount, "
                "tax_rate) VALUES (?, 0, 'promotion', '0.10', '0')", (n,))
            run("INSERT INTO lead (full_name, email, email_key, company_name, country, "
                "position, phone, language, company_id, estimated_sale, status, channel, "
                "description, created, updated) VALUES (?, '', '', '', '', '', '', 'en', 1, "
                "?, 0, '', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (f"Lead {n}", amount))
        # The highest lead id is gone: it must not come back after the tables are rebuilt.
        run("DELETE FROM lead WHERE id = ?", (len(amounts),))
        types = {t for (t,) in run("SELECT typeof(total) FROM invoice")}
        assert types == {"integer", "real"}
        old = [row[0] for row in run("SELECT total FROM invoice ORDER BY id")]
        # What the CRM showed before: the float's shortest decimal, rounded to cents.
        shown = [Decimal(repr(v) if isinstance(v, float) else str(v)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP) for v in old]
        assert shown[:6] == [Decimal(a) for a in amounts[:6]]
        from crm_tui.services.invoice_chain import seal_unsealed, verify_series

        assert seal_unsealed(database) == len(amounts)  # sealed while still floating point

        schema.upgrade()

        assert {t for (t,) in run("SELECT typeof(total) FROM invoice")} == {"integer"}
        assert [i.total for i in Invoice.select().order_by(Invoice.id)] == shown
        assert [x.amount for x in InvoiceLine.select().order_by(InvoiceLine.id)] == shown
        assert [x.estimated_sale for x in Lead.select().order_by(Lead.id)] == shown[:-1]
        assert run("SELECT count(*) FROM invoice_discount").fetchone()[0] == len(amounts)
        # The hash chain sealed over the old values still holds over the cents.
        assert verify_series(database, "15/[]").ok
        # Indexes came back with the tables; ids are still never reused.
        indexes = {name for (name,) in run("SELECT name FROM sqlite_master "
                                           "WHERE type = 'index' AND tbl_name = 'lead'")}
        assert "lead_status_estimated_sale_owner_id_company_id" in indexes
        assert {"invoice_total", "invoice_submitted_bill_id"} <= {
            name for (name,) in run("SELECT name FROM sqlite_master WHERE type = 'index' "
                                    "AND tbl_name = 'invoice'")}
        assert run("PRAGMA foreign_key_check").fetchall() == []
        # Run again (its down() keeps the cents), it finds nothing left to convert.
        import importlib

        importlib.import_module("crm_tui.migrations.0070_money_in_cents").up(None, database)
        assert [i.total for i in Invoice.select().order_by(Invoice.id)] == shown
        new = Lead.create(full_name="New", company=1, estimated_sale=Decimal("1.00"),
                          created=clock.now(), updated=clock.now())
        assert new.id == len(amounts) + 1
        assert lead_stats.to_money(Lead.get_by_id(new.id).estimated_sale) == Decimal("1.00")
    finally:
        db.close_database()


def test_no_plain_sql_sum_over_a_money_column():
    """peewee hands a SUM back raw, and SQLite's is in cents: every sum of an amount goes
    through `money_sum`, which reads it back as the amount on both backends."""
    import re
    from pathlib import Path

    import crm_tui
    from crm_tui.models import ALL_MODELS
    from crm_tui.models.base import MoneyField

    money = {f"{m.__name__}.{f.name}" for m in ALL_MODELS for f in m._meta.sorted_fields
             if isinstance(f, MoneyField)}
    assert "Invoice.total" in money and "Lead.estimated_sale" in money
    plain_sum = re.compile(r"fn\.(?:SUM|AVG|TOTAL)\(\s*([A-Za-z_]+\.[a-z_]+)", re.IGNORECASE)
    found = [(str(path), column) for path in Path(crm_tui.__file__).parent.rglob("*.py")
             for column in plain_sum.findall(path.read_text(encoding="utf-8"))
             if column in money]
    assert found == []
