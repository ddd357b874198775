"""Bulk SQL for imports: fresh ids, multi-row INSERT statements, and which values exist."""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import peewee

from crm_tui.db import database, is_postgres, select_in_parts
from crm_tui.models import BaseModel

#: Rows per multi-row INSERT statement, and bound values per statement at most (SQLite
#: allows 32766 since 3.32, PostgreSQL 65535).
ROWS_PER_STATEMENT = 500
MAX_PARAMETERS = 30000
#: Values per IN (…) list when checking many values against the database.
IN_CHUNK = 500


def allocate_ids(model: type[BaseModel], count: int) -> list[int]:
    """`count` fresh ids for new rows, taken inside the write transaction.

    SQLite: the IMMEDIATE transaction holds the write lock, so max(id)+1… is ours alone.
    PostgreSQL: the ids come from the table's own sequence (nextval), so concurrent inserts
    of other operators can never take the same ids and the sequence needs no setval after.
    """
    table = model._meta.table_name
    if is_postgres():
        cursor = database.execute_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (f'"{table}"', count))
        return sorted(value for (value,) in cursor.fetchall())
    top = model.select(peewee.fn.MAX(model.id)).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def driver_value(value: Any) -> Any:
    """A value repeated on many rows, converted once as the SQLite driver would convert it."""
    if value is None or isinstance(value, (str, int)) or is_postgres():
        return value
    adapt = sqlite3.adapters.get((type(value), sqlite3.PrepareProtocol))
    return adapt(value) if adapt is not None else value


def insert_dicts(model: type[BaseModel], rows: list[dict[str, Any]]) -> None:
    """Insert model rows given as `__data__` dicts holding every field (ids included)."""
    fields = model._meta.sorted_fields
    values = operator.itemgetter(*[f.name for f in fields])
    insert_rows(model, fields, list(map(values, rows)))


def insert_rows(model: type[BaseModel], fields: Sequence[peewee.Field],
                 rows: list[tuple]) -> None:
    """Insert rows given as tuples of the fields' values (see `Insert`)."""
    if rows:
        Insert(model, fields).columns(list(zip(*rows, strict=True)), 0, len(rows))


class Same:
    """A column whose every row holds the same value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Insert:
    """Multi-row INSERT statements of up to ROWS_PER_STATEMENT rows into one table.

    peewee renders the statement once per batch size; the driver only binds values. This
    costs about half of the driver's own executemany on SQLite, and one round trip per
    batch on PostgreSQL. Decimal values go through their field's db_value (rounding).
    """

    def __init__(self, model: type[BaseModel], fields: Sequence[peewee.Field]) -> None:
        self.fields = list(fields)
        limit = MAX_PARAMETERS if is_postgres() or sqlite3.sqlite_version_info >= (3, 32) \
            else 999
        self.per_statement = max(1, min(ROWS_PER_STATEMENT, limit // len(fields)))
        # peewee renders one row's statement (quoting, placeholders); the VALUES tuple is
        # then repeated for a batch, since rendering hundreds of rows through peewee costs
        # more than inserting them.
        single = model.insert_many([tuple(None for _ in fields)], fields=self.fields)
        self.head, _, self.one = single.returning().sql()[0].partition(" VALUES ")
        self.statements: dict[int, str] = {}

    def columns(self, columns: Sequence[Sequence[Any] | Same], start: int, stop: int) -> None:
        """Insert rows `start` to `stop` (excluded) of columns given field by field."""
        columns = [self._converted(f, column) for f, column in zip(self.fields, columns,
                                                                     strict=True)]
        width = len(columns)
        cursor = database.cursor()
        with peewee.__exception_wrapper__:
            for begin in range(start, stop, self.per_statement):
                end = min(begin + self.per_statement, stop)
                count = end - begin
                # Row by row, field by field: each column fills its places in one step.
                params: list[Any] = [None] * (count * width)
                for n, column in enumerate(columns):
                    params[n::width] = [column.value] * count if isinstance(column, Same) \
                        else column[begin:end]
                cursor.execute(self._sql(count), params)

    def _sql(self, count: int) -> str:
        sql = self.statements.get(count)
        if sql is None:
            sql = self.statements[count] = f"{self.head} VALUES {', '.join([self.one] * count)}"
        return sql

    @staticmethod
    def _converted(model_field: peewee.Field,
                   column: Sequence[Any] | Same) -> Sequence[Any] | Same:
        if not isinstance(model_field, peewee.DecimalField):
            return column
        convert = model_field.db_value
        if isinstance(column, Same):
            return column if column.value is None else Same(convert(column.value))
        return [value if value is None else convert(value) for value in column]


def existing(model: type[BaseModel], column: peewee.Field, values: list) -> Iterator[Any]:
    """Which of `values` the column already holds.

    When the table has fewer rows than there are values (an import into a young
    database), its values are read once; otherwise they are asked IN_CHUNK at a time.
    """
    if not values:
        return
    if model.select().count() < len(values):
        stored = {column.python_value(value) for (value,) in
                  database.execute_sql(*model.select(column).sql()).fetchall()}
        if stored:
            yield from (value for value in values if value in stored)
        return
    for (value,) in select_in_parts(
            lambda part: model.select(column).where(column.in_(part)),
            [column.db_value(value) for value in values], IN_CHUNK):
        yield column.python_value(value)
