"""Mail templates, mails the CRM sent, and the ledger of messages already filed."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel
from crm_tui.models.companies import Company
from crm_tui.models.leads import Lead, LeadActivity
from crm_tui.models.users import User


class MailTemplate(BaseModel):
    """A CRM mail template, visible to users of its managing company."""

    name = peewee.CharField(max_length=100)
    language = peewee.CharField(max_length=10, default="en")
    subject = peewee.CharField(max_length=300, default="")
    body = peewee.TextField(default="")
    company = peewee.ForeignKeyField(Company, null=True, on_delete="CASCADE", backref="templates")

    class Meta:
        table_name = "mail_template"
        # Unique per language and company; the service compares names as people do
        # (case and Unicode form aside), and also among templates of no company.
        indexes = ((("name", "language", "company"), True),)


class SentMail(BaseModel):
    """A mail the CRM sent for a lead: its Message-ID routes replies back to the lead."""

    lead = peewee.ForeignKeyField(Lead, on_delete="CASCADE", backref="sent_mail")
    message_id = peewee.CharField(max_length=300, unique=True)
    recipients = peewee.TextField(default="")
    created = peewee.DateTimeField()

    class Meta:
        table_name = "sent_mail"


class FiledMessage(BaseModel):
    """A message the ingest has dealt with; written in the same transaction as its activity.

    `key` is the Message-ID, or ``sha256:`` + `digest` when there is none (or when the
    Message-ID was already used by other content). `digest` hashes the content without
    trace headers; `sender` is the strictly parsed From address and `arrived` the
    server's arrival time (INTERNALDATE, UTC): the hourly limit counts by them. Its place in the mailbox is folder, UIDVALIDITY and UID (two folders may share
    a UIDVALIDITY).
    """

    key = peewee.CharField(max_length=300, unique=True)
    folder = peewee.CharField(max_length=200, default="INBOX")
    uidvalidity = peewee.BigIntegerField(null=True)
    uid = peewee.BigIntegerField(null=True)
    lead = peewee.ForeignKeyField(Lead, null=True, on_delete="SET NULL", backref="filed_mail")
    activity = peewee.ForeignKeyField(
        LeadActivity, null=True, on_delete="SET NULL", backref="filed_mail"
    )
    outcome = peewee.CharField(max_length=20)
    reason = peewee.TextField(default="")
    created = peewee.DateTimeField()
    sender = peewee.CharField(max_length=254, default="")
    digest = peewee.CharField(max_length=64, default="")
    arrived = peewee.DateTimeField(null=True)
    subject = peewee.CharField(max_length=300, default="")
    raw = peewee.BlobField(null=True)
    """The message as downloaded, kept while it is unmatched (operators have no mailbox
    password: assigning files it from here)."""
    size = peewee.BigIntegerField(null=True)
    """The size the server reported, when only the header was downloaded (over the limit)."""

    class Meta:
        table_name = "filed_message"
        indexes = ((("folder", "uidvalidity", "uid"), False), (("sender", "arrived"), False),
                   (("lead", "arrived"), False), (("outcome", "id"), False))


class LeadUnseenMail(BaseModel):
    """Mail filed on a lead that its owner has not looked at yet (one row per such lead).

    Small by design: a row is written when mail is filed and removed when the owner opens
    the lead, so counting a user's leads with new mail reads a handful of rows through the
    `owner` index. `owner` is the lead's owner when the mail was filed (the count checks
    it against the lead's owner now).
    """

    lead = peewee.ForeignKeyField(Lead, primary_key=True, on_delete="CASCADE",
                                  backref="unseen_mail")
    owner = peewee.ForeignKeyField(User, on_delete="CASCADE", backref="unseen_mail")
    count = peewee.IntegerField(default=0)
    since = peewee.DateTimeField()

    class Meta:
        table_name = "lead_unseen_mail"
        indexes = ((("owner", "lead"), False),)


OUTBOX_STATUSES = ("queued", "sending", "sent", "failed", "cancelled")


class OutboxMail(BaseModel):
    """One outgoing mail waiting for, or done with, the worker's SMTP conversation.

    Written in the transaction that logs the mail on the lead (`activity`); `message` is the
    built RFC 5322 bytes, sent as they are, so a retry sends the very same mail (same
    Message-ID). `next_attempt` is when the worker may try it next: for a ``sending`` row it
    is the end of the claim's lease. `answer` is the server's last answer.
    """

    # None for the CRM's own notices (contract expiry reminders), which belong to no lead.
    lead = peewee.ForeignKeyField(Lead, null=True, on_delete="CASCADE", backref="outbox")
    activity = peewee.ForeignKeyField(
        LeadActivity, null=True, on_delete="SET NULL", backref="outbox"
    )
    message_id = peewee.CharField(max_length=300)
    sender = peewee.CharField(max_length=254)
    recipients = peewee.TextField()
    subject = peewee.TextField(default="")
    message = peewee.BlobField()
    status = peewee.CharField(max_length=20, default="queued")
    attempts = peewee.IntegerField(default=0)
    next_attempt = peewee.DateTimeField()
    answer = peewee.TextField(default="")
    author = peewee.CharField(max_length=200, default="")
    created = peewee.DateTimeField()
    sent = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "outbox_mail"
        indexes = ((("status", "next_attempt"), False),)
