"""Documents layer: invoice and contract PDFs, user templates and download bundles.

Everything here works on plain dicts and strings (never model objects), so it can be
tested alone and cannot reach the database from a template. This package root stays
light: fpdf, babel and jinja2 are imported inside the functions that use them.
"""

from __future__ import annotations


class DocumentError(ValueError):
    """A document could not be produced from the given data; str() says why in one line."""


class TemplateError(DocumentError):
    """A user-written template is invalid (unknown macro, too large, unrenderable HTML)."""


__all__ = ["DocumentError", "TemplateError"]
