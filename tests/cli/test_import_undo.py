"""Every import is a batch; `crm import undo BATCH` takes it back while nothing it created
was used since, and says which records stop it (on both backends)."""

from __future__ import annotations

import json
import re

from crm_tui.models import Company

ROWS = ("Undo One,,,Spain,,,,,admin,,\n"
        "Undo Two,,,Spain,,,,,admin,,\n")


def _import(run_crm, any_db, tmp_path, rows=ROWS) -> int:
    path = tmp_path / "companies.csv"
    path.write_text(rows, encoding="utf-8")
    result = run_crm("import", "companies", str(path), db=any_db)
    assert result.returncode == 0, result.stderr
    found = re.search(r"batch (\d+) \(crm import undo \1", result.stdout)
    assert found, result.stdout
    return int(found.group(1))


def test_an_import_is_listed_and_can_be_taken_back(any_world, run_crm, any_db, tmp_path):
    batch = _import(run_crm, any_db, tmp_path)
    listed = json.loads(run_crm("import", "list", "--json", db=any_db).stdout)
    assert listed[0]["batch"] == batch and listed[0]["created"] == 2
    assert listed[0]["kind"] == "company" and listed[0]["undone"] is None
    undone = run_crm("import", "undo", str(batch), db=any_db)
    assert undone.returncode == 0, undone.stderr
    assert "2 records removed" in undone.stderr
    assert not Company.select().where(Company.name.startswith("Undo ")).exists()
    again = run_crm("import", "undo", str(batch), db=any_db)
    assert again.returncode == 1 and "already undone" in again.stderr
    history = json.loads(run_crm("history", "--user", "admin", "--json", db=any_db).stdout)
    assert [e["action"] for e in history if e["face"] == "import"].count("delete") == 2


def test_a_record_used_since_stops_the_undo_and_is_named(any_world, run_crm, any_db, tmp_path):
    batch = _import(run_crm, any_db, tmp_path)
    one = Company.get(Company.name == "Undo One").id
    two = Company.get(Company.name == "Undo Two").id
    assert run_crm("add", "contact", "full_name=Ana", "email=ana@example.com",
                   f"company={one}", db=any_db).returncode == 0
    assert run_crm("set", "company", str(two), "country=Chile", db=any_db).returncode == 0
    refused = run_crm("import", "undo", str(batch), db=any_db)
    assert refused.returncode == 1
    lines = refused.stderr.splitlines()
    assert len(lines) == 2
    assert f"company #{one}" in lines[0] and "used by a contact" in lines[0]
    assert f"company #{two}" in lines[1] and "changed since by admin" in lines[1]
    assert Company.select().where(Company.name.startswith("Undo ")).count() == 2


def test_parents_and_children_of_one_file_go_together(any_world, run_crm, any_db, tmp_path):
    header = ("name,address,fiscal_id,country,website,comments,id_company_role,id_parent,"
              "manager,last_update,payment_conditions,billing,id\n")
    rows = header + "Undo Parent,,,,,,,,admin,,,,1\nUndo Child,,,,,,,1,admin,,,,2\n"
    batch = _import(run_crm, any_db, tmp_path, rows)
    assert Company.get(Company.name == "Undo Child").parent.name == "Undo Parent"
    assert run_crm("import", "undo", str(batch), db=any_db).returncode == 0
    assert not Company.select().where(Company.name.startswith("Undo ")).exists()


def test_another_users_batch_answers_like_a_missing_one(any_world, run_crm, any_db, tmp_path):
    batch = _import(run_crm, any_db, tmp_path)
    env = {"CRM_PASSWORD": "manager1-pw"}
    theirs = run_crm("--user", "manager1", "import", "undo", str(batch), db=any_db, env=env)
    missing = run_crm("--user", "manager1", "import", "undo", "999", db=any_db, env=env)
    assert theirs.returncode == missing.returncode == 1
    assert theirs.stderr.replace(str(batch), "N") == missing.stderr.replace("999", "N")
    assert json.loads(run_crm("--user", "manager1", "import", "list", "--json", db=any_db,
                              env=env).stdout) == []
