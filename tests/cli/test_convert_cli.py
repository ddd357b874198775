"""`crm lead convert ID`: a won lead becomes a company and a contact (found by the duplicate
rule, or created), linked, and closed successfully — on both backends."""

from __future__ import annotations

import json

from crm_tui.models import WON_STATUS, Company, Contact, Lead, LeadActivity
from crm_tui.services import history
from crm_tui.services.records import get_kind
from tests.cli.in_process import crm
from tests.unit.lead_world import seed_leads


def test_a_lead_becomes_a_company_and_a_contact(any_world, any_db):
    seed_leads(any_world)
    admin = any_world.session("admin")
    lead = get_kind("lead").create(admin, {
        "full_name": "Kim Lee", "email": "kim@newco.example", "company_name": "Newco",
        "country": "Chile", "phone": "555", "position": "CTO",
        "company": str(any_world.cid("Customer #A")), "mail_opt_out": "yes"})
    statuses_before = LeadActivity.select().where(LeadActivity.lead == lead,
                                                  LeadActivity.kind == "status").count()
    done = crm(any_db, "lead", "convert", str(lead), "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert result["company_created"] and result["contact_created"]
    company = Company.get_by_id(result["company"])
    assert (company.name, company.country, company.role.name) == ("Newco", "Chile", "Customer")
    contact = Contact.get_by_id(result["contact"])
    assert (contact.full_name, contact.email, contact.company_id, contact.phone,
            contact.position) == ("Kim Lee", "kim@newco.example", company.id, "555", "CTO")
    assert contact.mail_opt_out
    row = Lead.get_by_id(lead)
    assert (row.status, row.company_id) == (WON_STATUS, company.id)
    statuses = LeadActivity.select().where(LeadActivity.lead == lead,
                                           LeadActivity.kind == "status").count()
    assert statuses == statuses_before + 1
    changes = [e["changes"] for e in history.of_record(admin, "lead", lead)
               if e["action"] == "change"]
    assert changes == [{"company": [any_world.cid("Customer #A"), company.id],
                        "status": [0, WON_STATUS]}]
    assert history.of_record(admin, "company", company.id)[0]["action"] == "create"
    assert "converted" in done.stderr

    # A second lead of the same company and person links what exists.
    again = get_kind("lead").create(admin, {"full_name": "Kim L.", "email": "KIM@newco.example",
                                            "company_name": " NEWCO "})
    done = crm(any_db, "lead", "convert", str(again), "--json")
    assert done.exit_code == 0, done.output
    result = json.loads(done.stdout)
    assert (result["company"], result["company_created"]) == (company.id, False)
    assert (result["contact"], result["contact_created"]) == (contact.id, False)
    assert Company.select().where(Company.name == "Newco").count() == 1


def test_conversion_needs_write_on_the_lead_and_a_company(any_world, any_db):
    ids = seed_leads(any_world)
    companies = Company.select().count()
    # Ben Beta (Customer #B): visible to user1, not his to change.
    refused = crm(any_db, "lead", "convert", str(ids["Ben Beta"]), user="user1")
    assert refused.exit_code == 3, refused.output
    assert Lead.get_by_id(ids["Ben Beta"]).status == 0
    # user2 sees no lead: a real one reads like a missing one.
    hidden = crm(any_db, "lead", "convert", str(ids["Ben Beta"]), user="user2")
    missing = crm(any_db, "lead", "convert", "987654", user="user2")
    assert hidden.exit_code == missing.exit_code
    assert hidden.stderr.replace(str(ids["Ben Beta"]), "N") == \
        missing.stderr.replace("987654", "N")
    # A lead that names no company at all (no company name, no managing company).
    lead = get_kind("lead").create(any_world.session("admin"), {"full_name": "Nameless"})
    nameless = crm(any_db, "lead", "convert", str(lead))
    assert nameless.exit_code == 1 and "company_name" in nameless.stderr
    assert Company.select().count() == companies
