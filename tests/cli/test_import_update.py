"""`crm import KIND FILE --on-duplicate update`: an export re-imported into the same database
updates its records in place by id (keeping their dates), other rows update the record the
duplicate rule finds, and `crm import undo` restores the old values — on both backends."""

from __future__ import annotations

import csv
import io
import json
import re

from click.testing import CliRunner

from crm_tui.models import Company, Contact, History, ImportBatch, Lead
from crm_tui.services.records import get_kind


def crm(db: str, *args: str, user: str | None = None, env: dict | None = None):
    from crm_tui import db as connection
    from crm_tui.cli import cli

    head = ["--db", db] + (["--user", user] if user else [])
    try:
        return CliRunner().invoke(cli, [*head, *args], env=env or {})
    finally:
        connection.close_database()


def _export(db: str, kind: str, path) -> list[dict[str, str]]:
    result = crm(db, "export", kind, "-o", str(path))
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _write(path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _batch(output: str) -> int:
    found = re.search(r"batch (\d+) \(crm import undo \1", output)
    assert found, output
    return int(found.group(1))


def _leads(world) -> list[int]:
    admin = world.session("admin")
    lead = get_kind("lead")
    return [lead.create(admin, {"full_name": f"Lead {n}", "email": f"lead{n}@example.com",
                                "company_name": "Acme", "phone": "555-000"})
            for n in range(3)]


def test_every_export_carries_the_id_and_the_dates_it_keeps(any_world, any_db, tmp_path):
    admin = any_world.session("admin")
    company = any_world.cid("Customer #A")
    get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@example.com",
                                       "company": str(company)})
    _leads(any_world)
    expected = {"companies": {"id", "created", "last_update"},
                "contacts": {"id", "created", "updated"},
                "leads": {"id", "created", "updated"}}
    for kind, wanted in expected.items():
        rows = _export(any_db, kind, tmp_path / f"{kind}.csv")
        assert rows and wanted <= set(rows[0]), (kind, list(rows[0]))
        assert all(row["id"].isdigit() for row in rows)
    contract = get_kind("contract").create(admin, {"name": "C1", "company": str(company),
                                                   "date_begin": "2026-01-01"})
    rows = _export(any_db, "contracts", tmp_path / "contracts.csv")
    assert [row["id"] for row in rows] == [str(contract)]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0]["created"])
    assert rows[0]["updated"] == rows[0]["created"]


def test_an_export_reimported_updates_its_leads_in_place(any_world, any_db, tmp_path):
    ids = _leads(any_world)
    path = tmp_path / "leads.csv"
    rows = _export(any_db, "leads", path)
    before = {lead.id: (lead.created, lead.updated) for lead in Lead.select()}
    same = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update")
    assert same.exit_code == 0, same.output
    assert "created 0 leads from 3 rows, updated 0 (3 unchanged)" in same.stdout
    assert "batch" not in same.stdout and ImportBatch.select().count() == 0
    # The email (the duplicate rule's key) changes too: the id and creation date decide.
    rows[1]["email"] = "fixed@example.com"
    rows[1]["phone"] = "555-111"
    _write(path, rows)
    dry = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"would update lead #{ids[1]} 'Lead 1': email, phone" in dry.stdout
    assert f"lead #{ids[0]} 'Lead 0' unchanged" in dry.stdout
    assert Lead.get_by_id(ids[1]).email == "lead1@example.com"
    done = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert "created 0 leads from 3 rows, updated 1 (2 unchanged)" in done.stdout
    assert Lead.select().count() == 3
    changed = Lead.get_by_id(ids[1])
    assert (changed.email, changed.phone) == ("fixed@example.com", "555-111")
    assert changed.created == before[ids[1]][0]
    for other in (ids[0], ids[2]):  # unchanged rows keep both dates
        lead = Lead.get_by_id(other)
        assert (lead.created, lead.updated) == before[other]
    batch = _batch(done.stdout)
    entries = list(History.select().where(History.batch == batch))
    assert [(e.record_id, e.action, e.face) for e in entries] == [(ids[1], "change", "import")]
    assert entries[0].change_data["email"] == ["lead1@example.com", "fixed@example.com"]
    listed = json.loads(crm(any_db, "import", "list", "--json").stdout)
    assert (listed[0]["batch"], listed[0]["created"], listed[0]["updated"]) == (batch, 0, 1)
    undone = crm(any_db, "import", "undo", str(batch))
    assert undone.exit_code == 0, undone.output
    assert "1 records restored" in undone.stderr
    back = Lead.get_by_id(ids[1])
    assert (back.email, back.phone) == ("lead1@example.com", "555-000")


