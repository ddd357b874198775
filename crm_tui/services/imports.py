"""CSV import of companies, contacts, contracts and leads: every row checked, then all written.

One use case for every face: `crm import`, the TUI's import dialog (from a thread worker) and
scripts call `run`. The file is decoded and parsed by `crm_tui.csvio`; each row is parsed
and checked with the record kind's own fields and rules (`crm_tui.services.records`), so an
imported row meets exactly the rules of `crm add`; then every row is written in one write
transaction with bulk inserts. The work goes a column at a time: each distinct text of a
column is parsed once (a referenced record looked up and its access checked once), then the
kind's per-record rules (validate, may the user write it, before_save) run on the rows. A kind
that gives a rule a batch form (`Kind.validate_many`, `Kind.modify_fields`,
`Kind.before_save_many`) has it applied to whole columns, and the rows are written straight
from the columns; for the other rules each row's model object is made and the rule called.

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
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from typing import Any

import peewee

from crm_tui import csvio
from crm_tui.db import database, is_postgres, write_transaction
from crm_tui.errors import (
    Conflict,
    CrmError,
    PermissionDenied,
    Problem,
    ValidationFailed,
)
from crm_tui.models import BaseModel, Company, CustomField, CustomValue, ImportBatch
from crm_tui.services import duplicates, history, search
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.custom_fields import parse_custom_value
from crm_tui.services.records import (
    TEXT_KINDS,
    Field,
    Kind,
    column_parser,
    field_parser,
    get_kind,
)

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
    preview: Sequence[tuple[int, str]] = ()
    #: The import batch written (what `crm import undo` takes back), None on a dry run.
    batch: int | None = None
    #: Rows left out as duplicates (`on_duplicate="skip"`): their lines.
    skipped: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line saying what happened."""
        noun = self.kind if self.created != 1 else LAYOUTS[self.kind].kind
        verb = "would create" if self.dry_run else "created"
        how = f"{self.encoding}, {self.delimiter!r}-separated, " + (
            "with a header line" if self.header else "positional (no header line)")
        tail = " (dry run: nothing written)" if self.dry_run else ""
        if self.batch is not None:
            tail = f"; batch {self.batch} (crm import undo {self.batch} takes it back)"
        skipped = (f", {'would skip' if self.dry_run else 'skipped'} {len(self.skipped)} "
                   "duplicates") if self.skipped else ""
        return f"{verb} {self.created} {noun} from {self.rows} rows{skipped} ({how}){tail}"


class _Labels(Sequence[str]):
    """How messages name each row: "company 'ACME'" (or "company on line 7").

    Each is made when asked: most are never needed, and a large file has many rows.
    """

    __slots__ = ("noun", "titles", "lines")

    def __init__(self, noun: str, titles: Sequence[str], lines: list[int]) -> None:
        self.noun, self.titles, self.lines = noun, titles, lines

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> str:
        title = self.titles[index].strip()
        return f"{self.noun} {title!r}" if title else f"{self.noun} on line {self.lines[index]}"


