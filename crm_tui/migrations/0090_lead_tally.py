"""The lead tally (counts and sales per statistic value and access key), kept by triggers,
filled from the leads there are; and an index for the top estimated sales."""

from peewee import *  # noqa: F403


def up(migrator, db):
    from crm_tui.services import lead_tally

    postgres = isinstance(db, PostgresqlDatabase)  # noqa: F405
    # On SQLite the rows are stored in key order (WITHOUT ROWID): a statistic reads one
    # contiguous range of the table, not an index and then each row elsewhere.
    db.execute_sql(
        "CREATE TABLE lead_tally (dimension VARCHAR(10) NOT NULL, value VARCHAR(100) NOT NULL, "
        "company_id INTEGER NOT NULL, owner_id INTEGER NOT NULL, leads INTEGER NOT NULL, "
        f"sale {'NUMERIC(30, 2)' if postgres else 'INTEGER'} NOT NULL, "
        "PRIMARY KEY (dimension, value, company_id, owner_id))"
        + ("" if postgres else " WITHOUT ROWID"))
    db.execute_sql('CREATE INDEX lead_estimated_sale_owner_id_company_id '
                   'ON lead (estimated_sale, owner_id, company_id)')
    lead_tally.rebuild(db)
    lead_tally.install(db)


def down(migrator, db):
    for op in ("insert", "update", "delete"):
        if isinstance(db, PostgresqlDatabase):  # noqa: F405
            db.execute_sql(f"DROP TRIGGER IF EXISTS crm_lead_tally_{op} ON lead")
            db.execute_sql(f"DROP FUNCTION IF EXISTS crm_lead_tally_{op}()")
        else:
            db.execute_sql(f"DROP TRIGGER IF EXISTS crm_lead_tally_{op}")
    db.execute_sql("DROP INDEX IF EXISTS lead_estimated_sale_owner_id_company_id")
    db.execute_sql("DROP TABLE lead_tally")
