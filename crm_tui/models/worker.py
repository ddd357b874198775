"""What the mail worker tells the operators' apps, and what they ask of it."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel


class MailWorkerState(BaseModel):
    """One row (id 1): the worker's last pass, and a pending "sync now" request.

    Only the mail worker talks to the mail servers; an operator's app reads this row for
    its status line and sets `requested_at` when `s` is pressed. The worker's watch loop
    polls the row (one primary-key read) and runs a pass when a request is newer than the
    start of its last pass.
    """

    requested_at = peewee.DateTimeField(null=True)
    requested_by = peewee.CharField(max_length=60, default="")
    started_at = peewee.DateTimeField(null=True)
    finished_at = peewee.DateTimeField(null=True)
    ok = peewee.BooleanField(null=True)
    result = peewee.CharField(max_length=500, default="")

    class Meta:
        table_name = "mail_worker_state"
