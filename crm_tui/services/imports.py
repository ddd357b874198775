"""CSV import of companies, contacts, contracts and leads: every row checked, then all written.

One use case for every face: `crm import`, the TUI's import dialog (from a thread worker) and
scripts call `run`. The file is decoded and parsed by `crm_tui.csvio`; each row is parsed
and checked with the record kind's own fields and rules (`crm_tui.services.records`), so an
imported row meets exactly the rules of `crm add`; then every row is written in one write
transaction with bulk inserts. The work goes a column at a time: each distinct text of a
column is parsed once (a referenced record looked up and its access checked once), then the
kind's per-record rules (validate, may the user write it) run on each row's record.

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
import gc
import itertools
import operator
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
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
from crm_tui.services.records import TEXT_KINDS, Field, Kind, field_parser, get_kind

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
#: Cells looked at to tell a column of mostly distinct texts from one of few values.
MEMO_SAMPLE = 1000
#: What an empty cell means: nothing (the field keeps its default).
_EMPTY = (_SKIP, None)
_VALUE = operator.itemgetter(1)
#: Marks a row whose cell gave its field no value (empty, refused, or pointing into the file).
_MISSING = object()


class _Cell:
    """How one column's cells are read: its field, and the parser of the field's values."""

    __slots__ = ("column", "name", "field", "spec", "yields", "self_ref", "plain", "parse")

    def __init__(self, column: Column, spec: Field, yields: bool, self_ref: bool,
                 parse: Callable[[Any], Any]) -> None:
        self.column = column
        self.name = column.name
        #: The field it fills (None: the column is only checked).
        self.field = column.field
        self.spec = spec
        #: An id column that gives way to the by-name column of the same field.
        self.yields = yields
        self.self_ref = self_ref
        #: A text field filled as written: nothing but the field's own rules apply.
        self.plain = (spec.kind in TEXT_KINDS and column.field is not None and not self_ref
                      and not column.id_of and not column.by_name)
        #: The field's parser (`records.field_parser`): `parse_field` without the dispatch.
        self.parse = parse


class _Memo(dict):
    """What each distinct text of a column means, worked out when first met."""

    __slots__ = ("meaning",)

    def __init__(self, meaning: Callable[[str], Any]) -> None:
        super().__init__()
        self.meaning = meaning

    def __missing__(self, text: str) -> Any:
        found = self[text] = self.meaning(text)
        return found


class _CustomCell:
    """How one custom field's cells are read."""

    __slots__ = ("field", "field_id", "name", "column")

    def __init__(self, custom: CustomField, column: str) -> None:
        self.field = custom
        self.field_id = custom.id
        self.name = custom.name
        self.column = column


@dataclass(slots=True)
class _Batch:
    """The checked rows of a file, column by column: position n is the file's n-th row."""

    lines: list[int]
    #: How messages name each row: "company 'ACME'" (or "company on line 7").
    labels: list[str]
    objects: list[BaseModel]
    #: Each row's parsed values by field name (what `Kind.validate` and `after_save` get).
    parsed: list[dict[str, Any]]
    #: Custom values by custom field id: each row's text to store (None: the row has none).
    custom: dict[int, list[str | None]]
    #: Position → position of the row of the same file its self reference points at.
    self_refs: dict[int, int]