class _Preview(Sequence[tuple[int, str]]):
    """(line, label) of each row, made when asked; equal to any sequence of the same pairs."""

    __slots__ = ("lines", "labels")

    def __init__(self, lines: list[int], labels: Sequence[str]) -> None:
        self.lines, self.labels = lines, labels

    def __len__(self) -> int:
        return len(self.lines)

    def __getitem__(self, index: int) -> tuple[int, str]:
        return self.lines[index], self.labels[index]

    def __iter__(self) -> Iterator[tuple[int, str]]:
        return zip(self.lines, self.labels, strict=True)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return list(self) == list(other)

    def __repr__(self) -> str:
        return repr(list(self))


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
    file_name: str = "",
    on_duplicate: str = "create",
) -> ImportReport:
    """Import a CSV file of `kind` ("companies", "contacts", "contracts", "leads").

    Every row is parsed and checked first; a file with any bad row writes nothing. Then all
    rows are written in one transaction (unless `dry_run`).

    Args:
        data: The file's bytes (UTF-8 with or without BOM, or Latin-1; ``,`` or ``;``).
        progress: Called now and then with (done, total) units of work (a fraction to show).
        cancelled: Polled now and then; True stops the import and writes nothing.
        file_name: Where the data came from, as the import batch records it.
        on_duplicate: What becomes of a row that resembles a stored record or an earlier
            row by its kind's duplicate rule: "create" (warned, created) or "skip" (warned,
            left out: the file is checked once to find them, then imported without them).

    Raises:
        PermissionDenied: the user may not create such records (or any row of the file).
        ValidationFailed: the file or some rows are bad; lists every problem with its line.
        ImportCancelled: `cancelled` said so.
        Conflict: the database changed meanwhile (a duplicate saved by someone else).
    """
    if kind not in LAYOUTS:
        raise ValidationFailed.one("import", "kind", kind, "must be one of " + ", ".join(KINDS))
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationFailed.one("import", "on_duplicate", on_duplicate,
                                   "must be one of " + ", ".join(ON_DUPLICATE))
    importer = _Importer(session, LAYOUTS[kind], progress, cancelled)
    importer.file_name = file_name
    with _collector_paused():
        if on_duplicate == "create":
            return importer.run(kind, data, dry_run)
        found = _Importer(session, LAYOUTS[kind], None, cancelled).run(kind, data, True)
        importer.left_out = {p.line for p in found.problems if p.line is not None}
        report = importer.run(kind, data, dry_run)
        report.problems, report.skipped = found.problems, sorted(importer.left_out)
        report.rows = found.rows
        return report


#: What `run` may do with duplicates.
ON_DUPLICATE = ("create", "skip")


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

    __slots__ = ("column", "name", "field", "spec", "yields", "self_ref", "plain", "parse",
                 "parse_all")

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
        #: For a plain text field, its parser of whole columns (`records.column_parser`).
        self.parse_all = column_parser(spec) if self.plain else None


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

    __slots__ = ("field", "field_id", "name", "column", "parse_all")

    def __init__(self, custom: CustomField, column: str) -> None:
        self.field = custom
        self.field_id = custom.id
        self.name = custom.name
        self.column = column
        #: The parser of a whole column of non-empty texts, for the kinds whose values are
        #: kept as written (`parse_custom_value`: "text" up to 1000 characters on one line,
        #: "textarea" anything).
        self.parse_all = None
        if custom.kind in ("text", "textarea"):
            self.parse_all = partial(V.parse_texts,
                                     max_length=1000 if custom.kind == "text" else None,
                                     single_line=custom.kind == "text")


@dataclass(slots=True)
class _Batch:
    """The checked rows of a file, column by column: position n is the file's n-th row."""

    lines: list[int]
    #: How messages name each row: "company 'ACME'" (or "company on line 7").
    labels: Sequence[str]
    records: _Records
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

    def __init__(self, columns: csvio.CsvColumns, labels: Sequence[str]) -> None:
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
        #: Fields known to have a value in every row, and those known to have the same one.
        self.complete: set[str] = set()
        self.same: set[str] = set()

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


def _batch_form(kind: Kind, hook: str, form: str) -> Any:
    """A kind's batch form of a per-record hook (`Kind.validate_many` …), or None.

    A batch form counts only where the class that defines the hook defines it too: a kind
    that overrides the hook alone keeps its own per-record rule.
    """
    for klass in type(kind).__mro__:
        if hook in vars(klass):
            return getattr(kind, form) if form in vars(klass) else None
    return None


def _map_all(parse: Callable[[Any], Any], texts: Sequence[str], full: bool = False,
             parse_all: Callable[[Sequence[str]], list[Any] | None] | None = None,
             ) -> list[Any] | None:
    """`parse` applied to every text, or None when a text is empty or refused.

    `full`: the texts are known not to be empty (no need to look). `parse_all`: the same
    parser for a whole column at once (None from it: some text is refused).
    """
    if not full and "" in texts:
        return None
    if parse_all is not None:
        return parse_all(texts)
    try:
        return list(map(parse, texts))
    except V.BadValue:
        return None


