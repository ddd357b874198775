"""Laying out rendered document HTML with fpdf2: the seller, the page furniture, the bounds.

Every CRM document (invoice, contract) is template HTML laid out by fpdf2's `write_html`
on a page that the template cannot change: the seller (our company's name, fiscal ID,
address and logo, from settings) heads the first page, continuation pages repeat the
document's number, a "PAID" / "CANCELLED" mark is stamped when given, and the footer and
page numbers close every page. Images come only as bytes of an attachment stored in the
CRM (the logo); an `<img>` in a template is removed. A document is bounded in pages and
in layout time, so a template cannot make a worker spin.
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from crm_tui.documents import TemplateError
from crm_tui.documents.fonts import FAMILY, PdfFontCache, shared_font_cache
from crm_tui.i18n import _

log = logging.getLogger(__name__)

MAX_HTML = 1_000_000  # characters
MAX_PAGES = 200
LAYOUT_TIME_LIMIT = 30.0  # seconds; checked at each new page
MAX_LOGO_BYTES = 5 * 1024 * 1024
_IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")

# <img> is the one tag fpdf2's HTML renderer loads resources for (a path or a URL in
# `src`); templates never reference files, so every <img> goes before layout.
_IMG_TAG = re.compile(r"<\s*img\b[^>]*>", re.IGNORECASE)
# A table cell's content up to its end (or the next cell or row), for line breaks.
_CELL = re.compile(r"(<t[dh]\b[^>]*>)(.*?)(?=<\s*/?\s*t[dhr]\b|<\s*/\s*table\b)",
                   re.IGNORECASE | re.DOTALL)
_BR = re.compile(r"<\s*br\s*/?\s*>", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@dataclass
class Page:
    """What every page of a document carries besides the template's HTML."""

    title: str = ""  # the PDF's title, and the continuation header ("Invoice 15/1000")
    seller: Mapping[str, Any] = field(default_factory=dict)  # name, fiscal_id, address...
    fiscal_label: str = "Fiscal ID"
    logo: bytes | None = None
    mark: str = ""  # "PAID", "CANCELLED": stamped on the first page
    mark_note: str = ""  # printed under the mark (e.g. the payment date)
    footer: str = ""
    page_label: str = "{page} / {pages}"
    language: str = "en"


def clean(value: Any) -> str:
    """User text as printable text: None is empty, controls removed, CRLF normalised."""
    text = "" if value is None else str(value)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    return _CONTROL.sub("", text)


def strip_images(html: str) -> str:
    """The HTML without any <img> tag (they could point at files or URLs)."""
    return _IMG_TAG.sub("", html)


def cell_breaks(html: str) -> str:
    """`<br>` inside table cells as plain line breaks: fpdf2 lays out a cell's text only,
    and keeps its line breaks, so a multi-line value (an address) fits in a cell."""
    return _CELL.sub(lambda m: m.group(1) + _BR.sub("\n", m.group(2)), html)


def logo_ok(logo_bytes: bytes | None) -> bool:
    """True for a PNG, JPEG or GIF of sane size. Anything else (SVG, which may reference
    files or URLs, or junk) is skipped with a warning rather than blocking the document."""
    if not logo_bytes:
        return False
    if len(logo_bytes) > MAX_LOGO_BYTES:
        log.warning("logo skipped: %d bytes is over the limit", len(logo_bytes))
        return False
    if not logo_bytes.startswith(_IMAGE_MAGIC):
        log.warning("logo skipped: not a PNG, JPEG or GIF image")
        return False
    return True


