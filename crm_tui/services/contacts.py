"""Contacts: people at companies, visible to whoever can see the company."""

from __future__ import annotations

from crm_tui.models import Contact
from crm_tui.services import search
from crm_tui.services.inherited import CompanyOwnedKind
from crm_tui.services.records import Field, register


@register
class ContactKind(CompanyOwnedKind):
    """Contacts; full name, email and company are required."""

    name = "contact"
    model = Contact
    title_attr = "full_name"
    custom_entity = "contact"
    order_attr = "full_name"
    extra_filters = ("q",)
    fields = (
        Field("full_name", required=True),
        Field("email", "email", required=True),
        Field("company", "ref", ref="company", required=True),
        Field("phone", max_length=60),
        Field("mobile", max_length=60),
        Field("position", max_length=100),
        Field("description", "textarea"),
        Field("mail_opt_out", "bool", label="No mail"),
    )

    def extra_filter(self, session, name, value):
        return (search.match("contact", value, fallback=(
            Contact.full_name.contains(value) | Contact.email.contains(value)))
            | Contact.phone.contains(value))

    def before_save(self, session, obj, created):
        obj.updated = session.clock.now()
        if created:
            obj.created = obj.updated

    def before_save_many(self, session, records):
        """`before_save` of many new contacts (an import): the same dates on all."""
        now = session.clock.now()
        return {"created": now, "updated": now}

    def before_delete(self, session, obj):
        search.forget("contact", [obj.id])
