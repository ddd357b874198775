"""Ids are never reused: every SQLite table keyed by an integer id declares AUTOINCREMENT.

Without it SQLite hands the highest id out again after that row is deleted, and whatever
still names the old id (an attachment row, a file, a history entry) would belong to the new
record. SQLite cannot alter a primary key, so a table without it is rebuilt: a copy with the
new key, the rows, the old table dropped, the copy renamed, its indexes made again. Foreign
keys are switched off for the rebuild (a DROP TABLE would otherwise run the ON DELETE actions
of every referencing table) and checked before the commit. PostgreSQL's serial sequences
never go back, so there is nothing to do there.
"""

from __future__ import annotations

import re

import peewee

_KEY = '"id" INTEGER NOT NULL PRIMARY KEY'
#: The migration runner's own bookkeeping, written while migrations run.
_SKIPPED = {"schema_migration"}


def tables_to_rebuild(db: peewee.Database) -> list[tuple[str, str]]:
    """(name, CREATE statement) of the tables whose integer id lacks AUTOINCREMENT."""
    if not isinstance(db, peewee.SqliteDatabase):
        return []
    rows = db.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
        "AND name NOT LIKE 'sqlite_%' ORDER BY name").fetchall()
    return [(name, sql) for name, sql in rows
            if name not in _SKIPPED and _KEY in sql and _KEY + " AUTOINCREMENT" not in sql]


def _rebuild(db: peewee.Database, name: str, sql: str) -> None:
    temp = name + "__rebuilt"
    indexes = [row[0] for row in db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
        "AND sql IS NOT NULL", (name,)).fetchall()]
    create = re.sub(r'^CREATE TABLE\s+(IF NOT EXISTS\s+)?"?' + re.escape(name) + r'"?',
                    f'CREATE TABLE "{temp}"', sql, count=1)
    db.execute_sql(create.replace(_KEY, _KEY + " AUTOINCREMENT", 1))
    columns = ", ".join(f'"{row[1]}"' for row in
                        db.execute_sql(f'PRAGMA table_info("{name}")').fetchall())
    db.execute_sql(f'INSERT INTO "{temp}" ({columns}) SELECT {columns} FROM "{name}"')
    db.execute_sql(f'DROP TABLE "{name}"')
    db.execute_sql(f'ALTER TABLE "{temp}" RENAME TO "{name}"')
    for index in indexes:
        db.execute_sql(index)


def never_reuse_ids(db: peewee.Database) -> list[str]:
    """Give every SQLite table keyed by an integer id AUTOINCREMENT; returns those rebuilt.

    Runs outside any transaction (foreign keys can only be switched off there) and does the
    rebuild in one. A no-op on PostgreSQL and on tables that already have it.

    Raises:
        RuntimeError: the rebuild would break a reference (nothing is changed then).
    """
    todo = tables_to_rebuild(db)
    if not todo:
        return []
    db.execute_sql("PRAGMA foreign_keys = OFF")
    try:
        with db.atomic("IMMEDIATE"):
            for name, sql in todo:
                _rebuild(db, name, sql)
            broken = db.execute_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"foreign keys broken by the rebuild: {broken[:5]}")
    finally:
        db.execute_sql("PRAGMA foreign_keys = ON")
    return [name for name, _ in todo]
