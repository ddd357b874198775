"""Unique names compare case-insensitively: index lower(name) where the check looks them up."""

#: Tables whose `name` (or `login`) must be unique as people read it.
TABLES = (("company", "name"), ("company_role", "name"), ("tag", "name"),
          ("lead_type", "name"), ("contract_type", "name"), ("profile", "name"),
          ("custom_field_section", "name"), ("user", "login"))


def up(migrator, db):
    for table, column in TABLES:
        quoted = f"\"{table}\""
        db.execute_sql(f"CREATE INDEX IF NOT EXISTS {table}_{column}_lower "
                       f"ON {quoted} (lower({column}))")


def down(migrator, db):
    for table, column in TABLES:
        db.execute_sql(f"DROP INDEX IF EXISTS {table}_{column}_lower")
