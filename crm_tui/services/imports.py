"""CSV import of companies, contacts, contracts and leads: every row checked, then all written.

One use case for every face: `crm import`, the TUI's import dialog (from a thread worker) and
scripts call `run`. The file is decoded and parsed by `crm_tui.csvio`; each row is parsed
and checked with the record kind's own fields and rules (`crm_tui.services.records`), so an
imported row meets exactly the rules of `crm add`; then every row is written in one write
transaction with bulk inserts.

Ids that point at rows of the same file: an export of companies (and of contracts) ends with
an ``id`` column holding each row's id in the database it came from. When a file has that
column, an ``id_parent`` (``related_contract``) equal to one of the file's ids points at that
row and is mapped to the id the row gets here, so trees survive the trip into another (e.g.
empty) database; any other value names a record that already exists. Hand-made files and
Pandora/Integria exports have no ``id`` column, so their references always name existing
records. Company references can also travel by name: the ``company`` column of the newer
contract export, and ``company_name`` / ``managing_company`` in contact / lead exports name
the company and, when given, win over the id column (company names are unique).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee

from crm_tui import csvio
from crm_tui.db import database, is_postgres, write_transaction
from crm_tui.models import BaseModel, Company, CustomField, CustomValue
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.custom_fields import parse_custom_value
from crm_tui.services.errors import (
    Conflict,
    CrmError,
    PermissionDenied,
    Problem,
    ValidationFailed,
)
from crm_tui.services.records import TEXT_KINDS, Field, Kind, get_kind, parse_field

__all__ = [
    "KINDS",
    "LAYOUTS",
    "Column",
    "ImportCancelled",
    "ImportReport",
    "Layout",
    "run",
]

#: Rows between two progress reports / cancellation checks.
STEP = 2000
#: Rows per multi-row INSERT statement, and bound values per statement at most (SQLite
#: allows 32766 since 3.32, PostgreSQL 65535).
ROWS_PER_STATEMENT = 500
MAX_PARAMETERS = 30000
#: Values per IN (…) list when checking many values against the database.
IN_CHUNK = 500


class ImportCancelled(CrmError):
    """The import was cancelled before it finished; nothing was written."""


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do).

    ``problems`` holds warnings that did not stop the import (a lead that resembles an
    existing one); anything that stops it is raised as `ValidationFailed` instead.
    """

    kind: str
    dry_run: bool
    rows: int
    created: int
    problems: list[Problem]
    encoding: str
    delimiter: str
    header: bool
    #: The new records' ids in file order (empty on a dry run).
    ids: list[int] = field(default_factory=list)
    #: (line, how messages name it, e.g. "company 'ACME'") of each row created, in file order.
    preview: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line saying what happened."""
        noun = self.kind if self.created != 1 else LAYOUTS[self.kind].kind
        verb = "would create" if self.dry_run else "created"
        how = f"{self.encoding}, {self.delimiter!r}-separated, " + (
            "with a header line" if self.header else "positional (no header line)")
        tail = " (dry run: nothing written)" if self.dry_run else ""
        return f"{verb} {self.created} {noun} from {self.rows} rows ({how}){tail}"


# --- what each kind's file looks like --------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One CSV column and the record field it fills."""

    name: str
    #: The record kind's field the value goes to (None: see `check`).
    field: str | None = None
    #: For `id_*` columns: what the id names, in messages ("company", "contract type").
    id_of: str = ""
    #: The column names a company by its (unique) name and wins over the id column.
    by_name: bool = False
    #: A derived field the value is only checked against, then dropped (``last_update``).
    check: str | None = None


