"""Contract PDFs from rendered template HTML, with no file or network access."""

from __future__ import annotations

import logging
import re
from functools import cache
from typing import Any

from crm_tui.documents import TemplateError
from crm_tui.documents.fonts import FAMILY, PdfFontCache, shared_font_cache

log = logging.getLogger(__name__)

MAX_HTML = 1_000_000  # characters, the same cap as template rendering

# <img> is the one tag fpdf2's HTML renderer loads resources for (a path or a URL in
# `src`). Templates are user input and the SPEC allows only images stored in the CRM,
# which templates cannot reference yet, so every <img> is removed before rendering; the
# PDF class below refuses images as a second line of defence.
_IMG_TAG = re.compile(r"<\s*img\b[^>]*>", re.IGNORECASE)


@cache
def _contract_pdf_class() -> type:
    """An FPDF subclass that only knows DejaVu and never loads images (fpdf is heavy)."""
    from fpdf import FPDF
    from fpdf.enums import TextEmphasis

    class ContractPDF(FPDF):
        """FPDF whose fonts are always the shipped DejaVu and which refuses all images."""

        def set_font(self, family: str | None = None, style: Any = "", size: float = 0) -> None:
            # Templates may ask for any face (<font face>, <code>'s Courier, Times by
            # default); core fonts cannot print most of Unicode and unknown faces raise.
            # So every family maps to DejaVu; italic (not shipped) prints upright.
            if isinstance(style, TextEmphasis):
                style = style.style
            style = str(style or "").upper().replace("I", "")
            super().set_font(FAMILY, style, size)

        def image(self, name: Any, *args: Any, **kwargs: Any) -> Any:
            raise TemplateError("images are not allowed in contract templates")

        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(FAMILY, "", 8)
            self.set_text_color(120)
            self.cell(0, 5, f"{self.page_no()} / {{nb}}", align="C")

    return ContractPDF


@cache
def _tag_styles() -> dict[str, Any]:
    """Sober headings for contracts (fpdf2's defaults are large and dark red)."""
    from fpdf.fonts import TextStyle

    ink = "#1f3a5f"
    return {
        "h1": TextStyle(font_size_pt=20, color=ink, t_margin=2, b_margin=0.4),
        "h2": TextStyle(font_size_pt=13, color=ink, t_margin=5, b_margin=0.3),
        "h3": TextStyle(font_size_pt=11.5, color=ink, t_margin=4, b_margin=0.3),
    }


def strip_images(html: str) -> str:
    """The HTML without any <img> tag (they could point at files or URLs)."""
    return _IMG_TAG.sub("", html)


def render_contract_pdf(
    html: str, *, title: str = "", font_cache: PdfFontCache | None = None
) -> bytes:
    """Render a contract's HTML (a template after `render_macros`) as PDF bytes.

    Raises TemplateError with the reason when the HTML is too large or is something
    fpdf2's HTML renderer cannot lay out, instead of crashing the caller.
    """
    if not isinstance(html, str):
        raise TemplateError("the contract HTML must be text")
    if len(html) > MAX_HTML:
        raise TemplateError(f"the contract HTML is {len(html)} characters; the limit is {MAX_HTML}")
    cleaned = strip_images(html)
    if cleaned != html:
        log.info("contract template: <img> tags removed (images are not allowed)")

    pdf = _contract_pdf_class()(orientation="P", unit="mm", format="A4")
    (font_cache or shared_font_cache()).install(pdf, cleaned)
    if title:
        pdf.set_title(title)
    pdf.set_creator("crm_tui")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()
    pdf.set_font(FAMILY, "", 10.5)
    try:
        pdf.write_html(
            cleaned,
            font_family=FAMILY,
            warn_on_tags_not_matching=False,
            tag_styles=_tag_styles(),
        )
        return bytes(pdf.output())
    except TemplateError:
        raise
    except RecursionError as exc:
        raise TemplateError("the contract HTML is nested too deeply to render") from exc
    except Exception as exc:
        # fpdf2 raises FPDFException, ValueError, KeyError, NotImplementedError... for
        # HTML it cannot lay out (e.g. a table cell too narrow for a word); the user who
        # wrote the template needs the reason, not a traceback.
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise TemplateError(f"the contract HTML cannot be rendered as PDF: {reason}") from exc
