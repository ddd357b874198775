"""Schema migrations: a new database gets every step, an older one upgrades without loss."""

from __future__ import annotations

import peewee
import pytest

from crm_tui import db, schema
from crm_tui.models import ALL_MODELS


def _columns(database, table):
    return {c.name for c in database.get_columns(table)}


def test_an_empty_database_gets_every_migration_and_matches_the_models(backend_url):
    database = db.open_database(backend_url)
    try:
        assert schema.pending_migrations() == ["0001_initial", "0002_stock_data"] or (
            schema.pending_migrations()[:2] == ["0001_initial", "0002_stock_data"])
        applied = schema.upgrade()
        assert applied[:2] == ["0001_initial", "0002_stock_data"]
        assert schema.pending_migrations() == []
        for model in ALL_MODELS:
            table = model._meta.table_name
            expected = {f.column_name for f in model._meta.sorted_fields}
            assert expected <= _columns(database, table), table
        assert schema.upgrade() == []  # running again is a no-op
    finally:
        db.close_database()


def test_an_older_database_upgrades_without_losing_data(sqlite_url):
    from playhouse.migrations import Runner

    database = db.open_database(sqlite_url)
    runner = Runner(database, directory=str(schema.MIGRATIONS_DIR),
                    table_name="schema_migration")
    runner.up("0001_initial")  # the database as the first version left it
    database.execute_sql("INSERT INTO company (name, address, fiscal_id, country, website, "
                         "comments) VALUES ('Vieja S.A.', '', '', 'España', '', '')")
    assert schema.pending_migrations()[0] == "0002_stock_data"
    schema.upgrade()
    assert database.execute_sql("SELECT name, country FROM company").fetchall() == [
        ("Vieja S.A.", "España")]
    assert database.execute_sql("SELECT count(*) FROM profile").fetchone()[0] >= 5
    db.close_database()


def test_sqlite_connections_are_safe_for_several_processes(crm_db):
    pragma = {name: db.database.execute_sql(f"PRAGMA {name}").fetchone()[0]
              for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")}
    assert pragma["journal_mode"] == "wal"
    assert pragma["foreign_keys"] == 1
    assert pragma["synchronous"] in (1, 2)  # NORMAL or FULL, never OFF
    assert pragma["busy_timeout"] >= 5000


def test_write_transactions_roll_back_whole(crm_db):
    from crm_tui.models import CompanyRole

    with pytest.raises(peewee.IntegrityError):
        with db.write_transaction():
            CompanyRole.create(name="Temporary")
            CompanyRole.create(name="Customer")  # duplicate: the whole use case rolls back
    assert not CompanyRole.select().where(CompanyRole.name == "Temporary").exists()


def test_the_untouched_shipped_contract_template_is_replaced_an_edited_one_kept(sqlite_url):
    from pathlib import Path

    from playhouse.migrations import Runner

    from crm_tui.documents.templating import default_contract_template

    old = (Path(__file__).parent.parent / "fixtures"
           / "contract_template_shipped_before_0059.html").read_text("utf-8")
    database = db.open_database(sqlite_url)
    runner = Runner(database, directory=str(schema.MIGRATIONS_DIR),
                    table_name="schema_migration")
    runner.up("0052_import_batches")
    database.execute_sql("UPDATE contract_template SET body = ? WHERE name = 'Default'", (old,))
    edited = old.replace("Madrid", "Sevilla")
    database.execute_sql("INSERT INTO contract_template (name, description, body) "
                         "VALUES ('Ours', '', ?)", (edited,))
    schema.upgrade()
    bodies = dict(database.execute_sql("SELECT name, body FROM contract_template").fetchall())
    assert bodies == {"Default": default_contract_template(), "Ours": edited}
    db.close_database()


def test_statistics_gathered_before_the_sort_indexes_are_gathered_again(sqlite_url):
    """A database analysed before 0084 would otherwise walk (status, id) and sort a whole
    status for each page of the board."""
    from playhouse.migrations import Runner

    database = db.open_database(sqlite_url)
    runner = Runner(database, directory=str(schema.MIGRATIONS_DIR),
                    table_name="schema_migration")
    pending = schema.pending_migrations()
    runner.up(pending[pending.index("0084_list_sort_indexes") - 1])
    for n in range(40):
        database.execute_sql(
            "INSERT INTO lead (full_name, email, email_key, company_name, country, position, "
            "phone, language, estimated_sale, status, channel, description, created, updated) "
            "VALUES (?, '', '', '', '', '', '', 'en', ?, ?, '', '', '2026-01-01 00:00:00', "
            "'2026-01-01 00:00:00')", (f"Lead {n}", n * 10, n % 5))
    database.execute_sql("ANALYZE")
    schema.upgrade()
    analysed = {name for (name,) in database.execute_sql("SELECT idx FROM sqlite_stat1")}
    assert "lead_status_id" in analysed
    plan = " ".join(str(row) for row in database.execute_sql(
        "EXPLAIN QUERY PLAN SELECT id FROM lead WHERE status = 2 "
        "ORDER BY estimated_sale DESC, id DESC LIMIT 10").fetchall())
    assert "lead_status_estimated_sale" in plan
    db.close_database()