@cache
def document_pdf_class() -> type:
    """The FPDF subclass of CRM documents (built on first use: fpdf is heavy)."""
    from fpdf import FPDF
    from fpdf.enums import TextEmphasis

    class DocumentPDF(FPDF):
        """A4 page with the seller, continuation header, mark, footer; DejaVu only; no
        image but the logo; bounded in pages and time."""

        page_info = Page()
        deadline = float("inf")
        _logo_allowed = False

        def set_font(self, family: str | None = None, style: Any = "", size: float = 0) -> None:
            # Templates may ask for any face (<font face>, <code>'s Courier, Times by
            # default); core fonts cannot print most of Unicode and unknown faces raise.
            # So every family maps to DejaVu; italic (not shipped) prints upright.
            if isinstance(style, TextEmphasis):
                style = style.style
            style = str(style or "").upper().replace("I", "")
            super().set_font(FAMILY, style, size)

        def image(self, name: Any, *args: Any, **kwargs: Any) -> Any:
            if not self._logo_allowed:
                raise TemplateError(_("images are not allowed in document templates"))
            return super().image(name, *args, **kwargs)

        def add_page(self, *args: Any, **kwargs: Any) -> None:
            if self.pages_count >= MAX_PAGES:
                raise TemplateError(_("the document would have more than {most} pages").format(most=MAX_PAGES))
            if time.monotonic() > self.deadline:
                raise TemplateError(_("laying out the document took more than "
                                      "{seconds:g} s").format(seconds=LAYOUT_TIME_LIMIT))
            super().add_page(*args, **kwargs)

        def header(self) -> None:
            info = self.page_info
            if self.page_no() == 1:
                self._seller_block(info)
                if info.mark:
                    self._mark(info)
            elif info.title:
                with self.local_context():
                    self.set_font(FAMILY, "", 8)
                    self.set_text_color(110)
                    self.cell(0, 4, info.title, align="R", new_x="LMARGIN", new_y="NEXT")
                    self.set_draw_color(190)
                    self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin,
                              self.get_y() + 1)
                self.ln(5)

        def _seller_block(self, info: Page) -> None:
            left, top, width = self.l_margin, self.t_margin, self.epw
            bottom = top
            if logo_ok(info.logo):
                self._logo_allowed = True
                try:
                    placed = super().image(io.BytesIO(info.logo), x=left, y=top, h=18)
                    bottom = top + float(placed.rendered_height)
                except Exception as exc:  # Pillow and fpdf raise many types for bad images
                    log.warning("logo skipped: %s", exc)
                finally:
                    self._logo_allowed = False
            seller = info.seller
            name = clean(seller.get("name"))
            rest = [clean(seller.get("address")), clean(seller.get("country"))]
            if clean(seller.get("fiscal_id")):
                rest.insert(0, f"{info.fiscal_label}: {clean(seller.get('fiscal_id'))}")
            with self.local_context():
                self.set_xy(left + width / 2, top)
                if name:
                    self.set_font(FAMILY, "B", 10)
                    self.multi_cell(width / 2, 4.6, name, align="R", new_x="LEFT", new_y="NEXT")
                self.set_font(FAMILY, "", 8.5)
                for text in rest:
                    if text:
                        self.multi_cell(width / 2, 4, text, align="R", new_x="LEFT",
                                        new_y="NEXT")
                bottom = max(bottom, self.get_y())
            self.set_xy(left, bottom + 6)

        def _mark(self, info: Page) -> None:
            with self.local_context(fill_opacity=0.35, stroke_opacity=0.35):
                self.set_text_color(190, 30, 30)
                self.set_draw_color(190, 30, 30)
                self.set_font(FAMILY, "B", 30)
                x, y = self.w - self.r_margin - 70, 62
                with self.rotation(12, x + 35, y + 8):
                    self.set_xy(x, y)
                    self.set_line_width(0.8)
                    self.cell(70, 16, info.mark, border=1, align="C")
                    if info.mark_note:
                        self.set_font(FAMILY, "", 9)
                        self.set_xy(x, y + 16)
                        self.cell(70, 5, info.mark_note, align="C")
            self.set_text_color(0)
            self.set_draw_color(0)

        def footer(self) -> None:
            info = self.page_info
            self.set_y(-18)
            self.set_font(FAMILY, "", 7.5)
            self.set_text_color(110)
            if info.footer:
                self.multi_cell(0, 3.5, info.footer, align="C", new_x="LMARGIN")
            self.set_y(-8)
            self.cell(0, 4, info.page_label.format(page=self.page_no(), pages="{nb}"),
                      align="C")

    return DocumentPDF


@cache
def _tag_styles() -> dict[str, Any]:
    """Sober headings (fpdf2's defaults are large and dark red)."""
    from fpdf.fonts import TextStyle

    ink = "#1f3a5f"
    return {
        "h1": TextStyle(font_size_pt=18, color=ink, t_margin=1, b_margin=0.4),
        "h2": TextStyle(font_size_pt=13, color=ink, t_margin=5, b_margin=0.3),
        "h3": TextStyle(font_size_pt=11.5, color=ink, t_margin=4, b_margin=0.3),
    }


def render_html_pdf(html: str, page: Page, *, font_cache: PdfFontCache | None = None,
                    fallback: bool = True, font_size: float = 10) -> bytes:
    """Lay out rendered template HTML on CRM document pages; the PDF's bytes.

    Raises TemplateError with the reason when the HTML is too large, too long (pages,
    time) or something fpdf2's HTML renderer cannot lay out, instead of crashing.
    """
    if not isinstance(html, str):
        raise TemplateError(_("the document HTML must be text"))
    if len(html) > MAX_HTML:
        raise TemplateError(_("the document HTML is {count} characters; the limit is "
                              "{most}").format(count=len(html), most=MAX_HTML))
    cleaned = strip_images(html)
    if cleaned != html:
        log.info("document template: <img> tags removed (images come from settings only)")
    cleaned = cell_breaks(cleaned)

    pdf = document_pdf_class()(orientation="P", unit="mm", format="A4")
    pdf.page_info = page
    seller_text = " ".join(clean(v) for v in page.seller.values())
    printed = "\n".join((cleaned, page.title, page.footer, page.mark, page.mark_note,
                         page.fiscal_label, seller_text))
    (font_cache or shared_font_cache()).install(pdf, printed, fallback=fallback,
                                                what=page.title or "document")
    if page.title:
        pdf.set_title(page.title)
    pdf.set_creator("crm_tui")
    pdf.set_lang(page.language)
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(True, margin=24)
    pdf.deadline = time.monotonic() + LAYOUT_TIME_LIMIT
    try:
        pdf.add_page()
        pdf.set_font(FAMILY, "", font_size)
        pdf.write_html(cleaned, font_family=FAMILY, warn_on_tags_not_matching=False,
                       tag_styles=_tag_styles())
        return bytes(pdf.output())
    except TemplateError:
        raise
    except RecursionError as exc:
        raise TemplateError(_("the document HTML is nested too deeply to render")) from exc
    except Exception as exc:  # noqa: BLE001
        # fpdf2 raises FPDFException, ValueError, KeyError, NotImplementedError... for
        # HTML it cannot lay out (e.g. a table cell too narrow for a word); the user who
        # wrote the template needs the reason, not a traceback.
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        reason = lines[0] if lines else type(exc).__name__
        raise TemplateError(_("the HTML cannot be laid out as PDF: {reason}").format(reason=reason)) from exc
