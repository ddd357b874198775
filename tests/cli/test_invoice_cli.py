"""`crm invoice pdf|lock|unlock|pdf-batch`: the lock rules, documents and exit codes."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from crm_tui.services import invoices
from crm_tui.services.records import get_kind
from tests.unit.test_invoices_lock import COMBOS, expected

MANUAL = {"lines": [{"description": "Annual support", "amount": "2400"}],
          "discounts": [{"description": "promotion", "amount": "240"}], "tax_rate": "21"}


@pytest.fixture
def crm(world, crm_db):
    """Run `crm --db … ARGS` in this process (the real click group and its error mapping)."""
    from crm_tui.cli import cli

    def run(*args: str, input: str | None = None):
        return CliRunner().invoke(cli, ["--db", crm_db, *args], input=input)

    return run


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace(
        "\xa0", " ")


@pytest.mark.parametrize("combo", range(len(COMBOS)), ids=lambda i: "+".join(
    sorted(COMBOS[i])) or "none")
def test_lock_matrix_through_the_cli(world, crm, combo):
    bits = COMBOS[combo]
    admin = world.session("admin")
    profile = "cli-" + ("-".join(sorted(bits)) or "none")
    get_kind("profile").create(admin, {"name": profile, "bits": ",".join(["CR", "CW", *bits])})
    get_kind("user").create(admin, {"login": "clerk", "profiles": profile,
                                    "company": str(world.cid("My company"))})
    company = get_kind("company").create(admin, {"name": "Clerk's customer", "manager": "clerk",
                                                 "parent": str(world.cid("My company"))})
    with invoices.deferred_pdfs():
        received = get_kind("invoice").create(admin, {"company": str(company),
                                                      "type": "received", "bill_id": "R-1"})
        submitted = get_kind("invoice").create(admin, {"company": str(company)})
    cases = [("lock", "R-1", "received_open"), ("unlock", "15/1000", "submitted_by_admin")]
    for action, bill_id, scenario in cases:
        result = crm("--user", "clerk", "invoice", action, bill_id)
        allowed = expected(bits, scenario, action)
        if allowed:
            assert result.exit_code == 0, result.stderr
        elif not bits:
            # Without invoice bits the invoice does not exist for him.
            assert result.exit_code == 3, result.stderr
        else:
            assert result.exit_code == 3, (action, result.stderr)
            assert result.stderr.startswith("crm: error:") and "may not" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
    state = {r["bill_id"]: r["locked"] for r in get_kind("invoice").list(admin)}
    assert state["R-1"] is expected(bits, "received_open", "lock")
    assert state["15/1000"] is not expected(bits, "submitted_by_admin", "unlock")
    assert received and submitted


def test_lock_state_errors_and_unknown_invoices(world, crm):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A"))})
    result = crm("invoice", "lock", "15/1000")
    assert result.exit_code == 1 and "already locked" in result.stderr
    assert crm("invoice", "unlock", "15/1000").exit_code == 0
    assert crm("invoice", "unlock", "15/1000").exit_code == 1
    result = crm("invoice", "lock", "NOPE")
    assert result.exit_code == 1 and "does not exist" in result.stderr
    assert "Traceback" not in result.output


def test_add_show_and_pdf_from_the_command_line(world, crm, tmp_path):
    payload = json.dumps({"company": str(world.cid("Customer #A")), **MANUAL,
                          "description": "Soporte técnico"})
    result = crm("add", "invoice", "--json", "-", input=payload)
    assert result.exit_code == 0, result.stderr
    shown = json.loads(crm("show", "invoice", "15/1000", "--json").stdout)
    assert (shown["total"], shown["total_tax"], shown["locked"]) == ("2613.60", "453.60", True)

    result = crm("invoice", "pdf", "15/1000", "-o", str(tmp_path / "inv.pdf"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == str(tmp_path / "inv.pdf")
    text = pdf_text((tmp_path / "inv.pdf").read_bytes())
    assert "15/1000" in text and "2,613.60" in text and "Customer #A" in text

    attachment = tmp_path / "offer.txt"
    attachment.write_text("offer")
    from crm_tui.services import attachments

    attachments.add(world.session("admin"), "invoice", shown["id"],
                    attachment.name, attachment.read_bytes())
    result = crm("invoice", "pdf", "15/1000", "-o", str(tmp_path / "inv.zip"))
    assert result.exit_code == 0, result.stderr
    with zipfile.ZipFile(tmp_path / "inv.zip") as archive:
        assert archive.namelist() == ["invoice-15_1000.pdf", "offer.txt"]

    result = crm("invoice", "pdf", "15/1000", "-o", str(tmp_path / "missing" / "x.pdf"))
    assert result.exit_code == 1 and "x.pdf" in result.stderr


def test_ir_downloads_but_user_without_bits_cannot(world, crm, tmp_path):
    admin = world.session("admin")
    get_kind("profile").create(admin, {"name": "Reader", "bits": "CR,IR"})
    get_kind("user").update(admin, "user1", {"profiles": "Reader"})
    with invoices.deferred_pdfs():
        get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")), **MANUAL})
    ok = crm("--user", "user1", "invoice", "pdf", "15/1000", "-o", str(tmp_path / "a.pdf"))
    assert ok.exit_code == 0, ok.stderr
    denied = crm("--user", "manager1", "invoice", "pdf", "15/1000", "-o",
                 str(tmp_path / "b.pdf"))
    assert denied.exit_code == 3 and not (tmp_path / "b.pdf").exists()


def test_pdf_batch(world, crm, tmp_path):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        for day in ("2026-01-02", "2026-01-30", "2026-02-01"):
            get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                               "created": day, **MANUAL})
    result = crm("invoice", "pdf-batch", "--month", "2026-01", "-o", str(tmp_path / "out"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == [str(tmp_path / "out" / "invoice-15_1000.pdf"),
                                     str(tmp_path / "out" / "invoice-15_1001.pdf")]
    assert "2 of 2 PDFs written" in result.stderr
    bad = crm("invoice", "pdf-batch", "--month", "January", "-o", str(tmp_path))
    assert bad.exit_code == 1 and "YYYY-MM" in bad.stderr
    usage = crm("invoice", "pdf-batch", "-o", str(tmp_path))
    assert usage.exit_code == 2


def test_real_subprocess_round_trip(world, crm_db, run_crm, tmp_path):
    """The installed entry point, end to end, as a script would call it."""
    payload = json.dumps({"company": str(world.cid("Customer #A")), **MANUAL})
    added = run_crm("add", "invoice", "--json", "-", db=crm_db, input=payload)
    assert added.returncode == 0, added.stderr
    out = tmp_path / "x.pdf"
    made = run_crm("invoice", "pdf", "15/1000", "-o", str(out), db=crm_db)
    assert made.returncode == 0 and made.stdout.strip() == str(out)
    assert "2,613.60" in pdf_text(out.read_bytes())
    denied = run_crm("--user", "user1", "invoice", "unlock", "15/1000", db=crm_db)
    assert denied.returncode == 3 and denied.stderr.count("\n") == 1
