"""CSV export of companies, contacts, contracts, leads and invoices: what the user may see.

The file has a header line and is exactly what `crm_tui.services.imports` reads back: the
fixed columns of the kind's layout, its derived columns (``billing``…, ignored on import), the
header-only columns (company names, ``related_contract``…), the custom fields by name, an
``id`` column (references within the file are mapped on import, and `--on-duplicate update`
knows the records of this database by it) and a contract's dates. Rows are read in pages (keyset on id), never all at once; every cell is neutralised
against spreadsheet formulas by `crm_tui.csvio.write_table`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import peewee

from crm_tui import acl, csvio, db
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import Company, User
from crm_tui.services.context import Session
from crm_tui.services.imports import ID_COLUMN, LAYOUTS, custom_column_names, custom_fields
from crm_tui.services.records import Kind, get_kind, id_list
from crm_tui.services.values import render, render_text

__all__ = ["KINDS", "header", "write"]

#: The dates each record kind's export carries that its rows do not present.
_DATES = {LAYOUTS[k].kind: LAYOUTS[k].dates for k in LAYOUTS if LAYOUTS[k].dates}

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
    out.append(_Out(ID_COLUMN, _value("id")))
    out.extend(_Out(name, _value(name)) for name in layout.dates)
    return out


def _kind_of(kind: str) -> Kind:
    if kind not in KINDS:
        raise ValidationFailed.one("export", "kind", kind, _("must be one of {choices}").format(choices=", ".join(KINDS)))
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
    fast = _fast_sources(session, kind, record_kind, columns)
    if fast is not None:
        return _write_fast(session, record_kind, query, columns, fast, out, progress)
    times = {f.name for f in record_kind.fields if f.kind == "datetime"} | set(
        _DATES.get(record_kind.name, ()))
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
        presented = kind.present(session, raw)
        if kind.name in _DATES:
            # Dates the kind keeps but does not present (a contract's): as stored.
            for row, stored in zip(presented, raw, strict=True):
                row.update({name: render(stored.get(name)) for name in _DATES[kind.name]})
        yield presented
        if len(raw) < CHUNK:
            return


def _company_names(session: Session, page: list[dict[str, Any]]) -> dict[int, str]:
    """Names of the page's companies that the user may see (others stay blank)."""
    return _visible_company_names(session, {row.get("company") for row in page})


def _visible_company_names(session: Session, company_ids: set[int | None]) -> dict[int, str]:
    ids = sorted(i for i in company_ids if i is not None)
    if not ids:
        return {}
    query = Company.select(Company.id, Company.name).where(
        Company.id.in_(id_list(ids)), acl.company_view_expr(session.user))
    return dict(db.database.execute(query).fetchall())


# -- the fast path ---------------------------------------------------------------------------
#
# An export of a million leads spent most of its time presenting rows as dicts and
# formatting each cell through the general rules above. For the kinds whose every column is
# a stored value, a visible company's name, a tag or a custom value, `_write_fast` has the
# database give most cells as finished text (COALESCE, CAST, SUBSTR and correlated lookups
# work the same on SQLite and PostgreSQL; amounts are made text per backend), fills tags and
# custom values from the page's lookups, and checks a whole line at once: only
# a line where some cell needs quotes or the formula guard goes through `csvio.format_cell`
# cell by cell. The lines are exactly those of the general path (`write_table` over presented
# rows); tests/unit/test_export_fast.py compares the two on every kind of value.

#: Columns that name the record's company (only if the user may see it), by record kind.
_BY_NAME = {LAYOUTS[k].kind: frozenset(c.name for c in LAYOUTS[k].extra if c.by_name)
            for k in ("leads", "contacts")}

#: A cell starting with a formula trigger (a cell starts the line, or follows a comma when
#: no cell holds one): with quotes and line breaks, what `csvio.format_cell` would change.
#: Two patterns with a plain start each, so the search runs at C speed.
_FIRST_AT_RISK = re.compile(r"'*[=+\-@\t\r\n\x00]")
_NEXT_AT_RISK = re.compile(r",'*[=+\-@\t\r\n\x00]")


@dataclass(frozen=True)
class _Source:
    """Where one exported cell comes from: SQL giving its text, or a Python lookup."""

    sql: Any = None
    #: (record id, raw value, page) -> text, for cells the database cannot finish.
    python: Callable[[int, Any, _Page], str] | None = None
    raw: Any = None
    #: The cell is a custom field's value (the page looks them up).
    custom: bool = False


@dataclass
class _Page:
    """What the cells of one page look up: custom values and tags."""

    custom: dict[int, dict[str, str]]
    tags: dict[int, str]


