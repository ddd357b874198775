"""The history of every change (who, when, which face, how), and the import batches."""

from __future__ import annotations

import json

import peewee

from crm_tui.models.base import BaseModel


class History(BaseModel):
    """One create, change or delete of one record, with each field's old and new value.

    `changes` is a JSON object {field: [old, new]} of texts (None for no value); a secret's
    values are never stored, only that it changed.
    """

    kind = peewee.CharField(max_length=30)
    record_id = peewee.IntegerField()
    action = peewee.CharField(max_length=10)
    changes = peewee.TextField(default="{}")
    login = peewee.CharField(max_length=60)
    face = peewee.CharField(max_length=10, default="")
    at = peewee.DateTimeField()
    #: The import batch that created the record (what `crm import undo` takes back).
    batch = peewee.IntegerField(null=True)

    class Meta:
        table_name = "history"
        indexes = ((("kind", "record_id", "at"), False), (("login", "at"), False),
                   (("at",), False), (("batch",), False))

    @property
    def change_data(self) -> dict[str, list]:
        """The changes as a dict."""
        return json.loads(self.changes or "{}")


class ImportBatch(BaseModel):
    """One import that wrote records: who, when, which file, how many created and updated;
    undone or not."""

    kind = peewee.CharField(max_length=20)
    login = peewee.CharField(max_length=60)
    at = peewee.DateTimeField()
    file = peewee.CharField(max_length=300, default="")
    created = peewee.IntegerField(default=0)
    #: Stored records it changed (`--on-duplicate update`); undo restores their old values.
    updated = peewee.IntegerField(default=0)
    undone_at = peewee.DateTimeField(null=True)
    undone_by = peewee.CharField(max_length=60, default="")

    class Meta:
        table_name = "import_batch"
        indexes = ((("login", "at"), False),)
