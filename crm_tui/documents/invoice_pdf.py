"""Invoice PDFs from plain dicts, in the invoice's language, with the shipped DejaVu font."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from crm_tui.documents import DocumentError
from crm_tui.documents.fonts import PdfFontCache, shared_font_cache
from crm_tui.money import InvoiceTotals, babel_locale, compute_rated_totals, format_money

log = logging.getLogger(__name__)

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "invoice": "Invoice",
        "credit_note": "Credit note",
        "credit_of": "Cancels invoice",
        "bill_id": "Invoice no.",
        "reference": "Reference",
        "created": "Date",
        "expires": "Due date",
        "paid_on": "Paid on",
        "status": "Status",
        "bill_to": "Bill to",
        "fiscal_id": "Fiscal ID",
        "concept": "Concept",
        "amount": "Amount",
        "discount": "Discount",
        "tax_base": "Tax base",
        "base_of": "base",
        "discount_total": "Discounts",
        "subtotal": "Subtotal",
        "withholding": "Withholding",
        "total": "Total",
        "payment_methods": "Payment methods",
        "page": "Page {page} of {pages}",
        "pending": "Pending",
        "paid": "Paid",
        "cancelled": "Cancelled",
    },
    "es": {
        "invoice": "Factura",
        "credit_note": "Factura rectificativa",
        "credit_of": "Rectifica la factura",
        "bill_id": "Nº de factura",
        "reference": "Referencia",
        "created": "Fecha",
        "expires": "Vencimiento",
        "paid_on": "Pagada el",
        "status": "Estado",
        "bill_to": "Facturar a",
        "fiscal_id": "NIF/CIF",
        "concept": "Concepto",
        "amount": "Importe",
        "discount": "Descuento",
        "tax_base": "Base imponible",
        "base_of": "base",
        "discount_total": "Descuentos",
        "subtotal": "Subtotal",
        "withholding": "Retención",
        "total": "Total",
        "payment_methods": "Formas de pago",
        "page": "Página {page} de {pages}",
        "pending": "Pendiente",
        "paid": "Pagada",
        "cancelled": "Anulada",
    },
}

# Text that reaches the PDF: drop C0/C1 control characters (they have no glyphs and can
# confuse viewers' text extraction) but keep line breaks; tabs become spaces.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")
MAX_LOGO_BYTES = 5 * 1024 * 1024
TOTAL_KEYS = ("tax_base", "discount_total", "subtotal", "total_tax", "withholding", "total")


def _clean(value: Any) -> str:
    """User text as printable text: None is empty, controls removed, CRLF normalised."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


def _language(invoice: Mapping[str, Any]) -> str:
    """The invoice's label language ("es_ES" -> "es"); English when unsupported."""
    lang = str(invoice.get("language") or "en").replace("-", "_").split("_")[0].lower()
    return lang if lang in LABELS else "en"


def _as_date(value: Any) -> date | None:
    """A date from a date, datetime or ISO string; None for empty / "0000-00-00" values."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if not text or text.startswith("0000-00-00"):
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError as exc:
        raise DocumentError(f"invoice date {value!r} is not a date (YYYY-MM-DD)") from exc


def _format_date(value: Any, locale: str) -> str:
    """A date in the invoice's language ("Apr 11, 2021" / "11 abr 2021"), or ""."""
    from babel.dates import format_date

    day = _as_date(value)
    return format_date(day, "medium", locale=locale) if day else ""


def _format_rate(rate: Any, locale: str) -> str:
    """A percentage as the language writes it: 21 -> "21", 10.5 -> "10.5" / "10,5"."""
    from babel.numbers import format_decimal

    return format_decimal(Decimal(str(rate)).normalize(), locale=locale)


def _check_totals(invoice: Mapping[str, Any], computed: InvoiceTotals) -> None:
    """Refuse to print totals that disagree with the lines: the PDF must match the data."""
    given: dict[str, Any] = {}
    stored = invoice.get("totals")
    if isinstance(stored, InvoiceTotals):
        given.update(stored.as_dict())
    elif isinstance(stored, Mapping):
        given.update(stored)
    given.update({k: invoice[k] for k in TOTAL_KEYS if invoice.get(k) is not None})
    expected = computed.as_dict()
    for key, value in given.items():
        if key in expected and Decimal(str(value)) != expected[key]:
            raise DocumentError(
                f"invoice {key} {value} does not match its lines and rates ({expected[key]})"
            )


def _logo_ok(logo_bytes: bytes | None) -> bool:
    """True for a PNG, JPEG or GIF of sane size. Anything else (SVG, which may reference
    files or URLs, or junk) is skipped with a warning rather than blocking the invoice."""
    if not logo_bytes:
        return False
    if len(logo_bytes) > MAX_LOGO_BYTES:
        log.warning("invoice logo skipped: %d bytes is over the limit", len(logo_bytes))
        return False
    if not logo_bytes.startswith(_IMAGE_MAGIC):
        log.warning("invoice logo skipped: not a PNG, JPEG or GIF image")
        return False
    return True


