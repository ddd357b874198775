"""Invoices through the services: totals, bill IDs, stored PDFs, downloads, batches, search."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from decimal import Decimal

import pytest
from pypdf import PdfReader

from crm_tui.errors import ValidationFailed
from crm_tui.services import documents_service, invoices, settings
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


# --- totals -------------------------------------------------------------------------------


def test_manual_totals_on_both_backends(any_world):
    admin = any_world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = add_invoice(admin, any_world.cid("Customer #A"), currency="EUR", **MANUAL)
    row = get_kind("invoice").get(admin, invoice_id)
    assert (row["tax_base"], row["discount_total"], row["subtotal"], row["total_tax"],
            row["total"]) == ("2400.00", "240.00", "2160.00", "453.60", "2613.60")
    assert Decimal(row["total"]) == Decimal("2613.6")
    assert row["lines"] == [{"description": "Annual support", "amount": "2400.00"}]
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
    lines = invoices.parse_lines_text("2400 Annual support\n\n  19.99 Ελληνικά  ")
    assert lines == [{"description": "Annual support", "amount": "2400"},
                     {"description": "Ελληνικά", "amount": "19.99"}]
    assert invoices.parse_lines_text(invoices.lines_text(lines)) == lines
    with pytest.raises(ValidationFailed) as err:
        invoices.parse_lines_text("Support 2400\n100")
    assert "lines[1]" in str(err.value) and "lines[2]" in str(err.value)


# --- bill IDs -----------------------------------------------------------------------------


def test_pattern_sequence_from_the_numeric_part(any_world):
    admin = any_world.session("admin")
    cid = any_world.cid("Customer #A")
    with invoices.deferred_pdfs():
        first = [get_kind("invoice").get(admin, add_invoice(admin, cid))["bill_id"]
                 for _ in range(3)]
        assert first == ["15/1000", "15/1001", "15/1002"]
        settings.set_value(admin, "invoice.id_pattern", "15/[9999]")
        ids = [get_kind("invoice").get(admin, add_invoice(admin, cid))["bill_id"]
               for _ in range(3)]
    # 15/10000 follows 15/9999: numbers, not a text sort of IDs.
    assert ids == ["15/9999", "15/10000", "15/10001"]


def test_manual_exception_is_skipped_and_never_duplicated(world):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    with invoices.deferred_pdfs():
        add_invoice(admin, cid, bill_id="15/1001")  # a manual exception ahead of the series
        got = [get_kind("invoice").get(admin, add_invoice(admin, cid))["bill_id"]
               for _ in range(3)]
        assert got == ["15/1000", "15/1002", "15/1003"]
        with pytest.raises(ValidationFailed, match="another invoice already has it"):
            add_invoice(admin, cid, bill_id="15/1002")
        # Received invoices need their own ID and share the one namespace.
        with pytest.raises(ValidationFailed, match="bill_id"):
            add_invoice(admin, cid, type="received")
        with pytest.raises(ValidationFailed, match="already has it"):
            add_invoice(admin, cid, type="received", bill_id="15/1000")


def test_auto_id_off_and_width_kept(world):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    with invoices.deferred_pdfs():
        settings.set_value(admin, "invoice.auto_id", "0")
        assert invoices.preview_bill_id() is None
        with pytest.raises(ValidationFailed, match="bill_id"):
            add_invoice(admin, cid)
        add_invoice(admin, cid, bill_id="HAND-1")
        settings.set_value(admin, "invoice.auto_id", "1")
        settings.set_value(admin, "invoice.id_pattern", "INV-[0098]/B")
        got = [get_kind("invoice").get(admin, add_invoice(admin, cid))["bill_id"]
               for _ in range(3)]
    assert got == ["INV-0098/B", "INV-0099/B", "INV-0100/B"]
    with pytest.raises(ValidationFailed, match="exactly one bracketed number"):
        settings.set_value(admin, "invoice.id_pattern", "15/[1]/[2]")


def test_preview_reserves_nothing_and_a_rollback_frees_the_number(world, data_dir):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    assert invoices.preview_bill_id() == "15/1000"
    assert invoices.preview_bill_id() == "15/1000"

    def fail(session, invoice, created):
        raise RuntimeError("disk full")

    invoices.AFTER_SAVE_HOOKS.append(fail)
    try:
        with pytest.raises(RuntimeError):
            add_invoice(admin, cid, **MANUAL)
    finally:
        invoices.AFTER_SAVE_HOOKS.remove(fail)
    # Nothing was written: no row, no attachment, no file; the number is free again.
    assert get_kind("invoice").list(admin) == []
    assert files_on_disk(data_dir) == set()
    invoice_id = add_invoice(admin, cid, **MANUAL)
    assert get_kind("invoice").get(admin, invoice_id)["bill_id"] == "15/1000"


def test_form_defaults_preview_the_next_id(world):
    defaults = invoices.form_defaults(world.session("admin"))
    assert defaults["bill_id_preview"] == "15/1000"
    assert defaults["tax_rate"] == "21" and defaults["type"] == "submitted"


# --- the stored PDF -----------------------------------------------------------------------


def test_submitted_invoice_pdf_made_on_create_and_replaced_on_edit(world, data_dir):
    admin = world.session("admin")
    company = get_kind("company")
    cid = company.create(admin, {"name": "Ελληνική Εταιρεία Α.Ε.", "fiscal_id": "EL-998877",
                                 "address": "Odos Ermou 12", "country": "Greece",
                                 "parent": str(world.cid("My company"))})
    invoice_id = add_invoice(admin, cid, **MANUAL)
    stored = documents_service._generated(invoice_id)
    assert len(stored) == 1 and stored[0].original_name == "invoice-15_1000.pdf"
    first_file = stored[0].stored_name
    assert first_file in files_on_disk(data_dir)
    text = text_of(documents_service.invoice_pdf(admin, "15/1000")[1])
    for expected in ("15/1000", "Ελληνική Εταιρεία Α.Ε.", "EL-998877", "Greece",
                     "2,400.00", "2,160.00", "453.60", "2,613.60", "VAT", "Bank transfer"):
        assert expected in text, expected
    assert documents_service.has_generated_pdf(admin, invoice_id)

    # A user's own attachment survives every regeneration.
    from crm_tui.services import attachments

    attachments.add(admin, "invoice", invoice_id, "purchase-order.txt", b"PO 4711")
    get_kind("invoice").update(admin, "15/1000", {"reference": "PO-4711", "language": "es"})
    stored = documents_service._generated(invoice_id)
    assert len(stored) == 1 and stored[0].stored_name != first_file
    assert first_file not in files_on_disk(data_dir)
    text = text_of(documents_service.invoice_pdf(admin, invoice_id)[1])
    assert "Factura 15/1000" in text and "PO-4711" in text and "2.613,60" in text
    assert [a["name"] for a in documents_service.invoice_attachments(admin, invoice_id)] == [
        "purchase-order.txt"]
    # Two files: the current PDF and the purchase order.
    assert len(files_on_disk(data_dir)) == 2


def test_received_invoices_get_no_pdf(world, data_dir):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), type="received",
                             bill_id="SUP-77", **MANUAL)
    assert documents_service._generated(invoice_id) == []
    assert files_on_disk(data_dir) == set()
    # A download still gets a PDF, rendered on the fly.
    name, pdf = documents_service.invoice_pdf(admin, "SUP-77")
    assert name == "invoice-SUP-77.pdf" and "SUP-77" in text_of(pdf)


def test_rejected_edit_leaves_the_pdf_alone(world, data_dir):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
    before = files_on_disk(data_dir)
    with pytest.raises(ValidationFailed):
        get_kind("invoice").update(admin, invoice_id, {"tax_rate": "150"})
    assert files_on_disk(data_dir) == before


def test_delete_removes_attachments_and_files(world, data_dir):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
    from crm_tui.services import attachments

    attachments.add(admin, "invoice", invoice_id, "offer.pdf", b"%PDF-offer")
    assert len(files_on_disk(data_dir)) == 2
    invoices.unlock(admin, invoice_id)
    get_kind("invoice").delete(admin, invoice_id)
    assert files_on_disk(data_dir) == set()


def test_download_zip_holds_pdf_and_attachments(world, tmp_path):
    admin = world.session("admin")
    invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
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
        for day in ("2026-01-03", "2026-01-20", "2026-02-01"):
            add_invoice(admin, cid, created=day, **MANUAL)
        add_invoice(admin, cid, created="2026-01-05", type="received", bill_id="R-9")
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
    invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
    pdf = documents_service.invoice_pdf(admin, invoice_id)[1]
    assert PdfReader(io.BytesIO(pdf)).pages[0].images  # the logo is in the PDF


# --- search -------------------------------------------------------------------------------


def test_search_filters(world):
    admin = world.session("admin")
    kind = get_kind("invoice")
    a, b = world.cid("Customer #A"), world.cid("Customer #B")
    with invoices.deferred_pdfs():
        i1 = add_invoice(admin, a, created="2026-01-10", reference="PO-1", **MANUAL)
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
    with pytest.raises(ValidationFailed, match="total_min"):
        kind.list(admin, {"total_min": "lots"})


def test_bill_id_finds_invoices_everywhere(world):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        invoice_id = add_invoice(admin, world.cid("Customer #A"), **MANUAL)
    assert invoices.find(admin, "15/1000")["id"] == invoice_id
    assert invoices.find(admin, str(invoice_id))["bill_id"] == "15/1000"
    invoices.unlock(admin, "15/1000")
    with invoices.deferred_pdfs():
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
        "with invoices.deferred_pdfs():\n"
        "    i = get_kind('invoice').create(s, {'company': '2'})\n"
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
    invoice_id = add_invoice(admin, any_world.cid("Customer #B"), **MANUAL)
    first = documents_service._generated(invoice_id)
    get_kind("invoice").update(admin, invoice_id, {"status": "paid"})
    second = documents_service._generated(invoice_id)
    assert len(first) == len(second) == 1 and first[0].stored_name != second[0].stored_name
    assert files_on_disk(data_dir) == {second[0].stored_name}
    assert "2,613.60" in text_of(documents_service.invoice_pdf(admin, invoice_id)[1])


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
