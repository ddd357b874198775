"""Invoice PDFs from plain dicts: an editable HTML template, in the invoice's language.

The invoice's data becomes plain template data (formatted money, dates, one base and tax
per rate); the template (the shipped one or the user's, see `default_invoice_template`)
is rendered by the bounded sandbox of `html_render` and laid out by `layout`, which adds
the seller, the continuation headers and the PAID / CANCELLED mark.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from crm_tui.documents import DocumentError
from crm_tui.documents.fonts import PdfFontCache
from crm_tui.documents.layout import MAX_LOGO_BYTES, Page, clean, render_html_pdf
from crm_tui.i18n import N_, _, document_language, gettext, gettext_in, in_language
from crm_tui.money import InvoiceTotals, babel_locale, compute_rated_totals, format_money

log = logging.getLogger(__name__)

LABELS: dict[str, str] = {
    "invoice": N_("Invoice"),
    "credit_note": N_("Credit note"),
    "credit_of": N_("Cancels invoice"),
    "bill_id": N_("Invoice no."),
    "reference": N_("Reference"),
    "created": N_("Date"),
    "expires": N_("Due date"),
    "paid_on": N_("Paid on"),
    "status": N_("Status"),
    "bill_to": N_("Bill to"),
    "fiscal_id": N_("Fiscal ID"),
    "concept": N_("Concept"),
    "amount": N_("Amount"),
    "discount": N_("Discount"),
    "tax_base": N_("Tax base"),
    "base_of": N_("base"),
    "discount_total": N_("Discounts"),
    "subtotal": N_("Subtotal"),
    "withholding": N_("Withholding"),
    "total": N_("Total"),
    "payment_methods": N_("Payment methods"),
    "page": N_("Page {page} of {pages}"),
    "details": N_("Invoice details"),
    "rate": N_("rate"),
    "mark_paid": N_("PAID"),
    "mark_cancelled": N_("CANCELLED"),
}
"""The labels an invoice template reads (`labels.total`), in English; `invoice_labels` gives
them in the invoice's language (the catalogs hold the translations)."""

DEFAULT_TAX_NAME = N_("VAT")
"""The tax's name when the settings give none (`tax_name`), in the invoice's language."""
__all__ = ["LABELS", "MAX_LOGO_BYTES", "default_invoice_template", "invoice_labels",
           "invoice_template_data",
           "render_invoice_pdf", "sample_invoice"]
TOTAL_KEYS = ("tax_base", "discount_total", "subtotal", "total_tax", "withholding", "total")


_clean = clean  # user text as printable text (controls removed, CRLF normalised)


def _language(invoice: Mapping[str, Any]) -> str:
    """The invoice's label language ("es_ES" -> "es"); English when it has no catalog."""
    return document_language(str(invoice.get("language") or "en"))


def invoice_labels(language: str) -> dict[str, str]:
    """Every label of `LABELS` in `language` (a document's, not the reader's)."""
    with in_language(language):
        return {key: gettext(text) for key, text in LABELS.items()}


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
        raise DocumentError(_("invoice date {value!r} is not a date (YYYY-MM-DD)").format(value=value)) from exc


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
                _("invoice {key} {value} does not match its lines and rates ({expected})").format(key=key, value=value, expected=expected[key])
            )


def default_invoice_template() -> str:
    """The HTML invoice template shipped with the CRM (setting `invoice.template` replaces it)."""
    from pathlib import Path

    return Path(__file__).with_name("default_invoice_template.html").read_text("utf-8")


def _per_language(settings: Mapping[str, Any], key: str, lang: str) -> str:
    """A setting in the invoice's language (`tax_name.es`), else the plain one."""
    return _clean(settings.get(f"{key}.{lang}") or settings.get(key))


