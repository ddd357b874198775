"""Contract PDFs: a contract template rendered with its values and laid out on CRM pages."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from crm_tui.documents import DocumentError, TemplateError
from crm_tui.documents.fonts import PdfFontCache
from crm_tui.documents.layout import Page, render_html_pdf, strip_images
from crm_tui.i18n import N_, _, gettext, in_language

log = logging.getLogger(__name__)

__all__ = ["contract_document", "render_contract_pdf", "strip_images"]

# The labels the layout adds, in the contract's language (the catalogs translate them).
_FISCAL_ID = N_("Fiscal ID")
_PAGE = N_("Page {page} of {pages}")


def render_contract_pdf(
    html: str,
    *,
    title: str = "",
    font_cache: PdfFontCache | None = None,
    seller: Mapping[str, Any] | None = None,
    logo: bytes | None = None,
    language: str = "en",
    fallback: bool = True,
) -> bytes:
    """Render a contract's HTML (a template after `render_macros`) as PDF bytes, with the
    seller (name, fiscal_id, address, country) and logo heading the first page.

    Raises TemplateError with the reason when the HTML is too large or is something
    fpdf2's HTML renderer cannot lay out, instead of crashing the caller.
    """
    with in_language(language) as lang:
        fiscal_label, page_label = gettext(_FISCAL_ID), gettext(_PAGE)
    page = Page(title=title, seller=dict(seller or {}), fiscal_label=fiscal_label, logo=logo,
                page_label=page_label, language=lang)
    return render_html_pdf(html, page, font_cache=font_cache, fallback=fallback,
                           font_size=10.5)


def contract_document(template: str, values: Mapping[str, str], **options: Any) -> bytes:
    """A contract template rendered with its macro values and laid out as PDF bytes.

    When the template renders with every value empty but not with the contract's values,
    the value is at fault: the DocumentError names that field (its macro) and value rather
    than the template. Otherwise TemplateError says what is wrong with the template.
    """
    from crm_tui.documents.templating import render_macros

    try:
        return render_contract_pdf(render_macros(template, values), **options)
    except TemplateError as exc:
        failure = exc
    empty = dict.fromkeys(values, "")
    try:
        render_contract_pdf(render_macros(template, empty), **options)
    except TemplateError:
        raise failure from None  # the template fails whatever the values
    for name, value in values.items():
        if not value:
            continue
        try:
            render_contract_pdf(render_macros(template, {**values, name: ""}), **options)
        except TemplateError:
            continue
        shown = value if len(value) <= 40 else value[:37] + "..."
        raise DocumentError(_("field {field} ({name}) value {shown!r} cannot be printed: "
                              "{failure}").format(field=name.strip('_'), name=name, shown=shown, failure=failure)) from None
    raise failure
