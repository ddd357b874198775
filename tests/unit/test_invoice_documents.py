"""Documents made from settings and templates, on both backends, read back with pypdf: the
seller, per-language texts, continuation pages, the editable invoice template, PAID and
CANCELLED versions, contracts with ordinary data, and the CJK warning path."""

from __future__ import annotations

import io
import unicodedata

import pytest
from pypdf import PdfReader

from crm_tui.errors import ValidationFailed
from crm_tui.services import attachments, contracts, documents_service, invoice_issue, settings
from crm_tui.services.records import get_kind

SELLER = {"seller.name": "Artica Soluciones S.L.", "seller.fiscal_id": "B-12345678",
          "seller.address": "Calle Gran Vía 1\n28013 Madrid", "seller.country": "España"}


def pages_of(data: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(data))
    return [unicodedata.normalize("NFC", p.extract_text()).replace("\xa0", " ")
            for p in reader.pages]


def text_of(data: bytes) -> str:
    return "\n".join(pages_of(data))


def configure(admin, **values: str) -> None:
    for key, value in values.items():
        settings.set_value(admin, key, value)


def customer(admin, world, **fields: str) -> int:
    return get_kind("company").create(admin, {"name": "Hauptkunde GmbH",
                                              "parent": str(world.cid("My company")),
                                              **fields})


def issued(admin, company: int, language: str = "en", lines: int = 1) -> invoice_issue.Issued:
    draft = get_kind("invoice").create(admin, {
        "company": str(company), "language": language, "tax_rate": "21",
        "lines": [{"description": f"Support {n}", "amount": "100"} for n in range(lines)]})
    return invoice_issue.issue(admin, draft)


def test_seller_per_language_tax_name_and_number_on_page_two(any_world):
    admin = any_world.session("admin")
    configure(admin, **SELLER, **{"invoice.tax_name.en": "VAT", "invoice.tax_name.es": "IVA",
                                  "invoice.payment_methods.es": "Transferencia ES00",
                                  "invoice.payment_methods.en": "Bank transfer GB00"})
    company = customer(admin, any_world, address="Hauptstraße 5\n10115 Berlin")
    english = issued(admin, company, "en", lines=70)
    spanish = issued(admin, company, "es")
    en_pages = pages_of(documents_service.invoice_pdf(admin, english.id)[1])
    es_text = text_of(documents_service.invoice_pdf(admin, spanish.id)[1])
    assert len(en_pages) >= 2
    assert en_pages[1].startswith(f"Invoice {english.bill_id}")
    for text in ("\n".join(en_pages), es_text):
        assert "Artica Soluciones S.L." in text and "B-12345678" in text
        assert "Calle Gran Vía 1\n28013 Madrid" in text and "España" in text
        assert "Hauptstraße 5\n10115 Berlin" in text
    en_text = "\n".join(en_pages)
    assert "VAT (21 %)" in en_text and "Bank transfer GB00" in en_text and "IVA" not in en_text
    assert "IVA (21 %)" in es_text and "Transferencia ES00" in es_text and "VAT" not in es_text
    assert "Pending" not in en_text and "Pendiente" not in es_text  # no status printed


def test_the_invoice_template_is_checked_when_saved_and_used(any_world):
    admin = any_world.session("admin")
    for bad, named in (("<p>{{ compny.name }}</p>", "'compny' is undefined"),
                       ("<p>{% for line in lines %}</p>", "line 1"),
                       ("<p>{{ customer.fax }}</p>", "no attribute 'fax'"),
                       ("<td><b>a</b> b</td>", "cannot be laid out")):
        with pytest.raises(ValidationFailed) as caught:
            settings.set_value(admin, "invoice.template", bad)
        message = str(caught.value)
        assert named in message and len(message.splitlines()) == 1, message
        assert settings.raw_value("invoice.template") == ""  # nothing written
    template = ("<h1>{{ title }} {{ number }}</h1>"
                "{% for line in lines %}<p>#{{ loop.index }} {{ line.description }}: "
                "{{ line.amount }}</p>{% endfor %}"
                "{% for tax in taxes %}<p>{{ tax.name }} {{ tax.rate }}: {{ tax.tax }}</p>"
                "{% endfor %}<p>Total {{ total }}</p>")
    settings.set_value(admin, "invoice.template", template)
    done = issued(admin, customer(admin, any_world), "en", lines=2)
    text = text_of(documents_service.invoice_pdf(admin, done.id)[1])
    assert "#1 Support 0: €100.00" in text and "#2 Support 1: €100.00" in text
    assert "VAT 21: €42.00" in text and "Total €242.00" in text


