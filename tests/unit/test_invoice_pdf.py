"""Invoice PDFs read back with pypdf: content, languages, Unicode, secrecy, font reuse."""

from __future__ import annotations

import io
import unicodedata
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from crm_tui.documents import DocumentError
from crm_tui.documents.fonts import PdfFontCache
from crm_tui.documents.invoice_pdf import render_invoice_pdf

COMPANY = {
    "name": "Ελληνική Εταιρεία",
    "fiscal_id": "EL-998877",
    "address": "Odos Ermou 12\nΑθήνα",
    "country": "Greece",
}
SETTINGS = {
    "header": "My Company S.L.\nCalle Mayor 1, Madrid",
    "tax_name": "IVA",
    "payment_methods": "Transferencia ES00 1234",
    "footer": "Inscrita en el Registro Mercantil de Madrid",
}


def invoice(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "bill_id": "15/1000",
        "type": "Submitted",
        "reference": "PO-4711",
        "status": "pending",
        "created": date(2021, 4, 11),
        "expires": date(2021, 5, 11),
        "paid_on": None,
        "currency": "EUR",
        "language": "es",
        "description": "Soporte técnico anual",
        "internal_note": "TOP-SECRET margin 40%",
        "lines": [{"description": "Concepto de soporte", "amount": Decimal("2400")}],
        "discounts": [{"description": "promotion", "amount": Decimal("240")}],
        "tax_rate": Decimal("21"),
        "withholding_rate": Decimal("0"),
    }
    data.update(changes)
    return data


def text_of(pdf: bytes) -> str:
    """All pages' text, with no-break spaces made plain for easy comparison."""
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return unicodedata.normalize("NFC", text).replace("\xa0", " ")


@pytest.fixture(scope="module")
def cache() -> PdfFontCache:
    return PdfFontCache()


def png_logo() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (60, 20), (20, 60, 120)).save(out, format="PNG")
    return out.getvalue()


def test_spanish_invoice_content(cache: PdfFontCache) -> None:
    pdf = render_invoice_pdf(invoice(), COMPANY, SETTINGS, logo_bytes=png_logo(), font_cache=cache)
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    for expected in (
        "Factura 15/1000",
        "Ελληνική Εταιρεία",
        "EL-998877",
        "Αθήνα",
        "Greece",
        "PO-4711",
        "11 abr 2021",
        "Soporte técnico anual",
        "Base imponible 2.400,00 €",
        "Subtotal 2.160,00 €",
        "IVA (21 %) 453,60 €",
        "Total 2.613,60 €",
        "Transferencia ES00 1234",
        "Inscrita en el Registro Mercantil",
        "My Company S.L.",
        "Página 1 de 1",
    ):
        assert expected in text, expected
    assert "TOP-SECRET" not in text
    assert b"TOP-SECRET" not in pdf
    # The status is not printed: only a paid or cancelled invoice carries a mark.
    assert "Pendiente" not in text and "Estado" not in text and "PAGADA" not in text


def test_english_invoice_formats_money_and_dates_in_english(cache: PdfFontCache) -> None:
    data = invoice(language="en", status="paid", paid_on="2021-04-20", withholding_rate="15")
    company = {**COMPANY, "name": "Компания «Ромашка»"}
    text = text_of(
        render_invoice_pdf(data, company, {**SETTINGS, "tax_name": "VAT"}, font_cache=cache)
    )
    for expected in (
        "Invoice 15/1000",
        "Компания «Ромашка»",
        "Apr 11, 2021",
        "PAID\nApr 20, 2021",
        "Tax base €2,400.00",
        "VAT (21 %) €453.60",
        "Withholding (15 %) -€324.00",
        "Total €2,289.60",
    ):
        assert expected in text, expected


