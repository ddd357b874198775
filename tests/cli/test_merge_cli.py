"""`crm merge KIND KEEP OTHER` for companies, contacts and leads: what moves, what is kept as
a note, the redirect of the old id (`crm show`, mail tokens), history and access, on both
backends."""

from __future__ import annotations

import json

from crm_tui.mail.message import parse_message
from crm_tui.models import (
    Company,
    CompanyActivity,
    Contact,
    Contract,
    Invoice,
    Lead,
    LeadActivity,
    Redirect,
)
from crm_tui.services import history, invoice_issue, mail_filing
from crm_tui.services.records import get_kind
from tests.cli.in_process import crm
from tests.integration.mail_helpers import raw_mail
from tests.unit.lead_world import seed_leads


def _two_companies(world):
    admin = world.session("admin")
    company = get_kind("company")
    keep = company.create(admin, {"name": "Acme", "country": "Spain", "manager": "manager1"})
    other = company.create(admin, {"name": "ACME Europe", "country": "France",
                                   "fiscal_id": "ES-B123", "manager": "manager1",
                                   "website": "acme.example"})
    return admin, keep, other


def _fill_company(admin, other: int) -> dict[str, int]:
    contact = get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@acme.example",
                                                 "company": str(other)})
    contract = get_kind("contract").create(admin, {"name": "Support", "company": str(other)})
    lead = get_kind("lead").create(admin, {"full_name": "Bob", "company": str(other)})
    draft = get_kind("invoice").create(admin, {
        "company": str(other), "lines": [{"description": "x", "amount": "100"}]})
    from crm_tui.services import companies

    companies.add_note(admin, other, "met at the fair")
    return {"contact": contact, "contract": contract, "lead": lead, "draft": draft}


