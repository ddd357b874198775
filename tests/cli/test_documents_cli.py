"""Documents through `crm`: warnings on stderr (exit 0), the template checked on save, the
PAID version beside the first, reachable with `crm attachment list|save`."""

from __future__ import annotations

import io
import json

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from crm_tui.services.records import get_kind


@pytest.fixture
def crm(world, crm_db):
    """Run `crm --db … ARGS` in this process (the real click group and its error mapping)."""
    from crm_tui.cli import cli

    def run(*args: str):
        return CliRunner().invoke(cli, ["--db", crm_db, *args])

    return run


def draft(world, name: str = "Hauptkunde GmbH") -> int:
    admin = world.session("admin")
    company = get_kind("company").create(admin, {"name": name,
                                                 "parent": str(world.cid("My company"))})
    return get_kind("invoice").create(admin, {
        "company": str(company), "language": "en", "tax_rate": "21",
        "lines": [{"description": "Support", "amount": "100"}]})


def test_characters_no_font_draws_are_a_warning_line_not_an_error(world, crm):
    assert crm("config", "set", "documents.fallback_font", "none").exit_code == 0
    invoice_id = draft(world, "株式会社 東京商事")
    result = crm("invoice", "issue", str(invoice_id))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "15/1000"
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("crm: warning: Invoice 15/1000: no installed font can draw ")
    assert all(char in lines[0] for char in "株式会社東京商事")
    # With the system's fallback (the default) the same customer prints without a word.
    assert crm("config", "set", "documents.fallback_font", "auto").exit_code == 0
    second = crm("invoice", "issue", str(draft(world, "株式会社 大阪商事")))
    assert second.exit_code == 0 and second.stderr == ""
    bad = crm("config", "set", "documents.fallback_font", "/usr/share/fonts/x.ttf")
    assert bad.exit_code == 1 and "auto" in bad.stderr and "none" in bad.stderr


def test_a_bad_invoice_template_is_refused_with_one_line(world, crm):
    result = crm("config", "set", "invoice.template", "<p>{{ customer.nmae }}</p>")
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "invoice.template" in result.stderr and "no attribute 'nmae'" in result.stderr
    assert crm("config", "get", "invoice.template").stdout.strip() == ""


def test_paid_version_and_the_first_are_both_reachable(world, crm, tmp_path):
    invoice_id = draft(world)
    assert crm("invoice", "issue", str(invoice_id)).exit_code == 0
    assert crm("set", "invoice", "15/1000", "status=paid", "paid_on=2026-01-20").exit_code == 0
    out = tmp_path / "newest.pdf"
    assert crm("invoice", "pdf", "15/1000", "-o", str(out)).exit_code == 0
    assert "PAID" in PdfReader(io.BytesIO(out.read_bytes())).pages[0].extract_text()
    listed = json.loads(crm("attachment", "list", "invoice", str(invoice_id), "--json").stdout)
    names = [f["name"] for f in listed]
    assert names == ["invoice-15_1000.pdf", "invoice-15_1000-paid.pdf"]
    first = tmp_path / "first.pdf"
    saved = crm("attachment", "save", str(listed[0]["id"]), "-o", str(first))
    assert saved.exit_code == 0, saved.stderr
    text = PdfReader(io.BytesIO(first.read_bytes())).pages[0].extract_text()
    assert "Invoice 15/1000" in text and "PAID" not in text
