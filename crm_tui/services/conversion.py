"""A won lead becomes a customer: its company and contact are found by the duplicate rule or
created from its fields, the lead is linked to the company and closed successfully."""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui.db import write_transaction
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import WON_STATUS, CompanyActivity, CompanyRole, LeadActivity
from crm_tui.services import duplicates, history
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

#: The company role a new customer company gets, when the catalogue has it.
CUSTOMER_ROLE = "Customer"


@dataclass(frozen=True)
class Converted:
    """What a conversion did: the company and the contact, and whether each is new."""

    lead: int
    company: int
    company_name: str
    company_created: bool
    contact: int | None
    contact_created: bool

    def summary(self) -> str:
        """One line for a person."""
        text = (f"lead {self.lead} converted: company #{self.company} {self.company_name!r} "
                f"({'new' if self.company_created else 'existing'})")
        if self.contact is None:
            return text + ", no contact (the lead has no email)"
        return text + (f", contact #{self.contact} "
                       f"({'new' if self.contact_created else 'existing'})")

    def as_json(self) -> dict:
        """The --json shape."""
        return {"lead": self.lead, "company": self.company,
                "company_created": self.company_created, "contact": self.contact,
                "contact_created": self.contact_created}


def convert(session: Session, lead_id: int | str) -> Converted:
    """Turn a lead into a customer, in one transaction.

    The company is the one its company name (or, without one, its managing company) names
    by the duplicate rule, or a new one (parent: the user's own company, role Customer);
    the contact is the one with its email, or a new one at that company. The lead is linked
    to the company and moved to "Closed successfully" (one status change, in its history).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    leads, companies, contacts = get_kind("lead"), get_kind("company"), get_kind("contact")
    with write_transaction():
        lead = leads.load(session, lead_id)
        leads.check_modify(session, lead)
        name = (lead.company_name or "").strip()
        company_created = False
        if name:
            found = duplicates.find(session, "company", {"name": name})
            company_id = found[0].id if found else None
        else:
            company_id = lead.company_id
        if company_id is None and not name:
            raise ValidationFailed.one(leads.label(lead), "company_name", "",
                                       _("needed to convert the lead into a customer"))
        if company_id is None:
            raw: dict[str, object] = {"name": name, "country": lead.country or ""}
            if session.user.company_id is not None:
                raw["parent"] = str(session.user.company_id)
            if CompanyRole.select().where(CompanyRole.name == CUSTOMER_ROLE).exists():
                raw["role"] = CUSTOMER_ROLE
            company_id = companies.create(session, raw)
            company_created = True
        company = companies.load(session, company_id)
        contact_id, contact_created = None, False
        if lead.email:
            found = duplicates.find(session, "contact", {"email": lead.email})
            if found:
                contact_id = found[0].id
            else:
                contact_id = contacts.create(session, {
                    "full_name": lead.full_name, "email": lead.email,
                    "company": str(company.id), "phone": lead.phone or "",
                    "position": lead.position or "",
                    # A person who opted out of mail as a lead has as a contact too.
                    "mail_opt_out": "yes" if lead.mail_opt_out else "no"})
                contact_created = True
        # One change of the lead: its company and its status, one history row and one
        # status entry on its timeline.
        leads.update(session, lead.id, {"company": str(company.id), "status": str(WON_STATUS)})
        now = session.clock.now()
        LeadActivity.create(lead=lead.id, kind="change", author=session.login, created=now,
                            text=f"Converted into company #{company.id} {company.name!r}"
                                 + (f" and contact #{contact_id}" if contact_id else ""))
        note = f"Customer from lead #{lead.id} {lead.full_name!r}"
        CompanyActivity.create(company=company.id, author=session.login, created=now, text=note)
        history.activity(session, "company", company.id, "note", note)
    return Converted(lead.id, company.id, company.name, company_created, contact_id,
                     contact_created)