class _Checking:
    """The state of checking a file column by column: each row's values and problems.

    Every rule is still applied to every cell and row; only the order of the work changes
    (a column at a time, each distinct reference resolved once). A row's problems are
    collected in the order the row-by-row check reported them: file, cells in column
    order, required fields, the kind's cross-field rules, custom fields.
    """

    def __init__(self, columns: csvio.CsvColumns, labels: list[str]) -> None:
        self.lines = columns.lines
        self.columns = columns.columns
        #: Columns known to have no empty cell.
        self.full = columns.full
        self.labels = labels
        self.count = len(columns.lines)
        self.blank: Sequence[str] = ("",) * self.count
        #: Row index → problems, in the order they were found.
        self.found: dict[int, list[Problem]] = {
            index: [Problem(labels[index], p.column or "row", p.value, p.reason,
                            self.lines[index]) for p in problems]
            for index, problems in columns.problems.items()}
        #: Field → each row's parsed value (_MISSING: not given, or not parsed).
        self.values: dict[str, list[Any]] = {}
        #: Field → rows where the field was given but not parsed (refused, or a self
        #: reference): such a field is not "required", and its dependants are not judged.
        self.failed: dict[str, set[int]] = {}
        #: Row index → index of the row of the file its self reference points at.
        self.self_refs: dict[int, int] = {}
        #: Custom field id → each row's text to store (None: none).
        self.custom: dict[int, list[str | None]] = {}

    def cells(self, column: str) -> Sequence[str]:
        """A column's cells ("" for every row when the file lacks it)."""
        return self.columns.get(column, self.blank)

    def problem(self, index: int, column: str, value: str, reason: str) -> None:
        """Report one problem of one row."""
        problem = Problem(self.labels[index], column, value, reason, self.lines[index])
        found = self.found.get(index)
        if found is None:
            self.found[index] = [problem]
        else:
            found.append(problem)

    def values_of(self, field_name: str) -> list[Any]:
        """The field's per-row values, created empty on first use."""
        values = self.values.get(field_name)
        if values is None:
            values = self.values[field_name] = [_MISSING] * self.count
            self.failed[field_name] = set()
        return values


#: What a row's dicts start as, and the columns holding each row's own values.
_Part = tuple[dict[str, Any], dict[str, Sequence[Any]]]


def _complete(values: list[Any]) -> bool:
    """True when every row has a value (none is _MISSING)."""
    return not any(map(operator.is_, values, repeat(_MISSING)))


def _walk(columns: dict[str, Sequence[Any]], count: int) -> Iterator[tuple]:
    """The rows of some columns (as many empty rows as `count` when there are none)."""
    if not columns:
        return repeat((), count)
    return zip(*columns.values(), strict=True)


def _same(values: list[Any]) -> bool:
    """True when every item is the very same object (a value parsed once for the column)."""
    return bool(values) and all(map(operator.is_, values, repeat(values[0])))


def _mostly_distinct(texts: Sequence[str]) -> bool:
    """Whether a column's texts are mostly different (judged from its first ones)."""
    sample = texts[:MEMO_SAMPLE]
    return len(set(sample)) * 2 > len(sample)


def _custom_meaning(custom: CustomField, text: str) -> tuple[bool, str] | None:
    """(True, text to store) or (False, why not) for one custom cell; None when empty."""
    if not text:
        return None
    try:
        return True, parse_custom_value(custom, text)
    except V.BadValue as exc:
        return False, str(exc)