def _as_text(column: peewee.Field, kind: str) -> Any:
    """SQL giving the cell's text as the general path writes it ('' for no value)."""
    fn = peewee.fn
    if kind in ("text", "textarea", "email", "choice"):
        return fn.COALESCE(column, "")
    if kind == "bool":
        return peewee.Case(None, [(column.is_null(), ""), (column == True, "1")], "0")  # noqa: E712
    if kind == "decimal":
        return fn.COALESCE(_money_as_text(column), "")
    text = column.cast("TEXT")
    if kind == "datetime":
        # SQLite keeps "YYYY-MM-DD HH:MM:SS[.ffffff]"; PostgreSQL's text form is the same.
        text = fn.SUBSTR(text, 1, 19)
    return fn.COALESCE(text, "")


def _money_as_text(column: peewee.Field) -> Any:
    """An amount's text with two places, as `values.money` writes it, made in the database:
    PostgreSQL's NUMERIC(16, 2) prints so; SQLite holds whole cents (models.base.MoneyField)."""
    if db.is_postgres():
        return column.cast("TEXT")
    sql = peewee.SQL
    return peewee.NodeList((
        sql("(CASE WHEN "), column, sql(" < 0 THEN '-' ELSE '' END || (abs("), column,
        sql(") / 100) || '.' || substr('0' || (abs("), column, sql(") % 100), -2))"),
    ), glue="")


def _fast_sources(session: Session, kind: str, record_kind: Kind,
                  columns: list[_Out]) -> list[_Source] | None:
    """Where each column's cell comes from; None when a column needs the general path."""
    if kind not in ("leads", "contacts"):
        return None
    layout = LAYOUTS[kind]
    custom = set(custom_column_names(layout, custom_fields(layout)))
    model = record_kind.model
    out: list[_Source] = []
    for column in columns:
        name = column.name
        if name in _BY_NAME[record_kind.name]:
            # The company's name where the user may see it, per row, inside the database.
            named = Company.alias("named_company")
            company = named.select(named.name).where(
                named.id == model.company, acl.company_view_expr(session.user, named))
            out.append(_Source(sql=peewee.fn.COALESCE(company, "")))
        elif name in custom:
            out.append(_Source(python=lambda i, v, p, n=name: p.custom.get(i, {}).get(n) or "",
                               custom=True))
        elif kind == "leads" and name == "tags":
            out.append(_Source(python=lambda i, v, p: p.tags.get(i, "")))
        elif name == ID_COLUMN:
            out.append(_Source(sql=model.id.cast("TEXT")))
        elif name in layout.dates:
            out.append(_Source(sql=_as_text(getattr(model, name), "datetime")))
        else:
            field = record_kind.field(name)
            model_field = getattr(model, field.column, None) if field else None
            if field is None or not isinstance(model_field, peewee.Field):
                return None
            if field.kind == "user":
                # The login by primary key, per row, inside the database.
                login = User.select(User.login).where(User.id == model_field)
                out.append(_Source(sql=peewee.fn.COALESCE(login, "")))
            elif field.kind == "rate":
                python_value = model_field.python_value
                out.append(_Source(
                    python=lambda i, v, p, f=python_value: "" if v is None else render_text(f(v)),
                    raw=model_field))
            elif field.kind in ("text", "textarea", "email", "choice", "int", "ref", "bool",
                                "date", "datetime", "decimal"):
                out.append(_Source(sql=_as_text(model_field, field.kind)))
            else:
                return None
    return out


def _write_fast(session: Session, record_kind: Kind, query, columns: list[_Out],
                sources: list[_Source], out: TextIO,
                progress: Callable[[int], None] | None) -> int:
    from crm_tui.services.leads import tags_of

    model = record_kind.model
    # One selected value per column, in column order, after the id: the database's finished
    # text, or the raw value a Python cell starts from (the id again when it needs none).
    selected = [model.id] + [source.sql if source.sql is not None else
                             source.raw if source.raw is not None else model.id
                             for source in sources]
    python_cells = [(cell, source.python) for cell, source in enumerate(sources)
                    if source.python is not None]
    width = len(columns)
    any_custom = any(source.custom for source in sources)
    # One query read as it is fetched: paging by id instead would make the database find
    # and sort the matching rows again for every page when a filter picks its index.
    sql, params = query.select(*selected).order_by(model.id).sql()
    csvio.write_table([c.name for c in columns], (), out)
    count = 0
    with db.streamed(sql, params) as cursor:
        while rows := cursor.fetchmany(CHUNK):
            ids = [row[0] for row in rows]
            page = _Page(
                custom=record_kind.custom_values(ids) if any_custom else {},
                tags={i: ",".join(n) for i, n in tags_of(ids).items()}
                if record_kind.name == "lead" else {},
            )
            lines = []
            for row in rows:
                cells = list(row[1:])
                for cell, fn in python_cells:
                    cells[cell] = fn(row[0], cells[cell], page)
                line = ",".join(cells)
                if (line.count(",") != width - 1 or '"' in line or "\r" in line
                        or "\n" in line or _FIRST_AT_RISK.match(line)
                        or _NEXT_AT_RISK.search(line)):
                    line = ",".join([csvio.format_cell(c) for c in cells])
                lines.append(line)
            out.write("\n".join(lines) + "\n")
            count += len(rows)
            if progress is not None:
                progress(count)
    return count
