"""Indexes the lead list walks when it is sorted by company, status, estimated sale or
country (`o` on the list): a page reads along the index and stops, at any list size."""

from peewee import SqliteDatabase

#: Each sort column with the id that breaks its ties (the list's order is (column, id)).
SORTED = (("company_name", "id"), ("status", "id"), ("estimated_sale", "id"), ("country", "id"))


def up(migrator, db):
    migrator.migrate(*(migrator.add_index("lead", columns, False) for columns in SORTED))
    if isinstance(db, SqliteDatabase) and db.execute_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").fetchone():
        # Statistics gathered before these indexes exist make SQLite prefer (status, id) for
        # the board's pages of one status, and sort the whole column for each page: the
        # statistics are gathered again, the new indexes with the others.
        db.execute_sql("ANALYZE lead")


def down(migrator, db):
    migrator.migrate(*(migrator.drop_index("lead", "lead_" + "_".join(columns))
                       for columns in SORTED))
