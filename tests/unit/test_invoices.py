"""Invoices through the services: totals, bill IDs, stored PDFs, downloads, batches, search."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from decimal import Decimal

import pytest
from pypdf import PdfReader

from crm_tui.errors import ValidationFailed
from crm_tui.services import documents_service, invoice_forms, invoice_issue, invoices, settings
from crm_tui.services.invoice_series import preview_bill_id
from crm_tui.services.records import get_kind

MANUAL = {
    "lines": [{"description": "Annual support", "amount": "2400"}],
    "discounts": [{"description": "promotion", "amount": "240"}],
    "tax_rate": "21",
}


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFC", text).replace("\xa0", " ")


def files_on_disk(data_dir) -> set[str]:
    folder = data_dir / "files"
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def add_invoice(session, company_id: int, **fields) -> int:
    raw = {"company": str(company_id), **fields}
    return get_kind("invoice").create(session, raw)


def issued_invoice(session, company_id: int, on=None, **fields) -> int:
    """A Submitted draft, issued at once (numbered, locked, its PDF made)."""
    invoice_id = add_invoice(session, company_id, **fields)
    invoice_issue.issue(session, invoice_id, on)
    return invoice_id


def bill_of(session, invoice_id: int) -> str:
    return get_kind("invoice").get(session, invoice_id)["bill_id"]


# --- totals -------------------------------------------------------------------------------


def test_manual_totals_on_both_backends(any_world):
    admin = any_world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = add_invoice(admin, any_world.cid("Customer #A"), currency="EUR", **MANUAL)
    row = get_kind("invoice").get(admin, invoice_id)
    assert (row["tax_base"], row["discount_total"], row["subtotal"], row["total_tax"],
            row["total"]) == ("2400.00", "240.00", "2160.00", "453.60", "2613.60")
    assert Decimal(row["total"]) == Decimal("2613.6")
    assert row["lines"] == [{"description": "Annual support", "amount": "2400.00",
                             "tax_rate": "21"}]
    assert row["tax_rates"] == [{"rate": "21", "base": "2160.00", "tax": "453.60"}]
    # The stored total (kept for search) is the same Decimal.
    assert get_kind("invoice").list(admin, {"total_min": "2613.60", "total_max": "2613.60"})


def test_withholding_and_edit_recompute_the_total(world):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = add_invoice(admin, world.cid("Customer #A"), type="received",
                                 bill_id="R-1", withholding_rate="15", **MANUAL)
        assert get_kind("invoice").get(admin, invoice_id)["total"] == "2289.60"
        get_kind("invoice").update(admin, invoice_id, {"withholding_rate": "0"})
    assert get_kind("invoice").get(admin, invoice_id)["total"] == "2613.60"


def test_bad_lines_are_rejected_with_field_and_value(world):
    admin = world.session("admin")
    with pytest.raises(ValidationFailed) as err:
        add_invoice(admin, world.cid("Customer #A"),
                    lines=[{"description": "x", "amount": "12,50"}],
                    discounts=[{"description": "d", "amount": "-3"}])
    text = str(err.value)
    assert "lines[1].amount" in text and "12,50" in text
    assert "discounts[1].amount" in text
    assert get_kind("invoice").list(admin) == []


def test_lines_text_round_trip():
    lines = invoice_forms.parse_lines_text("2400 Annual support\n\n  19.99 @10 Ελληνικά  ")
    assert lines == [{"description": "Annual support", "amount": "2400"},
                     {"description": "Ελληνικά", "amount": "19.99", "tax_rate": "10"}]
    assert invoice_forms.parse_lines_text(invoice_forms.lines_text(lines)) == lines
    with pytest.raises(ValidationFailed) as err:
        invoice_forms.parse_lines_text("Support 2400\n100")
    assert "lines[1]" in str(err.value) and "lines[2]" in str(err.value)


# --- bill IDs -----------------------------------------------------------------------------


def test_pattern_sequence_from_the_numeric_part(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    line = {"lines": [{"description": "x", "amount": "1"}]}
    with invoices.deferred_pdfs():
        first = [bill_of(admin, issued_invoice(admin, cid, **line)) for _ in range(3)]
        assert first == ["15/1000", "15/1001", "15/1002"]
        settings.set_value(admin, "invoice.id_pattern", "15/[9999]")
        ids = [bill_of(admin, issued_invoice(admin, cid, **line)) for _ in range(3)]
    # 15/10000 follows 15/9999: numbers, not a text sort of IDs.
    assert ids == ["15/9999", "15/10000", "15/10001"]


def test_manual_exception_is_skipped_and_never_duplicated(world):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    line = {"lines": [{"description": "x", "amount": "1"}]}
    with invoices.deferred_pdfs():
        # A hand-made exception ahead of the series, issued with its own ID.
        issued_invoice(admin, cid, bill_id="15/1001", **line)
        got = [bill_of(admin, issued_invoice(admin, cid, **line)) for _ in range(3)]
        assert got == ["15/1000", "15/1002", "15/1003"]
        with pytest.raises(ValidationFailed, match="another Submitted invoice already has it"):
            add_invoice(admin, cid, bill_id="15/1002")
        # Received invoices need their supplier's number, unique per supplier only.
        with pytest.raises(ValidationFailed, match="bill_id"):
            add_invoice(admin, cid, type="received")
        add_invoice(admin, cid, type="received", bill_id="15/1000")
        add_invoice(admin, world.cid("Customer #B"), type="received", bill_id="1")
        add_invoice(admin, cid, type="received", bill_id="1")
        with pytest.raises(ValidationFailed, match="this supplier already sent"):
            add_invoice(admin, cid, type="received", bill_id="1")


def test_auto_id_off_and_width_kept(world):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    line = {"lines": [{"description": "x", "amount": "1"}]}
    with invoices.deferred_pdfs():
        settings.set_value(admin, "invoice.auto_id", "0")
        assert preview_bill_id() is None
        draft = add_invoice(admin, cid, **line)
        with pytest.raises(ValidationFailed, match="bill_id.*automatic bill IDs are off"):
            invoice_issue.issue(admin, draft)
        issued_invoice(admin, cid, bill_id="HAND-1", **line)
        settings.set_value(admin, "invoice.auto_id", "1")
        settings.set_value(admin, "invoice.id_pattern", "INV-[0098]/B")
        got = [bill_of(admin, issued_invoice(admin, cid, **line)) for _ in range(3)]
    assert got == ["INV-0098/B", "INV-0099/B", "INV-0100/B"]
    with pytest.raises(ValidationFailed, match="exactly one bracketed number"):
        settings.set_value(admin, "invoice.id_pattern", "15/[1]/[2]")


def test_preview_reserves_nothing_and_a_rollback_frees_the_number(world, data_dir):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    assert preview_bill_id() == "15/1000"
    assert preview_bill_id() == "15/1000"
    draft = add_invoice(admin, cid, **MANUAL)
    assert preview_bill_id() == "15/1000"  # a draft takes no number

    from crm_tui.services import invoice_chain

    real_seal = invoice_chain.seal

    def fail(db, invoice_id):
        raise RuntimeError("disk full")

    invoice_chain.seal = fail
    try:
        with pytest.raises(RuntimeError):
            invoice_issue.issue(admin, draft)
    finally:
        invoice_chain.seal = real_seal
    # Nothing was written: still a draft, no attachment, no file; the number is free again.
    row = get_kind("invoice").get(admin, draft)
    assert (row["state"], row["bill_id"], row["locked"]) == ("draft", None, False)
    assert files_on_disk(data_dir) == set()
    invoice_issue.issue(admin, draft)
    assert bill_of(admin, draft) == "15/1000"


def test_form_defaults_preview_the_next_id(world):
    defaults = invoice_forms.form_defaults(world.session("admin"))
    assert defaults["bill_id_preview"] == "15/1000"
    assert defaults["tax_rate"] == "21" and defaults["type"] == "submitted"


# --- the stored PDF -----------------------------------------------------------------------


def test_pdf_made_on_issue_and_kept_when_payment_changes(world, data_dir):
    admin = world.session("admin")
    company = get_kind("company")
    cid = company.create(admin, {"name": "Ελληνική Εταιρεία Α.Ε.", "fiscal_id": "EL-998877",
                                 "address": "Odos Ermou 12", "country": "Greece",
                                 "parent": str(world.cid("My company"))})
    invoice_id = add_invoice(admin, cid, **MANUAL)
    assert documents_service._generated(invoice_id) == []  # a draft has no PDF
    with pytest.raises(ValidationFailed, match="draft"):
        documents_service.invoice_pdf(admin, invoice_id)
    get_kind("invoice").update(admin, invoice_id, {"reference": "PO-4711", "language": "es"})
    invoice_issue.issue(admin, invoice_id)
    stored = documents_service._generated(invoice_id)
    assert len(stored) == 1 and stored[0].original_name == "invoice-15_1000.pdf"
    first_file = stored[0].stored_name
    assert first_file in files_on_disk(data_dir)
    text = text_of(documents_service.invoice_pdf(admin, "15/1000")[1])
    for expected in ("Factura 15/1000", "Ελληνική Εταιρεία Α.Ε.", "EL-998877", "Greece",
                     "2.400,00", "2.160,00", "453,60", "2.613,60", "VAT", "Bank transfer",
                     "PO-4711"):
        assert expected in text, expected
    assert documents_service.has_generated_pdf(admin, invoice_id)

    # Paid: a new version with the mark; the PDF of issue is kept beside it.
    from crm_tui.services import attachments

    attachments.add(admin, "invoice", invoice_id, "purchase-order.txt", b"PO 4711")
    get_kind("invoice").update(admin, "15/1000", {"status": "paid", "paid_on": "2026-01-15",
                                                  "internal_note": "paid by transfer"})
    stored = documents_service._generated(invoice_id)
    assert [a.original_name for a in stored] == ["invoice-15_1000.pdf",
                                                 "invoice-15_1000-paid.pdf"]
    assert stored[0].stored_name == first_file
    assert "PAGADA" not in text_of(attachments.path_of(first_file).read_bytes())
    newest = text_of(documents_service.invoice_pdf(admin, "15/1000")[1])
    assert "PAGADA" in newest and "15 ene 2026" in newest and "Factura 15/1000" in newest
    assert [a["name"] for a in documents_service.invoice_attachments(admin, invoice_id)] == [
        "purchase-order.txt"]
    assert len(files_on_disk(data_dir)) == 3
    # Saving again changes nothing; both versions are listed as the invoice's files.
    get_kind("invoice").update(admin, "15/1000", {"status": "paid", "internal_note": "again"})
    assert len(documents_service._generated(invoice_id)) == 2
    names = [f["name"] for f in attachments.files_of(admin, "invoice", invoice_id)]
    assert {"invoice-15_1000.pdf", "invoice-15_1000-paid.pdf"} <= set(names)


def test_received_invoices_get_no_pdf(world, data_dir):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), type="received",
                             bill_id="SUP-77", **MANUAL)
    assert documents_service._generated(invoice_id) == []
    assert files_on_disk(data_dir) == set()
    # No supplier document attached: a clear message, never a PDF made up by the CRM.
    with pytest.raises(ValidationFailed, match="no supplier document is attached"):
        documents_service.invoice_pdf(admin, "SUP-77")
    from crm_tui.services import attachments

    attachments.add(admin, "invoice", "SUP-77", "supplier.pdf", b"%PDF-supplier")
    assert documents_service.invoice_pdf(admin, "SUP-77") == ("supplier.pdf", b"%PDF-supplier")
    assert documents_service.invoice_download(admin, invoice_id)[1] == b"%PDF-supplier"


def test_rejected_edit_leaves_the_pdf_alone(world, data_dir):
    admin = world.session("admin")
    invoice_id = issued_invoice(admin, world.cid("Customer #A"), **MANUAL)
    before = files_on_disk(data_dir)
    with pytest.raises(ValidationFailed):
        get_kind("invoice").update(admin, invoice_id, {"paid_on": "someday"})
    assert files_on_disk(data_dir) == before


def test_delete_removes_attachments_and_files(world, data_dir):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
    from crm_tui.services import attachments

    attachments.add(admin, "invoice", invoice_id, "offer.pdf", b"%PDF-offer")
    assert len(files_on_disk(data_dir)) == 1
    get_kind("invoice").delete(admin, invoice_id)  # a draft may go
    assert files_on_disk(data_dir) == set()


def test_download_zip_holds_pdf_and_attachments(world, tmp_path):
    admin = world.session("admin")
    invoice_id = issued_invoice(admin, world.cid("Customer #A"), **MANUAL)
    pdf_only = documents_service.save_invoice_download(admin, "15/1000", tmp_path / "a.pdf")
    assert pdf_only.read_bytes().startswith(b"%PDF-")
    name, data = documents_service.invoice_download(admin, invoice_id)
    assert name.endswith(".pdf")  # no attachments yet: the PDF alone

    from crm_tui.services import attachments

    attachments.add(admin, "invoice", invoice_id, "../../etc/order.txt", b"order")
    attachments.add(admin, "invoice", invoice_id, "order.txt", b"second")
    name, data = documents_service.invoice_download(admin, invoice_id)
    assert name == "invoice-15_1000.zip"
    target = documents_service.save_invoice_download(admin, "15/1000", tmp_path / "b.zip")
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        assert names == ["invoice-15_1000.pdf", "order.txt", "order (2).txt"]
        assert archive.read("order.txt") == b"order"
        assert "2,613.60" in text_of(archive.read("invoice-15_1000.pdf"))


def test_deferred_pdfs_then_batch(world, tmp_path, data_dir):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    with invoices.deferred_pdfs():
        for day in ("2026-01-03", "2026-01-12", "2026-02-01"):
            issued_invoice(admin, cid, created=day, **MANUAL)
        add_invoice(admin, cid, created="2026-01-05", type="received", bill_id="R-9")
        add_invoice(admin, cid, created="2026-01-06", **MANUAL)  # a draft has no PDF yet
    assert files_on_disk(data_dir) == set()
    seen = []
    report = documents_service.pdf_batch(
        admin, "2026-01", tmp_path / "out", store=True,
        progress=lambda done, total, bill: seen.append((done, total, bill)))
    assert [p.name for p in report.written] == ["invoice-15_1000.pdf", "invoice-15_1001.pdf"]
    assert seen == [(1, 2, "15/1000"), (2, 2, "15/1001")]
    assert report.stored == 2 and not report.failed
    assert "2,613.60" in text_of(report.written[0].read_bytes())
    assert len(files_on_disk(data_dir)) == 2

    stopped = documents_service.pdf_batch(admin, "2026-01", tmp_path / "again",
                                          cancelled=lambda: True)
    assert stopped.cancelled and stopped.written == []
    with pytest.raises(ValidationFailed, match="YYYY-MM"):
        documents_service.pdf_batch(admin, "2026-13", tmp_path)


def test_batch_store_needs_im(world, tmp_path):
    from crm_tui.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        documents_service.pdf_batch(world.session("user1"), "2026-01", tmp_path, store=True)


def test_logo_only_from_files_stored_in_the_crm(world, tmp_path):
    from PIL import Image

    from crm_tui.services import attachments

    admin = world.session("admin")
    outside = tmp_path / "logo.png"
    Image.new("RGB", (40, 20), (200, 0, 0)).save(outside)
    settings.set_value(admin, "invoice.logo", str(outside))
    assert documents_service.logo_bytes() is None  # a path is never opened
    att = attachments.add(admin, "company", world.cid("My company"), "logo.png",
                          outside.read_bytes())
    settings.set_value(admin, "invoice.logo", str(att))
    assert documents_service.logo_bytes() == outside.read_bytes()
    invoice_id = issued_invoice(admin, world.cid("Customer #A"), **MANUAL)
    pdf = documents_service.invoice_pdf(admin, invoice_id)[1]
    assert PdfReader(io.BytesIO(pdf)).pages[0].images  # the logo is in the PDF


# --- search -------------------------------------------------------------------------------


def test_search_filters(world):
    admin = world.session("admin")
    kind = get_kind("invoice")
    a, b = world.cid("Customer #A"), world.cid("Customer #B")
    with invoices.deferred_pdfs():
        i1 = issued_invoice(admin, a, created="2026-01-10", reference="PO-1", **MANUAL)
        i2 = add_invoice(admin, b, created="2026-02-10", type="received", bill_id="SUP-1",
                         status="paid", lines=[{"description": "x", "amount": "10"}])
        i3 = add_invoice(admin, b, created="2026-03-10", expires="2026-04-01",
                         lines=[{"description": "y", "amount": "500"}])
    contract = get_kind("contract").create(admin, {"name": "Support", "company": str(b),
                                                   "contract_number": "C-77",
                                                   "invoices": "SUP-1"})

    def ids(**filters):
        return sorted(r["id"] for r in kind.list(admin, filters))

    assert ids(q="Customer #B") == [i2, i3]
    assert ids(q="SUP") == [i2]
    assert ids(created_from="2026-02-01", created_to="2026-02-28") == [i2]
    assert ids(type="received") == [i2]
    assert ids(status="paid") == [i2]
    assert ids(company=str(a)) == [i1]
    assert ids(reference="PO") == [i1]
    assert ids(contract="C-77") == [i2] == ids(contract=str(contract))
    assert ids(total_min="100", total_max="1000") == [i3]
    assert ids(expires_from="2026-03-15") == [i3]
    assert ids(manager_login="manager1") == [i2, i3]
    assert ids(state="draft") == [i3] and ids(state="issued") == [i1]
    assert ids(state="received") == [i2]
    with pytest.raises(ValidationFailed, match="total_min"):
        kind.list(admin, {"total_min": "lots"})


def test_bill_id_finds_invoices_everywhere(world):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = issued_invoice(admin, world.cid("Customer #A"), **MANUAL)
    assert invoices.find(admin, "15/1000")["id"] == invoice_id
    assert invoices.find(admin, str(invoice_id))["bill_id"] == "15/1000"
    invoices.unlock(admin, "15/1000")
    get_kind("invoice").update(admin, "15/1000", {"status": "paid"})
    assert invoices.find(admin, "15/1000")["status"] == "paid"


def test_fpdf_is_imported_only_when_a_pdf_is_made(world, crm_db):
    """Listing, showing and locking invoices never pays for the PDF library."""
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from crm_tui.models import User\n"
        "from crm_tui.services import invoices\n"
        "from crm_tui.services.context import Session\n"
        "from crm_tui.services.database import open_and_prepare\n"
        "from crm_tui.services.records import get_kind\n"
        f"open_and_prepare({crm_db!r})\n"
        "s = Session(User.get(User.login == 'admin'))\n"
        "from crm_tui.services import invoice_issue\n"
        "with invoices.deferred_pdfs():\n"
        "    i = get_kind('invoice').create(s, {'company': '2', 'lines': "
        "[{'description': 'x', 'amount': '1'}]})\n"
        "    invoice_issue.issue(s, i)\n"
        "get_kind('invoice').list(s); invoices.find(s, str(i)); invoices.unlock(s, i)\n"
        "print('fpdf' in sys.modules)\n"
        "from crm_tui.services import documents_service\n"
        "documents_service.invoice_pdf(s, i)\n"
        "print('fpdf' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "True"]


def test_stored_pdf_on_both_backends(any_world, data_dir):
    admin = any_world.session("admin")
    invoice_id = issued_invoice(admin, any_world.cid("Customer #B"), **MANUAL)
    first = documents_service._generated(invoice_id)
    get_kind("invoice").update(admin, invoice_id, {"status": "paid"})
    second = documents_service._generated(invoice_id)
    assert len(first) == 1 and len(second) == 2 and first[0].stored_name == second[0].stored_name
    assert files_on_disk(data_dir) == {a.stored_name for a in second}
    text = text_of(documents_service.invoice_pdf(admin, invoice_id)[1])
    assert "2,613.60" in text and "15/1000" in text and "PAID" in text
    versions = documents_service.pdf_versions(admin, invoice_id)
    assert [v["state"] for v in versions] == ["pending", "paid"]
    # Back to pending (a payment returned): a version without the mark, all kept.
    get_kind("invoice").update(admin, invoice_id, {"status": "pending"})
    assert [v["state"] for v in documents_service.pdf_versions(admin, invoice_id)] == [
        "pending", "paid", "pending"]
    assert "PAID" not in text_of(documents_service.invoice_pdf(admin, invoice_id)[1])


def test_invoice_side_links_keep_contracts_the_user_cannot_see(world):
    admin = world.session("admin")
    get_kind("profile").create(admin, {"name": "Clerk A", "bits": "CR,CW,IR,IW,IM"})
    get_kind("user").update(admin, "user1", {"profiles": "Clerk A"})
    hidden_company = get_kind("company").create(admin, {"name": "Root Ltd"})  # no parent
    hidden = get_kind("contract").create(admin, {"name": "Hidden", "company": str(hidden_company)})
    visible = get_kind("contract").create(admin, {"name": "Visible",
                                                  "company": str(world.cid("Customer #A"))})
    with invoices.deferred_pdfs():
        invoice_id = add_invoice(admin, world.cid("Customer #A"), type="received",
                                 bill_id="R-1", contracts=f"{hidden},{visible}")
        get_kind("invoice").update(world.session("user1"), invoice_id, {"contracts": ""})
    assert get_kind("invoice").get(admin, invoice_id)["contracts"] == [hidden]