def invoice_template_data(
    invoice: Mapping[str, Any],
    company: Mapping[str, Any],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The plain data an invoice template is rendered with (all text already formatted).

    Keys: language, labels, title, number, credit_of, header, seller, customer (name,
    fiscal_id, address, country), facts [{label, value}], description, lines and
    discounts [{description, amount, rate}], taxes [{name, rate, base, tax}], totals
    [{label, value}], total, currency, tax_name, payment_methods, status. Raises
    DocumentError when the lines cannot be totalled or disagree with given totals.
    """
    lang = _language(invoice)
    labels = invoice_labels(lang)
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
        raise DocumentError(_("invoice {bill_id}: {exc}").format(bill_id=invoice.get('bill_id'), exc=exc)) from exc
    _check_totals(invoice, totals)

    def money(amount: Any) -> str:
        return format_money(amount, currency, locale)

    tax_name = (_per_language(settings, "tax_name", lang)
                or gettext_in(lang, DEFAULT_TAX_NAME))
    facts = [
        (labels["created"], _format_date(invoice.get("issued") or invoice.get("created"),
                                         locale)),
        (labels["credit_of"], credit_of),
        (labels["expires"], _format_date(invoice.get("expires"), locale)),
        (labels["reference"], _clean(invoice.get("reference"))),
    ]
    total_rows = [(labels["tax_base"], money(totals.tax_base))]
    if discounts:
        total_rows.append((labels["discount_total"], money(-totals.discount_total)))
        total_rows.append((labels["subtotal"], money(totals.subtotal)))
    by_rate = list(totals.by_rate or ())
    taxes = [{"name": tax_name, "rate": _format_rate(part.rate, locale),
              "base": money(part.base), "tax": money(part.tax)} for part in by_rate]
    if len(taxes) > 1:
        for tax in taxes:  # one base and tax per rate
            total_rows.append((f"{tax_name} ({tax['rate']} %, {labels['base_of']} "
                               f"{tax['base']})", tax["tax"]))
    else:
        rate_text = taxes[0]["rate"] if taxes else _format_rate(tax_rate, locale)
        total_rows.append((f"{tax_name} ({rate_text} %)", money(totals.total_tax)))
    if totals.withholding:
        w_rate = _format_rate(withholding_rate, locale)
        total_rows.append((f"{labels['withholding']} ({w_rate} %)", money(-totals.withholding)))
    return {
        "language": lang,
        "labels": dict(labels),
        "title": labels["credit_note"] if credit_of else labels["invoice"],
        "number": _clean(invoice.get("bill_id")),
        "credit_of": credit_of,
        "header": _clean(settings.get("header")),
        "seller": {k: _clean(v) for k, v in (settings.get("seller") or {}).items()},
        "customer": {k: _clean(company.get(k)) for k in ("name", "fiscal_id", "address",
                                                         "country")},
        "facts": [{"label": label, "value": value} for label, value in facts if value],
        "description": _clean(invoice.get("description")),
        "lines": [{"description": _clean(line.get("description")),
                   "amount": money(line["amount"]),
                   "rate": _format_rate(rate_of(line), locale)} for line in lines],
        "discounts": [{"description": _clean(d.get("description")),
                       "amount": money(-Decimal(str(d["amount"]))),
                       "rate": _format_rate(rate_of(d), locale)} for d in discounts],
        "taxes": taxes,
        "totals": [{"label": label, "value": value} for label, value in total_rows],
        "total": money(totals.total),
        "currency": currency,
        "tax_name": tax_name,
        "payment_methods": _per_language(settings, "payment_methods", lang),
        "status": str(invoice.get("status") or "").lower(),
    }


def sample_invoice() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """(invoice, customer, settings) sample data a template is checked against when saved:
    two rates, a discount, withholding, multi-line addresses, every optional text set."""
    invoice = {
        "bill_id": "15/1000", "reference": "PO-1", "status": "paid", "created": "2026-01-15",
        "issued": "2026-01-15", "expires": "2026-02-15", "paid_on": "2026-01-20",
        "currency": "EUR", "language": "en", "description": "Services of January\nSecond line",
        "lines": [{"description": "Support", "amount": "2400", "tax_rate": "21"},
                  {"description": "Books", "amount": "100", "tax_rate": "4"}],
        "discounts": [{"description": "promotion", "amount": "240", "tax_rate": "21"}],
        "tax_rate": "21", "withholding_rate": "15",
    }
    customer = {"name": "Sample Customer Ltd", "fiscal_id": "X-1",
                "address": "1 High Street\nLondon", "country": "United Kingdom"}
    settings = {"header": "Header", "tax_name": "VAT", "payment_methods": "Bank transfer",
                "footer": "Footer", "seller": {"name": "Our Company", "fiscal_id": "B-1",
                                               "address": "Calle 1\n28001 City",
                                               "country": "Spain"}}
    return invoice, customer, settings


def render_invoice_pdf(
    invoice: Mapping[str, Any],
    company: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    logo_bytes: bytes | None = None,
    font_cache: PdfFontCache | None = None,
    template: str | None = None,
    fallback: bool = True,
) -> bytes:
    """Render an invoice as PDF bytes.

    invoice: bill_id, type, reference, status (pending/paid/cancelled: a paid or cancelled
      invoice gets a PAID / CANCELLED mark, the status itself is not printed), created,
      expires, issued, paid_on (dates or ISO strings), currency ("EUR"), language
      ("en"/"es"), description (printed), lines [{description, amount, tax_rate}],
      discounts [{description, amount, tax_rate}] (a line without a rate takes
      `tax_rate`), withholding_rate, credit_of (the bill ID a credit note cancels), and
      optionally the totals (top-level keys or "totals"), which must agree with the lines.
      internal_note is never read.
    company (the customer): name, fiscal_id, address, country.
    settings: header, tax_name, payment_methods, footer (each may also come per language,
      e.g. "tax_name.es"), currency (default), seller {name, fiscal_id, address, country}.
    logo_bytes: an image stored in the CRM (PNG/JPEG/GIF); never a path from data.
    font_cache: reuse parsed fonts across a batch; default is the process-wide cache.
    template: the invoice template's HTML (default: the shipped one).
    fallback: use a system font for characters DejaVu lacks (else they are only warned).
    Raises DocumentError (TemplateError for the template's own faults).
    """
    from crm_tui.documents import html_render

    data = invoice_template_data(invoice, company, settings)
    labels = data["labels"]
    html = html_render.render(template or default_invoice_template(), data,
                              what=N_("invoice template"))
    status = data["status"]
    mark = labels["mark_paid"] if status == "paid" else (
        labels["mark_cancelled"] if status == "cancelled" else "")
    note = _format_date(invoice.get("paid_on"), babel_locale(data["language"]))
    page = Page(
        title=f"{data['title']} {data['number']}",
        seller=data["seller"],
        fiscal_label=labels["fiscal_id"],
        logo=logo_bytes,
        mark=mark,
        mark_note=note if status == "paid" else "",
        footer=_per_language(settings, "footer", data["language"]),
        page_label=labels["page"],
        language=data["language"],
    )
    return render_html_pdf(html, page, font_cache=font_cache, fallback=fallback)
