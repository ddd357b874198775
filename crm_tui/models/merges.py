"""Where a merged record went: the old id of a kind leads to the record that was kept."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel


class Redirect(BaseModel):
    """A record merged into another: `old_id` of `kind` now resolves to `new_id`.

    When the old record stays (a company that holds issued invoices, kept archived) it is
    still reachable by its own id; the redirect then says where its other records went.
    """

    kind = peewee.CharField(max_length=20)
    old_id = peewee.IntegerField()
    new_id = peewee.IntegerField()
    login = peewee.CharField(max_length=60)
    at = peewee.DateTimeField()

    class Meta:
        table_name = "redirect"
        indexes = ((("kind", "old_id"), True), (("kind", "new_id"), False))