def test_many_lines_flow_onto_more_pages(cache: PdfFontCache) -> None:
    lines = [{"description": f"Line {n} ñ", "amount": Decimal("10.00")} for n in range(80)]
    pdf = render_invoice_pdf(
        invoice(lines=lines, discounts=[]), COMPANY, SETTINGS, font_cache=cache
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    text = text_of(pdf)
    assert "Line 79 ñ" in text
    assert "Total 968,00 €" in text  # 800 + 21 %
    assert "Página 2 de" in text
    # Continuation pages repeat the invoice's number at the top.
    second = unicodedata.normalize("NFC", reader.pages[1].extract_text())
    assert second.startswith("Factura 15/1000")


def test_given_totals_must_match_the_lines(cache: PdfFontCache) -> None:
    good = invoice(totals={"total": Decimal("2613.60"), "total_tax": "453.60"})
    render_invoice_pdf(good, COMPANY, SETTINGS, font_cache=cache)
    with pytest.raises(DocumentError, match="total"):
        render_invoice_pdf(invoice(total=Decimal("9999")), COMPANY, SETTINGS, font_cache=cache)
    with pytest.raises(DocumentError, match="not a valid number"):
        bad = invoice(lines=[{"description": "x", "amount": "1,5"}])
        render_invoice_pdf(bad, COMPANY, SETTINGS, font_cache=cache)


def test_logo_must_be_a_raster_image_from_the_crm(cache: PdfFontCache) -> None:
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'
    for logo in (svg, b"/etc/passwd", b"\x89PNG\r\n\x1a\nbroken"):
        pdf = render_invoice_pdf(invoice(), COMPANY, SETTINGS, logo_bytes=logo, font_cache=cache)
        assert "Factura 15/1000" in text_of(pdf)
        assert b"root:" not in pdf


def test_reused_fonts_give_the_same_text_as_fresh_ones(cache: PdfFontCache) -> None:
    fresh = PdfFontCache(reuse=False)
    for name in ("Ελληνική Εταιρεία", "Компания", "Ĳsselmeer Łódź Ærø", "Հայաստան ՍՊԸ"):
        data = invoice(bill_id=f"B-{name[:3]}")
        company = {**COMPANY, "name": name}
        reused_text = text_of(render_invoice_pdf(data, company, SETTINGS, font_cache=cache))
        fresh_text = text_of(render_invoice_pdf(data, company, SETTINGS, font_cache=fresh))
        assert name in reused_text
        assert reused_text == fresh_text


SELLER = {"name": "Artica Soluciones S.L.", "fiscal_id": "B-12345678",
          "address": "Calle Gran Vía 1\n28013 Madrid", "country": "España"}


def test_seller_per_language_texts_and_a_base_and_tax_per_rate(cache: PdfFontCache) -> None:
    settings = {"seller": SELLER, "tax_name": "", "tax_name.en": "VAT", "tax_name.es": "IVA",
                "payment_methods.en": "Bank transfer GB00 1", "payment_methods.es": "Transferencia",
                "footer.es": "Pie en español", "footer": "Footer"}
    lines = [{"description": "Support", "amount": Decimal("1000"), "tax_rate": Decimal("21")},
             {"description": "Books", "amount": Decimal("100"), "tax_rate": Decimal("4")}]
    english = text_of(render_invoice_pdf(invoice(language="en", lines=lines, discounts=[]),
                                         COMPANY, settings, font_cache=cache))
    spanish = text_of(render_invoice_pdf(invoice(lines=lines, discounts=[]), COMPANY,
                                         settings, font_cache=cache))
    for text in (english, spanish):
        assert "Artica Soluciones S.L." in text and "B-12345678" in text
        assert "Calle Gran Vía 1\n28013 Madrid" in text
    assert "VAT (21 %, base €1,000.00) €210.00" in english
    assert "VAT (4 %, base €100.00) €4.00" in english
    assert "Bank transfer GB00 1" in english and "Footer" in english
    assert "IVA (21 %, base 1.000,00 €) 210,00 €" in spanish
    assert "IVA (4 %, base 100,00 €) 4,00 €" in spanish
    assert "Transferencia" in spanish and "Pie en español" in spanish
    assert "IVA" not in english and "VAT" not in spanish


def test_an_edited_template_loops_over_lines_taxes_and_discounts(cache: PdfFontCache) -> None:
    template = ("<h1>{{ title }} {{ number }}</h1>"
                "{% for line in lines %}<p>L{{ loop.index }} {{ line.description }}</p>{% endfor %}"
                "{% for tax in taxes %}<p>T {{ tax.name }} {{ tax.rate }} {{ tax.base }} "
                "{{ tax.tax }}</p>{% endfor %}"
                "{% for d in discounts %}<p>D {{ d.description }} {{ d.amount }}</p>{% endfor %}"
                "<p>{{ customer.address }}</p><img src='/etc/passwd'>")
    lines = [{"description": "A <b>", "amount": Decimal("100"), "tax_rate": Decimal("21")},
             {"description": "B", "amount": Decimal("50"), "tax_rate": Decimal("10")}]
    pdf = render_invoice_pdf(invoice(lines=lines), COMPANY, {"seller": SELLER},
                             font_cache=cache, template=template)
    text = text_of(pdf)
    assert "L1 A <b>" in text and "L2 B" in text
    assert "T IVA 21 " in text and "T IVA 10 50,00 € 5,00 €" in text
    assert "D promotion -240,00 €" in text
    assert "Odos Ermou 12\nΑθήνα" in text
    assert "Artica Soluciones S.L." in text  # the seller, whatever the template


def test_a_template_that_names_an_unknown_field_fails_with_its_name(cache: PdfFontCache) -> None:
    from crm_tui.documents import TemplateError

    with pytest.raises(TemplateError, match="has no attribute 'fax'"):
        render_invoice_pdf(invoice(), COMPANY, SETTINGS, font_cache=cache,
                           template="<p>{{ customer.fax }}</p>")


def test_cjk_is_drawn_with_the_system_fallback_font(cache: PdfFontCache) -> None:
    from crm_tui.documents import collect_warnings
    from crm_tui.documents.fonts import find_fallback

    if find_fallback(frozenset({ord("中")})) is None:
        pytest.fail("no CJK font found through fontconfig: install fonts-noto-cjk "
                    "(.ci/setup does)")
    company = {**COMPANY, "name": "株式会社 東京商事", "address": "東京都千代田区 1-1"}
    with collect_warnings() as warnings:
        pdf = render_invoice_pdf(invoice(description="中文说明 한국어"), company, SETTINGS,
                                 font_cache=cache)
    # pypdf reads the CJK font's glyphs back with NULs and spaces between: compare without.
    text = "".join(text_of(pdf).replace("\x00", "").split())
    assert "株式会社東京商事" in text and "東京都千代田区1-1" in text
    assert "中文说明한국어" in text
    assert warnings == []


def test_without_a_fallback_font_the_characters_are_named_in_a_warning(
        cache: PdfFontCache) -> None:
    from crm_tui.documents import collect_warnings

    company = {**COMPANY, "name": "株式会社"}
    with collect_warnings() as warnings:
        pdf = render_invoice_pdf(invoice(), company, SETTINGS, font_cache=cache,
                                 fallback=False)
    assert pdf.startswith(b"%PDF-")
    assert len(warnings) == 1
    assert warnings[0].startswith("Factura 15/1000: no installed font can draw ")
    for char in "株式会社":
        assert char in warnings[0]
    assert "U+682A" in warnings[0]


@pytest.mark.parametrize("reader", ["en", "es"])
def test_labels_follow_the_invoice_s_language_not_the_reader_s(cache: PdfFontCache,
                                                               reader: str) -> None:
    from crm_tui import i18n

    i18n.set_language(reader)
    try:
        spanish = text_of(render_invoice_pdf(
            invoice(status="cancelled"), COMPANY, {}, font_cache=cache))
        english = text_of(render_invoice_pdf(
            invoice(language="en", status="cancelled"), COMPANY, {}, font_cache=cache))
    finally:
        i18n.set_language("en")
    for label in ("Factura 15/1000", "Datos de la factura", "Facturar a", "NIF/CIF: EL-998877",
                  "Concepto", "Importe", "Descuento", "Base imponible", "Fecha", "Vencimiento",
                  "IVA (21 %)", "ANULADA", "Página 1 de 1"):
        assert label in spanish, label
    for label in ("Invoice 15/1000", "Invoice details", "Bill to", "Fiscal ID: EL-998877",
                  "Concept", "Amount", "Discount", "Tax base", "Date", "Due date", "VAT (21 %)",
                  "CANCELLED", "Page 1 of 1"):
        assert label in english, label
    assert "Factura" not in english and "Invoice" not in spanish
