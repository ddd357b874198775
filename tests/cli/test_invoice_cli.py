"""`crm invoice issue|credit|gaps|verify|pdf|lock|unlock|pdf-batch`: the series, the lock
rules, documents, addressing and exit codes."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from crm_tui.services import invoice_issue, invoices
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
        submitted = get_kind("invoice").create(admin, {"company": str(company), **MANUAL})
        invoice_issue.issue(admin, submitted)
    cases = [("lock", "R-1", "received_open"), ("unlock", "15/1000", "issued_by_admin")]
    for action, bill_id, scenario in cases:
        result = crm("--user", "clerk", "invoice", action, bill_id)
        allowed = expected(bits, scenario, action)
        if allowed:
            assert result.exit_code == 0, result.stderr
        elif not bits:
            # Without invoice bits the invoice does not exist for him.
            assert result.exit_code == 1 and "does not exist" in result.stderr, result.stderr
        else:
            assert result.exit_code == 3, (action, result.stderr)
            assert result.stderr.startswith("crm: error:") and "may not" in result.stderr
            assert len(result.stderr.strip().splitlines()) == 1
    state = {r["bill_id"]: r["locked"] for r in get_kind("invoice").list(admin)}
    assert state["R-1"] is expected(bits, "received_open", "lock")
    assert state["15/1000"] is not expected(bits, "issued_by_admin", "unlock")
    assert received and submitted


def test_lock_state_errors_and_unknown_invoices(world, crm):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                                        **MANUAL})
        invoice_issue.issue(admin, invoice_id)
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
    invoice_id = result.stdout.strip()
    draft = json.loads(crm("show", "invoice", invoice_id, "--json").stdout)
    assert (draft["state"], draft["bill_id"], draft["locked"]) == ("draft", None, False)
    refused = crm("invoice", "pdf", invoice_id, "-o", str(tmp_path / "draft.pdf"))
    assert refused.exit_code == 1 and "draft" in refused.stderr
    issued = crm("invoice", "issue", invoice_id)
    assert (issued.exit_code, issued.stdout) == (0, "15/1000\n"), issued.stderr
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
    invoice_id = get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                                    **MANUAL})
    invoice_issue.issue(admin, invoice_id)
    ok = crm("--user", "user1", "invoice", "pdf", "15/1000", "-o", str(tmp_path / "a.pdf"))
    assert ok.exit_code == 0, ok.stderr
    denied = crm("--user", "manager1", "invoice", "pdf", "15/1000", "-o",
                 str(tmp_path / "b.pdf"))
    assert denied.exit_code in (1, 3) and not (tmp_path / "b.pdf").exists()


def test_pdf_batch(world, crm, tmp_path):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        for day in ("2026-01-02", "2026-01-14", "2026-02-01"):
            invoice_id = get_kind("invoice").create(admin, {
                "company": str(world.cid("Customer #A")), "created": day, **MANUAL})
            invoice_issue.issue(admin, invoice_id)
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
    issued = run_crm("invoice", "issue", added.stdout.strip(), db=crm_db)
    assert issued.returncode == 0 and issued.stdout == "15/1000\n", issued.stderr
    out = tmp_path / "x.pdf"
    made = run_crm("invoice", "pdf", "15/1000", "-o", str(out), db=crm_db)
    assert made.returncode == 0 and made.stdout.strip() == str(out)
    assert "2,613.60" in pdf_text(out.read_bytes())
    # Without invoice bits the invoice does not exist for him: one line, exit 1.
    denied = run_crm("--user", "user1", "invoice", "unlock", "15/1000", db=crm_db)
    assert denied.returncode == 1 and denied.stderr.count("\n") == 1
    assert "does not exist" in denied.stderr


# --- the series from the command line -----------------------------------------------------


def test_issue_credit_gaps_and_verify(world, crm, crm_db, tmp_path):
    add = crm("add", "invoice", "--json", "-", input=json.dumps(
        {"company": str(world.cid("Customer #A")), **MANUAL}))
    invoice_id = add.stdout.strip()
    early = crm("invoice", "issue", invoice_id, "--date", "2026-01-10")
    assert early.stdout == "15/1000\n", early.stderr
    second = crm("add", "invoice", "--json", "-", input=json.dumps(
        {"company": str(world.cid("Customer #A")), **MANUAL})).stdout.strip()
    late = crm("invoice", "issue", second, "--date", "2026-01-09")
    assert late.exit_code == 1 and "numbers follow dates" in late.stderr
    assert len(late.stderr.strip().splitlines()) == 1
    assert crm("invoice", "issue", second, "--date", "someday").exit_code == 1
    assert crm("invoice", "issue").exit_code == 2  # no invoice named
    assert crm("invoice", "issue", second).stdout == "15/1001\n"

    deleted = crm("delete", "invoice", "15/1001")
    assert deleted.exit_code == 3 and "never deleted" in deleted.stderr
    changed = crm("set", "invoice", "15/1001", "reference=other")
    assert changed.exit_code == 1 and "credit note" in changed.stderr
    assert crm("set", "invoice", "15/1001", "status=paid", "paid_on=2026-01-15").exit_code == 0

    bad_lines = crm("invoice", "credit", "15/1001", "--lines", "one")
    assert bad_lines.exit_code == 1 and "--lines" in bad_lines.stderr
    credit = crm("invoice", "credit", "15/1000")
    assert (credit.exit_code, credit.stdout) == (0, "R15/1\n"), credit.stderr
    note = json.loads(crm("show", "invoice", "R15/1", "--json").stdout)
    assert note["total"] == "-2613.60" and note["credit_of"] == int(invoice_id)
    out = tmp_path / "credit.pdf"
    assert crm("invoice", "pdf", "R15/1", "-o", str(out)).exit_code == 0
    assert "Credit note R15/1" in pdf_text(out.read_bytes())

    gaps = crm("invoice", "gaps")
    assert gaps.exit_code == 0, gaps.stderr
    assert "series 15/[]: first 15/1000, last 15/1001, 2 invoices, no missing" in gaps.stdout
    report = json.loads(crm("invoice", "gaps", "--pattern", "R15/[1]", "--json").stdout)
    assert report == [{"series": "R15/[]", "count": 1, "first": "R15/1", "last": "R15/1",
                       "gaps": [], "duplicates": []}]
    assert crm("invoice", "gaps", "--pattern", "15/[1]/[2]").exit_code == 1
    assert crm("--user", "manager1", "invoice", "gaps").exit_code == 3

    ok = crm("invoice", "verify")
    assert ok.exit_code == 0 and "series 15/[]: 2 records, chain intact" in ok.stdout
    from crm_tui.db import database

    database.execute_sql("UPDATE invoice SET reference = 'forged' WHERE bill_id = '15/1001'")
    broken = crm("invoice", "verify")
    assert broken.exit_code == 1
    assert "chain broken" in broken.stderr and "'15/1001'" in broken.stderr
    assert "R15/[]: 1 records, chain intact" in broken.stdout


def test_every_invoice_command_addresses_ids_and_bill_ids(world, crm, tmp_path):
    admin = world.session("admin")
    from crm_tui.services import settings

    settings.set_value(admin, "invoice.id_pattern", "[1]")
    cid = str(world.cid("Customer #A"))
    ids = [crm("add", "invoice", "--json", "-", input=json.dumps(
        {"company": cid, **MANUAL})).stdout.strip() for _ in range(3)]
    assert crm("invoice", "issue", ids[2]).stdout == "1\n"
    # An integer is the record id; --bill-id names the bill ID "1".
    assert json.loads(crm("show", "invoice", "1", "--json").stdout)["id"] == int(ids[0])
    by_bill = json.loads(crm("show", "invoice", "--bill-id", "1", "--json").stdout)
    assert by_bill["id"] == int(ids[2])
    both = crm("show", "invoice", "1", "--bill-id", "1")
    assert both.exit_code == 2
    assert crm("show", "company", "--bill-id", "1").exit_code == 2
    assert crm("invoice", "unlock", "--bill-id", "1").exit_code == 0
    assert crm("invoice", "lock", "--bill-id", "1").exit_code == 0
    assert crm("invoice", "pdf", "--bill-id", "1", "-o", str(tmp_path / "1.pdf")).exit_code == 0
    assert crm("set", "invoice", "--bill-id", "1", "status=paid").exit_code == 0
    assert json.loads(crm("show", "invoice", ids[2], "--json").stdout)["status"] == "paid"
    # A non-numeric bill ID is given as itself, to every command, attach included.
    settings.set_value(admin, "invoice.id_pattern", "15/[1000]")
    assert crm("invoice", "issue", ids[1]).stdout == "15/1000\n"
    attachment = tmp_path / "order.txt"
    attachment.write_text("PO 4711")
    attached = crm("attach", "invoice", "15/1000", str(attachment))
    assert attached.exit_code == 0, attached.stderr
    shown = json.loads(crm("show", "invoice", "15/1000", "--json").stdout)
    assert shown["id"] == int(ids[1])
    assert crm("invoice", "unlock", "15/1000").exit_code == 0
    assert crm("invoice", "lock", ids[1]).exit_code == 0
    assert crm("delete", "invoice", ids[0]).exit_code == 0  # the draft
    gone = crm("show", "invoice", ids[0])
    assert gone.exit_code == 1 and "does not exist" in gone.stderr
    table = crm("list", "invoice")
    assert "issued" in table.stdout and "STATE" in table.stdout