def _map_all(parse: Callable[[Any], Any], texts: Sequence[str],
             full: bool = False) -> list[Any] | None:
    """`parse` applied to every text, or None when a text is empty or refused.

    `full`: the texts are known not to be empty (no need to look).
    """
    if not full and "" in texts:
        return None
    try:
        return list(map(parse, texts))
    except V.BadValue:
        return None


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
                columns = csvio.read_columns(table, fixed, custom_names, ignored)
            else:
                # Custom values follow the fixed columns; a cell that fits no custom field of
                # its row is reported by its position in the line.
                width = max((len(group) for group in self.custom.values()), default=0)
                first = len(layout.fixed) + 1
                self.custom_columns = [f"column {n}" for n in range(first, first + width)]
                columns = csvio.read_columns(table, [c.name for c in layout.fixed],
                                             self.custom_columns)
        except csvio.CsvFormatError as exc:
            raise ValidationFailed(_format_problems(kind_name, exc)) from None
        rows = len(table.lines)
        encoding, delimiter = table.encoding, table.delimiter
        del table  # the columns hold every cell now
        self.total = rows if dry_run else 2 * rows
        self._prepare()
        self.file_ids, problems = self._file_ids(columns)
        batch, good, denied = self._check_rows(columns, problems)
        self._tick(rows)
        self._check_unique(batch, good, problems)
        order = self._order(batch, problems) if not (problems or denied) else good
        if problems:
            problems.sort(key=lambda p: p.line or 0)
            raise ValidationFailed(problems)
        if denied:
            more = f" (and {len(denied) - 1} more rows)" if len(denied) > 1 else ""
            raise PermissionDenied(f"line {denied[0].line}: {denied[0].reason}{more}")
        # From here on every row of the file is good: `batch` holds them all.
        warnings = self._warnings(batch)
        report = ImportReport(
            kind=kind_name, dry_run=dry_run, rows=rows, created=len(good),
            problems=warnings, encoding=encoding, delimiter=delimiter,
            header=self.header, preview=list(zip(batch.lines, batch.labels, strict=True)),
        )
        if not dry_run and good:
            report.ids = self._write(batch, order, rows)
        if self._progress is not None:
            self._progress(self.total, self.total)
        return report

    def _file_ids(self, columns: csvio.CsvColumns) -> tuple[dict[str, int], list[Problem]]:
        """The file's own ids (the `id` column of an export) → row index; bad ids reported."""
        problems: list[Problem] = []
        if not self.layout.self_ref or not self.header:
            return {}, problems
        lines = columns.lines
        texts = columns.columns[ID_COLUMN]
        if all(map(str.isdigit, texts)):  # every row has an id, all digits (none blank)
            ids = dict(zip(texts, range(len(texts)), strict=True))
            if len(ids) == len(texts):  # and no id twice: nothing to report
                return ids, problems
        texts = list(map(str.strip, texts))
        ids = {}
        for index, text in enumerate(texts):
            if not text:
                continue
            line = lines[index]
            label = f"{self.kind.name} on line {line}"
            if not text.isdigit():
                problems.append(Problem(label, ID_COLUMN, text, "not a whole number", line))
            elif text in ids:
                problems.append(Problem(label, ID_COLUMN, text,
                                        f"the same id as the row on line {lines[ids[text]]}",
                                        line))
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
        layout, kind, session = self.layout, self.kind, self.session
        specs = {spec.name: spec for spec in kind.fields}
        by_name = {c.field for c in layout.columns if c.by_name}
        # By-name columns first: when given, they decide and the id column is not consulted.
        ordered = sorted(layout.columns, key=lambda c: not c.by_name)
        self._plan = []
        for c in ordered:
            if c.field is None and c.check is None:
                continue
            spec = specs[c.check] if c.check else specs[c.field]
            self._plan.append(_Cell(c, spec, c.field in by_name and not c.by_name,
                                    c.field == layout.self_ref, field_parser(session, spec)))
        self._required = [(spec.name, layout.column_for(spec.name)) for spec in kind.fields
                          if spec.required and not spec.readonly]
        # Every field present in the rows' data (None where it has no default), so a row's
        # values can be taken in column order in one step when written.
        self._template = self.model()
        for name in self.model._meta.fields:
            self._template.__data__.setdefault(name, None)
        kind.defaults(session, self._template)
        model_fields = self.model._meta.fields
        # Plain values go straight into the row's data; references to records are set as
        # the model's descriptor sets them (id in the data, the record kept for the rules).
        self._attrs: dict[str, tuple[str, peewee.ForeignKeyField | None]] = {}
        for spec in kind.fields:
            if spec.kind in ("refs", "password"):
                continue
            model_field = model_fields.get(spec.column)
            self._attrs[spec.name] = (spec.column, model_field if isinstance(
                model_field, peewee.ForeignKeyField) else None)

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
            return _OK, cell.parse(text)
        except V.BadValue as exc:
            return _BAD, str(exc)

    def _check_rows(self, columns: csvio.CsvColumns, problems: list[Problem],
                    ) -> tuple[_Batch, list[int], list[Problem]]:
        """Parse and check every row, a column at a time.

        Each row's problems are appended to `problems` in row order. Returns every row, the
        positions of the good ones, and the rows the user may not write (as problems of
        their own, reported as one PermissionDenied).
        """
        layout, kind = self.layout, self.kind
        name = kind.name
        lines = columns.lines
        labels = [f"{name} {title!r}" if title else f"{name} on line {line}"
                  for title, line in zip(map(str.strip, columns.columns[layout.fixed[0].name]),
                                         lines, strict=True)]
        state = _Checking(columns, labels)
        count = state.count
        steps = len(self._plan) + 5
        for step, cell in enumerate(self._plan, 1):
            self._read_cell(state, cell)
            self._tick(count * step // steps)
        for field_name, column in self._required:
            values = state.values.get(field_name)
            if values is not None and _complete(values):
                continue
            failed = state.failed.get(field_name, ())
            for index in range(count):
                if (values is None or values[index] is _MISSING) and index not in failed:
                    state.problem(index, column, "", "required")
        parsed, objects = self._build(state)
        self._tick(count * (steps - 3) // steps)
        self._validate(state, parsed, objects)
        self._tick(count * (steps - 2) // steps)
        self._check_custom(state, objects)
        self._tick(count * (steps - 1) // steps)
        found = state.found
        for index in sorted(found):
            problems.extend(found[index])
        good: list[int] = []
        denied: list[Problem] = []
        check_modify, session = kind.check_modify, self.session
        for index, obj in enumerate(objects):
            if index in found:
                continue
            try:
                check_modify(session, obj)
            except PermissionDenied as exc:
                denied.append(Problem(labels[index], "row", "", str(exc), lines[index]))
                continue
            good.append(index)
        batch = _Batch(lines, labels, objects, parsed, state.custom, state.self_refs)
        return batch, good, denied

    def _read_cell(self, state: _Checking, cell: _Cell) -> None:
        """Parse one column: each distinct text once, then its meaning into every row."""
        texts = state.cells(cell.name)
        name = cell.field
        if cell.plain and not cell.yields and _mostly_distinct(texts):
            # Free text such as names and addresses: parsed straight through.
            parsed = _map_all(cell.parse, texts, cell.name in state.full)
            if parsed is not None:
                state.values_of(name)[:] = parsed
                return
        # Few distinct texts (references, countries, numbers): each parsed, and each record
        # looked up and its access checked, once; the column is walked once.
        memo = _Memo(lambda text: self._parse(cell, text) if text else _EMPTY)
        meanings = list(map(memo.__getitem__, texts))
        if name is None:
            # A column only checked (last_update): its value is derived when saved.
            if any(outcome == _BAD for outcome, _ in memo.values()):
                for index, (outcome, reason) in enumerate(meanings):
                    if outcome == _BAD:
                        state.problem(index, cell.name, texts[index], reason)
            return
        values = state.values_of(name)
        failed = state.failed[name]
        outcomes = {outcome for outcome, _ in memo.values()}
        if not cell.yields and outcomes == {_OK}:
            # Every row gets a value (the usual case): no per-row decisions.
            values[:] = map(_VALUE, meanings)
            return
        if not cell.yields and outcomes <= {_SELF, _SKIP}:
            # Every given cell names a row of the file (a tree exported whole).
            refs = {index: row for index, (outcome, row) in enumerate(meanings)
                    if outcome == _SELF}
            state.self_refs.update(refs)
            failed.update(refs)  # given, though not parsed: not "required"
            return
        for index, (outcome, value) in enumerate(meanings):
            if outcome == _SKIP:
                continue
            if cell.yields and (values[index] is not _MISSING or index in failed):
                continue
            if outcome == _OK:
                values[index] = value
            elif outcome == _BAD:
                failed.add(index)
                state.problem(index, cell.name, texts[index], value)
            elif outcome == _SELF:
                state.self_refs[index] = value
                failed.add(index)  # given, though not parsed: not "required"

    def _build(self, state: _Checking) -> tuple[list[dict[str, Any]], list[BaseModel]]:
        """Each row's parsed values and its model object (the kind's defaults, then values).

        The objects are what `Kind.create` would have after parsing: a copy of the
        defaulted template with each parsed value set as the field's descriptor sets it.
        """
        count = state.count
        # Fields some row has a value for; those every row has a value for (the usual case)
        # are set in bulk.
        given = {field_name: values for field_name, values in state.values.items()
                 if any(map(operator.is_not, values, repeat(_MISSING)))}
        complete = {field_name: _complete(values) for field_name, values in given.items()}
        # A column whose rows all hold the same value goes into the dict every row's starts as.
        constant = {field_name: values[0] for field_name, values in given.items()
                    if complete[field_name] and _same(values)}
        # Each row's data starts as a copy of the defaulted template (the same as calling
        # defaults() on a new object); fields every row has a value for are then set in
        # bulk, references as their descriptor sets them (the record's key in the data, the
        # record kept), and the others row by row.
        data_start = dict(self._template.__data__)
        rel_start = dict(self._template.__rel__)
        data_columns: dict[str, Sequence[Any]] = {}
        rel_columns: dict[str, Sequence[Any]] = {}
        one_by_one: list[tuple[str, bool, list[Any]]] = []
        for field_name, values in given.items():
            target = self._attrs.get(field_name)
            if target is None:
                continue
            attr, foreign_key = target
            if not complete[field_name]:
                one_by_one.append((attr, foreign_key is not None, values))
                continue
            if foreign_key is None:
                if field_name in constant:
                    data_start[attr] = constant[field_name]
                else:
                    data_columns[attr] = values
                continue
            # The records are few: each distinct text was resolved once.
            key = foreign_key.rel_field.name
            record = constant.get(field_name)
            if isinstance(record, foreign_key.rel_model):
                data_start[foreign_key.name] = getattr(record, key)
                rel_start[foreign_key.name] = record
                continue
            records = {id(value): value for value in values}
            if not all(isinstance(record, foreign_key.rel_model) for record in records.values()):
                one_by_one.append((attr, True, values))
                continue
            keys = {ident: getattr(record, key) for ident, record in records.items()}
            data_columns[foreign_key.name] = list(map(keys.__getitem__, map(id, values)))
            rel_columns[foreign_key.name] = values
        parsed_columns = {field_name: values for field_name, values in given.items()
                          if complete[field_name] and field_name not in constant}
        parsed, objects = self._rows(count, (constant, parsed_columns),
                                     (data_start, data_columns), (rel_start, rel_columns))
        for field_name, full in complete.items():
            if not full:
                for values, value in zip(parsed, given[field_name], strict=True):
                    if value is not _MISSING:
                        values[field_name] = value
        for attr, reference, values in one_by_one:
            for obj, value in zip(objects, values, strict=True):
                if value is _MISSING:
                    continue
                if reference:
                    setattr(obj, attr, value)
                else:
                    obj.__data__[attr] = value
        self_ref = self.layout.self_ref
        for index in state.self_refs:
            # A stand-in until the row it points at has its id; rules only ask "is it set?".
            objects[index].__data__[self_ref] = 0
        return parsed, objects

    def _rows(self, count: int, parsed_part: _Part, data_part: _Part,
              rel_part: _Part) -> tuple[list[dict[str, Any]], list[BaseModel]]:
        """Each row's parsed values and model object.

        Each part (parsed values, data, related records) is (start, columns): a row's dict
        is a copy of the start with the row's values of the columns. One walk over the
        rows builds them all, while a row's values are still at hand.
        """
        (parsed_start, parsed_columns), (data_start, data_columns), \
            (rel_start, rel_columns) = parsed_part, data_part, rel_part
        model = self.model
        new = model.__new__
        parsed: list[dict[str, Any]] = []
        objects: list[BaseModel] = []
        parsed_keys, data_keys, rel_keys = list(parsed_columns), list(data_columns), \
            list(rel_columns)
        dirty = set
        for parsed_row, data_row, rel_row in zip(
                _walk(parsed_columns, count), _walk(data_columns, count),
                _walk(rel_columns, count), strict=True):
            # The keys and the row's values pair up by construction; zip's strict keyword
            # would cost a quarter of each update here.
            values = parsed_start.copy()
            values.update(zip(parsed_keys, parsed_row))  # noqa: B905
            parsed.append(values)
            # What `model(__no_default__=True)` sets up, with the row's dicts given.
            obj = new(model)
            obj.__data__ = data = data_start.copy()
            data.update(zip(data_keys, data_row))  # noqa: B905
            obj._dirty = dirty()
            obj.__rel__ = rel = rel_start.copy()
            if rel_row:
                rel.update(zip(rel_keys, rel_row))  # noqa: B905
            objects.append(obj)
        return parsed, objects

    def _validate(self, state: _Checking, parsed: list[dict[str, Any]],
                  objects: list[BaseModel]) -> None:
        """The kind's cross-field rules on every row, named by the row's CSV columns."""
        session, validate, column_for = self.session, self.kind.validate, self.layout.column_for
        checks: list[Problem] = []
        for index, (obj, values) in enumerate(zip(objects, parsed, strict=True)):
            validate(session, obj, values, checks)
            if checks:
                for p in checks:
                    state.problem(index, column_for(p.field), p.value, p.reason)
                checks = []

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

    def _check_custom(self, state: _Checking, objects: list[BaseModel]) -> None:
        """Check each row's custom values by their fields' kinds into `state.custom`."""
        count = state.count
        type_field = self.layout.custom_type_field
        groups: dict[int | None, list[int]] = {}
        if type_field is None:
            groups[None] = list(range(count))
        else:
            failed = state.failed.get(type_field, ())
            for index, obj in enumerate(objects):
                if index not in failed:  # else already reported: its custom columns wait
                    groups.setdefault(obj.__data__.get(type_field), []).append(index)
        for type_id, indexes in groups.items():
            pairs, surplus, field_count = self._custom_plan(type_id)
            every_row = len(indexes) == count
            for cell in pairs:
                texts = state.cells(cell.column)
                if not every_row:
                    texts = [texts[index] for index in indexes]
                parsed = _map_all(partial(parse_custom_value, cell.field), texts,
                                  every_row and cell.column in state.full) \
                    if _mostly_distinct(texts) else None
                if parsed is not None and every_row:
                    state.custom[cell.field_id] = parsed
                    continue
                stored = state.custom.setdefault(cell.field_id, [None] * count)
                if parsed is not None:
                    for index, value in zip(indexes, parsed, strict=True):
                        stored[index] = value
                    continue
                # Few distinct values (or some refused): each distinct text judged once.
                meanings = map(_Memo(partial(_custom_meaning, cell.field)).__getitem__, texts)
                for index, text, meaning in zip(indexes, texts, meanings, strict=True):
                    if meaning is None:
                        continue
                    if meaning[0]:
                        stored[index] = meaning[1]
                    else:
                        state.problem(index, cell.name, text, meaning[1])
            for name in surplus:
                texts = state.cells(name)
                for index in indexes:
                    text = texts[index]
                    if text.strip():
                        state.problem(index, name, text,
                                      self._surplus_reason(objects[index], field_count))

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

    def _check_unique(self, batch: _Batch, good: list[int], problems: list[Problem]) -> None:
        """Unique columns (a company's name): not twice in the file, not already stored."""
        objects, labels, lines = batch.objects, batch.labels, batch.lines
        for spec in self.kind.fields:
            column = getattr(self.model, spec.column, None)
            if not isinstance(column, peewee.Field) or not column.unique:
                continue
            key = column.name
            values = [objects[position].__data__.get(key) for position in good] \
                if len(good) < len(objects) else [obj.__data__.get(key) for obj in objects]
            first: dict[Any, int] = dict(zip(values, good, strict=True))
            if len(first) < len(values) or None in first or "" in first:
                # Some rows share a value or have none: look at each row.
                first = {}
                for position, value in zip(good, values, strict=True):
                    if value in (None, ""):
                        continue
                    if value in first:
                        problems.append(Problem(
                            labels[position], self.layout.column_for(spec.name), str(value),
                            f"appears twice in the file (also on line {lines[first[value]]})",
                            lines[position]))
                    else:
                        first[value] = position
            for value in _existing(self.model, column, list(first)):
                position = first[value]
                problems.append(Problem(labels[position], self.layout.column_for(spec.name),
                                        str(value), f"another {self.kind.name} already has it",
                                        lines[position]))

    def _order(self, batch: _Batch, problems: list[Problem]) -> list[int]:
        """Positions in writing order: for a tree, every parent before its children.

        Called when every row of the file is good, so position ``n`` is data row ``n``.
        Rows whose parents within the file form a loop are reported.
        """
        count = len(batch.objects)
        if not self.layout.acyclic:
            return list(range(count))
        children: dict[int, list[int]] = {}
        roots: list[int] = []
        self_refs = batch.self_refs
        for n in range(count):
            parent = self_refs.get(n)
            if parent is None:
                roots.append(n)
            else:
                children.setdefault(parent, []).append(n)
        order: list[int] = []
        stack = roots[::-1]
        while stack:
            n = stack.pop()
            order.append(n)
            kids = children.get(n)
            if kids:
                stack.extend(reversed(kids))
        if len(order) < count:
            placed = set(order)
            ids = {n: text for text, n in self.file_ids.items()}
            column = self.layout.column_for(self.layout.self_ref or "")
            for n in range(count):
                if n not in placed:
                    problems.append(Problem(batch.labels[n], column,
                                            ids.get(self_refs.get(n), ""),
                                            "the parents within the file form a loop",
                                            batch.lines[n]))
        return order

    def _warnings(self, batch: _Batch) -> list[Problem]:
        """Leads that resemble existing leads or each other (SPEC 6): warned, still created."""
        if self.layout.kind != "lead":
            return []
        from crm_tui.services.leads import email_key, find_duplicates

        warnings: list[Problem] = []
        seen: dict[str, int] = {}
        for lead, label, line in zip(batch.objects, batch.labels, batch.lines, strict=True):
            values = {"email": lead.email, "company_name": lead.company_name,
                      "full_name": lead.full_name}
            for duplicate in find_duplicates(self.session, values):
                warnings.append(Problem(label, "email", lead.email or "",
                                        f"resembles {duplicate.describe()}", line))
            key = email_key(lead.email)
            if key and key in seen:
                warnings.append(Problem(label, "email", lead.email, "the same email as the "
                                        f"lead on line {seen[key]}", line))
            seen.setdefault(key, line)
        return warnings

    # --- writing ------------------------------------------------------------------------------

    def _write(self, batch: _Batch, order: list[int], done: int) -> list[int]:
        """Insert every row and its custom values in one write transaction; returns the ids."""
        session, kind, layout, model = self.session, self.kind, self.layout, self.model
        objects = batch.objects
        count = len(objects)
        key = model._meta.primary_key.name
        try:
            with write_transaction():
                # Ids follow the writing order: rows go in at the end of the table's b-tree,
                # and a parent within the file always has a smaller id than its children.
                ids = [0] * count
                for position, new_id in zip(order, _allocate_ids(model, count), strict=True):
                    ids[position] = new_id
                later: list[tuple[int, int]] = []
                self_refs, self_ref = batch.self_refs, layout.self_ref
                before_save = kind.before_save
                written = 0
                for positions in _batches(order, STEP):
                    rows: list[dict[str, Any]] = []
                    for position in positions:
                        obj = objects[position]
                        data = obj.__data__
                        data[key] = ids[position]
                        target = self_refs.get(position)
                        if target is not None and layout.acyclic:
                            data[self_ref] = ids[target]
                        elif target is not None:
                            # Contracts may relate to each other both ways: set after the
                            # inserts.
                            data[self_ref] = None
                            later.append((ids[target], ids[position]))
                        before_save(session, obj, True)
                        rows.append(data)
                    _insert(model, rows)
                    written += len(positions)
                    self._tick(done + written // 2)
                # In index order (field, then record: `order` has increasing ids), as the
                # unique (field, record) index is built fastest.
                values: list[tuple[int, int, str]] = []
                written_ids = [ids[position] for position in order]
                for field_id, texts in sorted(batch.custom.items()):
                    triples = zip(repeat(field_id), written_ids, map(texts.__getitem__, order))
                    if None in texts:  # some rows have no value for the field
                        triples = (triple for triple in triples if triple[2] is not None)
                    values.extend(triples)
                for chunk in _batches(values, STEP * 5):
                    _insert_custom(chunk)
                    self._tick(done + written // 2)
                if type(kind).after_save is not Kind.after_save:  # else nothing to call
                    after_save, parsed = kind.after_save, batch.parsed
                    for n, position in enumerate(order, 1):
                        after_save(session, objects[position], parsed[position], True)
                        if n % STEP == 0:
                            self._tick(done + (written + n) // 2)
                column = getattr(model, layout.self_ref) if later else None
                for target, row_id in later:
                    model.update({column: target}).where(model.id == row_id).execute()
                self._tick(done + count)
        except peewee.IntegrityError as exc:
            raise Conflict(
                f"the database changed during the import and refused a row ({_first_line(exc)});"
                " nothing was written: run the import again") from None
        return ids


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
    """Which of `values` the column already holds.

    When the table has fewer rows than there are values (an import into a young
    database), its values are read once; otherwise they are asked IN_CHUNK at a time.
    """
    if not values:
        return
    if model.select().count() < len(values):
        stored = {column.python_value(value) for (value,) in
                  database.execute_sql(*model.select(column).sql()).fetchall()}
        yield from (value for value in values if value in stored)
        return
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


def _format_problems(kind: str, exc: csvio.CsvFormatError) -> list[Problem]:
    """A file-level CSV problem (encoding, delimiter, quotes, header) as Problems."""
    record = f"{kind} file"
    if exc.problems:
        return [Problem(record, p.column or "header", p.value, p.reason, p.line)
                for p in exc.problems]
    return [Problem(record, "file", "", str(exc))]