class _Records:
    """The rows of a file as new records, column by column (`records.NewRecords`).

    Record n is what `Kind.create` would have after parsing row n: a copy of the kind's
    defaulted template with each parsed value set as the field's descriptor sets it. The
    rules that have a batch form read the columns; model objects (and each row's dict of
    parsed values) are made only for the rules that need them.
    """

    def __init__(self, state: _Checking, model: type[BaseModel], template: BaseModel,
                 attrs: dict[str, tuple[str, peewee.ForeignKeyField | None]],
                 self_ref: str | None) -> None:
        self.count = state.count
        self.model = model
        # Fields some row has a value for; those every row has a value for (the usual case)
        # are set in bulk.
        given = {field_name: values for field_name, values in state.values.items()
                 if values and (field_name in state.complete
                                or any(map(operator.is_not, values, repeat(_MISSING))))}
        complete = {field_name: field_name in state.complete or _complete(values)
                    for field_name, values in given.items()}
        self._given = {field_name: True if full else None for field_name, full in complete.items()}
        # A column whose rows all hold the same value goes into the dict every row's starts as.
        constant = {field_name: values[0] for field_name, values in given.items()
                    if complete[field_name] and (field_name in state.same or _same(values))}
        # Each row's data starts as a copy of the defaulted template (the same as calling
        # defaults() on a new object); fields every row has a value for are then set in
        # bulk, references as their descriptor sets them (the record's key in the data, the
        # record kept), and the others row by row.
        self.data_start = data_start = dict(template.__data__)
        self.rel_start = rel_start = dict(template.__rel__)
        self.data_columns: dict[str, Sequence[Any]] = {}
        self.rel_columns: dict[str, Sequence[Any]] = {}
        #: (attribute, its foreign key or None, each row's value or _MISSING).
        self.one_by_one: list[tuple[str, peewee.ForeignKeyField | None, list[Any]]] = []
        for field_name, values in given.items():
            target = attrs.get(field_name)
            if target is None:
                continue
            attr, foreign_key = target
            if not complete[field_name]:
                self.one_by_one.append((attr, foreign_key, values))
                continue
            if foreign_key is None:
                if field_name in constant:
                    data_start[attr] = constant[field_name]
                else:
                    self.data_columns[attr] = values
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
                self.one_by_one.append((attr, foreign_key, values))
                continue
            keys = {ident: getattr(record, key) for ident, record in records.items()}
            self.data_columns[foreign_key.name] = list(map(keys.__getitem__, map(id, values)))
            self.rel_columns[foreign_key.name] = values
        self.parsed_start = constant
        self.parsed_columns = {field_name: values for field_name, values in given.items()
                               if complete[field_name] and field_name not in constant}
        self.parsed_partial = {field_name: given[field_name]
                               for field_name, full in complete.items() if not full}
        #: Rows whose self reference points into the file: a stand-in until the row it points
        #: at has its id; rules only ask "is it set?".
        self.self_ref = self_ref
        self.stand_ins = sorted(state.self_refs) if self_ref else []
        self._stand_in_set = frozenset(self.stand_ins)
        self._columns: dict[str, Sequence[Any]] = {}
        self._built: tuple[list[dict[str, Any]], list[BaseModel]] | None = None

    # --- records.NewRecords ----------------------------------------------------------------

    def given(self, name: str) -> bool | None:
        return self._given.get(name, False)

    def column(self, name: str) -> Sequence[Any]:
        """Each record's value of a model field (as its ``__data__`` holds it)."""
        column = self._columns.get(name)
        if column is not None:
            return column
        values = self.data_columns.get(name)
        patches = [(foreign_key, values) for attr, foreign_key, values in self.one_by_one
                   if attr == name]
        stand_ins = self.stand_ins if name == self.self_ref else ()
        if values is None or patches or stand_ins:
            column = list(values) if values is not None else [self.data_start[name]] * self.count
            for foreign_key, patch in patches:
                for index, value in enumerate(patch):
                    if value is _MISSING:
                        continue
                    if foreign_key is not None and isinstance(value, foreign_key.rel_model):
                        value = getattr(value, foreign_key.rel_field.name)
                    column[index] = value
            for index in stand_ins:
                column[index] = 0
        else:
            column = values
        self._columns[name] = column
        return column

    def constant(self, name: str) -> tuple[bool, Any]:
        """(True, the value) when every record holds the same value of a field, given once."""
        if (name in self.data_columns or any(attr == name for attr, _, _ in self.one_by_one)
                or (name == self.self_ref and self.stand_ins)):
            return False, None
        return True, self.data_start[name]

    # --- model objects, for rules without a batch form --------------------------------------

    def record(self, index: int) -> BaseModel:
        """One record's model object."""
        if self._built is not None:
            return self._built[1][index]
        obj = self.model.__new__(self.model)
        obj.__data__ = data = self.data_start.copy()
        obj._dirty = set()
        obj.__rel__ = rel = self.rel_start.copy()
        for name, values in self.data_columns.items():
            data[name] = values[index]
        for name, values in self.rel_columns.items():
            rel[name] = values[index]
        self._patch(obj, index)
        if index in self._stand_in_set:
            data[self.self_ref] = 0
        return obj

    def _patch(self, obj: BaseModel, index: int) -> None:
        for attr, foreign_key, values in self.one_by_one:
            value = values[index]
            if value is _MISSING:
                continue
            if foreign_key is not None:
                setattr(obj, attr, value)
            else:
                obj.__data__[attr] = value

    def objects(self) -> list[BaseModel]:
        """Every record's model object."""
        return self._build()[1]

    def parsed(self) -> list[dict[str, Any]]:
        """Every record's parsed values by field name (what `Kind.validate` gets)."""
        return self._build()[0]

    def _build(self) -> tuple[list[dict[str, Any]], list[BaseModel]]:
        if self._built is None:
            parsed, objects = _rows(self.model, self.count,
                                    (self.parsed_start, self.parsed_columns),
                                    (self.data_start, self.data_columns),
                                    (self.rel_start, self.rel_columns))
            for field_name, values in self.parsed_partial.items():
                for row, value in zip(parsed, values, strict=True):
                    if value is not _MISSING:
                        row[field_name] = value
            if self.one_by_one:
                for index, obj in enumerate(objects):
                    self._patch(obj, index)
            for index in self.stand_ins:
                objects[index].__data__[self.self_ref] = 0
            self._built = parsed, objects
        return self._built