@cache
def _invoice_pdf_class() -> type:
    """An FPDF subclass with the invoice footer (built on first use: fpdf is heavy)."""
    from fpdf import FPDF

    class InvoicePDF(FPDF):
        """A4 invoice page with the configured footer and page numbers on every page."""

        footer_text = ""
        page_label = "{page}/{pages}"
        crm_family = "dejavu"

        def footer(self) -> None:
            self.set_y(-18)
            self.set_font(self.crm_family, "", 7.5)
            self.set_text_color(110)
            if self.footer_text:
                self.multi_cell(0, 3.5, self.footer_text, align="C", new_x="LMARGIN")
            self.set_y(-8)
            label = self.page_label.format(page=self.page_no(), pages="{nb}")
            self.cell(0, 4, label, align="C")

    return InvoicePDF


def render_invoice_pdf(
    invoice: Mapping[str, Any],
    company: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    logo_bytes: bytes | None = None,
    font_cache: PdfFontCache | None = None,
) -> bytes:
    """Render an invoice as PDF bytes.

    invoice: bill_id, type, reference, status (pending/paid/cancelled), created, expires,
      issued, paid_on (dates or ISO strings), currency ("EUR"), language ("en"/"es"),
      description (printed), lines [{description, amount, tax_rate}], discounts
      [{description, amount, tax_rate}] (a line without a rate takes `tax_rate`),
      withholding_rate, credit_of (the bill ID a credit note cancels), and optionally the
      totals (top-level keys or "totals"), which must agree with the lines. internal_note
      is never read.
    company (the customer): name, fiscal_id, address, country.
    settings: header, tax_name ("VAT"/"IVA"), payment_methods, footer, currency (default).
    logo_bytes: an image stored in the CRM (PNG/JPEG/GIF); never a path from data.
    font_cache: reuse parsed fonts across a batch; default is the process-wide cache.
    """
    from fpdf.fonts import FontFace

    lang = _language(invoice)
    labels = LABELS[lang]
    locale = babel_locale(lang)
    currency = str(invoice.get("currency") or settings.get("currency") or "EUR").upper()
    lines = list(invoice.get("lines") or [])
    discounts = list(invoice.get("discounts") or [])
    tax_rate = invoice.get("tax_rate") or 0
    withholding_rate = invoice.get("withholding_rate") or 0
    credit_of = _clean(invoice.get("credit_of"))

    def rate_of(item: Mapping[str, Any]) -> Any:
        rate = item.get("tax_rate")
        return tax_rate if rate is None or rate == "" else rate

    try:
        totals = compute_rated_totals(
            [(line.get("amount"), rate_of(line)) for line in lines],
            [(d.get("amount"), rate_of(d)) for d in discounts],
            withholding_rate,
            credit=bool(credit_of),
        )
    except ValueError as exc:
        raise DocumentError(f"invoice {invoice.get('bill_id')}: {exc}") from exc
    _check_totals(invoice, totals)

    def money(amount: Any) -> str:
        return format_money(amount, currency, locale)

    header = _clean(settings.get("header"))
    footer = _clean(settings.get("footer"))
    payment_methods = _clean(settings.get("payment_methods"))
    tax_name = _clean(settings.get("tax_name")) or ("IVA" if lang == "es" else "VAT")
    bill_id = _clean(invoice.get("bill_id"))
    description = _clean(invoice.get("description"))
    company_lines = [
        _clean(company.get("name")),
        _clean(company.get("address")),
        _clean(company.get("country")),
    ]
    fiscal_id = _clean(company.get("fiscal_id"))
    status = str(invoice.get("status") or "").lower()
    facts = [
        (labels["bill_id"], bill_id),
        (labels["created"], _format_date(invoice.get("issued") or invoice.get("created"),
                                         locale)),
        (labels["credit_of"], credit_of),
        (labels["expires"], _format_date(invoice.get("expires"), locale)),
        (labels["reference"], _clean(invoice.get("reference"))),
        (labels["status"], labels.get(status, _clean(status).capitalize())),
        (labels["paid_on"], _format_date(invoice.get("paid_on"), locale)),
    ]
    facts = [(label, value) for label, value in facts if value]
    concept_rows = [(_clean(line.get("description")), money(line["amount"])) for line in lines]
    discount_rows = [
        (_clean(d.get("description")), money(-Decimal(str(d["amount"])))) for d in discounts
    ]
    total_rows = [(labels["tax_base"], money(totals.tax_base))]
    if discounts:
        total_rows.append((labels["discount_total"], money(-totals.discount_total)))
        total_rows.append((labels["subtotal"], money(totals.subtotal)))
    by_rate = totals.by_rate or ()
    if len(by_rate) > 1:
        # One base and tax per rate.
        for part in by_rate:
            rate_text = _format_rate(part.rate, locale)
            total_rows.append((f"{tax_name} ({rate_text} %, {labels['base_of']} "
                               f"{money(part.base)})", money(part.tax)))
    else:
        rate_text = _format_rate(by_rate[0].rate if by_rate else tax_rate, locale)
        total_rows.append((f"{tax_name} ({rate_text} %)", money(totals.total_tax)))
    if totals.withholding:
        w_rate = _format_rate(withholding_rate, locale)
        total_rows.append((f"{labels['withholding']} ({w_rate} %)", money(-totals.withholding)))

    # Everything printed, so the font cache can pick a face covering all of it.
    printed = "\n".join(
        [header, footer, payment_methods, tax_name, description, fiscal_id, *company_lines]
        + [f"{a} {b}" for a, b in facts + concept_rows + discount_rows + total_rows]
        + list(labels.values())
        + [money(totals.total)]
    )

    pdf = _invoice_pdf_class()(orientation="P", unit="mm", format="A4")
    family = (font_cache or shared_font_cache()).install(pdf, printed)
    pdf.crm_family = family
    pdf.footer_text = footer
    pdf.page_label = labels["page"]
    title = labels["credit_note"] if credit_of else labels["invoice"]
    pdf.set_title(f"{title} {bill_id}")
    pdf.set_creator("crm_tui")
    pdf.set_lang(lang)
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=25)
    pdf.add_page()
    left = pdf.l_margin
    width = pdf.epw

    # Header: logo on the left, the issuer's header text on the right.
    top = pdf.get_y()
    logo_bottom = top
    if _logo_ok(logo_bytes):
        try:
            info = pdf.image(io.BytesIO(logo_bytes), x=left, y=top, h=20)
            logo_bottom = top + float(info.rendered_height)
        except Exception as exc:  # Pillow and fpdf raise many types for bad images
            log.warning("invoice logo skipped: %s", exc)
    if header:
        pdf.set_xy(left + width / 2, top)
        pdf.set_font(family, "", 9)
        pdf.multi_cell(width / 2, 4.5, header, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), logo_bottom) + 8)

    # Title and the invoice facts (left), the customer (right).
    pdf.set_font(family, "B", 18)
    pdf.cell(0, 9, f"{title} {bill_id}", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    block_top = pdf.get_y()
    pdf.set_font(family, "", 9.5)
    for label, value in facts:
        pdf.set_font(family, "B", 9.5)
        pdf.cell(32, 5.5, f"{label}:")
        pdf.set_font(family, "", 9.5)
        pdf.multi_cell(width / 2 - 34, 5.5, value, new_x="LMARGIN", new_y="NEXT")
    facts_bottom = pdf.get_y()

    pdf.set_xy(left + width / 2, block_top)
    pdf.set_font(family, "B", 9.5)
    pdf.cell(width / 2, 5.5, labels["bill_to"], new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, "B", 11)
    pdf.multi_cell(width / 2, 5.5, company_lines[0], new_x="LEFT", new_y="NEXT")
    pdf.set_font(family, "", 9.5)
    if fiscal_id:
        pdf.multi_cell(
            width / 2, 5, f"{labels['fiscal_id']}: {fiscal_id}", new_x="LEFT", new_y="NEXT"
        )
    for text in company_lines[1:]:
        if text:
            pdf.multi_cell(width / 2, 5, text, new_x="LEFT", new_y="NEXT")
    pdf.set_y(max(pdf.get_y(), facts_bottom) + 6)

    if description:
        pdf.set_font(family, "", 10)
        pdf.multi_cell(0, 5, description, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(4)

    # Concepts and discounts.
    pdf.set_font(family, "", 10)
    pdf.set_draw_color(180)
    with pdf.table(
        col_widths=(4, 1),
        text_align=("LEFT", "RIGHT"),
        headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
        borders_layout="HORIZONTAL_LINES",
        line_height=6,
        padding=(1.2, 2),
    ) as table:
        heading = table.row()
        heading.cell(labels["concept"])
        heading.cell(labels["amount"])
        for text, amount in concept_rows:
            row = table.row()
            row.cell(text)
            row.cell(amount)
        for text, amount in discount_rows:
            row = table.row()
            row.cell(f"{labels['discount']}: {text}" if text else labels["discount"])
            row.cell(amount)
    pdf.ln(4)

    # Totals, right-aligned under the amounts column.
    label_w, value_w = 55.0, 40.0
    x = left + width - label_w - value_w
    pdf.set_font(family, "", 10)
    for label, value in total_rows:
        pdf.set_x(x)
        pdf.cell(label_w, 6, label, align="R")
        pdf.cell(value_w, 6, value, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_x(x)
    pdf.set_draw_color(60)
    pdf.line(x + 10, pdf.get_y() + 0.5, x + label_w + value_w, pdf.get_y() + 0.5)
    pdf.ln(1.5)
    pdf.set_x(x)
    pdf.set_font(family, "B", 12)
    pdf.cell(label_w, 8, labels["total"], align="R")
    pdf.cell(value_w, 8, money(totals.total), align="R", new_x="LMARGIN", new_y="NEXT")

    if payment_methods:
        pdf.ln(8)
        pdf.set_font(family, "B", 10)
        pdf.cell(0, 6, labels["payment_methods"], new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9.5)
        pdf.multi_cell(0, 5, payment_methods, new_x="LMARGIN", new_y="NEXT")

    return bytes(pdf.output())
