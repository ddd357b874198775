"""Deleting records takes their files along, ids are never handed out twice, and a file
that could not be written completely never stays in files/."""

from __future__ import annotations

import resource
import signal

import peewee
import pytest

from crm_tui import db, schema
from crm_tui.errors import ValidationFailed
from crm_tui.models import Attachment, Company
from crm_tui.services import attachments
from crm_tui.services.records import get_kind


def files_on_disk(data_dir) -> set[str]:
    folder = data_dir / "files"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def test_a_new_company_never_gets_a_deleted_ones_id_or_files(any_world, data_dir):
    admin = any_world.session("admin")
    company = get_kind("company")
    old = company.create(admin, {"name": "Short-lived S.L.",
                                 "parent": str(any_world.cid("My company"))})
    assert old == Company.select(peewee.fn.MAX(Company.id)).scalar()
    attachments.add(admin, "company", old, "contract.pdf", b"%PDF-old")
    assert len(files_on_disk(data_dir)) == 1

    company.delete(admin, old)
    assert files_on_disk(data_dir) == set()
    assert not Attachment.select().where(Attachment.owner_kind == "company").exists()

    new = company.create(admin, {"name": "Newcomer S.L.",
                                 "parent": str(any_world.cid("My company"))})
    assert new > old
    assert attachments.files_of(admin, "company", new) == []


def test_deleting_a_company_from_the_command_line_leaves_no_row_or_file(
        any_world, any_db, run_crm, tmp_path, data_dir):
    admin = any_world.session("admin")
    cid = get_kind("company").create(admin, {"name": "Gone Ltd",
                                             "parent": str(any_world.cid("My company"))})
    source = tmp_path / "brochure.txt"
    source.write_text("brochure")
    db.close_database()  # the commands below are other processes
    assert run_crm("attach", "company", str(cid), str(source), db=any_db).returncode == 0
    assert len(files_on_disk(data_dir)) == 1
    result = run_crm("delete", "company", str(cid), db=any_db)
    assert result.returncode == 0, result.stderr
    listed = run_crm("attachment", "list", "company", str(cid), db=any_db)
    assert listed.returncode != 0
    assert files_on_disk(data_dir) == set()
    db.open_database(any_db)
    assert Attachment.select().count() == 0


def test_a_company_with_dependants_is_refused_with_what_and_how_many(any_world, data_dir):
    user1 = any_world.session("user1")
    cid = any_world.cid("Customer #A")
    for n in range(2):
        get_kind("contact").create(user1, {"full_name": f"Person {n}",
                                           "email": f"p{n}@a.example", "company": str(cid)})
    attachments.add(user1, "company", cid, "keep.txt", b"keep")
    with pytest.raises(ValidationFailed) as refused:
        get_kind("company").delete(user1, cid)
    message = str(refused.value)
    # User #2 belongs to Customer #A; the two contacts hang off it.
    assert "1 user" in message and "2 contacts" in message
    assert "Person" not in message and "user2" not in message
    # Nothing went: the company, its file and its row are all there.
    assert Company.get_or_none(Company.id == cid) is not None
    assert len(files_on_disk(data_dir)) == 1
    assert len(attachments.files_of(user1, "company", cid)) == 1


def test_a_fresh_sqlite_database_never_reuses_ids(crm_db):
    rows = db.database.execute_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    keyed = {name: sql for name, sql in rows if '"id" INTEGER' in sql}
    assert {"company", "contact", "contract", "invoice", "lead", "attachment", "user",
            "company_activity", "lead_activity"} <= set(keyed)
    for name, sql in keyed.items():
        if name != "schema_migration":
            assert "AUTOINCREMENT" in sql, name


