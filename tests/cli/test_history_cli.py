"""Every change is recorded with who, when, which face and each field's old and new value;
`crm history` shows it to whoever may view the record; `--if-unchanged-since` refuses a
script's change of a field someone else changed."""

from __future__ import annotations

import json

from crm_tui.errors import Conflict, NotFound
from crm_tui.services import history
from crm_tui.services.records import get_kind


def test_create_change_delete_are_recorded_with_old_and_new_values(any_world):
    admin = any_world.session("admin")
    company = get_kind("company")
    cid = company.create(admin, {"name": "Acme", "country": "Spain",
                                 "custom.Office Phone": "555"})
    company.update(admin, cid, {"country": "France", "website": "acme.example"})
    company.update(admin, cid, {"country": "France"})  # no change: no history row
    entries = history.of_record(admin, "company", cid)
    assert [e["action"] for e in entries] == ["create", "change"]
    created, changed = entries
    assert created["user"] == "admin" and created["face"] == "cli"
    assert created["changes"]["name"] == [None, "Acme"]
    assert created["changes"]["custom.Office Phone"] == [None, "555"]
    assert changed["changes"] == {"country": ["Spain", "France"],
                                  "website": [None, "acme.example"]}
    company.delete(admin, cid)
    rows = history.of_user(admin, "admin", None)
    deleted = [e for e in rows if e["action"] == "delete" and e["id"] == cid]
    assert deleted and deleted[0]["changes"]["name"] == ["Acme", None]


def test_secrets_are_recorded_as_changed_never_with_their_value(any_world):
    admin = any_world.session("admin")
    get_kind("user").update(admin, "user1", {"password": "s3cret-new"})
    entries = history.of_record(admin, "user", any_world.users["user1"])
    assert entries[-1]["changes"] == {"password": [history.SECRET, history.SECRET]}
    assert "s3cret" not in json.dumps(entries)


def test_history_is_visible_to_whoever_may_view_the_record(any_world):
    cid = any_world.cid("Customer #A")
    get_kind("company").update(any_world.session("user1"), cid, {"country": "Peru"})
    assert history.of_record(any_world.session("manager1"), "company", cid)[-1]["user"] \
        == "user1"
    try:
        history.of_record(any_world.session("user2"), "company", cid)
    except NotFound as refused:
        hidden = str(refused)
    try:
        history.of_record(any_world.session("user2"), "company", 999999)
    except NotFound as refused:
        missing = str(refused)
    assert hidden.replace(str(cid), "N") == missing.replace("999999", "N")


def test_a_change_of_a_field_changed_since_is_refused_naming_who(any_world):
    cid = any_world.cid("Customer #B")
    company = get_kind("company")
    opened = any_world.clock.now()
    any_world.clock.at = opened.replace(minute=opened.minute + 1)
    company.update(any_world.session("manager1"), cid, {"country": "Chile"})
    # Another field is still free to change.
    company.update(any_world.session("admin"), cid, {"website": "b.example"},
                   unchanged_since=opened)
    try:
        company.update(any_world.session("admin"), cid, {"country": "Peru"},
                       unchanged_since=opened)
    except Conflict as refused:
        assert "changed by manager1 at" in str(refused)
        assert "since you opened it" in str(refused)
    else:
        raise AssertionError("the stale change was applied")
    assert company.get(any_world.session("admin"), cid)["country"] == "Chile"


def test_crm_history_and_if_unchanged_since(crm_db, run_crm):
    added = run_crm("add", "company", "name=Acme", "country=Spain", db=crm_db)
    cid = added.stdout.strip()
    assert run_crm("set", "company", cid, "country=France", db=crm_db).returncode == 0
    shown = run_crm("history", "company", cid, "--json", db=crm_db)
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)
    assert entries[-1]["changes"] == {"country": ["Spain", "France"]}
    text = run_crm("history", "company", cid, db=crm_db).stdout
    assert "country: 'Spain' -> 'France'" in text
    stale = run_crm("set", "company", cid, "country=Peru",
                    "--if-unchanged-since", "2000-01-01 00:00:00", db=crm_db)
    assert stale.returncode == 1
    assert "changed by admin at" in stale.stderr
    fresh = run_crm("set", "company", cid, "country=Peru",
                    "--if-unchanged-since", "2999-01-01 00:00:00", db=crm_db)
    assert fresh.returncode == 0, fresh.stderr
    audit = json.loads(run_crm("history", "--user", "admin", "--since", "2000-01-01",
                               "--json", db=crm_db).stdout)
    assert {e["action"] for e in audit} >= {"create", "change"}
    bad = run_crm("history", "--user", "admin", "--since", "yesterday", db=crm_db)
    assert bad.returncode == 1 and "--since" in bad.stderr


def test_an_audit_shows_only_the_records_the_auditor_may_view(any_db, any_world, run_crm):
    admin = any_world.session("admin")
    at_a, at_b = any_world.cid("Customer #A"), any_world.cid("Customer #B")
    company = get_kind("company")
    company.update(any_world.session("manager1"), at_b, {"country": "Chile"})
    contact = get_kind("contact").create(admin, {"full_name": "Al", "email": "al@a.example",
                                                 "company": str(at_a)})
    get_kind("contact").update(any_world.session("manager1"), contact, {"phone": "+1 5"})
    gone = company.create(any_world.session("manager1"), {
        "name": "Short-lived", "parent": str(at_b), "manager": "manager1"})
    company.delete(admin, gone)

    def audit(login: str | None) -> list[tuple[str, int]]:
        args = ("--user", login) if login else ()
        env = {"CRM_PASSWORD": f"{login}-pw"} if login else None
        done = run_crm(*args, "history", "--user", "manager1", "--since", "2000-01-01",
                       "--json", db=any_db, env=env)
        assert done.returncode == 0, done.stderr
        return sorted({(e["kind"], e["id"]) for e in json.loads(done.stdout)})

    # The superadmin sees every change, the deleted company's too.
    assert audit(None) == sorted([("company", at_b), ("contact", contact), ("company", gone)])
    # user1 views Customer #A and #B and their contacts, not a deleted company; user2 (a
    # support operator without CRM rights) none of them: his audit is empty, not refused.
    assert audit("user1") == sorted([("company", at_b), ("contact", contact)])
    assert audit("user2") == []
