"""`crm lead create|merge|duplicates` through the real command in a subprocess."""

from __future__ import annotations

from crm_tui.models import Lead, LeadActivity
from tests.unit.lead_world import seed_leads


def test_create_prints_the_id_and_warns_about_duplicates(world, crm_db, run_crm):
    seed_leads(world)
    done = run_crm("lead", "create", "--name", "Ann Alpha", "--email", "ANN@example.com",
                   "--company", "Web Co", "--country", "Spain", "--role", "CTO",
                   "--comments", "Line one\nline two", db=crm_db)
    assert done.returncode == 0, done.stderr
    lead = Lead.get_by_id(int(done.stdout.strip()))
    assert (lead.full_name, lead.email, lead.company_name, lead.country, lead.position,
            lead.description, lead.owner.login) == (
        "Ann Alpha", "ANN@example.com", "Web Co", "Spain", "CTO", "Line one\nline two", "admin")
    assert done.stderr.startswith("crm: warning: the new lead resembles lead #")
    assert "(same email)" in done.stderr


def test_no_duplicates_refuses_and_writes_nothing(world, crm_db, run_crm):
    seed_leads(world)
    before = Lead.select().count()
    done = run_crm("lead", "create", "--name", "X", "--email", "ann@example.com",
                   "--no-duplicates", db=crm_db)
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("crm: error: the lead resembles lead #")
    assert Lead.select().count() == before


def test_bad_input_and_rights(world, crm_db, run_crm):
    done = run_crm("lead", "create", "--name", "X", "--email", "nope", db=crm_db)
    assert done.returncode == 1
    assert "field email" in done.stderr and "Traceback" not in done.stderr
    done = run_crm("--user", "user2", "lead", "create", "--name", "X", "--email", "x@y.org",
                   db=crm_db)
    assert done.returncode == 3
    done = run_crm("lead", "create", "--name", "X", db=crm_db)
    assert done.returncode == 2
    assert Lead.select().count() == 0


def test_owner_option_and_merge(world, crm_db, run_crm):
    ids = seed_leads(world)
    done = run_crm("lead", "create", "--name", "Zed", "--email", "zed@example.com",
                   "--owner", "manager1", db=crm_db)
    assert done.returncode == 0, done.stderr
    new_id = int(done.stdout)
    assert Lead.get_by_id(new_id).owner.login == "manager1"
    done = run_crm("lead", "merge", str(ids["Ben Beta"]), str(new_id), db=crm_db)
    assert done.returncode == 0, done.stderr
    assert Lead.get_or_none(Lead.id == new_id) is None
    assert LeadActivity.select().where(LeadActivity.lead == ids["Ben Beta"],
                                       LeadActivity.text.contains("merged lead")).exists()
    done = run_crm("--user", "user1", "lead", "merge", str(ids["Ann Alpha"]),
                   str(ids["Ben Beta"]), db=crm_db)
    assert done.returncode == 3
    assert Lead.get_or_none(Lead.id == ids["Ben Beta"]) is not None
