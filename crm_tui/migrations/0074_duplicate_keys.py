"""Indexes for the duplicate rules: a contact's email, a company's fiscal id, as compared
(lower case, trimmed)."""


def up(migrator, db):
    # Expression indexes (SQLite >= 3.9 and PostgreSQL): the duplicate check compares
    # lower(trim(...)) and must not scan every row.
    db.execute_sql("CREATE INDEX IF NOT EXISTS contact_email_key ON contact (lower(trim(email)))")
    db.execute_sql("CREATE INDEX IF NOT EXISTS company_fiscal_id_key "
                   "ON company (lower(trim(fiscal_id)))")


def down(migrator, db):
    db.execute_sql("DROP INDEX IF EXISTS contact_email_key")
    db.execute_sql("DROP INDEX IF EXISTS company_fiscal_id_key")