def _rows(model: type[BaseModel], count: int, parsed_part: _Part, data_part: _Part,
          rel_part: _Part) -> tuple[list[dict[str, Any]], list[BaseModel]]:
    """Each row's parsed values and model object.

    Each part (parsed values, data, related records) is (start, columns): a row's dict
    is a copy of the start with the row's values of the columns. One walk over the
    rows builds them all, while a row's values are still at hand.
    """
    (parsed_start, parsed_columns), (data_start, data_columns), \
        (rel_start, rel_columns) = parsed_part, data_part, rel_part
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
        #: Where the data came from, as the import batch records it.
        self.file_name = ""
        #: Lines of the file to leave out (duplicates skipped).
        self.left_out: set[int] = set()
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
            if self.left_out:
                table = csvio.without_lines(table, self.left_out)
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
            header=self.header, preview=_Preview(batch.lines, batch.labels),
        )
        if not dry_run and good:
            report.ids, report.batch = self._write(batch, order, rows)
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
        labels = _Labels(name, columns.columns[layout.fixed[0].name], lines)
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
        records = _Records(state, self.model, self._template, self._attrs, layout.self_ref)
        self._tick(count * (steps - 3) // steps)
        self._validate(state, records)
        self._tick(count * (steps - 2) // steps)
        self._check_custom(state, records)
        self._tick(count * (steps - 1) // steps)
        found = state.found
        for index in sorted(found):
            problems.extend(found[index])
        good, denied = self._check_modify(records, found, labels, lines)
        batch = _Batch(lines, labels, records, state.custom, state.self_refs)
        return batch, good, denied

    def _check_modify(self, records: _Records, found: Collection[int], labels: Sequence[str],
                      lines: list[int]) -> tuple[list[int], list[Problem]]:
        """May the user write each row without problems? Returns (good ones, denied ones).

        When the kind names what `check_modify` reads (`Kind.modify_fields`), it is asked
        once per distinct combination of those values, and again per row only where it
        refuses, for each row's own message.
        """
        kind, session = self.kind, self.session
        check_modify = kind.check_modify
        rows = [index for index in range(records.count) if index not in found] \
            if found else range(records.count)
        fields = _batch_form(kind, "check_modify", "modify_fields")
        may: list[bool] | None = None  # None: ask for each row
        if fields is not None:
            # Fields every row holds the same value of need no look.
            varying = [name for name in fields if not records.constant(name)[0]]
            if not varying:
                keys: Sequence[Any] = [()] * records.count
            elif len(varying) == 1:
                keys = records.column(varying[0])
            else:
                keys = list(zip(*map(records.column, varying), strict=True))
            if found:
                keys = [keys[index] for index in rows]
            # The first row of each combination (dict keeps the last, so walk backwards).
            firsts = dict(zip(reversed(keys), reversed(rows), strict=True))
            refused = set()
            for key, index in firsts.items():
                try:
                    check_modify(session, records.record(index))
                except PermissionDenied:
                    refused.add(key)
            if not refused:
                return list(rows), []
            may = [key not in refused for key in keys]
        record = records.objects().__getitem__ if may is None else records.record
        good: list[int] = []
        denied: list[Problem] = []
        for n, index in enumerate(rows):
            if may is not None and may[n]:
                good.append(index)
                continue
            try:
                check_modify(session, record(index))
            except PermissionDenied as exc:
                denied.append(Problem(labels[index], "row", "", str(exc), lines[index]))
            else:
                good.append(index)
        return good, denied

    def _read_cell(self, state: _Checking, cell: _Cell) -> None:
        """Parse one column: each distinct text once, then its meaning into every row."""
        texts = state.cells(cell.name)
        name = cell.field
        if cell.plain and not cell.yields and _mostly_distinct(texts):
            # Free text such as names and addresses: parsed straight through.
            parsed = _map_all(cell.parse, texts, cell.name in state.full, cell.parse_all)
            if parsed is not None:
                state.values_of(name)[:] = parsed
                state.complete.add(name)
                return
        # Few distinct texts (references, countries, numbers): each parsed, and each record
        # looked up and its access checked, once (in the order of first appearance).
        memo = {text: self._parse(cell, text) if text else _EMPTY
                for text in dict.fromkeys(texts)}
        outcomes = {outcome for outcome, _ in memo.values()}
        if name is None:
            # A column only checked (last_update): its value is derived when saved.
            if _BAD in outcomes:
                for index, text in enumerate(texts):
                    outcome, reason = memo[text]
                    if outcome == _BAD:
                        state.problem(index, cell.name, text, reason)
            return
        values = state.values_of(name)
        failed = state.failed[name]
        if not cell.yields and outcomes == {_OK}:
            # Every row gets a value (the usual case): no per-row decisions.
            if len(memo) == 1:
                values[:] = repeat(_VALUE(next(iter(memo.values()))), len(values))
                state.same.add(name)
            else:
                found = {text: value for text, (_, value) in memo.items()}
                values[:] = map(found.__getitem__, texts)
            state.complete.add(name)
            return
        if not cell.yields and outcomes <= {_SELF, _SKIP}:
            # Every given cell names a row of the file (a tree exported whole).
            rows = {text: row for text, (outcome, row) in memo.items() if outcome == _SELF}
            targets = list(map(rows.get, texts))
            given = list(map(operator.is_not, targets, repeat(None)))
            refs = dict(zip(itertools.compress(range(len(targets)), given),
                            itertools.compress(targets, given), strict=True))
            state.self_refs.update(refs)
            failed.update(refs)  # given, though not parsed: not "required"
            return
        meanings = map(memo.__getitem__, texts)
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

    def _validate(self, state: _Checking, records: _Records) -> None:
        """The kind's cross-field rules on every row, named by the row's CSV columns."""
        session, column_for = self.session, self.layout.column_for
        validate_many = _batch_form(self.kind, "validate", "validate_many")
        found = validate_many(session, records) if validate_many is not None else None
        if found is not None:
            for index, p in found:
                state.problem(index, column_for(p.field), p.value, p.reason)
            return
        validate = self.kind.validate
        checks: list[Problem] = []
        for index, (obj, values) in enumerate(zip(records.objects(), records.parsed(),
                                                  strict=True)):
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

    def _check_custom(self, state: _Checking, records: _Records) -> None:
        """Check each row's custom values by their fields' kinds into `state.custom`."""
        count = state.count
        type_field = self.layout.custom_type_field
        groups: dict[int | None, list[int]] = {}
        types: Sequence[Any] = ()
        if type_field is None:
            groups[None] = list(range(count))
        else:
            failed = state.failed.get(type_field, ())
            types = records.column(type_field)
            for index, type_id in enumerate(types):
                if index not in failed:  # else already reported: its custom columns wait
                    groups.setdefault(type_id, []).append(index)
        for type_id, indexes in groups.items():
            pairs, surplus, field_count = self._custom_plan(type_id)
            every_row = len(indexes) == count
            for cell in pairs:
                texts = state.cells(cell.column)
                if not every_row:
                    texts = [texts[index] for index in indexes]
                parsed = _map_all(partial(parse_custom_value, cell.field), texts,
                                  every_row and cell.column in state.full, cell.parse_all) \
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
                        state.problem(index, name, text, self._surplus_reason(
                            types[index] if types else None, field_count))

    def _surplus_reason(self, type_id: int | None, count: int) -> str:
        type_field = self.layout.custom_type_field
        if type_field is None:
            return "not a custom field"
        noun = type_field.replace("_", " ")
        if type_id is None:
            return f"the row has no {noun}, so it has no custom fields"
        if self.header:
            return f"not a custom field of {noun} {type_id}"
        return f"too many columns: {noun} {type_id} has {count} custom fields"

    def _check_unique(self, batch: _Batch, good: list[int], problems: list[Problem]) -> None:
        """Unique columns (a company's name): not twice in the file, not already stored."""
        records, labels, lines = batch.records, batch.labels, batch.lines
        for spec in self.kind.fields:
            column = getattr(self.model, spec.column, None)
            if not isinstance(column, peewee.Field) or not column.unique:
                continue
            stored = records.column(column.name)
            values = [stored[position] for position in good] \
                if len(good) < records.count else list(stored)
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
        count = batch.records.count
        self_refs = batch.self_refs
        if not self.layout.acyclic or all(map(operator.gt, self_refs, self_refs.values())):
            # Every parent within the file comes before its children (or there is no
            # tree): the file's own order will do.
            return list(range(count))
        children: dict[int, list[int]] = {}
        roots: list[int] = []
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
        """Records that resemble stored ones or each other by their kind's duplicate rule
        (crm_tui.services.duplicates): warned, still created."""
        kind = self.layout.kind
        if kind not in duplicates.KINDS:
            return []
        # A company's name is unique: `_check_unique` has refused a repeated one already.
        names = [n for n in duplicates.RULE_FIELDS[kind] if (kind, n) != ("company", "name")]
        columns = [batch.records.column(name) for name in names]
        rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
        field = {"lead": "email", "contact": "email", "company": "fiscal_id"}[kind]
        column = self.layout.column_for(field)
        labels, lines = batch.labels, batch.lines
        warnings: list[Problem] = []
        for position, found in sorted(duplicates.find_many(self.session, kind, rows).items()):
            for duplicate in found:
                warnings.append(Problem(labels[position], column, rows[position][field],
                                        f"resembles {duplicate.describe()}", lines[position]))
        for position, (reason, earlier) in sorted(duplicates.within(kind, rows).items()):
            warnings.append(Problem(labels[position], column, rows[position][field],
                                    f"{reason} as the {kind} on line {lines[earlier]}",
                                    lines[position]))
        warnings.sort(key=lambda p: p.line or 0)
        return warnings

    # --- writing ------------------------------------------------------------------------------

    def _write(self, batch: _Batch, order: list[int], done: int) -> tuple[list[int], int]:
        """Insert every row and its custom values in one write transaction; returns the ids
        and the import batch recorded with them."""
        session, kind, model = self.session, self.kind, self.model
        records = batch.records
        count = records.count
        in_file_order = order == list(range(count))
        try:
            with write_transaction():
                # Ids follow the writing order: rows go in at the end of the table's b-tree,
                # and a parent within the file always has a smaller id than its children.
                written_ids = _allocate_ids(model, count)
                if in_file_order:
                    ids = written_ids
                else:
                    ids = [0] * count
                    for position, new_id in zip(order, written_ids, strict=True):
                        ids[position] = new_id
                before_save_many = _batch_form(kind, "before_save", "before_save_many")
                sets = before_save_many(session, records) if before_save_many else None
                per_record = sets is None or type(kind).after_save is not Kind.after_save
                if per_record:
                    later = self._insert_objects(batch, order, ids, done)
                else:
                    later = self._insert_columns(batch, order, ids, sets, done)
                # In index order (field, then record: `order` has increasing ids), as the
                # unique (field, record) index is built fastest.
                insert = _Insert(CustomValue, [CustomValue.field, CustomValue.record_id,
                                               CustomValue.value])
                for field_id, texts in sorted(batch.custom.items()):
                    record_ids: Sequence[int] = written_ids
                    if not in_file_order:
                        texts = [texts[position] for position in order]
                    if None in texts:  # some rows have no value for the field
                        given = [text is not None for text in texts]
                        record_ids = list(itertools.compress(record_ids, given))
                        texts = list(itertools.compress(texts, given))
                    for start in range(0, len(texts), STEP * 5):
                        insert.columns((_Same(field_id), record_ids, texts), start,
                                       min(start + STEP * 5, len(texts)))
                        self._tick(done + count // 2)
                if per_record and type(kind).after_save is not Kind.after_save:
                    after_save, parsed = kind.after_save, records.parsed()
                    objects = records.objects()
                    for n, position in enumerate(order, 1):
                        after_save(session, objects[position], parsed[position], True)
                        if n % STEP == 0:
                            self._tick(done + (count + n) // 2)
                column = getattr(model, self.layout.self_ref) if later else None
                for target, row_id in later:
                    model.update({column: target}).where(model.id == row_id).execute()
                import_batch = ImportBatch.create(
                    kind=self.layout.kind, login=session.login, at=session.clock.now(),
                    file=self.file_name[-300:], created=count)
                history.record_many(session, kind.name, ((i, "create", {}) for i in ids),
                                    face="import", batch=import_batch.id)
                if kind.name in search.FIELDS:
                    # The search index of the new rows, from their columns (file order).
                    search.index_new(kind.name, ids, {
                        name: records.column(name) for _, name in search.FIELDS[kind.name]})
                self._tick(done + count)
        except peewee.IntegrityError as exc:
            raise Conflict(
                f"the database changed during the import and refused a row ({_first_line(exc)});"
                " nothing was written: run the import again") from None
        return ids, import_batch.id

    def _insert_objects(self, batch: _Batch, order: list[int], ids: list[int],
                        done: int) -> list[tuple[int, int]]:
        """Insert the rows as model objects, `before_save` called on each.

        Returns the self references to set once every row is in: (target id, row id).
        """
        session, layout, model = self.session, self.layout, self.model
        objects = batch.records.objects()
        key = model._meta.primary_key.name
        later: list[tuple[int, int]] = []
        self_refs, self_ref = batch.self_refs, layout.self_ref
        before_save = self.kind.before_save
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
                    # Contracts may relate to each other both ways: set after the inserts.
                    data[self_ref] = None
                    later.append((ids[target], ids[position]))
                before_save(session, obj, True)
                rows.append(data)
            _insert(model, rows)
            written += len(positions)
            self._tick(done + written // 2)
        return later

    def _insert_columns(self, batch: _Batch, order: list[int], ids: list[int],
                        sets: dict[str, Any], done: int) -> list[tuple[int, int]]:
        """Insert the rows straight from the columns, with what `before_save_many` sets.

        Returns the self references to set once every row is in: (target id, row id).
        """
        layout, model, records = self.layout, self.model, batch.records
        count = records.count
        key = model._meta.primary_key.name
        self_refs, self_ref = batch.self_refs, layout.self_ref
        later: list[tuple[int, int]] = []
        # Each column in writing order; a value every row shares is given once.
        pick = None if order == list(range(count)) else operator.itemgetter(*order)
        fields = model._meta.sorted_fields
        # Columns before_save derives per record (search keys…), in file order.
        derived = self.kind.derived_many(self.session, records)
        columns: list[Sequence[Any] | _Same] = []
        for model_field in fields:
            name = model_field.name
            if name == key:
                column: Sequence[Any] = ids
            elif name in derived:
                column = derived[name]
            elif name in sets:
                columns.append(_Same(_driver_value(sets[name])))
                continue
            elif name == self_ref and self_refs:
                column = list(records.column(name))
                for position, target in self_refs.items():
                    if layout.acyclic:
                        column[position] = ids[target]
                    else:
                        # Contracts may relate to each other both ways: set after the inserts.
                        column[position] = None
                        later.append((ids[target], ids[position]))
            else:
                same, value = records.constant(name)
                if same:
                    columns.append(_Same(_driver_value(value)))
                    continue
                column = records.column(name)
            columns.append(column if pick is None or count < 2 else pick(column))
        insert = _Insert(model, fields)
        for start in range(0, count, STEP):
            insert.columns(columns, start, min(start + STEP, count))
            self._tick(done + min(start + STEP, count) // 2)
        return later


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


def _driver_value(value: Any) -> Any:
    """A value repeated on many rows, converted once as the SQLite driver would convert it."""
    if value is None or isinstance(value, (str, int)) or is_postgres():
        return value
    adapt = sqlite3.adapters.get((type(value), sqlite3.PrepareProtocol))
    return adapt(value) if adapt is not None else value


def _insert(model: type[BaseModel], rows: list[dict[str, Any]]) -> None:
    """Insert model rows given as `__data__` dicts holding every field (ids included)."""
    fields = model._meta.sorted_fields
    values = operator.itemgetter(*[f.name for f in fields])
    _insert_rows(model, fields, list(map(values, rows)))


def _insert_rows(model: type[BaseModel], fields: Sequence[peewee.Field],
                 rows: list[tuple]) -> None:
    """Insert rows given as tuples of the fields' values (see `_Insert`)."""
    if rows:
        _Insert(model, fields).columns(list(zip(*rows, strict=True)), 0, len(rows))


class _Same:
    """A column whose every row holds the same value."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class _Insert:
    """Multi-row INSERT statements of up to ROWS_PER_STATEMENT rows into one table.

    peewee renders the statement once per batch size; the driver only binds values. This
    costs about half of the driver's own executemany on SQLite, and one round trip per
    batch on PostgreSQL. Decimal values go through their field's db_value (rounding).
    """

    def __init__(self, model: type[BaseModel], fields: Sequence[peewee.Field]) -> None:
        self.fields = list(fields)
        limit = MAX_PARAMETERS if is_postgres() or sqlite3.sqlite_version_info >= (3, 32) \
            else 999
        self.per_statement = max(1, min(ROWS_PER_STATEMENT, limit // len(fields)))
        # peewee renders one row's statement (quoting, placeholders); the VALUES tuple is
        # then repeated for a batch, since rendering hundreds of rows through peewee costs
        # more than inserting them.
        single = model.insert_many([tuple(None for _ in fields)], fields=self.fields)
        self.head, _, self.one = single.returning().sql()[0].partition(" VALUES ")
        self.statements: dict[int, str] = {}

    def columns(self, columns: Sequence[Sequence[Any] | _Same], start: int, stop: int) -> None:
        """Insert rows `start` to `stop` (excluded) of columns given field by field."""
        columns = [self._converted(f, column) for f, column in zip(self.fields, columns,
                                                                     strict=True)]
        width = len(columns)
        cursor = database.cursor()
        with peewee.__exception_wrapper__:
            for begin in range(start, stop, self.per_statement):
                end = min(begin + self.per_statement, stop)
                count = end - begin
                # Row by row, field by field: each column fills its places in one step.
                params: list[Any] = [None] * (count * width)
                for n, column in enumerate(columns):
                    params[n::width] = [column.value] * count if isinstance(column, _Same) \
                        else column[begin:end]
                cursor.execute(self._sql(count), params)

    def _sql(self, count: int) -> str:
        sql = self.statements.get(count)
        if sql is None:
            sql = self.statements[count] = f"{self.head} VALUES {', '.join([self.one] * count)}"
        return sql

    @staticmethod
    def _converted(model_field: peewee.Field,
                   column: Sequence[Any] | _Same) -> Sequence[Any] | _Same:
        if not isinstance(model_field, peewee.DecimalField):
            return column
        convert = model_field.db_value
        if isinstance(column, _Same):
            return column if column.value is None else _Same(convert(column.value))
        return [value if value is None else convert(value) for value in column]


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
        if stored:
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

