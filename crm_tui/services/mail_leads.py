"""Leads made from mail (``mail.create_leads``, Odoo's alias behaviour): a message from an
unknown sender that names no lead becomes a new lead.

The lead has no managing company (so LM users and superadmins see it, as every unmanaged
lead) and is owned by the user named in ``mail.lead_owner`` when that login exists and is
enabled, else by nobody. Its name is the From display name (or the address), its email the
sender, its channel ``email``; the history records it with the face ``mail``. Filing the
message on it happens in the same transaction (:func:`crm_tui.services.mail_filing.file_incoming`).
"""

from __future__ import annotations

import peewee

from crm_tui.errors import CrmError
from crm_tui.models import Contact, Lead, LeadActivity, User
from crm_tui.services.context import Clock
from crm_tui.services.mail_filing import MAIL_AUTHOR, IncomingMail, NewLead, mail_session
from crm_tui.services.records import get_kind

__all__ = ["MAIL_AUTHOR", "creator", "known_sender", "lead_values"]


def known_sender(address: str) -> bool:
    """Whether ``address`` is a lead's address, a contact's or a CRM user's."""
    address = address.strip().lower()
    if not address:
        return True
    if Lead.select().where(Lead.email_key == address).exists():
        return True
    for model in (User, Contact):
        email = peewee.fn.LOWER(peewee.fn.TRIM(model.email))
        if model.select().where(email == address).exists():
            return True
    return False


def _owner(login: str) -> User | None:
    login = (login or "").strip()
    if not login:
        return None
    return User.get_or_none(User.login == login, User.enabled == True)  # noqa: E712


def lead_values(mail: IncomingMail, owner: User | None) -> dict[str, str]:
    """The new lead's fields, from the message's strictly parsed sender."""
    parsed = mail.parsed
    address = parsed.from_address
    name = " ".join((parsed.from_name or "").split())[:200] or address
    values = {"full_name": name, "email": address, "channel": "email"}
    if owner is not None:
        values["owner"] = owner.login
        values["language"] = owner.language or "en"
    return values


def creator(owner_login: str, clock: Clock | None = None) -> NewLead:
    """A :data:`~crm_tui.services.mail_filing.NewLead` for ``file_incoming``: makes the lead
    of a message from an unknown sender, or returns None (sender known, or the address is
    not one a lead can hold: then the message stays unmatched with its reason)."""
    clock = clock or Clock()

    def new_lead(mail: IncomingMail) -> int | None:
        address = mail.parsed.from_address
        # A lead made earlier in the same transaction counts: its sender is known now (and
        # a rolled-back batch took its leads with it).
        if not address or known_sender(address):
            return None
        session = mail_session(clock.now())
        owner = _owner(owner_login)
        try:
            lead_id = get_kind("lead").create(session, lead_values(mail, owner))
        except CrmError:
            return None
        LeadActivity.create(lead=lead_id, kind="note", author=MAIL_AUTHOR,
                            created=clock.now(),
                            text=f"Created from mail of {address}: {mail.parsed.subject}"[:2000])
        return lead_id

    return new_lead
