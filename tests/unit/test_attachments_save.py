"""Taking files out again: `files_of` lists a record's files, `save_copy` writes a copy."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from crm_tui.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm_tui.models import Attachment
from crm_tui.services import attachments, leads
from tests.unit.lead_world import seed_leads


def test_files_of_a_lead_include_its_timeline_files(any_world):
    ids = seed_leads(any_world)
    user1 = any_world.session("user1")
    lead = ids["Cid Gamma"]
    own = attachments.add(user1, "lead", lead, "brief.txt", b"brief")
    entry = leads.attach_file(user1, lead, "offer.pdf", b"%PDF-offer")
    attachments.add(user1, "lead", ids["Ann Alpha"], "other.txt", b"not this lead's")

    files = attachments.files_of(user1, "lead", lead)
    assert [(f["name"], f["entry"]) for f in files] == [("brief.txt", None),
                                                         ("offer.pdf", entry)]
    assert files[0]["id"] == own and files[0]["size"] == 5
    # The shape of list_for, plus where each file comes from.
    listed = attachments.list_for(user1, "lead", lead)
    assert set(files[0]) == set(listed[0]) | {"entry"}


def test_files_of_checks_access_and_kind(world):
    admin = world.session("admin")
    b_id, root = world.cid("Customer #B"), world.cid("My company")
    attachments.add(admin, "company", b_id, "terms.txt", b"terms")
    attachments.add(admin, "company", root, "secret.txt", b"secret")

    # user1 sees Customer #B read-only: he may list and copy its files.
    assert [f["name"] for f in attachments.files_of(world.session("user1"), "company", b_id)] \
        == ["terms.txt"]
    # A unique title names the record too.
    assert len(attachments.files_of(admin, "company", "Customer #B")) == 1
    with pytest.raises((PermissionDenied, NotFound)):
        attachments.files_of(world.session("user1"), "company", root)
    with pytest.raises((PermissionDenied, NotFound)):
        attachments.files_of(world.session("user2"), "company", b_id)
    with pytest.raises(NotFound):
        attachments.files_of(admin, "company", 9999)
    with pytest.raises(ValidationFailed, match="kind"):
        attachments.files_of(admin, "lead_activity", 1)


def test_save_copy_writes_the_stored_bytes(world, tmp_path):
    admin = world.session("admin")
    data = bytes(range(256)) * 400
    att = attachments.add(admin, "company", world.cid("Customer #A"), "scan.bin", data)
    target = tmp_path / "out" / "copy.bin"
    target.parent.mkdir()

    written = attachments.save_copy(world.session("user1"), att, target)
    assert written == target and target.read_bytes() == data
    # Nothing but the file is left in the directory (no temporary file).
    assert os.listdir(target.parent) == ["copy.bin"]


def test_a_directory_target_takes_the_display_name_never_the_path(world, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "passwd", b"data")
    # A name as it may reach the database from outside: a path, not a name.
    Attachment.update(original_name="../../etc/passwd").where(Attachment.id == att).execute()
    out = tmp_path / "out"
    out.mkdir()

    written = attachments.save_copy(admin, att, out)
    assert written == out / "passwd"
    assert written.read_bytes() == b"data"
    assert os.listdir(out) == ["passwd"]

    Attachment.update(original_name="..").where(Attachment.id == att).execute()
    assert attachments.save_copy(admin, att, out) == out / "attachment"


def test_an_existing_file_is_replaced_only_when_asked(world, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "offer.txt", b"new")
    target = tmp_path / "offer.txt"
    target.write_bytes(b"old")

    with pytest.raises(Conflict) as refused:
        attachments.save_copy(admin, att, tmp_path)
    assert str(target) in str(refused.value) and "\n" not in str(refused.value)
    assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["data", "offer.txt"]

    assert attachments.save_copy(admin, att, target, overwrite=True) == target
    assert target.read_bytes() == b"new"


def test_bad_places_are_refused_with_one_line(world, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "a.txt", b"a")

    with pytest.raises(ValidationFailed) as missing:
        attachments.save_copy(admin, att, tmp_path / "nowhere" / "a.txt")
    problem = missing.value.problems[0]
    assert (problem.record, problem.field) == (f"attachment {att}", "file")
    assert "does not exist" in problem.reason
    (tmp_path / "a.txt").mkdir()  # the name the copy would take inside tmp_path
    with pytest.raises(ValidationFailed, match="is a directory"):
        attachments.save_copy(admin, att, tmp_path)
    with pytest.raises(ValidationFailed, match="required"):
        attachments.save_copy(admin, att, "  ")
    with pytest.raises(ValidationFailed, match="too long"):
        attachments.save_copy(admin, att, tmp_path / ("x" * 300))
    assert not (tmp_path / "nowhere").exists()
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "data"]


def test_the_refusals_speak_the_users_language(world, tmp_path):
    from crm_tui import i18n

    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "b.txt", b"b")
    (tmp_path / "b.txt").write_bytes(b"old")
    i18n.set_language("es")
    try:
        with pytest.raises(Conflict, match=re.escape(f"el fichero {tmp_path / 'b.txt'} ya existe")):
            attachments.save_copy(admin, att, tmp_path)
        with pytest.raises(ValidationFailed, match="la carpeta .*nowhere no existe"):
            attachments.save_copy(admin, att, tmp_path / "nowhere" / "b.txt")
    finally:
        i18n.set_language(i18n.SOURCE_LANGUAGE)
    assert (tmp_path / "b.txt").read_bytes() == b"old"


def test_an_unwritable_directory_is_refused(world, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "a.txt", b"a")
    if os.geteuid() == 0:
        # Root writes into read-only directories; sysfs refuses new files even to root.
        locked = Path("/sys")
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o555)
    before = sorted(os.listdir(locked))
    try:
        with pytest.raises(ValidationFailed, match="ermission"):
            attachments.save_copy(admin, att, locked)
    finally:
        if locked != Path("/sys"):
            locked.chmod(0o755)
    assert sorted(os.listdir(locked)) == before


def test_save_copy_checks_access_like_the_rest(world, tmp_path):
    ids = seed_leads(world)
    admin = world.session("admin")
    root_file = attachments.add(admin, "company", world.cid("My company"), "x.txt", b"x")
    entry = leads.attach_file(admin, ids["Ben Beta"], "mail.eml", b"From: a")
    mail_file = Attachment.get(Attachment.owner_kind == "lead_activity",
                               Attachment.owner_id == entry).id

    for login, att in (("user1", root_file), ("user2", root_file), ("user2", mail_file)):
        with pytest.raises((PermissionDenied, NotFound)):
            attachments.save_copy(world.session(login), att, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["data"]
    # manager1 manages Customer #B, the company of Ben Beta's lead.
    assert attachments.save_copy(world.session("manager1"), mail_file, tmp_path).name \
        == "mail.eml"
    with pytest.raises(NotFound):
        attachments.save_copy(admin, 9999, tmp_path)
    with pytest.raises(ValidationFailed, match="whole number"):
        attachments.save_copy(admin, "x1", tmp_path)


def test_a_lost_stored_file_is_reported_not_half_written(world, tmp_path):
    admin = world.session("admin")
    att = attachments.add(admin, "company", world.cid("Customer #A"), "gone.txt", b"g")
    attachments.path_of(Attachment.get_by_id(att).stored_name).unlink()
    with pytest.raises(NotFound, match="missing"):
        attachments.save_copy(admin, att, tmp_path)
    assert sorted(os.listdir(tmp_path)) == ["data"]