@dataclass(frozen=True)
class Layout:
    """The CSV shape of one kind: positional columns, export-only columns, custom fields."""

    kind: str
    fixed: tuple[Column, ...]
    #: Derived columns an export writes right after the fixed ones; ignored on import.
    derived: tuple[str, ...] = ()
    #: Columns only files with a header carry (newer exports), after the derived ones.
    extra: tuple[Column, ...] = ()
    #: Which custom fields apply: their entity, and the field holding the type, if typed.
    custom_entity: str = ""
    custom_type_field: str | None = None
    #: A field pointing at another record of the same kind, mapped through the `id` column.
    self_ref: str | None = None
    #: True when the self reference forms a tree (a loop within the file is an error).
    acyclic: bool = False

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every data column, fixed first."""
        return self.fixed + self.extra

    def column_for(self, field_name: str) -> str:
        """The CSV column that fills a field (its id column rather than a by-name one)."""
        for column in self.columns:
            if column.field == field_name and not column.by_name:
                return column.name
        return field_name


def _c(name: str, target: str | None = None, **kw: Any) -> Column:
    return Column(name, target if target is not None else name, **kw)


#: The layouts by import/export kind name.
LAYOUTS: dict[str, Layout] = {
    "companies": Layout(
        kind="company",
        fixed=(
            _c("name"), _c("address"), _c("fiscal_id"), _c("country"), _c("website"),
            _c("comments"), _c("id_company_role", "role", id_of="role"),
            _c("id_parent", "parent", id_of="company"), _c("manager"),
            Column("last_update", check="last_update"), _c("payment_conditions"),
        ),
        derived=("billing",),
        custom_entity="company",
        self_ref="parent",
        acyclic=True,
    ),
    "contacts": Layout(
        kind="contact",
        fixed=(
            _c("full_name"), _c("email"), _c("company"), _c("phone"), _c("mobile"),
            _c("position"), _c("description"),
        ),
        extra=(_c("company_name", "company", by_name=True),),
        custom_entity="contact",
    ),
    "contracts": Layout(
        kind="contract",
        fixed=(
            _c("name"), _c("contract_number"), _c("description"), _c("date_begin"),
            _c("date_end"), _c("id_company", "company", id_of="company"), _c("id_sla", "sla"),
            _c("id_group", "group"), _c("private"), _c("status"),
            _c("id_contract_type", "contract_type", id_of="contract type"),
        ),
        extra=(_c("related_contract"), _c("manager"), _c("company", "company", by_name=True)),
        custom_entity="contract_type",
        custom_type_field="contract_type",
        self_ref="related_contract",
    ),
    "leads": Layout(
        kind="lead",
        fixed=tuple(_c(name) for name in (
            "full_name", "email", "company_name", "country", "position", "phone", "language",
            "owner", "company", "estimated_sale", "estimated_close", "status", "lead_type",
            "tags", "channel", "description")),
        derived=("created", "updated"),
        extra=(_c("managing_company", "company", by_name=True),),
        custom_entity="lead_type",
        custom_type_field="lead_type",
    ),
}

#: The kinds `run` imports.
KINDS = tuple(LAYOUTS)

ID_COLUMN = "id"


def custom_fields(layout: Layout) -> dict[int | None, list[CustomField]]:
    """The custom fields of a layout's rows in column order, by type id (None: untyped)."""
    query = CustomField.select().where(CustomField.entity == layout.custom_entity)
    out: dict[int | None, list[CustomField]] = {}
    for custom in query.order_by(CustomField.entity_type_id, CustomField.position,
                                 CustomField.id):
        key = custom.entity_type_id if layout.custom_type_field else None
        out.setdefault(key, []).append(custom)
    return out


def custom_column_names(layout: Layout, fields: dict[int | None, list[CustomField]]) -> list[str]:
    """The custom field columns of a file with a header: each name once, in type order.

    A custom field named like a fixed column cannot have a column of its own by name.
    """
    taken = {c.name.casefold() for c in layout.columns} | {n.casefold() for n in layout.derived}
    taken.add(ID_COLUMN)
    names: list[str] = []
    seen: set[str] = set()
    for group in fields.values():
        for custom in group:
            key = custom.name.casefold()
            if key not in seen and key not in taken:
                seen.add(key)
                names.append(custom.name)
    return names


# --- the use case ------------------------------------------------------------------------------