def test_ids_of_another_database_only_link_rows_and_the_rule_decides(any_world, any_db,
                                                                    tmp_path):
    ids = _leads(any_world)
    path = tmp_path / "leads.csv"
    rows = _export(any_db, "leads", path)
    # As if from another database: the ids name other records here (or none), the creation
    # dates differ. Lead 0's email finds it by the rule; "New" resembles nothing.
    rows[0].update(id=str(ids[2]), created="2020-01-01 00:00:00", position="Boss")
    new = dict(rows[2], id=str(ids[0]), created="2020-01-01 00:00:00",
               full_name="New", email="new@example.com", company_name="Other")
    _write(path, [rows[0], new])
    done = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert "created 1 lead from 2 rows, updated 1" in done.stdout
    assert Lead.get_by_id(ids[0]).position == "Boss"
    assert Lead.get_by_id(ids[2]).position == ""
    assert Lead.select().where(Lead.email == "new@example.com").count() == 1
    # Undo takes back both: the created lead goes, the updated one gets its old value.
    assert crm(any_db, "import", "undo", str(_batch(done.stdout))).exit_code == 0
    assert not Lead.select().where(Lead.email == "new@example.com").exists()
    assert Lead.get_by_id(ids[0]).position == ""


def test_companies_update_by_id_and_the_rule_instead_of_refusing_the_name(any_world,
                                                                          any_db, tmp_path):
    path = tmp_path / "companies.csv"
    rows = _export(any_db, "companies", path)
    for row in rows:
        row["country"] = "Chile"
    _write(path, rows)
    refused = crm(any_db, "import", "companies", str(path))
    assert refused.exit_code == 1 and "already has it" in refused.stderr
    done = crm(any_db, "import", "companies", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert f"updated {len(rows)}" in done.stdout
    assert {c.country for c in Company.select()} == {"Chile"}
    parent = Company.get_by_id(any_world.cid("Customer #A")).parent_id
    assert parent == any_world.cid("My company")


def test_a_contact_resembling_two_records_or_one_not_yours_is_refused(any_world, any_db,
                                                                       tmp_path):
    admin = any_world.session("admin")
    own = str(any_world.cid("Customer #A"))
    mine = get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@example.com",
                                              "company": own})
    path = tmp_path / "contacts.csv"
    path.write_text("full_name,email,company\nAna Two,ANA@example.com," + own + "\n",
                    encoding="utf-8")
    theirs = crm(any_db, "--user", "user2", "import", "contacts", str(path), "--on-duplicate",
                 "update", env={"CRM_PASSWORD": "user2-pw"})
    assert theirs.exit_code in (1, 3)
    done = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert Contact.get_by_id(mine).full_name == "Ana Two"
    get_kind("contact").create(admin, {"full_name": "Ana Copy", "email": "ana@example.com",
                                       "company": own})
    twice = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "update")
    assert twice.exit_code == 1
    assert "line 2" in twice.stderr and "give the id of the one to update" in twice.stderr
    assert ImportBatch.select().count() == 1


def test_an_update_changed_again_since_stops_the_undo(any_world, any_db, tmp_path):
    ids = _leads(any_world)
    path = tmp_path / "leads.csv"
    rows = _export(any_db, "leads", path)
    rows[0]["position"] = "Boss"
    _write(path, rows)
    done = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert crm(any_db, "set", "lead", str(ids[0]), "phone=555-999").exit_code == 0
    refused = crm(any_db, "import", "undo", str(_batch(done.stdout)))
    assert refused.exit_code == 1
    assert f"lead #{ids[0]}" in refused.stderr and "changed since by admin" in refused.stderr
    lead = Lead.get_by_id(ids[0])
    assert (lead.position, lead.phone) == ("Boss", "555-999")


