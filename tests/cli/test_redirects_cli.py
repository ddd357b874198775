"""An id merged away still names the record it was merged into wherever a command takes a
KIND ID (`crm set`, `crm history`, `crm note add`, ...), saying on stderr which record it used,
except `crm delete`, which refuses it; one the user may not see reads as no record at all
(both backends)."""

from __future__ import annotations

import json

from crm_tui.models import CompanyActivity, Contact, LeadActivity
from crm_tui.services import merging
from crm_tui.services.records import get_kind


def _merged(world, kind: str) -> tuple[int, int]:
    """Two records of `kind` at Customer #B (manager1's), the second merged into the
    first: (kept id, merged-away id)."""
    admin = world.session("admin")
    company = str(world.cid("Customer #B"))
    raw = {
        "company": lambda n: {"name": f"Merge {n}", "parent": str(world.cid("My company")),
                              "manager": "manager1"},
        "contact": lambda n: {"full_name": f"Mia {n}", "email": f"mia{n}@m.example",
                              "company": company},
        "lead": lambda n: {"full_name": f"Leo {n}", "email": f"leo{n}@m.example",
                           "company": company},
    }[kind]
    keep = get_kind(kind).create(admin, raw(1))
    other = get_kind(kind).create(admin, raw(2))
    merging.merge(admin, kind, keep, other)
    return keep, other


def test_set_history_and_note_follow_a_merged_id_and_delete_refuses_it(any_db, any_world, run_crm):
    keep, other = _merged(any_world, "contact")
    said = f"crm: contact {other} was merged into contact {keep}; using contact {keep}"

    changed = run_crm("set", "contact", str(other), "phone=+34 611", db=any_db)
    assert changed.returncode == 0, changed.stderr
    assert changed.stderr.strip() == said
    assert Contact.get_by_id(keep).phone == "+34 611"

    shown = run_crm("history", "contact", str(other), "--json", db=any_db)
    assert shown.returncode == 0, shown.stderr
    assert said in shown.stderr
    entries = json.loads(shown.stdout)
    assert {e["id"] for e in entries} == {keep}
    assert [e["action"] for e in entries][-2:] == ["merge", "change"]

    # A delete never follows the merge: the kept record is not the one the id named.
    refused = run_crm("delete", "contact", str(other), db=any_db)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"crm: error: contact {other} was merged into contact {keep}; nothing was deleted "
        f"(delete contact {keep} itself if that is what you mean)")
    assert Contact.get_or_none(Contact.id == keep) is not None


def test_notes_follow_merged_companies_and_leads(any_db, any_world, run_crm):
    for kind, model, owner in (("company", CompanyActivity, CompanyActivity.company),
                               ("lead", LeadActivity, LeadActivity.lead)):
        keep, other = _merged(any_world, kind)
        noted = run_crm("note", "add", kind, str(other), "called about the merge", db=any_db)
        assert noted.returncode == 0, noted.stderr
        assert f"{kind} {other} was merged into {kind} {keep}" in noted.stderr
        note = model.get_by_id(int(noted.stdout))
        assert getattr(note, owner.name + "_id") == keep


def test_a_merged_id_the_user_may_not_see_reads_as_no_record(any_db, any_world, run_crm):
    keep, other = _merged(any_world, "contact")
    env = {"CRM_PASSWORD": "user2-pw"}  # user2 sees nothing of Customer #B
    for args in (("set", "contact", "{}", "phone=1"), ("delete", "contact", "{}"),
                 ("history", "contact", "{}")):
        merged = run_crm("--user", "user2", *(a.format(other) for a in args), db=any_db,
                         env=env)
        missing = run_crm("--user", "user2", *(a.format(999999) for a in args), db=any_db,
                          env=env)
        assert merged.returncode == missing.returncode != 0
        assert merged.stderr.replace(str(other), "N") == missing.stderr.replace("999999", "N")
        assert str(keep) not in merged.stderr
    assert Contact.get_by_id(keep).phone in (None, "")


def test_attach_privacy_and_convert_follow_a_merged_id(any_db, any_world, run_crm, tmp_path):
    from crm_tui.models import WON_STATUS, Attachment, Lead

    keep, other = _merged(any_world, "lead")
    said = f"crm: lead {other} was merged into lead {keep}; using lead {keep}"
    offer = tmp_path / "offer.txt"
    offer.write_text("an offer")
    attached = run_crm("attach", "lead", str(other), str(offer), db=any_db)
    assert attached.returncode == 0, attached.stderr
    assert said in attached.stderr
    row = Attachment.get_by_id(int(attached.stdout))
    assert (row.owner_kind, row.owner_id) == ("lead", keep)

    exported = run_crm("privacy", "export", "lead", str(other), "--out",
                       str(tmp_path / "out"), db=any_db)
    assert exported.returncode == 0, exported.stderr
    assert said in exported.stderr
    data = json.loads((tmp_path / "out" / "data.json").read_text())
    assert "leo1@m.example" in json.dumps(data)  # the kept lead's data

    Lead.update(company_name="Leo Ltd").where(Lead.id == keep).execute()
    converted = run_crm("lead", "convert", str(other), db=any_db)
    assert converted.returncode == 0, converted.stderr
    assert said in converted.stderr
    lead = Lead.get_by_id(keep)
    assert (lead.status, lead.company.name) == (WON_STATUS, "Leo Ltd")