def test_merging_companies_moves_everything_and_keeps_the_differences(any_world, any_db):
    admin, keep, other = _two_companies(any_world)
    made = _fill_company(admin, other)

    done = crm(any_db, "merge", "company", str(keep), str(other))
    assert done.exit_code == 0, done.output
    assert f"company {other} merged into company {keep}" in done.stderr
    assert Company.get_or_none(Company.id == other) is None
    assert Contact.get_by_id(made["contact"]).company_id == keep
    assert Contract.get_by_id(made["contract"]).company_id == keep
    assert Lead.get_by_id(made["lead"]).company_id == keep
    assert Invoice.get_by_id(made["draft"]).company_id == keep
    kept = get_kind("company").get(admin, keep)
    # Empty fields take the other's values; differing ones are kept as a note.
    assert (kept["name"], kept["country"], kept["fiscal_id"], kept["website"]) == (
        "Acme", "Spain", "ES-B123", "acme.example")
    notes = [n.text for n in CompanyActivity.select().where(CompanyActivity.company == keep)]
    assert "met at the fair" in notes
    differing = next(n for n in notes if n.startswith("Merged company"))
    assert "name: ACME Europe" in differing and "country: France" in differing
    assert "fiscal_id" not in differing
    # History: the merge on the kept record, the move on each moved record, the delete.
    actions = [e["action"] for e in history.of_record(admin, "company", keep)]
    assert actions[-1] == "merge" and "change" in actions
    moved = history.of_record(admin, "contact", made["contact"])[-1]
    assert moved["changes"] == {"company": [other, keep]}

    # The old id still resolves, and says so.
    shown = crm(any_db, "show", "company", str(other), "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == keep
    assert shown.stderr.strip() == (f"crm: company {other} was merged into company {keep}; "
                                    f"showing company {keep}")


def test_a_company_with_issued_invoices_stays_archived_with_them(any_world, any_db):
    admin, keep, other = _two_companies(any_world)
    made = _fill_company(admin, other)
    issued = get_kind("invoice").create(admin, {
        "company": str(other), "lines": [{"description": "y", "amount": "50"}]})
    invoice_issue.issue(admin, issued)

    done = crm(any_db, "merge", "company", str(keep), str(other))
    assert done.exit_code == 0, done.output
    assert "kept archived" in done.stderr
    assert Invoice.get_by_id(issued).company_id == other
    assert Invoice.get_by_id(made["draft"]).company_id == keep
    assert Company.get_or_none(Company.id == other) is not None
    shown = crm(any_db, "show", "company", str(other), "--json")
    assert json.loads(shown.stdout)["id"] == other
    assert f"was merged into company {keep}" in shown.stderr and "archived" in shown.stderr
    # Merging into the archived record is refused: the kept one is named instead.
    again = crm(any_db, "merge", "company", str(other), str(keep))
    assert again.exit_code == 1 and "merged into another record" in again.stderr


def test_merging_leads_redirects_the_old_id_and_its_mail(any_world, any_db):
    ids = seed_leads(any_world)
    admin = any_world.session("admin")
    keep, other = ids["Ann Alpha"], ids["Cid Gamma"]
    get_kind("lead").update(admin, other, {"mail_opt_out": "yes"})
    done = crm(any_db, "merge", "lead", str(keep), str(other))
    assert done.exit_code == 0, done.output
    assert Lead.get_or_none(Lead.id == other) is None
    texts = [a.text for a in LeadActivity.select().where(LeadActivity.lead == keep)]
    assert f"merged lead #{other} 'Cid Gamma' into this lead" in texts
    differing = next(t for t in texts if t.startswith("Merged lead"))
    assert "full_name: Cid Gamma" in differing and "estimated_sale: 5000.00" in differing
    assert Redirect.get(Redirect.kind == "lead", Redirect.old_id == other).new_id == keep
    assert history.of_record(admin, "lead", keep)[-1]["action"] == "merge"
    # Who opted out of mail on either record has opted out on the merged one.
    assert Lead.get_by_id(keep).mail_opt_out

    shown = crm(any_db, "show", "lead", str(other), "--json")
    assert shown.exit_code == 0 and json.loads(shown.stdout)["id"] == keep
    assert f"lead {other} was merged into lead {keep}" in shown.stderr
    # A reply carrying the merged lead's token is filed on the kept lead.
    sender = Lead.get_by_id(keep).email_key or "user1@example.com"
    parsed = parse_message(raw_mail(subject=f"Re: [Lead#{other}] offer", sender=sender),
                           max_bytes=1_000_000)
    assert mail_filing.route(parsed).lead_id == keep


def test_merging_contacts_keeps_the_differences_in_the_description(any_world, any_db):
    admin = any_world.session("admin")
    contact = get_kind("contact")
    company = str(any_world.cid("Customer #A"))
    keep = contact.create(admin, {"full_name": "Ana Ruiz", "email": "ana@a.example",
                                  "company": company})
    other = contact.create(admin, {"full_name": "Ana Ruiz", "email": "ana.ruiz@a.example",
                                   "phone": "555 1234", "company": company})
    done = crm(any_db, "merge", "contact", str(keep), str(other))
    assert done.exit_code == 0, done.output
    row = contact.get(admin, keep)
    assert row["phone"] == "555 1234"
    assert "email: ana.ruiz@a.example" in row["description"]
    assert Contact.get_or_none(Contact.id == other) is None
    shown = crm(any_db, "show", "contact", str(other))
    assert shown.exit_code == 0 and "ana@a.example" in shown.stdout


def test_merge_needs_write_on_both_and_a_hidden_record_reads_as_missing(any_world, any_db):
    ids = seed_leads(any_world)
    before = Lead.select().count()
    # Ben Beta (Customer #B) is visible to user1 but not his to change.
    refused = crm(any_db, "merge", "lead", str(ids["Ann Alpha"]), str(ids["Ben Beta"]),
                  user="user1")
    assert refused.exit_code == 3, refused.output
    # user2 sees no lead: a real one and a missing one get the same answer.
    hidden = crm(any_db, "merge", "company", str(any_world.cid("Customer #A")),
                 str(any_world.cid("Customer #B")), user="user2")
    missing = crm(any_db, "merge", "company", str(any_world.cid("Customer #A")), "987654",
                  user="user2")
    assert hidden.exit_code == missing.exit_code == 1
    assert hidden.stderr.replace(str(any_world.cid("Customer #B")), "N") == \
        missing.stderr.replace("987654", "N")
    itself = crm(any_db, "merge", "lead", str(ids["Ann Alpha"]), str(ids["Ann Alpha"]))
    assert itself.exit_code == 1 and "into itself" in itself.stderr
    wrong = crm(any_db, "merge", "invoice", "1", "2")
    assert wrong.exit_code == 2
    assert Lead.select().count() == before