def test_an_older_database_keeps_every_row_and_reference(sqlite_url):
    from playhouse.migrations import Runner

    database = db.open_database(sqlite_url)
    try:
        Runner(database, directory=str(schema.MIGRATIONS_DIR),
               table_name="schema_migration").up("0006_filed_message_folder")
        run = database.execute_sql
        run("INSERT INTO company (id, name, address, fiscal_id, country, website, comments) "
            "VALUES (1, 'Root', '', '', '', '', ''), (2, 'Child', '', '', '', '', '')")
        run("UPDATE company SET parent_id = 1 WHERE id = 2")
        # A note hangs off the company by ON DELETE CASCADE: a careless rebuild drops it.
        run("INSERT INTO company_activity (company_id, author, created, text) "
            "VALUES (2, 'admin', '2026-01-01 10:00:00', 'called')")
        run("INSERT INTO contact (full_name, email, company_id, phone, mobile, position, "
            "description) VALUES ('Ana', 'ana@example.com', 2, '', '', '', '')")
        run("DELETE FROM company WHERE id = 2 AND 0")  # nothing; ids 1 and 2 stay
        assert schema.upgrade() == [n for n in schema.migration_names()
                                    if n > "0006_filed_message_folder"]
        assert run("SELECT id, name, parent_id FROM company ORDER BY id").fetchall() == [
            (1, "Root", None), (2, "Child", 1)]
        assert run("SELECT company_id, text FROM company_activity").fetchall() == [
            (2, "called")]
        assert run("SELECT full_name, company_id FROM contact").fetchall() == [("Ana", 2)]
        assert run("PRAGMA foreign_keys").fetchone()[0] == 1
        assert run("PRAGMA foreign_key_check").fetchall() == []
        # References are still enforced, and the highest id is not handed out again.
        with pytest.raises(peewee.IntegrityError):
            run("INSERT INTO contact (full_name, email, company_id, phone, mobile, position, "
                "description) VALUES ('Bo', 'bo@example.com', 99, '', '', '', '')")
        run("DELETE FROM contact")
        run("DELETE FROM company_activity")
        run("DELETE FROM company WHERE id = 2")
        run("INSERT INTO company (name, address, fiscal_id, country, website, comments) "
            "VALUES ('Next', '', '', '', '', '')")
        assert run("SELECT id FROM company WHERE name = 'Next'").fetchone()[0] == 3
    finally:
        db.close_database()


def test_a_failed_row_leaves_no_file(any_world, data_dir, monkeypatch):
    admin = any_world.session("admin")

    def refuse(*args, **kwargs):
        raise peewee.IntegrityError("refused for the test")

    monkeypatch.setattr(Attachment, "create", refuse)
    with pytest.raises(peewee.IntegrityError):
        attachments.add(admin, "company", any_world.cid("Customer #A"), "a.txt", b"data")
    assert files_on_disk(data_dir) == set()


def test_a_write_that_fails_halfway_leaves_no_file(world, data_dir):
    admin = world.session("admin")
    (data_dir / "files").mkdir(exist_ok=True)
    # A real short write: the process may not write past 4 KiB into any file (as a full
    # disk would stop it), so 64 KiB of attachment fails part way through.
    previous_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, previous_limit[1]))
    try:
        with pytest.raises(ValidationFailed) as failed:
            attachments.add(admin, "company", world.cid("Customer #A"), "big.bin",
                            b"x" * 65536)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, previous_limit)
        signal.signal(signal.SIGXFSZ, previous_handler)
    assert "big.bin" in str(failed.value) and "cannot be stored" in str(failed.value)
    assert files_on_disk(data_dir) == set()
    assert attachments.files_of(admin, "company", world.cid("Customer #A")) == []


def test_an_invoice_pdf_whose_row_fails_leaves_no_file(world, data_dir, monkeypatch):
    from crm_tui.services import documents_service

    admin = world.session("admin")
    invoice_id = get_kind("invoice").create(admin, {
        "company": str(world.cid("Customer #A")),
        "lines": [{"description": "Support", "amount": "100"}], "tax_rate": "21"})
    from crm_tui.services.invoice_issue import issue

    issue(admin, invoice_id)
    made = files_on_disk(data_dir)
    assert len(made) == 1  # the issued invoice's PDF

    def refuse(*args, **kwargs):
        raise peewee.IntegrityError("refused for the test")

    monkeypatch.setattr(Attachment, "create", refuse)
    with pytest.raises(peewee.IntegrityError):
        documents_service.refresh_invoice_pdf(admin, invoice_id)
    assert files_on_disk(data_dir) == made