def test_contracts_update_by_id_and_creation_date(any_world, any_db, tmp_path):
    admin = any_world.session("admin")
    company = str(any_world.cid("Customer #A"))
    contract = get_kind("contract")
    first = contract.create(admin, {"name": "C1", "company": company,
                                    "date_begin": "2026-01-01"})
    second = contract.create(admin, {"name": "C2", "company": company,
                                     "date_begin": "2026-01-01",
                                     "related_contract": str(first)})
    path = tmp_path / "contracts.csv"
    rows = _export(any_db, "contracts", path)
    rows[1]["description"] = "Renewed"
    rows.append(dict(rows[0], name="C3", id="999", related_contract=rows[1]["id"]))
    _write(path, rows)
    done = crm(any_db, "import", "contracts", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert "created 1 contract from 3 rows, updated 1 (1 unchanged)" in done.stdout
    from crm_tui.models import Contract

    assert Contract.get_by_id(second).description == "Renewed"
    assert Contract.get_by_id(second).related_contract_id == first
    # The new row's reference to a row of the file that updated a record points at it.
    assert Contract.get(Contract.name == "C3").related_contract_id == second


def test_a_large_lead_file_is_checked_by_the_duplicate_rule_in_one_go(any_world, any_db,
                                                                      tmp_path):
    # 450 rows with company and name: the rule's lookups go 200 pairs at a time, joined by
    # OR (a chain that deep once overflowed SQLite's parser stack).
    lead = get_kind("lead")
    admin = any_world.session("admin")
    lead.create(admin, {"full_name": "Person 7", "company_name": "Firm 7"})
    path = tmp_path / "leads.csv"
    path.write_text("full_name,company_name\n" + "".join(
        f"Person {n},Firm {n}\n" for n in range(450)), encoding="utf-8")
    done = crm(any_db, "import", "leads", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert "created 449 leads from 450 rows, updated 0 (1 unchanged)" in done.stdout
    assert Lead.select().count() == 450


def test_contacts_and_companies_are_known_by_id_and_creation_date(any_world, any_db,
                                                                 tmp_path):
    admin = any_world.session("admin")
    company = str(any_world.cid("Customer #A"))
    ana = get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@example.com",
                                             "company": company})
    path = tmp_path / "contacts.csv"
    rows = _export(any_db, "contacts", path)
    assert rows[0]["created"] == "2026-01-15 09:30:00"
    # The email is the rule's key: only the id and creation date can tell it is Ana.
    rows[0]["email"] = "ana.new@example.com"
    _write(path, rows)
    done = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert Contact.select().count() == 1
    assert Contact.get_by_id(ana).email == "ana.new@example.com"
    path = tmp_path / "companies.csv"
    rows = _export(any_db, "companies", path)
    renamed = next(row for row in rows if row["name"] == "Customer #B")
    renamed["name"] = "Customer #B (renamed)"
    _write(path, rows)
    done = crm(any_db, "import", "companies", str(path), "--on-duplicate", "update")
    assert done.exit_code == 0, done.output
    assert Company.get_by_id(any_world.cid("Customer #B")).name == "Customer #B (renamed)"
    assert Company.select().count() == 3


def test_an_update_by_the_id_of_a_hidden_record_reads_as_a_missing_one(any_world, any_db,
                                                                        tmp_path):
    admin = any_world.session("admin")
    # user1 changes Customer #A's contacts but never sees the root company's.
    hidden = get_kind("contact").create(admin, {
        "full_name": "Hidden Hugo", "email": "hugo@example.com",
        "company": str(any_world.cid("My company"))})
    answers = []
    for record_id, email in ((hidden, "hugo@example.com"), (999999, "nobody@example.com")):
        source = tmp_path / f"contacts-{record_id}.csv"
        _write(source, [{"id": str(record_id), "full_name": "Hugo Changed", "email": email,
                         "company": "Customer #A"}])
        result = crm(any_db, "--user", "user1", "import", "contacts", str(source),
                     "--on-duplicate", "update", env={"CRM_PASSWORD": "user1-pw"})
        answers.append((result.exit_code, re.sub(r"\d+", "N", result.output)))
    # Both rows are new records: the hidden id is not linked, nor named.
    assert answers[0] == answers[1], answers
    assert answers[0][0] == 0 and answers[0][1].startswith("created N contact from N rows")
    assert Contact.get_by_id(hidden).full_name == "Hidden Hugo"
