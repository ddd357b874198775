"""Contract PDFs from the default template, unsafe HTML handling, and download bundles."""

from __future__ import annotations

import io
import unicodedata
import zipfile
from datetime import date, datetime

import pytest
from pypdf import PdfReader

from crm_tui.documents import TemplateError
from crm_tui.documents.bundle import safe_archive_name, zip_bundle
from crm_tui.documents.contract_pdf import render_contract_pdf
from crm_tui.documents.fonts import PdfFontCache
from crm_tui.documents.templating import (
    CONTRACT_MACROS,
    contract_macro_values,
    default_contract_template,
    render_macros,
)


def text_of(pdf: bytes) -> str:
    """All pages' text, whitespace collapsed (the PDF wraps long lines anywhere)."""
    reader = PdfReader(io.BytesIO(pdf))
    text = " ".join(page.extract_text() for page in reader.pages)
    return " ".join(unicodedata.normalize("NFC", text).split())


@pytest.fixture(scope="module")
def cache() -> PdfFontCache:
    return PdfFontCache()


def all_values(locale: str) -> dict[str, str]:
    return contract_macro_values(
        {
            "id": 4242,
            "name": "SAMPLE-CUSTOMER-2021",
            "contract_number": "21/1001",
            "description": "Mantenimiento & soporte <24x7>",
            "date_begin": date(2021, 1, 20),
            "date_end": "2022-01-20",
            "id_company": 3,
            "private": 1,
            "status": 0,
        },
        {
            "id": 3,
            "name": "Компания Ромашка",
            "address": "ул. Ленина 1, Москва",
            "fiscal_id": "RU-7701",
            "country": "Rusia",
            "website": "https://romashka.example",
            "comments": "Cliente preferente",
            "manager": "admin",
            "last_update": datetime(2021, 4, 1, 10, 30),
            "payment_conditions": 45,
        },
        {"id": 2, "name": "Contrato de servicios", "description": "Bolsa de horas"},
        {"id": 9, "name": "Plantilla por defecto", "description": "Incluida"},
        {},
        datetime(2021, 4, 14, 9, 0),
        locale,
        SELLER,
    )


SELLER = {"name": "Artica Soluciones S.L.", "fiscal_id": "B-12345678",
          "address": "Calle Gran Vía 1\n28013 Madrid", "country": "España"}


@pytest.mark.parametrize("locale", ["es", "en"])
def test_default_template_pdf_holds_every_macro_value(cache: PdfFontCache, locale: str) -> None:
    values = all_values(locale)
    html = render_macros(default_contract_template(), values)
    text = text_of(render_contract_pdf(html, title="Contract", font_cache=cache))
    for name in CONTRACT_MACROS:
        expected = " ".join(values[name].split())
        assert expected in text, (name, expected)
    assert "Mantenimiento & soporte <24x7>" in text  # escaped in HTML, literal in the PDF
    assert ("14 mié abril 2021" if locale == "es" else "14 Wed April 2021") in text


def test_images_are_never_loaded(cache: PdfFontCache) -> None:
    html = (
        '<p>before</p><img src="/etc/passwd"><IMG SRC="file:///etc/hostname" width="10">'
        '<table><tr><td><img src="http://127.0.0.1:9/x.png"></td><td>cell</td></tr></table>'
        "<p>after</p>"
    )
    text = text_of(render_contract_pdf(html, font_cache=cache))
    assert "before" in text and "after" in text and "cell" in text


def test_template_code_reaches_nothing(cache: PdfFontCache) -> None:
    for attack in ("<p>{{ ''.__class__.__mro__ }}</p>", "<p>{% include '/etc/passwd' %}</p>"):
        with pytest.raises(TemplateError):
            render_macros(attack, {})


def test_any_font_request_maps_to_dejavu(cache: PdfFontCache) -> None:
    html = (
        '<p><font face="Comic Sans">Ελληνικά</font> <code>код</code> <i>cursiva</i></p>'
        "<pre>pre ñ</pre>"
    )
    text = text_of(render_contract_pdf(html, font_cache=cache))
    for word in ("Ελληνικά", "код", "cursiva", "pre ñ"):
        assert word in text


def test_unrenderable_html_is_a_template_error(cache: PdfFontCache) -> None:
    with pytest.raises(TemplateError, match="cannot be laid out"):
        render_contract_pdf('<table><tr><td colspan="x">a</td></tr></table>', font_cache=cache)
    with pytest.raises(TemplateError, match="limit"):
        render_contract_pdf("x" * 1_000_001, font_cache=cache)


