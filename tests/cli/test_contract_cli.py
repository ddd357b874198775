"""`crm contract copy|pdf|invoice|link|unlink|invoices`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from crm_tui.services import invoices
from crm_tui.services.records import get_kind


@pytest.fixture
def crm(world, crm_db):
    from crm_tui.cli import cli

    def run(*args: str):
        return CliRunner().invoke(cli, ["--db", crm_db, *args])

    return run


@pytest.fixture
def contract(world) -> int:
    return get_kind("contract").create(world.session("admin"), {
        "name": "Support Ωmega", "contract_number": "C-1", "company":
        str(world.cid("Customer #A")), "date_begin": "2025-01-01", "date_end": "2025-12-31",
        "contract_type": "2"})


def test_copy(world, crm, contract):
    result = crm("contract", "copy", str(contract), "--start", "2026-01-01",
                 "--end", "2026-12-31")
    assert result.exit_code == 0, result.stderr
    new_id = int(result.stdout)
    row = get_kind("contract").get(world.session("admin"), new_id)
    assert (row["name"], row["date_begin"], row["date_end"], row["related_contract"]) == (
        "Support Ωmega", "2026-01-01", "2026-12-31", contract)
    bad = crm("contract", "copy", str(contract), "--start", "2026-01-01", "--end", "2025-01-01")
    assert bad.exit_code == 1 and "date_end" in bad.stderr
    denied = crm("--user", "user2", "contract", "copy", str(contract), "--start", "2026-01-01",
                 "--end", "2026-12-31")
    # user2 may not see the contract: it answers like one that does not exist.
    assert denied.exit_code == 1
    assert denied.stderr == f"crm: error: contract {contract} does not exist\n"
    assert crm("contract", "copy", str(contract)).exit_code == 2


def test_pdf_attaches_and_prints_the_path(world, crm, contract):
    result = crm("contract", "pdf", str(contract), "--template", "Default")
    assert result.exit_code == 0, result.stderr
    path = Path(result.stdout.strip())
    assert path.parent.name == "files" and path.suffix == ".pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(path.read_bytes())).pages)
    assert "Support Ωmega" in text and "Customer #A" in text
    from crm_tui.services import contracts

    assert [f["name"] for f in contracts.files(world.session("admin"), contract)] == [
        "Support Ωmega-Default.pdf"]
    missing = crm("contract", "pdf", str(contract), "--template", "Nope")
    assert missing.exit_code == 1 and "no such contract template" in missing.stderr
    # Reading is not enough to attach a file to a contract.
    get_kind("contract").update(world.session("admin"), contract,
                                {"company": str(world.cid("Customer #B"))})
    denied = crm("--user", "user1", "contract", "pdf", str(contract))
    assert denied.exit_code == 3 and "may not" in denied.stderr


def test_invoice_link_unlink_and_list(world, crm, contract):
    with invoices.deferred_pdfs():
        result = crm("contract", "invoice", str(contract), "--amount", "2400")
    assert result.exit_code == 0, result.stderr
    invoice_id = int(result.stdout)
    listed = json.loads(crm("contract", "invoices", str(contract), "--json").stdout)
    assert [r["id"] for r in listed] == [invoice_id] and listed[0]["total"] == "2904.00"
    assert listed[0]["state"] == "draft"
    assert crm("invoice", "issue", str(invoice_id)).stdout == "15/1000\n"
    assert crm("contract", "unlink", str(contract), "15/1000").exit_code == 0
    assert json.loads(crm("contract", "invoices", str(contract), "--json").stdout) == []
    assert crm("contract", "link", str(contract), "15/1000").exit_code == 0
    assert "15/1000" in crm("contract", "invoices", str(contract)).stdout
    bad = crm("contract", "link", str(contract), "NOPE")
    assert bad.exit_code == 1 and "NOPE" in bad.stderr
    received = crm("contract", "invoice", str(contract), "--type", "received")
    assert received.exit_code == 1 and "bill_id" in received.stderr
