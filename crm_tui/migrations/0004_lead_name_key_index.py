"""An index for finding duplicate leads by company name + full name, case-insensitively."""


def up(migrator, db):
    # An expression index (SQLite >= 3.9 and PostgreSQL both have them): the duplicate
    # check compares lower(trim(...)) of both columns and must not scan every lead.
    db.execute_sql(
        "CREATE INDEX IF NOT EXISTS lead_name_key "
        "ON lead (lower(trim(company_name)), lower(trim(full_name)))"
    )


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS lead_name_key")
