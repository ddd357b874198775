"""The model base class and the field types every table shares."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import peewee

from crm_tui.db import database, is_sqlite

ZERO = Decimal("0.00")


class IdField(peewee.AutoField):
    """The id of every table: never reused once a row is deleted.

    SQLite reuses the highest rowid after a delete unless the key is declared
    AUTOINCREMENT; PostgreSQL's serial sequences never go back, so nothing is added there.
    (The schema itself is made by the migrations; 0018 gives existing tables the same key.)
    """

    def ddl(self, ctx):
        nodes = super().ddl(ctx)
        db = self.model._meta.database
        if isinstance(getattr(db, "obj", db), peewee.SqliteDatabase):
            return peewee.NodeList((nodes, peewee.SQL("AUTOINCREMENT")))
        return nodes


class BaseModel(peewee.Model):
    """Every table: bound to the shared database proxy, explicit table names, and an id
    that is never reused."""

    id = IdField()

    class Meta:
        database = database
        legacy_table_names = False


class MoneyField(peewee.DecimalField):
    """An amount of money: a Decimal with two places, rounded half up on the way in.

    PostgreSQL keeps it as NUMERIC(16, 2). SQLite has no exact decimal type (a DECIMAL
    column holds floating point, so 99999999999999.99 would read back as ...98): there the
    column is an INTEGER of cents (migration 0070), exact, and ORDER BY and comparisons still
    run in SQL. Sum it with `money_sum`; arithmetic with a parameter (`field * 2`) would
    convert the parameter to cents too, so write such figures in Python.
    """

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("auto_round", True)
        kwargs.setdefault("rounding", ROUND_HALF_UP)
        super().__init__(*args, **kwargs)

    def ddl_datatype(self, ctx):
        if is_sqlite():
            return peewee.SQL("INTEGER")
        return super().ddl_datatype(ctx)

    def db_value(self, value):
        value = super().db_value(value)
        if value is None or not is_sqlite():
            return value
        return int(value.scaleb(self.decimal_places))

    def python_value(self, value):
        if value is None:
            return None
        if is_sqlite():
            if isinstance(value, int):
                return Decimal(value).scaleb(-self.decimal_places)
            # An expression over the cents (AVG) can come back as a float.
            return (Decimal(str(value)).scaleb(-self.decimal_places)).quantize(self._exp)
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value)).quantize(self._exp)


def money_sum(column: MoneyField) -> peewee.Node:
    """SUM of a money column, read back as an exact Decimal with two places (no rows: 0.00).

    Exact on both backends: whole cents added as integers on SQLite, NUMERIC on PostgreSQL.
    (peewee does not convert a SUM through its column's field, so the conversion is given.)
    """

    def convert(value: object) -> Decimal:
        return ZERO if value is None else column.python_value(value)

    return peewee.fn.SUM(column).converter(convert)


class RateField(peewee.DecimalField):
    """A percentage such as a tax rate (21.00)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 7)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)
