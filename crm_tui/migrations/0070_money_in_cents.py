"""Money is exact on SQLite too: its amount columns become INTEGER cents.

A DECIMAL column on SQLite holds floating point (99999999999999.99 reads back as ...98), so
`invoice.total`, `invoice_line.amount`, `invoice_discount.amount`, `lead.estimated_sale` and
`contract_billing_line.amount` are rebuilt as INTEGER columns holding whole cents. Each
stored value is read as the CRM always read it (the shortest decimal of the float, rounded half up to cents), so what a user
saw before is what is stored now, and issued invoices' chain hashes still match.
PostgreSQL's NUMERIC(16, 2) is exact already: nothing changes there.
"""

import re
from decimal import ROUND_HALF_UP, Decimal

from peewee import SqliteDatabase

# Foreign keys can only be switched off outside a transaction: the rebuild opens its own
# (dropping `invoice` with them on would cascade into its lines).
atomic = False

MONEY_COLUMNS = {
    "invoice": ("total",),
    "invoice_line": ("amount",),
    "invoice_discount": ("amount",),
    "lead": ("estimated_sale",),
    "contract_billing_line": ("amount",),
}
_CENT = Decimal("0.01")


def to_cents(value):
    """A stored amount (int, float or text, in units) as whole cents."""
    if value is None:
        return None
    if isinstance(value, int):
        return value * 100
    amount = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    return int(amount.quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


def _rebuild(db, table, columns):
    sql = db.execute_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                         (table,)).fetchone()[0]
    # Indexes and triggers go with the old table: made again on the new one.
    extras = [row[0] for row in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = ? "
        "AND sql IS NOT NULL", (table,)).fetchall()]
    sequence = db.execute_sql("SELECT seq FROM sqlite_sequence WHERE name = ?",
                              (table,)).fetchone()
    temp = table + "__cents"
    create = re.sub(r'^CREATE TABLE\s+"?' + re.escape(table) + r'"?',
                    f'CREATE TABLE "{temp}"', sql, count=1)
    converted = []
    for column in columns:
        create, found = re.subn(r'("' + column + r'"\s+)DECIMAL\(\s*16\s*,\s*2\s*\)',
                                r"\1INTEGER", create, count=1)
        if found:
            converted.append(column)
    if not converted:
        return  # already cents: the migration ran before (its down() keeps them so)
    db.execute_sql(create)
    names = [row[1] for row in db.execute_sql(f'PRAGMA table_info("{table}")').fetchall()]
    targets = ", ".join(f'"{name}"' for name in names)
    sources = ", ".join(f'crm_to_cents("{name}")' if name in converted else f'"{name}"'
                        for name in names)
    db.execute_sql(f'INSERT INTO "{temp}" ({targets}) SELECT {sources} FROM "{table}"')
    db.execute_sql(f'DROP TABLE "{table}"')
    db.execute_sql(f'ALTER TABLE "{temp}" RENAME TO "{table}"')
    for statement in extras:
        db.execute_sql(statement)
    if sequence is not None:
        # The highest id ever handed out stays, even when its row was deleted.
        db.execute_sql("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        db.execute_sql("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                       (table, sequence[0]))


def up(migrator, db):
    if not isinstance(db, SqliteDatabase):
        return
    db.connection().create_function("crm_to_cents", 1, to_cents, deterministic=True)
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic("IMMEDIATE"):
            for table, columns in MONEY_COLUMNS.items():
                _rebuild(db, table, columns)
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")


def down(migrator, db):
    # Going back would make the amounts inexact again.
    pass
