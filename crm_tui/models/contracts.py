"""Contracts, their types, and the HTML templates their PDFs are made from."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel
from crm_tui.models.companies import Company
from crm_tui.models.users import User


class ContractType(BaseModel):
    """A kind of contract (Product contract, Services contract), with its own custom fields."""

    name = peewee.CharField(max_length=100, unique=True)
    description = peewee.TextField(default="")

    class Meta:
        table_name = "contract_type"


class Contract(BaseModel):
    """A contract with a company."""

    name = peewee.CharField(max_length=200)
    contract_number = peewee.CharField(max_length=100, default="")
    description = peewee.TextField(default="")
    date_begin = peewee.DateField(null=True)
    date_end = peewee.DateField(null=True, index=True)
    company = peewee.ForeignKeyField(Company, on_delete="RESTRICT", backref="contracts")
    sla = peewee.IntegerField(null=True)
    group = peewee.IntegerField(null=True)
    private = peewee.BooleanField(default=False)
    status = peewee.IntegerField(default=1)
    contract_type = peewee.ForeignKeyField(
        ContractType, null=True, on_delete="RESTRICT", backref="contracts"
    )
    related_contract = peewee.ForeignKeyField(
        "self", null=True, on_delete="SET NULL", backref="related"
    )
    manager = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="contracts")
    # Recurring drafts: none, monthly, quarterly or yearly, and the first period's start
    # (migration 0062); the lines are ContractBillingLine rows.
    billing_period = peewee.CharField(max_length=10, null=True, default="none",
                                      constraints=[peewee.SQL("DEFAULT 'none'")])
    billing_start = peewee.DateField(null=True)
    created = peewee.DateTimeField(null=True)
    updated = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "contract"
        indexes = ((("company", "name"), False), (("name",), False))


class ContractTemplate(BaseModel):
    """An HTML template with macros, rendered to a contract PDF."""

    name = peewee.CharField(max_length=100, unique=True)
    description = peewee.TextField(default="")
    body = peewee.TextField(default="")

    class Meta:
        table_name = "contract_template"
