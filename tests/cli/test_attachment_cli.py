"""`crm attachment list|save`: the files of a record, and copies of them on this machine."""

from __future__ import annotations

import json
import os

from crm_tui.services import attachments, leads
from tests.unit.lead_world import seed_leads


def test_list_shows_a_leads_files_with_their_timeline_entries(world, crm_db, run_crm):
    ids = seed_leads(world)
    user1 = world.session("user1")
    lead = ids["Cid Gamma"]
    own = attachments.add(user1, "lead", lead, "brief.txt", b"brief")
    entry = leads.attach_file(user1, lead, "offer.pdf", b"%PDF-offer")

    result = run_crm("--user", "user1", "attachment", "list", "lead", str(lead), "--json",
                     db=crm_db)
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)
    assert [(f["id"], f["name"], f["size"], f["entry"]) for f in files] == [
        (own, "brief.txt", 5, None), (own + 1, "offer.pdf", 10, entry)]

    table = run_crm("attachment", "list", "lead", str(lead), db=crm_db)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "SIZE", "CREATED", "AUTHOR", "FROM"]
    assert "brief.txt" in lines[1] and lines[1].rstrip().endswith("lead")
    assert "offer.pdf" in lines[2] and lines[2].rstrip().endswith(f"activity {entry}")

    hidden = run_crm("--user", "user2", "attachment", "list", "lead", str(lead), db=crm_db)
    assert hidden.returncode == 1 and hidden.stdout == ""
    assert hidden.stderr == f"crm: error: lead {lead} does not exist\n"


def test_save_writes_a_copy_and_refuses_to_replace_without_force(world, crm_db, run_crm,
                                                                   tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #B"), "../terms.txt",
                          b"terms v2")
    out = tmp_path / "out"
    out.mkdir()

    saved = run_crm("--user", "user1", "attachment", "save", str(att), "-o", str(out),
                    db=crm_db)
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout.strip() == str(out / "terms.txt")
    assert (out / "terms.txt").read_bytes() == b"terms v2"

    (out / "terms.txt").write_bytes(b"my notes")
    again = run_crm("attachment", "save", str(att), "-o", str(out / "terms.txt"), db=crm_db)
    assert again.returncode == 1 and again.stdout == ""
    assert again.stderr.splitlines() == [
        f"crm: error: file {out / 'terms.txt'} already exists; --force replaces it"]
    assert (out / "terms.txt").read_bytes() == b"my notes"

    forced = run_crm("attachment", "save", str(att), "-o", str(out), "--force", db=crm_db)
    assert forced.returncode == 0, forced.stderr
    assert (out / "terms.txt").read_bytes() == b"terms v2"
    assert os.listdir(out) == ["terms.txt"]


def test_save_errors_are_one_line_with_their_exit_codes(world, crm_db, run_crm, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("My company"), "x.txt", b"x")

    missing_dir = run_crm("attachment", "save", str(att), "-o", str(tmp_path / "no" / "x"),
                          db=crm_db)
    assert missing_dir.returncode == 1
    assert missing_dir.stderr.splitlines() == [
        f"crm: error: attachment {att}: field file: value '{tmp_path / 'no' / 'x'}': "
        f"directory {tmp_path / 'no'} does not exist"]
    hidden = run_crm("--user", "user1", "attachment", "save", str(att), "-o", str(tmp_path),
                     db=crm_db)
    assert hidden.returncode == 1
    assert hidden.stderr.splitlines() == [f"crm: error: attachment {att} does not exist"]
    unknown = run_crm("attachment", "save", "999", "-o", str(tmp_path), db=crm_db)
    assert unknown.returncode == 1
    assert unknown.stderr.splitlines() == ["crm: error: attachment 999 does not exist"]
    assert sorted(os.listdir(tmp_path)) == ["data"]
