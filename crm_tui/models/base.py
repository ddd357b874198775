"""The model base class and the field types every table shares."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import peewee

from crm_tui.db import database, is_sqlite
from crm_tui.errors import ValidationFailed

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

    def save(self, force_insert=False, only=None):
        """Save the row, first refusing a value its column cannot hold (`column_refusal`).

        The services check what comes from outside where it enters, with the record's own
        name; this is the last guard, so SQLite never keeps what PostgreSQL would refuse
        and PostgreSQL never fails half way through a use case.

        Raises:
            ValidationFailed: a value does not fit (nothing written).
        """
        meta = self._meta
        if only is not None:
            fields = [meta.combined[f] if isinstance(f, str) else f for f in only]
        elif force_insert or self._pk is None:
            fields = [meta.fields[name] for name in self.__data__ if name in meta.fields]
        else:
            fields = self.dirty_fields
        for field in fields:
            value = self.__data__.get(field.name)
            reason = column_refusal(field, value)
            if reason is not None:
                name = meta.table_name.replace("_", " ")
                label = f"new {name}" if self._pk is None else f"{name} {self._pk}"
                raise ValidationFailed.one(label, field.name, value, reason)
        return super().save(force_insert=force_insert, only=only)


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


#: The whole numbers PostgreSQL's integer columns hold. SQLite holds 64 bits in any INTEGER
#: column, but both backends refuse the same values: what one accepts, the other does too.
INTEGER_RANGE = (-2**31, 2**31 - 1)
BIG_INTEGER_RANGE = (-2**63, 2**63 - 1)


def integer_range(column: peewee.Field) -> tuple[int, int]:
    """The lowest and highest whole number an integer column holds."""
    big = isinstance(column, peewee.BigIntegerField | peewee.BigAutoField)
    return BIG_INTEGER_RANGE if big else INTEGER_RANGE


def decimal_bound(column: peewee.DecimalField) -> Decimal:
    """The largest amount a DECIMAL column holds: NUMERIC(16, 2) -> 99999999999999.99."""
    whole = column.max_digits - column.decimal_places
    return Decimal(10) ** whole - Decimal(1).scaleb(-column.decimal_places)


def column_refusal(column: peewee.Field, value: object) -> str | None:
    """Why `value` does not fit `column`, in a few words, or None when it does.

    The limits are the model's (a CharField's max_length, a DecimalField's digits and
    places, an integer column's range), so they are declared once and hold on both
    backends: SQLite would store any of these, PostgreSQL would refuse them mid-write.
    """
    if value is None:
        return None
    if isinstance(column, peewee.CharField):
        if isinstance(value, str) and len(value) > column.max_length:
            return f"longer than {column.max_length} characters"
        return None
    if isinstance(column, peewee.DecimalField):
        if not isinstance(value, Decimal | int) or isinstance(value, bool):
            return None
        amount = Decimal(value)
        if not amount.is_finite():
            return "not a finite number"
        places = column.decimal_places
        if amount != amount.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP):
            return f"more than {places} decimal places"
        bound = decimal_bound(column)
        if amount > bound:
            return f"too large: at most {bound}"
        if amount < -bound:
            return f"too small: at least {-bound}"
        return None
    if isinstance(column, peewee.IntegerField):
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        low, high = integer_range(column)
        if value > high:
            return f"too large: at most {high}"
        if value < low:
            return f"too small: at least {low}"
    return None
