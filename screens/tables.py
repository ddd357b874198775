"""Helpers for the screens' tables: column headers in the user's language, fresh rows."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from crm_tui.i18n import _
from widgets.lazy_table import LazyTable


def translated_columns(columns: Iterable[Any]) -> list[Any]:
    """List columns with their headers in the current language (written in English beside
    the fields they show, marked for the catalog)."""
    return [replace(column, label=_(column.label)) for column in columns]



def reload_table(table: LazyTable) -> None:
    """Show fresh rows: drop the source's cached pages (if it keeps any), then reload."""
    source = table.source
    source = getattr(source, "source", source)  # a guarded source wraps the real one
    invalidate = getattr(source, "invalidate", None)
    if invalidate is not None:
        invalidate()
    table.reload()

