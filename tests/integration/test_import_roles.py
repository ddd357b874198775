"""An operator on PostgreSQL with a role of his own imports leads with `--on-duplicate
update` and takes the import back: the history rows carry the batch from the start (the
server lets no role change them afterwards)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from tests.integration import test_row_security as rows
from tests.integration.test_row_security import Team, _crm, psql

#: The seeded team of the row-level security tests (its own copy for this module).
team = rows.team


def crm(team: Team, login: str, *args: str, tmp_path: Path):
    return _crm(*args, db=team.urls[login], data_dir=tmp_path)


def owner_value(team: Team, statement: str) -> str:
    done = psql(team.owner_url, statement)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_an_operator_updates_his_leads_by_import_and_takes_it_back(team: Team,
                                                                    tmp_path: Path):
    made = crm(team, "sales2", "add", "lead", "full_name=Ivy Import",
               "email=ivy@example.com", "phone=111", tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    lead = made.stdout.strip()
    path = tmp_path / "leads.csv"
    exported = crm(team, "sales2", "export", "leads", "-o", str(path), "--filter",
                   "email=ivy@example.com", tmp_path=tmp_path)
    assert exported.returncode == 0, exported.stderr
    found = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert [row["id"] for row in found] == [lead]
    found[0]["phone"] = "222"
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(found[0]))
        writer.writeheader()
        writer.writerows(found)
    done = crm(team, "sales2", "import", "leads", str(path), "--on-duplicate", "update",
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "updated 1" in done.stdout
    batch = re.search(r"batch (\d+)", done.stdout).group(1)
    assert owner_value(team, f"SELECT phone FROM lead WHERE id = {lead}") == "222"
    assert owner_value(team, "SELECT action || ' ' || face FROM history "
                             f"WHERE batch = {batch}") == "change import"
    undone = crm(team, "sales2", "import", "undo", batch, tmp_path=tmp_path)
    assert undone.returncode == 0, undone.stderr
    assert "1 records restored" in undone.stderr
    assert owner_value(team, f"SELECT phone FROM lead WHERE id = {lead}") == "111"
    # Once more (222 again), then unchanged: a batch that did nothing is not kept.
    for expected in ("updated 1", "updated 0 (1 unchanged)"):
        again = crm(team, "sales2", "import", "leads", str(path), "--on-duplicate", "update",
                    tmp_path=tmp_path)
        assert again.returncode == 0, again.stderr
        assert expected in again.stdout
