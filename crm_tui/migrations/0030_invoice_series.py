"""Invoices become a legal series: drafts without a bill ID, issue dates, credit notes, a tax
rate per line and discount, and a hash chain per series.

The credit notes' series defaults to `R15/[1]`. Existing numbered Submitted invoices migrate
as issued (on their creation date), each line
and discount takes its invoice's rate, series are named by the pattern's fixed part
(`15/[1000]` -> `15/[]`; hand-made IDs form the series ""), and the issued records are
sealed into their series' chains in number order.
"""

import re

from peewee import CharField, DateField, DecimalField, IntegerField, SqliteDatabase

# SQLite rebuilds the invoice table to let bill_id be NULL; with foreign keys on, dropping
# the old table would cascade into the lines, so this migration runs outside the runner's
# transaction and switches them off around its own.
atomic = False

_PATTERN = re.compile(r"^(.*)\[(\d+)\](.*)$", re.DOTALL)


def _series_key(pattern):
    match = _PATTERN.match(pattern or "")
    return f"{match.group(1)}[]{match.group(3)}" if match else ""


def _schema(migrator, db):
    migrator.migrate(
        migrator.add_column("invoice", "issued", DateField(null=True)),
        migrator.add_column("invoice", "chain_seq", IntegerField(null=True)),
        migrator.add_column("invoice", "prev_hash", CharField(max_length=64, null=True)),
        migrator.add_column("invoice", "chain_hash", CharField(max_length=64, null=True)),
        migrator.add_column("invoice_line", "tax_rate",
                            DecimalField(max_digits=7, decimal_places=3, default=0)),
        migrator.add_column("invoice_discount", "tax_rate",
                            DecimalField(max_digits=7, decimal_places=3, default=0)),
        migrator.drop_index("invoice", "invoice_bill_id"),
    )
    migrator.migrate(migrator.drop_not_null("invoice", "bill_id"))
    # A credit note's reference to the invoice it cancels (same SQL on both backends).
    db.execute_sql("ALTER TABLE invoice ADD COLUMN credit_of_id INTEGER "
                   "REFERENCES invoice (id) ON DELETE RESTRICT")
    migrator.migrate(
        migrator.add_index("invoice", ("bill_series", "chain_seq"), False),
        migrator.add_index("invoice", ("credit_of_id",), False),
    )
    # Submitted bill IDs are unique system-wide; a Received invoice's number per supplier.
    db.execute_sql("CREATE UNIQUE INDEX invoice_submitted_bill_id ON invoice (bill_id) "
                   "WHERE type = 'submitted'")
    db.execute_sql("CREATE UNIQUE INDEX invoice_received_company_bill_id "
                   "ON invoice (company_id, bill_id) WHERE type = 'received'")


def _data(db):
    p = db.param
    db.execute_sql("UPDATE invoice_line SET tax_rate = (SELECT tax_rate FROM invoice "
                   "WHERE invoice.id = invoice_line.invoice_id)")
    db.execute_sql("UPDATE invoice_discount SET tax_rate = (SELECT tax_rate FROM invoice "
                   "WHERE invoice.id = invoice_discount.invoice_id)")
    patterns = [row[0] for row in db.execute_sql(
        "SELECT DISTINCT bill_series FROM invoice WHERE bill_series IS NOT NULL").fetchall()]
    for pattern in patterns:
        db.execute_sql(f"UPDATE invoice SET bill_series = {p} WHERE bill_series = {p}",
                       (_series_key(pattern), pattern))
    db.execute_sql("UPDATE invoice SET bill_series = '', bill_number = NULL "
                   "WHERE type = 'submitted' AND bill_series IS NULL")
    db.execute_sql("UPDATE invoice SET issued = created WHERE type = 'submitted'")
    # Credit notes need a series of their own; this one unless the invoices already use it.
    row = db.execute_sql(f"SELECT value FROM setting WHERE key = {p}",
                         ("invoice.id_pattern",)).fetchone()
    has_credit = db.execute_sql(f"SELECT 1 FROM setting WHERE key = {p}",
                                ("invoice.credit_pattern",)).fetchone()
    if not has_credit and _series_key(row[0] if row else "") != "R15/[]":
        db.execute_sql(f"INSERT INTO setting (key, value) VALUES ({p}, {p})",
                       ("invoice.credit_pattern", "R15/[1]"))
    from crm_tui.services.invoice_chain import seal_unsealed

    seal_unsealed(db)


def up(migrator, db):
    sqlite = isinstance(db, SqliteDatabase)
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            _schema(migrator, db)
            _data(db)
            if sqlite:
                broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")


def down(migrator, db):
    # Back to one bill ID namespace and one rate per invoice. Issued records stay numbered;
    # drafts keep an empty bill ID (the column stays nullable) and credit notes stay rows.
    sqlite = isinstance(db, SqliteDatabase)
    if sqlite:
        db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic():
            for name in ("invoice_submitted_bill_id", "invoice_received_company_bill_id"):
                db.execute_sql(f"DROP INDEX {name}")
            migrator.migrate(
                migrator.drop_index("invoice", "invoice_bill_series_chain_seq"),
                migrator.drop_index("invoice", "invoice_credit_of_id"),
            )
            if not sqlite:
                db.execute_sql("ALTER TABLE invoice DROP COLUMN credit_of_id")
            migrator.migrate(
                *([migrator.drop_column("invoice", "credit_of_id")] if sqlite else []),
                migrator.drop_column("invoice", "issued"),
                migrator.drop_column("invoice", "chain_seq"),
                migrator.drop_column("invoice", "prev_hash"),
                migrator.drop_column("invoice", "chain_hash"),
                migrator.drop_column("invoice_line", "tax_rate"),
                migrator.drop_column("invoice_discount", "tax_rate"),
                migrator.add_index("invoice", ("bill_id",), True),
            )
            p = db.param
            db.execute_sql(f"DELETE FROM setting WHERE key = {p}", ("invoice.credit_pattern",))
    finally:
        if sqlite:
            db.execute_sql("PRAGMA foreign_keys = ON")
