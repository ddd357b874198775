"""Custom fields (seven kinds), the sections that group them, and their values."""

from __future__ import annotations

import json

import peewee

from crm_tui.models.base import BaseModel

FIELD_KINDS = ("checkbox", "combo", "linked", "date", "numeric", "text", "textarea")
FIELD_ENTITIES = ("company", "contact", "contract_type", "lead_type")


class CustomFieldSection(BaseModel):
    """A titled block of custom fields on a form."""

    name = peewee.CharField(max_length=100, unique=True)
    description = peewee.TextField(default="")

    class Meta:
        table_name = "custom_field_section"


class CustomField(BaseModel):
    """A user-defined field of companies, contacts, a contract type or a lead type.

    `entity_type_id` is the contract or lead type for the typed entities. Options: a JSON
    list for combo, a JSON object {parent: [children]} for linked.
    """

    name = peewee.CharField(max_length=100)
    kind = peewee.CharField(max_length=20)
    entity = peewee.CharField(max_length=20)
    entity_type_id = peewee.IntegerField(null=True)
    section = peewee.ForeignKeyField(
        CustomFieldSection, null=True, on_delete="SET NULL", backref="fields"
    )
    options = peewee.TextField(default="")
    visible = peewee.BooleanField(default=False)
    position = peewee.IntegerField(default=0)

    class Meta:
        table_name = "custom_field"
        indexes = ((("entity", "entity_type_id", "name"), True),)

    @property
    def option_data(self):
        """The parsed options (list for combo, dict for linked), or None."""
        if not self.options:
            return None
        try:
            return json.loads(self.options)
        except ValueError:
            return [o.strip() for o in self.options.split(",") if o.strip()]


class CustomValue(BaseModel):
    """The value of one custom field on one record (company, contact, contract or lead)."""

    field = peewee.ForeignKeyField(CustomField, on_delete="CASCADE", backref="values")
    record_id = peewee.IntegerField()
    value = peewee.TextField(default="")

    class Meta:
        table_name = "custom_value"
        indexes = (
            (("field", "record_id"), True),
            (("record_id",), False),
        )
