"""INSERTs built once and run for many rows: the mail ingest's writes (PERF)."""

from __future__ import annotations

from collections.abc import Sequence

import peewee


def native_types(field: peewee.Field) -> tuple[type, ...]:
    """Python types a column takes without conversion."""
    if isinstance(field, peewee.ForeignKeyField):
        field = field.rel_field
    if isinstance(field, (peewee.CharField, peewee.TextField)):
        return (str, type(None))
    if isinstance(field, peewee.IntegerField):
        return (int, type(None))
    return ()


class Prepared:
    """An INSERT into a model's table, built once and run for many rows.

    Values go through each field's ``db_value`` as peewee would convert them, and columns
    not given get the field's default, as ``Model.create`` would fill them (so a column
    added later with a default does not break this). :meth:`insert` returns the new id: one
    statement per row, so ids come back in order, which a multi-row INSERT ... RETURNING
    does not promise on SQLite.
    """

    def __init__(self, model: type[peewee.Model], names: Sequence[str]) -> None:
        from crm_tui.db import database

        self.db = database.obj
        meta = model._meta
        given = [meta.fields[n] for n in names]
        # By name: peewee fields overload == (it builds SQL), so `in` would not work.
        self.defaults = [f for f in meta.sorted_fields
                         if f.name not in names and f.name != meta.primary_key.name
                         and f.default is not None]
        self.fields = given + self.defaults
        self.native = [native_types(f) for f in self.fields]
        self.table = meta.table_name
        self.pk = meta.primary_key.column_name
        self.columns = ", ".join(f'"{f.column_name}"' for f in self.fields)
        self.marks = ", ".join([self.db.param] * len(self.fields))
        self.sql = f'INSERT INTO "{self.table}" ({self.columns}) VALUES ({self.marks})'

    def _params(self, values: Sequence) -> list:
        filled = list(values) + [f.default() if callable(f.default) else f.default
                                 for f in self.defaults]
        # Text for text columns, whole numbers for integer ones and NULL go to the driver as
        # they are (db_value would hand them back unchanged); the rest is converted.
        return [v if type(v) in native else f.db_value(v)
                for f, native, v in zip(self.fields, self.native, filled, strict=True)]

    def insert(self, values: Sequence) -> int:
        """Insert one row; returns its id."""
        if self.db.returning_clause:
            cursor = self.db.execute_sql(f'{self.sql} RETURNING "{self.pk}"',
                                         self._params(values))
            return int(cursor.fetchone()[0])
        return int(self.db.execute_sql(self.sql, self._params(values)).lastrowid)

    def insert_many(self, rows: Sequence[Sequence]) -> None:
        """Insert rows (no ids needed)."""
        if rows:
            self._insert_rows(self.columns, self.marks, [self._params(r) for r in rows])

    def insert_all(self, rows: Sequence[Sequence]) -> list[int]:
        """Insert rows; returns their ids, in order.

        On SQLite, inside the write transaction (the write lock is held from BEGIN), the
        ids are the ones SQLite itself would pick - one above the highest - so they are
        given explicitly and the rows go in a few multi-row INSERTs. Elsewhere, one
        statement per row returns each id.
        """
        if not rows:
            return []
        if not isinstance(self.db, peewee.SqliteDatabase):
            return [self.insert(row) for row in rows]
        top = self.db.execute_sql(f'SELECT max("{self.pk}") FROM "{self.table}"').fetchone()[0]
        first = int(top or 0) + 1
        ids = list(range(first, first + len(rows)))
        self._insert_rows(f'"{self.pk}", {self.columns}', f"{self.db.param}, {self.marks}",
                          [[new_id, *self._params(row)]
                           for new_id, row in zip(ids, rows, strict=True)])
        return ids

    def _insert_rows(self, columns: str, marks: str, params: list[list]) -> None:
        """One INSERT of many rows per statement (SQLite runs it in about half the time
        of the same rows through executemany), as many rows as the driver takes."""
        width = len(params[0])
        per = max(1, max_parameters(self.db) // width)
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            sql = (f'INSERT INTO "{self.table}" ({columns}) VALUES '
                   + ", ".join([f"({marks})"] * len(chunk)))
            # The wrapper turns driver errors into peewee's (IntegrityError …), as
            # execute_sql does, so callers see one kind of error whatever the backend.
            with peewee.__exception_wrapper__:
                self.db.cursor().execute(sql, [value for row in chunk for value in row])


def max_parameters(db: peewee.Database) -> int:
    """How many bound values one statement may carry on this connection."""
    if isinstance(db, peewee.SqliteDatabase):
        import sqlite3

        # 999 before SQLite 3.32, 32766 since: ask the library in use.
        return db.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535  # PostgreSQL's protocol limit
