"""Documents layer: invoice and contract PDFs, user templates and download bundles.

Everything here works on plain dicts and strings (never model objects), so it can be
tested alone and cannot reach the database from a template. This package root stays
light: fpdf, babel and jinja2 are imported inside the functions that use them.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)


class DocumentError(ValueError):
    """A document could not be produced from the given data; str() says why in one line."""


class TemplateError(DocumentError):
    """A user-written template is invalid (unknown macro, too large, unrenderable HTML)."""


# Warnings of the documents being made in this context (a command, a TUI worker): each
# face shows them (the CLI on stderr, the TUI as a notification).
_WARNINGS: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "document_warnings", default=None)


def warn(message: str) -> None:
    """Report something a user must know about a document just made (logged as well)."""
    log.warning("%s", message)
    found = _WARNINGS.get()
    if found is not None and message not in found:
        found.append(message)


@contextmanager
def collect_warnings() -> Iterator[list[str]]:
    """Collect the `warn` messages of the documents made inside; an outer collector
    receives them too."""
    outer = _WARNINGS.get()
    found: list[str] = []
    token = _WARNINGS.set(found)
    try:
        yield found
    finally:
        _WARNINGS.reset(token)
        if outer is not None:
            outer.extend(m for m in found if m not in outer)


__all__ = ["DocumentError", "TemplateError", "collect_warnings", "warn"]
