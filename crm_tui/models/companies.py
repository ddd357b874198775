"""Companies (a parent/child tree), their roles, contacts and activity notes."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel
from crm_tui.models.users import User


class CompanyRole(BaseModel):
    """What a company is to us: Customer, Supplier, Partner…"""

    name = peewee.CharField(max_length=100, unique=True)

    class Meta:
        table_name = "company_role"


class Company(BaseModel):
    """A company in the tree; access follows its manager and parent (see crm_tui.acl)."""

    name = peewee.CharField(max_length=200, unique=True)
    address = peewee.TextField(default="")
    fiscal_id = peewee.CharField(max_length=60, default="")
    country = peewee.CharField(max_length=100, default="", index=True)
    website = peewee.CharField(max_length=200, default="")
    comments = peewee.TextField(default="")
    role = peewee.ForeignKeyField(CompanyRole, null=True, on_delete="SET NULL", backref="companies")
    parent = peewee.ForeignKeyField("self", null=True, on_delete="RESTRICT", backref="children")
    manager = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="managed")
    # The company the manager belongs to, kept here by the services (crm_tui.acl reads it):
    # the access rule becomes two indexed equalities instead of a list of colleagues.
    manager_company_id = peewee.IntegerField(null=True)
    last_update = peewee.DateTimeField(null=True)
    payment_conditions = peewee.IntegerField(null=True)
    #: When it was created (None: before migration 0083 kept it).
    created = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "company"
        indexes = (
            (("parent", "name"), False),
            (("manager",), False),
            (("manager_company_id", "parent"), False),
        )


class CompanyActivity(BaseModel):
    """A note in a company's activity log."""

    company = peewee.ForeignKeyField(Company, on_delete="CASCADE", backref="activity")
    author = peewee.CharField(max_length=200)
    created = peewee.DateTimeField()
    text = peewee.TextField()

    class Meta:
        table_name = "company_activity"
        indexes = ((("company", "created"), False),)


class Contact(BaseModel):
    """A person at a company (not a user)."""

    full_name = peewee.CharField(max_length=200)
    email = peewee.CharField(max_length=200, index=True)
    company = peewee.ForeignKeyField(Company, on_delete="RESTRICT", backref="contacts")
    phone = peewee.CharField(max_length=60, default="")
    mobile = peewee.CharField(max_length=60, default="")
    position = peewee.CharField(max_length=100, default="")
    description = peewee.TextField(default="")
    #: The person asked not to be mailed: every outgoing mail to this address is refused.
    mail_opt_out = peewee.BooleanField(default=False)
    #: When it was created and last changed (None: before migration 0083 kept them).
    created = peewee.DateTimeField(null=True)
    updated = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "contact"
        indexes = ((("company", "full_name"), False), (("full_name",), False),
                   (("mail_opt_out",), False))
