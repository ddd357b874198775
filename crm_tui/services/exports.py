"""CSV export of companies, contacts, contracts, leads and invoices: what the user may see.

The file has a header line and is exactly what `crm_tui.services.imports` reads back: the
fixed columns of the kind's layout, its derived columns (``billing``…, ignored on import), the
header-only columns (company names, ``related_contract``…), the custom fields by name, and
for companies and contracts an ``id`` column so references within the file can be mapped on
import. Rows are read in pages (keyset on id), never all at once; every cell is neutralised
against spreadsheet formulas by `crm_tui.csvio.write_table`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from crm_tui import acl, csvio
from crm_tui.errors import ValidationFailed
from crm_tui.models import Company
from crm_tui.services.context import Session
from crm_tui.services.imports import ID_COLUMN, LAYOUTS, custom_column_names, custom_fields
from crm_tui.services.records import Kind, get_kind
from crm_tui.services.values import render_text

__all__ = ["KINDS", "header", "write"]

#: The kinds `write` exports.
KINDS = ("companies", "contacts", "contracts", "leads", "invoices")
#: Rows per page read from the database.
CHUNK = 500

# Times as the manuals' files write them ("2021-01-20 10:00:00"), not the --json "…T…Z".
_JSON_TIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)Z$")

#: Invoice columns (export only): key of the --json shape (or how to derive it) by header.
INVOICE_COLUMNS = (
    "id", "bill_id", "type", "status", "company", "company_name", "reference", "created",
    "expires", "paid_on", "currency", "language", "tax_rate", "withholding_rate", "tax_base",
    "discount_total", "subtotal", "total_tax", "withholding", "total", "locked", "locked_by",
    "contracts", "description", "internal_note",
)


@dataclass(frozen=True)
class _Out:
    """One exported column: its header and how a presented row gives its cell."""

    name: str
    get: Callable[[dict[str, Any], dict[int, str]], Any]


def _value(key: str) -> Callable[[dict[str, Any], dict[int, str]], Any]:
    return lambda row, names: row.get(key)


def _company_name(row: dict[str, Any], names: dict[int, str]) -> Any:
    return names.get(row.get("company"), "")


def _custom(name: str) -> Callable[[dict[str, Any], dict[int, str]], Any]:
    return lambda row, names: row.get("custom", {}).get(name, "")


def _columns(kind: str) -> list[_Out]:
    """The exported columns of `kind`, in order."""
    if kind == "invoices":
        return [_Out(name, _company_name if name == "company_name" else _value(name))
                for name in INVOICE_COLUMNS]
    layout = LAYOUTS[kind]
    out: list[_Out] = []
    for column in layout.fixed:
        out.append(_Out(column.name, _value(column.field or column.check or column.name)))
    out.extend(_Out(name, _value(name)) for name in layout.derived)
    for column in layout.extra:
        out.append(_Out(column.name, _company_name if column.by_name else _value(column.field)))
    fields = custom_fields(layout)
    out.extend(_Out(name, _custom(name)) for name in custom_column_names(layout, fields))
    if layout.self_ref:
        out.append(_Out(ID_COLUMN, _value("id")))
    return out


def _kind_of(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValidationFailed.one("export", "kind", kind, "must be one of " + ", ".join(KINDS))
    return get_kind("invoice" if kind == "invoices" else LAYOUTS[kind].kind)


def header(kind: str) -> list[str]:
    """The header line `write` would write for `kind` (custom fields as defined now)."""
    _kind_of(kind)
    return [column.name for column in _columns(kind)]


def write(session: Session, kind: str, out: TextIO, filters: dict | None = None,
          progress: Callable[[int], None] | None = None) -> int:
    """Write the records of `kind` the user may see (narrowed by `filters`) as CSV.

    Open `out` with ``newline=""``. Filters are checked before anything is written. Rows are
    written as they are read, a page at a time (constant memory); `progress` is told how
    many rows are written after each page.

    Returns:
        The number of data rows written.

    Raises:
        ValidationFailed: an unknown kind or filter, or a filter value that does not parse.
    """
    record_kind = _kind_of(kind)
    query = record_kind.query(session, filters)
    columns = _columns(kind)
    times = {f.name for f in record_kind.fields if f.kind == "datetime"}
    count = 0

    def rows() -> Iterator[list[Any]]:
        nonlocal count
        for page in _pages(session, record_kind, query):
            names = _company_names(session, page) if any(
                c.get is _company_name for c in columns) else {}
            for row in page:
                cells = []
                for column in columns:
                    value = column.get(row, names)
                    if column.name in times and isinstance(value, str):
                        value = _JSON_TIME.sub(r"\1 \2", value)
                    cells.append(render_text(value))
                count += 1
                yield cells
            if progress is not None:
                progress(count)

    csvio.write_table([c.name for c in columns], rows(), out)
    return count


def _pages(session: Session, kind: Kind, query) -> Iterator[list[dict[str, Any]]]:
    """The query's rows in the --json shape, a page at a time, by ascending id."""
    model = kind.model
    last = 0
    while True:
        raw = list(query.where(model.id > last).order_by(model.id).limit(CHUNK).dicts())
        if not raw:
            return
        last = raw[-1]["id"]
        yield kind.present(session, raw)
        if len(raw) < CHUNK:
            return


def _company_names(session: Session, page: list[dict[str, Any]]) -> dict[int, str]:
    """Names of the page's companies that the user may see (others stay blank)."""
    ids = sorted({row["company"] for row in page if row.get("company") is not None})
    if not ids:
        return {}
    query = Company.select(Company.id, Company.name).where(
        Company.id.in_(ids), acl.company_view_expr(session.user))
    return dict(query.tuples())