def run(
    session: Session,
    kind: str,
    data: bytes,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> ImportReport:
    """Import a CSV file of `kind` ("companies", "contacts", "contracts", "leads").

    Every row is parsed and checked first; a file with any bad row writes nothing. Then all
    rows are written in one transaction (unless `dry_run`).

    Args:
        data: The file's bytes (UTF-8 with or without BOM, or Latin-1; ``,`` or ``;``).
        progress: Called now and then with (done, total) units of work (a fraction to show).
        cancelled: Polled now and then; True stops the import and writes nothing.

    Raises:
        PermissionDenied: the user may not create such records (or any row of the file).
        ValidationFailed: the file or some rows are bad; lists every problem with its line.
        ImportCancelled: `cancelled` said so.
        Conflict: the database changed meanwhile (a duplicate saved by someone else).
    """
    if kind not in LAYOUTS:
        raise ValidationFailed.one("import", "kind", kind, "must be one of " + ", ".join(KINDS))
    importer = _Importer(session, LAYOUTS[kind], progress, cancelled)
    with _collector_paused():
        return importer.run(kind, data, dry_run)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import holds its rows.

    An import keeps one model object per row alive until the write; with the collector on,
    every few hundred new objects make it walk all of them again, which costs more than the
    import itself on a large file. Nothing here makes reference cycles worth collecting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


# What a cell means (see `_Importer._parse`).
_SKIP, _OK, _BAD, _SELF = range(4)
#: Distinct values remembered per column before a column of mostly distinct values (names,
#: addresses) stops being cached; references to records are always remembered.
MEMO_LIMIT = 2048


class _Cell:
    """How one column's cells are read: its field, and what its distinct values meant."""

    __slots__ = ("column", "name", "field", "spec", "yields", "self_ref", "memo", "droppable",
                 "plain")

    def __init__(self, column: Column, spec: Field, yields: bool, self_ref: bool) -> None:
        self.column = column
        self.name = column.name
        #: The field it fills (None: the column is only checked).
        self.field = column.field
        self.spec = spec
        #: An id column that gives way to the by-name column of the same field.
        self.yields = yields
        self.self_ref = self_ref
        self.memo: dict[str, tuple[int, Any]] | None = {}
        self.droppable = spec.kind not in ("ref", "refs", "user")
        #: A text field filled as written: nothing but the field's own rules apply.
        self.plain = (spec.kind in TEXT_KINDS and column.field is not None and not self_ref
                      and not column.id_of and not column.by_name)


class _CustomCell:
    """How one custom field's cells are read (with what its distinct values meant)."""

    __slots__ = ("field", "field_id", "name", "column", "memo")

    def __init__(self, custom: CustomField, column: str) -> None:
        self.field = custom
        self.field_id = custom.id
        self.name = custom.name
        self.column = column
        self.memo: dict[str, tuple[bool, str]] | None = {}


@dataclass(slots=True)
class _Row:
    """A checked row waiting to be written."""

    line: int
    #: How messages name the row: "company 'ACME'" (or "company on line 7").
    label: str
    obj: BaseModel
    parsed: dict[str, Any]
    custom: list[tuple[int, str]]
    #: Index of the row of the same file that the self reference points at.
    self_ref: int | None = None


class _Importer:
    """One import run: the file, the kind, caches, and the rows checked so far."""

    def __init__(
        self,
        session: Session,
        layout: Layout,
        progress: Callable[[int, int], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> None:
        self.session = session
        self.layout = layout
        self.kind: Kind = get_kind(layout.kind)
        self.model = self.kind.model
        self._progress = progress
        self._cancelled = cancelled
        self.total = 0
        self._custom_plans: dict[int | None, tuple[list[_CustomCell], list[str], int]] = {}

    # --- progress ---------------------------------------------------------------------------

    def _tick(self, done: int) -> None:
        if self._cancelled is not None and self._cancelled():
            raise ImportCancelled("import cancelled: nothing was written")
        if self._progress is not None:
            self._progress(done, self.total)

    # --- the steps ----------------------------------------------------------------------------

    def run(self, kind_name: str, data: bytes, dry_run: bool) -> ImportReport:
        self.kind.check_write_any(self.session)
        self._tick(0)
        layout = self.layout
        self.custom = custom_fields(layout)
        custom_names = custom_column_names(layout, self.custom)
        known = ([c.name for c in layout.columns] + list(layout.derived) + custom_names
                 + [ID_COLUMN])
        try:
            table = csvio.read_table(data, known)
            self.header = table.header is not None
            if self.header:
                self.custom_columns = custom_names
                fixed = [c.name for c in layout.columns]
                if layout.self_ref:
                    fixed.append(ID_COLUMN)
                ignored = list(layout.derived) + ([] if layout.self_ref else [ID_COLUMN])
                records = csvio.read_records(table, fixed, custom_names, ignored)
            else:
                # Custom values follow the fixed columns; a cell that fits no custom field of
                # its row is reported by its position in the line.
                width = max((len(group) for group in self.custom.values()), default=0)
                first = len(layout.fixed) + 1
                self.custom_columns = [f"column {n}" for n in range(first, first + width)]
                records = csvio.read_records(table, [c.name for c in layout.fixed],
                                             self.custom_columns)
        except csvio.CsvFormatError as exc:
            raise ValidationFailed(_format_problems(kind_name, exc)) from None
        rows = len(table.rows)
        self.total = rows if dry_run else 2 * rows
        self._prepare()
        self.file_ids, problems = self._file_ids(table)
        pending: list[_Row] = []
        denied: list[Problem] = []
        for index, (line, values, row_problems) in enumerate(records):
            if index and index % STEP == 0:
                self._tick(index)
            row = self._check_row(line, values, row_problems, problems, denied)
            if row is not None:
                pending.append(row)
        self._tick(rows)
        self._check_unique(pending, problems)
        order = self._order(pending, problems) if not (problems or denied) else pending
        if problems:
            problems.sort(key=lambda p: p.line or 0)
            raise ValidationFailed(problems)
        if denied:
            more = f" (and {len(denied) - 1} more rows)" if len(denied) > 1 else ""
            raise PermissionDenied(f"line {denied[0].line}: {denied[0].reason}{more}")
        warnings = self._warnings(pending)
        report = ImportReport(
            kind=kind_name, dry_run=dry_run, rows=rows, created=len(pending),
            problems=warnings, encoding=table.encoding, delimiter=table.delimiter,
            header=self.header, preview=[(row.line, row.label) for row in pending],
        )
        if not dry_run and pending:
            report.ids = self._write(pending, order, rows)
        if self._progress is not None:
            self._progress(self.total, self.total)
        return report

    def _file_ids(self, table: csvio.CsvTable) -> tuple[dict[str, int], list[Problem]]:
        """The file's own ids (the `id` column of an export) → row index; bad ids reported."""
        problems: list[Problem] = []
        if not self.layout.self_ref or table.header is None:
            return {}, problems
        keys = [_key(cell) for cell in table.header]
        if ID_COLUMN not in keys:
            return {}, problems
        position = keys.index(ID_COLUMN)
        ids: dict[str, int] = {}
        for index, row in enumerate(table.rows):
            text = row.cells[position].strip() if position < len(row.cells) else ""
            if not text:
                continue
            label = f"{self.kind.name} on line {row.line}"
            if not text.isdigit():
                problems.append(Problem(label, ID_COLUMN, text, "not a whole number", row.line))
            elif text in ids:
                first = table.rows[ids[text]].line
                problems.append(Problem(label, ID_COLUMN, text,
                                        f"the same id as the row on line {first}", row.line))
            else:
                ids[text] = index
        return ids, problems

    def _company_by_name(self, name: str) -> Company:
        """A company the user may see, by its exact name."""
        company = Company.get_or_none(Company.name == name)
        if company is None:
            raise V.BadValue("no such company")
        try:
            get_kind("company").check_view(self.session, company)
        except PermissionDenied:
            raise V.BadValue("no such company") from None
        return company

    def _prepare(self) -> None:
        """Work out once what every row needs: columns in checking order, fields, columns."""
        layout, kind = self.layout, self.kind
        specs = {spec.name: spec for spec in kind.fields}
        by_name = {c.field for c in layout.columns if c.by_name}
        # By-name columns first: when given, they decide and the id column is not consulted.
        ordered = sorted(layout.columns, key=lambda c: not c.by_name)
        self._plan = [
            _Cell(c, specs[c.check] if c.check else specs[c.field],
                  c.field in by_name and not c.by_name, c.field == layout.self_ref)
            for c in ordered if c.field is not None or c.check is not None
        ]
        self._required = [(spec.name, layout.column_for(spec.name)) for spec in kind.fields
                          if spec.required and not spec.readonly]
        # Every field present in the rows' data (None where it has no default), so a row's
        # values can be taken in column order in one step when written.
        self._template = self.model()
        for name in self.model._meta.fields:
            self._template.__data__.setdefault(name, None)
        kind.defaults(self.session, self._template)
        model_fields = self.model._meta.fields
        # Plain values go straight into the row's data; references to records go through
        # the model's descriptor, which also keeps the record for the access rules.
        self._attrs = {
            spec.name: (spec.column, isinstance(model_fields.get(spec.column),
                                                peewee.ForeignKeyField))
            for spec in kind.fields if spec.kind not in ("refs", "password")
        }

    def _parse(self, cell: _Cell, text: str) -> tuple[int, Any]:
        """What one non-empty cell means: (_SKIP|_OK|_BAD|_SELF, value|reason|row index)."""
        stripped = text.strip()
        spec = cell.spec
        if not stripped and spec.kind not in TEXT_KINDS:
            return _SKIP, None
        if cell.self_ref and stripped in self.file_ids:
            return _SELF, self.file_ids[stripped]
        if cell.column.id_of and not stripped.isdigit():
            return _BAD, f"{cell.column.id_of} {stripped!r} does not exist (an id is expected)"
        try:
            if cell.column.by_name:
                return _OK, self._company_by_name(stripped)
            return _OK, parse_field(self.session, spec, text)
        except V.BadValue as exc:
            return _BAD, str(exc)

    def _check_row(
        self,
        line: int,
        values: dict[str, str],
        row_problems: Sequence[csvio.RowProblem],
        problems: list[Problem],
        denied: list[Problem],
    ) -> _Row | None:
        """Parse and check one row; append its problems; return it when it is good."""
        layout, kind, session = self.layout, self.kind, self.session
        title = values.get(layout.fixed[0].name, "").strip()
        label = f"{kind.name} {title!r}" if title else f"{kind.name} on line {line}"
        found = [Problem(label, p.column or "row", p.value, p.reason, line)
                 for p in row_problems] if row_problems else []
        parsed: dict[str, Any] = {}
        failed: set[str] = set()
        self_ref: int | None = None
        for cell in self._plan:
            text = values.get(cell.name, "")
            if not text:
                continue
            name = cell.field
            if cell.yields and (name in parsed or name in failed):
                continue
            if cell.plain and cell.memo is None:
                # A text column of mostly distinct values: straight to the field's rules.
                try:
                    parsed[name] = parse_field(session, cell.spec, text)
                except V.BadValue as exc:
                    failed.add(name)
                    found.append(Problem(label, cell.name, text, str(exc), line))
                continue
            memo = cell.memo
            hit = memo.get(text) if memo is not None else None
            if hit is None:
                hit = self._parse(cell, text)
                if memo is not None:
                    if len(memo) < MEMO_LIMIT or not cell.droppable:
                        memo[text] = hit
                    else:
                        cell.memo = None  # mostly distinct values: caching would not pay
            state, value = hit
            if state == _OK:
                if name is not None:
                    parsed[name] = value
            elif state == _BAD:
                if name is not None:
                    failed.add(name)
                found.append(Problem(label, cell.name, text, value, line))
            elif state == _SELF:
                self_ref = value
                failed.add(name)  # given, though not parsed: not "required"
        for name, column in self._required:
            if name not in parsed and name not in failed:
                found.append(Problem(label, column, "", "required", line))
        # A copy of the defaulted template: the same as calling defaults() on a new object.
        obj = self.model(__no_default__=True)
        obj.__data__ = data = self._template.__data__.copy()
        obj.__rel__ = self._template.__rel__.copy()
        attrs = self._attrs
        for name, value in parsed.items():
            target = attrs.get(name)
            if target is None:
                continue
            if target[1]:
                setattr(obj, target[0], value)
            else:
                data[target[0]] = value
        if self_ref is not None:
            # A stand-in until the row it points at has its id; rules only ask "is it set?".
            data[layout.self_ref] = 0
        checks: list[Problem] = []
        kind.validate(session, obj, parsed, checks)
        if checks:
            found.extend(dataclasses.replace(p, record=label, field=layout.column_for(p.field),
                                             line=line) for p in checks)
        custom = self._check_custom(obj, values, label, line, failed, found)
        if found:
            problems.extend(found)
            return None
        try:
            kind.check_modify(session, obj)
        except PermissionDenied as exc:
            denied.append(Problem(label, "row", "", str(exc), line))
            return None
        return _Row(line, label, obj, parsed, custom, self_ref)

    def _custom_plan(self, type_id: int | None) -> tuple[list[_CustomCell], list[str], int]:
        """For rows of a type: their custom cells, the surplus columns, the field count."""
        plan = self._custom_plans.get(type_id)
        if plan is None:
            fields = self.custom.get(type_id, [])
            if self.header:
                pairs = [_CustomCell(f, f.name) for f in fields]
                used = {f.name for f in fields}
                surplus = [name for name in self.custom_columns if name not in used]
            else:
                pairs = [_CustomCell(f, column)
                         for f, column in zip(fields, self.custom_columns, strict=False)]
                surplus = self.custom_columns[len(fields):]
            plan = self._custom_plans[type_id] = (pairs, surplus, len(fields))
        return plan

    def _check_custom(
        self,
        obj: BaseModel,
        values: dict[str, str],
        label: str,
        line: int,
        failed: set[str],
        found: list[Problem],
    ) -> list[tuple[int, str]]:
        """Check the row's custom values by their fields' kinds; returns (field id, text)."""
        type_field = self.layout.custom_type_field
        if type_field is None:
            type_id = None
        elif type_field in failed:
            return []  # already reported; its custom columns cannot be judged
        else:
            type_id = obj.__data__.get(type_field)
        pairs, surplus, count = self._custom_plan(type_id)
        out: list[tuple[int, str]] = []
        for cell in pairs:
            text = values.get(cell.column, "")
            if not text:
                continue
            memo = cell.memo
            hit = memo.get(text) if memo is not None else None
            if hit is None:
                try:
                    hit = True, parse_custom_value(cell.field, text)
                except V.BadValue as exc:
                    hit = False, str(exc)
                if memo is not None:
                    if len(memo) < MEMO_LIMIT:
                        memo[text] = hit
                    else:
                        cell.memo = None
            if hit[0]:
                out.append((cell.field_id, hit[1]))
            else:
                found.append(Problem(label, cell.name, text, hit[1], line))
        for name in surplus:
            text = values.get(name, "")
            if text.strip():
                found.append(Problem(label, name, text, self._surplus_reason(obj, count), line))
        return out

    def _surplus_reason(self, obj: BaseModel, count: int) -> str:
        type_field = self.layout.custom_type_field
        if type_field is None:
            return "not a custom field"
        noun = type_field.replace("_", " ")
        type_id = obj.__data__.get(type_field)
        if type_id is None:
            return f"the row has no {noun}, so it has no custom fields"
        if self.header:
            return f"not a custom field of {noun} {type_id}"
        return f"too many columns: {noun} {type_id} has {count} custom fields"

    def _check_unique(self, rows: list[_Row], problems: list[Problem]) -> None:
        """Unique columns (a company's name): not twice in the file, not already stored."""
        for spec in self.kind.fields:
            column = getattr(self.model, spec.column, None)
            if not isinstance(column, peewee.Field) or not column.unique:
                continue
            first: dict[Any, _Row] = {}
            for row in rows:
                value = row.obj.__data__.get(column.name)
                if value in (None, ""):
                    continue
                if value in first:
                    problems.append(Problem(row.label, self.layout.column_for(spec.name),
                                            str(value), "appears twice in the file (also on "
                                            f"line {first[value].line})", row.line))
                else:
                    first[value] = row
            for value in _existing(self.model, column, list(first)):
                row = first[value]
                problems.append(Problem(row.label, self.layout.column_for(spec.name),
                                        str(value), f"another {self.kind.name} already has it",
                                        row.line))

    def _order(self, rows: list[_Row], problems: list[Problem]) -> list[_Row]:
        """Rows in writing order: for a tree, every parent before its children.

        Called when every row of the file is good, so ``rows[n]`` is data row ``n``. Rows
        whose parents within the file form a loop are reported.
        """
        if not self.layout.acyclic:
            return rows
        children: dict[int, list[int]] = {}
        roots: list[int] = []
        for n, row in enumerate(rows):
            if row.self_ref is None:
                roots.append(n)
            else:
                children.setdefault(row.self_ref, []).append(n)
        order: list[_Row] = []
        stack = roots[::-1]
        while stack:
            n = stack.pop()
            order.append(rows[n])
            stack.extend(children.get(n, [])[::-1])
        if len(order) < len(rows):
            placed = {id(row) for row in order}
            ids = {n: text for text, n in self.file_ids.items()}
            column = self.layout.column_for(self.layout.self_ref or "")
            for row in rows:
                if id(row) not in placed:
                    problems.append(Problem(row.label, column, ids.get(row.self_ref, ""),
                                            "the parents within the file form a loop",
                                            row.line))
        return order

    def _warnings(self, rows: list[_Row]) -> list[Problem]:
        """Leads that resemble existing leads or each other (SPEC 6): warned, still created."""
        if self.layout.kind != "lead":
            return []
        from crm_tui.services.leads import email_key, find_duplicates

        warnings: list[Problem] = []
        seen: dict[str, int] = {}
        for row in rows:
            lead = row.obj
            values = {"email": lead.email, "company_name": lead.company_name,
                      "full_name": lead.full_name}
            for duplicate in find_duplicates(self.session, values):
                warnings.append(Problem(row.label, "email", lead.email or "",
                                        f"resembles {duplicate.describe()}", row.line))
            key = email_key(lead.email)
            if key and key in seen:
                warnings.append(Problem(row.label, "email", lead.email, "the same email as the "
                                        f"lead on line {seen[key]}", row.line))
            seen.setdefault(key, row.line)
        return warnings

    # --- writing ------------------------------------------------------------------------------

    def _write(self, rows: list[_Row], order: list[_Row], done: int) -> list[int]:
        """Insert every row and its custom values in one write transaction; returns the ids."""
        session, kind, layout = self.session, self.kind, self.layout
        try:
            with write_transaction():
                # Ids follow the writing order: rows go in at the end of the table's b-tree,
                # and a parent within the file always has a smaller id than its children.
                for row, new_id in zip(order, _allocate_ids(self.model, len(rows)), strict=True):
                    row.obj.id = new_id
                later: list[tuple[int, int]] = []
                for row in rows:
                    if row.self_ref is None:
                        continue
                    target = rows[row.self_ref].obj.id
                    if layout.acyclic:
                        row.obj.__data__[layout.self_ref] = target
                    else:
                        # Contracts may relate to each other both ways: set after the inserts.
                        row.obj.__data__[layout.self_ref] = None
                        later.append((target, row.obj.id))
                for row in order:
                    kind.before_save(session, row.obj, True)
                written = 0
                for batch in _batches(order, STEP):
                    _insert(self.model, [row.obj.__data__ for row in batch])
                    written += len(batch)
                    self._tick(done + written // 2)
                values = [(fid, row.obj.id, text) for row in order for fid, text in row.custom]
                # In index order, as the unique (field, record) index is built fastest.
                values.sort()
                for batch in _batches(values, STEP * 5):
                    _insert_custom(batch)
                    self._tick(done + written // 2)
                for n, row in enumerate(order, 1):
                    kind.after_save(session, row.obj, row.parsed, True)
                    if n % STEP == 0:
                        self._tick(done + (written + n) // 2)
                column = getattr(self.model, layout.self_ref) if later else None
                for target, row_id in later:
                    self.model.update({column: target}).where(self.model.id == row_id).execute()
                self._tick(done + len(rows))
        except peewee.IntegrityError as exc:
            raise Conflict(
                f"the database changed during the import and refused a row ({_first_line(exc)});"
                " nothing was written: run the import again") from None
        return [row.obj.id for row in rows]


# --- bulk writing helpers ----------------------------------------------------------------------


def _allocate_ids(model: type[BaseModel], count: int) -> list[int]:
    """`count` fresh ids for new rows, taken inside the write transaction.

    SQLite: the IMMEDIATE transaction holds the write lock, so max(id)+1… is ours alone.
    PostgreSQL: the ids come from the table's own sequence (nextval), so concurrent inserts
    of other operators can never take the same ids and the sequence needs no setval after.
    """
    table = model._meta.table_name
    if is_postgres():
        cursor = database.execute_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            (f'"{table}"', count))
        return sorted(value for (value,) in cursor.fetchall())
    top = model.select(peewee.fn.MAX(model.id)).scalar() or 0
    return list(range(top + 1, top + 1 + count))


def _insert(model: type[BaseModel], rows: list[dict[str, Any]]) -> None:
    """Insert model rows given as `__data__` dicts holding every field (ids included)."""
    fields = model._meta.sorted_fields
    values = operator.itemgetter(*[f.name for f in fields])
    _insert_rows(model, fields, list(map(values, rows)))


def _insert_custom(rows: list[tuple[int, int, str]]) -> None:
    """Insert custom values as (field id, record id, text)."""
    _insert_rows(CustomValue, [CustomValue.field, CustomValue.record_id, CustomValue.value], rows)


def _insert_rows(model: type[BaseModel], fields: Sequence[peewee.Field],
                 rows: list[tuple]) -> None:
    """Insert rows with multi-row INSERT statements of up to ROWS_PER_STATEMENT rows.

    peewee renders the statement once per batch size; the driver only binds values. This
    costs about half of the driver's own executemany on SQLite, and one round trip per
    batch on PostgreSQL. Decimal values go through their field's db_value (rounding).
    """
    if not rows:
        return
    converters = [(n, f.db_value) for n, f in enumerate(fields)
                  if isinstance(f, peewee.DecimalField)]
    if converters:
        rows = [list(row) for row in rows]
        for row in rows:
            for n, convert in converters:
                if row[n] is not None:
                    row[n] = convert(row[n])
    limit = MAX_PARAMETERS if is_postgres() or sqlite3.sqlite_version_info >= (3, 32) else 999
    per_statement = max(1, min(ROWS_PER_STATEMENT, limit // len(fields)))
    # peewee renders one row's statement (quoting, placeholders); the VALUES tuple is then
    # repeated for a batch, since rendering hundreds of rows through peewee costs more than
    # inserting them.
    single = model.insert_many([tuple(None for _ in fields)], fields=list(fields))
    head, _, one = single.returning().sql()[0].partition(" VALUES ")
    statements: dict[int, str] = {}
    cursor = database.cursor()
    with peewee.__exception_wrapper__:
        for start in range(0, len(rows), per_statement):
            batch = rows[start:start + per_statement]
            sql = statements.get(len(batch))
            if sql is None:
                sql = statements[len(batch)] = f"{head} VALUES {', '.join([one] * len(batch))}"
            cursor.execute(sql, list(itertools.chain.from_iterable(batch)))


def _existing(model: type[BaseModel], column: peewee.Field, values: list) -> Iterator[Any]:
    """Which of `values` the column already holds, asked IN_CHUNK values at a time."""
    statements: dict[int, str] = {}
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        # peewee renders a long IN list slowly; render it once per length and reuse the SQL.
        sql = statements.get(len(chunk))
        if sql is None:
            sql = model.select(column).where(column.in_(chunk)).sql()[0]
            statements[len(chunk)] = sql
        params = [column.db_value(value) for value in chunk]
        for (value,) in database.execute_sql(sql, params).fetchall():
            yield column.python_value(value)


def _batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _key(name: str) -> str:
    """How header cells are compared (as csvio does): case-insensitive, trimmed."""
    return name.strip().casefold()


def _format_problems(kind: str, exc: csvio.CsvFormatError) -> list[Problem]:
    """A file-level CSV problem (encoding, delimiter, quotes, header) as Problems."""
    record = f"{kind} file"
    if exc.problems:
        return [Problem(record, p.column or "header", p.value, p.reason, p.line)
                for p in exc.problems]
    return [Problem(record, "file", "", str(exc))]

