"""The model base class and the field types every table shares."""

from __future__ import annotations

import peewee

from crm_tui.db import database


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
    """An amount of money: a Decimal with two places, rounded half up on the way in."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 16)
        kwargs.setdefault("decimal_places", 2)
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)


class RateField(peewee.DecimalField):
    """A percentage such as a tax rate (21.00)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 7)
        kwargs.setdefault("decimal_places", 3)
        kwargs.setdefault("auto_round", True)
        super().__init__(*args, **kwargs)