def test_zip_bundle_holds_pdf_and_attachments_with_safe_names() -> None:
    attachments = [
        ("../../etc/passwd", b"a"),
        ("C:\\Users\\ana\\Informe final.pdf", b"b"),
        ("informe final.PDF", b"c"),
        (".hidden", b"d"),
        ("", b"e"),
        ("CON.txt", b"f"),
        ("15/1000.pdf", b"g"),
        ("ünïcödé — файл.txt", b"h"),
    ]
    data = zip_bundle("15/1000", b"%PDF-1.4 fake", attachments, when=datetime(2021, 4, 11))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names[0] == "15_1000.pdf"
        assert archive.read("15_1000.pdf") == b"%PDF-1.4 fake"
        assert len(names) == len(set(n.lower() for n in names)) == 9
        for name in names:
            assert "/" not in name and "\\" not in name and ".." not in name
            assert not name.startswith(".")
        assert "_.._etc_passwd" not in names
        assert archive.read("C__Users_ana_Informe final.pdf") == b"b"
        assert "15_1000 (2).pdf" in names
        assert "ünïcödé — файл.txt" in names
        assert sorted(archive.read(n) for n in names[1:]) == [bytes([c]) for c in b"abcdefgh"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("../../etc/passwd", "_._etc_passwd"),
        ("a/b\\c:d", "a_b_c_d"),
        ("..", "attachment"),
        ("  report.pdf. ", "report.pdf"),
        ("nul", "_nul"),
        ("x" * 300 + ".pdf", "x" * 116 + ".pdf"),
        ("bad\x00name\n.txt", "bad_name_.txt"),
    ],
)
def test_safe_archive_name(name: str, expected: str) -> None:
    assert safe_archive_name(name) == expected


def test_the_pdf_class_itself_refuses_images() -> None:
    # Second line of defence, should an <img> ever slip past the stripping.
    from crm_tui.documents.layout import document_pdf_class

    pdf = document_pdf_class()()
    PdfFontCache().install(pdf)
    pdf.add_page()
    with pytest.raises(TemplateError, match="images are not allowed"):
        pdf.image("/etc/passwd")


def test_ordinary_contract_multi_line_address_empty_fields_and_both_signatures(
        cache: PdfFontCache) -> None:
    values = all_values("en")
    values.update({"_company_address_": "Hauptstraße 5\nHinterhaus, 3. OG\n10115 Berlin",
                   "_date_begin_": "", "_date_end_": "", "_company_website_": "",
                   "_company_comments_": "", "_contract_number_": ""})
    html = render_macros(default_contract_template(), values)
    pdf = render_contract_pdf(html, title="Contract", font_cache=cache, seller=SELLER)
    raw = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    text = text_of(pdf)
    # Each address line on a line of its own, in the Address cell.
    assert "Hauptstraße 5\nHinterhaus, 3. OG\n10115 Berlin" in raw
    assert "runs from" not in text and "from to" not in text and "has no dates set yet" in text
    assert "No. " not in text and "Website" not in text and "Notes" not in text
    assert "Madrid" not in text.replace("28013 Madrid", "")  # no hard-coded city
    # The seller heads the page and signs; so does the customer.
    assert "Artica Soluciones S.L." in text and "Fiscal ID: B-12345678" in text
    assert "For the Provider: Artica Soluciones S.L." in text
    assert "For the Customer: Компания Ромашка" in text
    assert text.count("Signature, name and date") == 2


def test_one_date_only_reads_as_a_sentence(cache: PdfFontCache) -> None:
    values = all_values("en") | {"_date_end_": ""}
    text = text_of(render_contract_pdf(render_macros(default_contract_template(), values),
                                       font_cache=cache))
    assert "starts on 2021-01-20 and has no end date." in text


def test_a_value_that_cannot_be_laid_out_names_its_field(cache: PdfFontCache) -> None:
    from crm_tui.documents import DocumentError
    from crm_tui.documents.contract_pdf import contract_document

    template = ('<table width="100%"><tr><td width="1%">_company_fiscal_id_</td>'
                '<td width="99%">_company_name_</td></tr></table>')
    values = all_values("en") | {"_company_fiscal_id_": "W" * 60}
    with pytest.raises(DocumentError) as caught:
        contract_document(template, values, font_cache=cache)
    message = str(caught.value)
    assert message.startswith("field company_fiscal_id (_company_fiscal_id_) value 'WWW")
    assert "\n" not in message
    # A template that fails whatever the values is the template's fault.
    with pytest.raises(TemplateError, match="cannot be laid out"):
        contract_document('<table><tr><td colspan="x">_company_name_</td></tr></table>',
                          values, font_cache=cache)


@pytest.mark.parametrize("reader", ["en", "es"])
def test_labels_and_words_follow_the_contract_s_language(cache: PdfFontCache,
                                                         reader: str) -> None:
    from crm_tui import i18n

    i18n.set_language(reader)  # whoever prints it: the contract's language decides
    try:
        texts = {}
        for language in ("es", "en"):
            values = all_values(language)
            html = render_macros(default_contract_template(), values)
            texts[language] = text_of(render_contract_pdf(
                html, title="Contract", font_cache=cache, seller=SELLER, language=language))
            texts[language + " words"] = (values["_private_"], values["_name_status_"])
    finally:
        i18n.set_language("en")
    assert "NIF/CIF: B-12345678" in texts["es"] and "Página 1 de 1" in texts["es"]
    assert "Fiscal ID: B-12345678" in texts["en"] and "Page 1 of 1" in texts["en"]
    assert texts["es words"] == ("Sí", "Inactivo")
    assert texts["en words"] == ("Yes", "Inactive")
