"""The rows of an import file held column by column while they are checked and written."""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import peewee

from crm_tui import csvio
from crm_tui.errors import Problem
from crm_tui.i18n import said
from crm_tui.models import BaseModel

#: Marks a row whose cell gave its field no value (empty, refused, or pointing into the file).
MISSING = object()


@dataclass(slots=True)
class Batch:
    """The checked rows of a file, column by column: position n is the file's n-th row."""

    lines: list[int]
    #: How messages name each row: "company 'ACME'" (or "company on line 7").
    labels: Sequence[str]
    records: Records
    #: Custom values by custom field id: each row's text to store (None: the row has none).
    custom: dict[int, list[str | None]]
    #: Position → position of the row of the same file its self reference points at.
    self_refs: dict[int, int]


class Checking:
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
            index: [Problem(labels[index], p.column or "row", p.value, said(p.reason),
                            self.lines[index]) for p in problems]
            for index, problems in columns.problems.items()}
        #: Field → each row's parsed value (MISSING: not given, or not parsed).
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
            values = self.values[field_name] = [MISSING] * self.count
            self.failed[field_name] = set()
        return values


#: What a row's dicts start as, and the columns holding each row's own values.
_Part = tuple[dict[str, Any], dict[str, Sequence[Any]]]


def is_complete(values: list[Any]) -> bool:
    """True when every row has a value (none is MISSING)."""
    return not any(map(operator.is_, values, repeat(MISSING)))


def _walk(columns: dict[str, Sequence[Any]], count: int) -> Iterator[tuple]:
    """The rows of some columns (as many empty rows as `count` when there are none)."""
    if not columns:
        return repeat((), count)
    return zip(*columns.values(), strict=True)


def is_same(values: list[Any]) -> bool:
    """True when every item is the very same object (a value parsed once for the column)."""
    return bool(values) and all(map(operator.is_, values, repeat(values[0])))


class Records:
    """The rows of a file as new records, column by column (`records.NewRecords`).

    Record n is what `Kind.create` would have after parsing row n: a copy of the kind's
    defaulted template with each parsed value set as the field's descriptor sets it. The
    rules that have a batch form read the columns; model objects (and each row's dict of
    parsed values) are made only for the rules that need them.
    """

    def __init__(self, state: Checking, model: type[BaseModel], template: BaseModel,
                 attrs: dict[str, tuple[str, peewee.ForeignKeyField | None]],
                 self_ref: str | None) -> None:
        self.count = state.count
        self.model = model
        # Fields some row has a value for; those every row has a value for (the usual case)
        # are set in bulk.
        given = {field_name: values for field_name, values in state.values.items()
                 if values and (field_name in state.complete
                                or any(map(operator.is_not, values, repeat(MISSING))))}
        complete = {field_name: field_name in state.complete or is_complete(values)
                    for field_name, values in given.items()}
        self._given = {field_name: True if full else None for field_name, full in complete.items()}
        # A column whose rows all hold the same value goes into the dict every row's starts as.
        constant = {field_name: values[0] for field_name, values in given.items()
                    if complete[field_name] and (field_name in state.same or is_same(values))}
        # Each row's data starts as a copy of the defaulted template (the same as calling
        # defaults() on a new object); fields every row has a value for are then set in
        # bulk, references as their descriptor sets them (the record's key in the data, the
        # record kept), and the others row by row.
        self.data_start = data_start = dict(template.__data__)
        self.rel_start = rel_start = dict(template.__rel__)
        self.data_columns: dict[str, Sequence[Any]] = {}
        self.rel_columns: dict[str, Sequence[Any]] = {}
        #: (attribute, its foreign key or None, each row's value or MISSING).
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
                    if value is MISSING:
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
            if value is MISSING:
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
            parsed, objects = build_rows(self.model, self.count,
                                    (self.parsed_start, self.parsed_columns),
                                    (self.data_start, self.data_columns),
                                    (self.rel_start, self.rel_columns))
            for field_name, values in self.parsed_partial.items():
                for row, value in zip(parsed, values, strict=True):
                    if value is not MISSING:
                        row[field_name] = value
            if self.one_by_one:
                for index, obj in enumerate(objects):
                    self._patch(obj, index)
            for index in self.stand_ins:
                objects[index].__data__[self.self_ref] = 0
            self._built = parsed, objects
        return self._built


def build_rows(model: type[BaseModel], count: int, parsed_part: _Part, data_part: _Part,
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

