"""What only the TUI did before has a command too: notes, statistics, saved searches."""

from __future__ import annotations

import json

from crm_tui.services import saved_searches
from crm_tui.services.records import get_kind


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_note_add_and_notes_in_show_json(world, run_crm, crm_db):
    cid = str(world.cid("Customer #A"))
    added = run_crm("note", "add", "company", cid, "Called about the renewal", db=crm_db)
    assert added.returncode == 0, added.stderr
    assert added.stdout.strip().isdigit()
    shown = _json(run_crm("show", "company", cid, "--json", db=crm_db))
    assert [n["text"] for n in shown["notes"]] == ["Called about the renewal"]
    assert shown["notes"][0]["author"] == "admin"
    empty = run_crm("note", "add", "company", cid, "   ", db=crm_db)
    assert empty.returncode == 1 and "required" in empty.stderr


def test_note_add_on_a_lead_and_refusals(world, run_crm, crm_db):
    lead = get_kind("lead").create(world.session("admin"), {
        "full_name": "Ana", "email": "ana@example.com",
        "company": str(world.cid("Customer #B"))})
    added = run_crm("note", "add", "lead", str(lead), "Sent the brochure", db=crm_db)
    assert added.returncode == 0, added.stderr
    shown = _json(run_crm("show", "lead", str(lead), "--json", db=crm_db))
    assert any(e["text"] == "Sent the brochure" for e in shown["activity"])
    read_only = run_crm("--user", "user1", "note", "add", "company",
                        str(world.cid("Customer #B")), "hello", db=crm_db,
                        env={"CRM_PASSWORD": "user1-pw"})
    assert read_only.returncode == 3


def test_stats_companies_and_leads(world, run_crm, crm_db):
    admin = world.session("admin")
    for name, country in (("Ana", "Spain"), ("Bea", "Spain"), ("Cai", "Chile")):
        get_kind("lead").create(admin, {"full_name": name, "country": country,
                                        "estimated_sale": "100",
                                        "company": str(world.cid("Customer #A"))})
    charts = _json(run_crm("stats", "companies", "--json", db=crm_db))
    per_manager = next(c for c in charts if c["key"] == "per_manager")
    assert {b["label"]: b["value"] for b in per_manager["bars"]} == {
        "admin": 1, "user1": 1, "manager1": 1}
    leads = _json(run_crm("stats", "leads", "--json", db=crm_db))
    assert leads["total"] == 3
    assert {g["label"]: g["count"] for g in leads["by_country"]} == {"Spain": 2, "Chile": 1}
    spain = _json(run_crm("stats", "leads", "--json", "--filter", "country=Spain", db=crm_db))
    assert spain["total"] == 2
    text = run_crm("stats", "leads", db=crm_db)
    assert text.returncode == 0 and "Leads: 3" in text.stdout
    bad = run_crm("stats", "leads", "--filter", "nonsense=1", db=crm_db)
    assert bad.returncode == 1 and "unknown field" in bad.stderr
    usage = run_crm("stats", "companies", "--filter", "country=Spain", db=crm_db)
    assert usage.returncode == 2


def test_saved_searches_list_and_run(world, run_crm, crm_db):
    admin = world.session("admin")
    for name, country in (("Ana", "Spain"), ("Cai", "Chile")):
        get_kind("lead").create(admin, {"full_name": name, "country": country})
    saved_searches.save(admin, "Spanish leads", {"country": "Spain"})
    listed = _json(run_crm("search", "saved", "list", "--json", db=crm_db))
    assert listed == [{"name": "Spanish leads", "filters": {"country": "Spain"}}]
    rows = _json(run_crm("search", "saved", "run", "Spanish leads", "--json", db=crm_db))
    assert [r["full_name"] for r in rows] == ["Ana"]
    missing = run_crm("search", "saved", "run", "Nope", db=crm_db)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_demo_commands_work_on_the_filled_demo_database(run_crm):
    listed = run_crm("--demo", "list", "company", "--json", "--limit", "5")
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 5  # a fresh demo database, filled on first use
