"""Sales leads, their types, tags, activity timeline and saved searches."""

from __future__ import annotations

import peewee

from crm_tui.i18n import NC_
from crm_tui.models.base import BaseModel, MoneyField
from crm_tui.models.companies import Company
from crm_tui.models.users import User

#: Pipeline statuses by number; names are renamable in settings (lead.status.N). These
#: defaults are stored in English and read in each reader's language where a face shows them
#: (`services.settings.status_label`).
LEAD_STATUSES = (
    NC_("lead status", "New"),
    NC_("lead status", "Meeting arranged"),
    NC_("lead status", "Needs discovered"),
    NC_("lead status", "Proposal delivered"),
    NC_("lead status", "Offer accepted"),
    NC_("lead status", "Closed – no response or dead"),
    NC_("lead status", "Closed – lost"),
    NC_("lead status", "Closed – invalid or N/A"),
    NC_("lead status", "Closed successfully"),
)
STATUS_CONTEXT = "lead status"
"""The catalog context of the default names (a "New" lead is not a "New" record)."""
OPEN_STATUSES = (0, 1, 2, 3, 4)
CLOSED_STATUSES = (5, 6, 7, 8)
WON_STATUS = 8
LOST_STATUS = 6


class LeadType(BaseModel):
    """A kind of lead, with its own custom fields."""

    name = peewee.CharField(max_length=100, unique=True)
    description = peewee.TextField(default="")

    class Meta:
        table_name = "lead_type"


class Tag(BaseModel):
    """A coloured label for leads."""

    name = peewee.CharField(max_length=60, unique=True)
    colour = peewee.CharField(max_length=20, default="blue")

    class Meta:
        table_name = "tag"


class Lead(BaseModel):
    """A sales lead moving through the pipeline."""

    full_name = peewee.CharField(max_length=200)
    email = peewee.CharField(max_length=200, default="")
    # Lower-cased, trimmed email, for duplicate detection and mail routing.
    email_key = peewee.CharField(max_length=200, default="", index=True)
    company_name = peewee.CharField(max_length=200, default="")
    country = peewee.CharField(max_length=100, default="")
    position = peewee.CharField(max_length=100, default="")
    phone = peewee.CharField(max_length=60, default="")
    language = peewee.CharField(max_length=10, default="en")
    owner = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="leads")
    company = peewee.ForeignKeyField(Company, null=True, on_delete="RESTRICT", backref="leads")
    estimated_sale = MoneyField(default=0)
    estimated_close = peewee.DateField(null=True)
    status = peewee.IntegerField(default=0)
    lead_type = peewee.ForeignKeyField(LeadType, null=True, on_delete="SET NULL", backref="leads")
    channel = peewee.CharField(max_length=60, default="")
    description = peewee.TextField(default="")
    created = peewee.DateTimeField()
    updated = peewee.DateTimeField()
    #: The person asked not to be mailed: every outgoing mail to this address is refused.
    mail_opt_out = peewee.BooleanField(default=False)

    class Meta:
        table_name = "lead"
        indexes = (
            (("status", "estimated_sale", "owner", "company"), False),
            (("status", "updated"), False),
            (("status", "estimated_close"), False),
            (("company", "status"), False),
            (("owner", "status"), False),
            # Statistics group by these and sum the sale: covering indexes (migration 0005),
            # with the access rule's owner and company (migration 0042).
            (("country", "estimated_sale", "owner", "company"), False),
            (("channel", "estimated_sale", "owner", "company"), False),
            (("owner", "estimated_sale", "company"), False),
            (("created", "owner", "company"), False),
            # The top estimated sales walk this (migration 0090).
            (("estimated_sale", "owner", "company"), False),
            (("full_name",), False),
            (("mail_opt_out", "email_key"), False),
            # The lead list sorted by these walks them (migration 0084).
            (("company_name", "id"), False),
            (("status", "id"), False),
            (("estimated_sale", "id"), False),
            (("country", "id"), False),
        )


class TallyMoneyField(MoneyField):
    """A sum of many amounts: room for more digits than one amount has."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_digits", 30)
        super().__init__(*args, **kwargs)


class LeadTally(BaseModel):
    """How many leads, and their estimated sales, per statistic value and access key.

    `dimension` is owner, channel, country, status or week (the Monday of the week
    created), and every lead counts once in each. Kept by database triggers on every write to `lead`
    (services.lead_tally), from any face, so the statistics of all leads read a few
    thousand rows instead of every lead. `company_id` and `owner_id` are 0 for none: they
    are what the access rule filters on, as on `lead`.
    """

    dimension = peewee.CharField(max_length=10)
    value = peewee.CharField(max_length=100)
    company_id = peewee.IntegerField()
    owner_id = peewee.IntegerField()
    leads = peewee.IntegerField()
    sale = TallyMoneyField()

    class Meta:
        table_name = "lead_tally"
        primary_key = peewee.CompositeKey("dimension", "value", "company_id", "owner_id")


class LeadTag(BaseModel):
    """Which tags a lead carries."""

    lead = peewee.ForeignKeyField(Lead, on_delete="CASCADE", backref="tag_links")
    tag = peewee.ForeignKeyField(Tag, on_delete="CASCADE", backref="lead_links")

    class Meta:
        table_name = "lead_tag"
        indexes = ((("lead", "tag"), True), (("tag",), False))


class LeadActivity(BaseModel):
    """One entry of a lead's timeline: a note, a status change, or an email in or out."""

    lead = peewee.ForeignKeyField(Lead, on_delete="CASCADE", backref="activity")
    kind = peewee.CharField(max_length=20)
    author = peewee.CharField(max_length=200)
    created = peewee.DateTimeField()
    text = peewee.TextField(default="")

    class Meta:
        table_name = "lead_activity"
        indexes = ((("lead", "created"), False),)


class SavedSearch(BaseModel):
    """A named lead search of one user ("custom search"), stored as JSON filters."""

    user = peewee.ForeignKeyField(User, on_delete="CASCADE", backref="saved_searches")
    name = peewee.CharField(max_length=100)
    query = peewee.TextField(default="{}")

    class Meta:
        table_name = "saved_search"
        indexes = ((("user", "name"), True),)
