"""Attachments: the file lives under a generated name, the original name is data."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel

ATTACHMENT_OWNERS = ("company", "contract", "invoice", "lead", "lead_activity")


class Attachment(BaseModel):
    """A stored file belonging to one record (by owner kind and id)."""

    owner_kind = peewee.CharField(max_length=20)
    owner_id = peewee.IntegerField()
    original_name = peewee.CharField(max_length=300)
    stored_name = peewee.CharField(max_length=100, unique=True)
    content_type = peewee.CharField(max_length=100, default="application/octet-stream")
    size = peewee.BigIntegerField(default=0)
    author = peewee.CharField(max_length=200, default="")
    created = peewee.DateTimeField()
    #: Made by the CRM (a Submitted invoice's PDF): replaced when the invoice changes.
    generated = peewee.BooleanField(default=False)

    class Meta:
        table_name = "attachment"
        indexes = ((("owner_kind", "owner_id"), False),)
