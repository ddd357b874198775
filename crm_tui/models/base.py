"""The model base class and the field types every table shares."""

from __future__ import annotations

import peewee

from crm_tui.db import database


class BaseModel(peewee.Model):
    """Every table: bound to the shared database proxy, explicit table names."""

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