def test_paid_adds_a_marked_version_and_a_full_credit_a_cancelled_one(any_world):
    admin = any_world.session("admin")
    company = customer(admin, any_world)
    first = issued(admin, company)
    second = issued(admin, company)
    get_kind("invoice").update(admin, first.id, {"status": "paid", "paid_on": "2026-01-20"})
    versions = documents_service.pdf_versions(admin, first.id)
    assert [v["state"] for v in versions] == ["pending", "paid"]
    files = {f["id"]: f for f in attachments.files_of(admin, "invoice", first.id)}
    assert {v["id"] for v in versions} <= files.keys()  # both listed, both downloadable
    original = attachments.path_of(_stored(versions[0]["id"])).read_bytes()
    assert "PAID" not in text_of(original)
    newest = text_of(documents_service.invoice_pdf(admin, first.id)[1])
    assert "PAID" in newest and "Jan 20, 2026" in newest
    invoice_issue.credit(admin, second.id)
    states = [v["state"] for v in documents_service.pdf_versions(admin, second.id)]
    assert states == ["pending", "cancelled"]
    assert "CANCELLED" in text_of(documents_service.invoice_pdf(admin, second.id)[1])


def _stored(attachment_id: int) -> str:
    from crm_tui.models import Attachment

    return Attachment.get_by_id(attachment_id).stored_name


def test_a_cjk_customer_is_drawn_or_warned(any_world):
    admin = any_world.session("admin")
    company = customer(admin, any_world, name="株式会社 東京商事")
    drawn = issued(admin, company)
    assert drawn.warnings == ()
    text = "".join(text_of(documents_service.invoice_pdf(admin, drawn.id)[1])
                   .replace("\x00", "").split())
    assert "株式会社東京商事" in text
    configure(admin, **{"documents.fallback_font": "none"})
    warned = issued(admin, company)
    assert len(warned.warnings) == 1
    assert warned.warnings[0].startswith(f"Invoice {warned.bill_id}: no installed font can draw")
    assert all(char in warned.warnings[0] for char in "株式会社東京商事")


def test_the_shipped_contract_template_renders_ordinary_data(any_world):
    admin = any_world.session("admin")
    configure(admin, **SELLER)
    company = customer(admin, any_world, address="Hauptstraße 5\nHinterhaus\n10115 Berlin",
                       fiscal_id="DE-1")
    contract = get_kind("contract").create(admin, {"name": "Wartung 2026",
                                                   "company": str(company)})
    result = contracts.attach_pdf(admin, contract, "Default")
    assert result["warnings"] == []
    text = text_of(attachments.path_of(_stored(result["id"])).read_bytes())
    assert "Hauptstraße 5\nHinterhaus\n10115 Berlin" in text
    assert "has no dates set yet" in text and "from to" not in text
    assert "Madrid" not in text.replace("28013 Madrid", "")
    assert "Artica Soluciones S.L." in text and "Fiscal ID: B-12345678" in text
    assert "For the Provider: Artica Soluciones S.L." in text
    assert "For the Customer: Hauptkunde GmbH" in text
    assert text.count("Signature, name and date") == 2


def test_a_contract_value_that_cannot_be_printed_names_its_field(any_world):
    admin = any_world.session("admin")
    get_kind("template").create(admin, {"name": "Narrow", "body": (
        '<table width="100%"><tr><td width="4%">_company_fiscal_id_</td>'
        '<td width="96%">_company_name_</td></tr></table>')})
    company = customer(admin, any_world, fiscal_id="W" * 60)
    contract = get_kind("contract").create(admin, {"name": "K", "company": str(company)})
    with pytest.raises(ValidationFailed) as caught:
        contracts.attach_pdf(admin, contract, "Narrow")
    message = str(caught.value)
    assert "field company_fiscal_id (_company_fiscal_id_)" in message
    assert "template" not in message.split(":")[0] and len(message.splitlines()) == 1
    assert contracts.files(admin, contract) == []


def test_a_bad_month_is_refused_in_the_users_language():
    from crm_tui import i18n

    assert documents_service.month_range("2026-01")
    i18n.set_language("es")
    try:
        with pytest.raises(ValidationFailed, match="use AAAA-MM, p. ej. 2026-01"):
            documents_service.month_range("2026-13")
    finally:
        i18n.set_language(i18n.SOURCE_LANGUAGE)
    with pytest.raises(ValidationFailed, match="use YYYY-MM, e.g. 2026-01"):
        documents_service.month_range("enero")
