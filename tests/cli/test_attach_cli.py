"""`crm attach`: files land under generated names; access and bad paths are refused."""

from __future__ import annotations

import os


def test_attach_stores_under_a_generated_name(world, crm_db, run_crm, tmp_path, data_dir):
    source = tmp_path / "contrato firmado.pdf"
    source.write_bytes(b"%PDF-1.4 fake")
    cid = str(world.cid("Customer #A"))
    result = run_crm("--user", "user1", "attach", "company", cid, str(source), db=crm_db)
    assert result.returncode == 0, result.stderr
    stored = os.listdir(data_dir / "files")
    assert len(stored) == 1 and stored[0].endswith(".pdf") and "contrato" not in stored[0]
    from crm_tui.services import attachments

    listed = attachments.list_for(world.session("user1"), "company", int(cid))
    assert [a["name"] for a in listed] == ["contrato firmado.pdf"]
    assert attachments.read(world.session("admin"), listed[0]["id"])[1] == b"%PDF-1.4 fake"


def test_attach_is_refused_without_modify_access(world, crm_db, run_crm, tmp_path, data_dir):
    source = tmp_path / "x.txt"
    source.write_text("x")
    cid = str(world.cid("Customer #B"))
    result = run_crm("--user", "user1", "attach", "company", cid, str(source), db=crm_db)
    assert result.returncode == 3
    files = data_dir / "files"
    assert not files.exists() or os.listdir(files) == []
    missing = run_crm("attach", "company", cid, str(tmp_path / "nope.txt"), db=crm_db)
    assert missing.returncode == 1 and "No such file" in missing.stderr
