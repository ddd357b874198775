"""The per-row rules of an import: each cell parsed, each row checked as `crm add` would.

Every rule applies to every row; the work goes a column at a time: each distinct text of a
column is parsed once (a referenced record looked up and its access checked once), then the
kind's per-record rules (validate, may the user write it) run on the rows, through their
batch forms where the kind has them. File-wide rules follow: unique values, the order a tree
is written in, and the duplicate warnings.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import repeat
from typing import Any

import peewee

from crm_tui import csvio
from crm_tui.errors import PermissionDenied, Problem
from crm_tui.i18n import _, kind_name
from crm_tui.models import Company
from crm_tui.services import duplicates
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.custom_fields import parse_custom_value
from crm_tui.services.imports.bulk import existing
from crm_tui.services.imports.cells import (
    BAD,
    EMPTY,
    OK,
    SELF,
    SKIP,
    VALUE,
    Cell,
    CustomCell,
    Memo,
    batch_form,
    custom_meaning,
    map_all,
    mostly_distinct,
)
from crm_tui.services.imports.columns import MISSING, Batch, Checking, Records, is_complete
from crm_tui.services.imports.layouts import ID_COLUMN, Layout
from crm_tui.services.imports.reading import Reading
from crm_tui.services.imports.report import Labels, Progress
from crm_tui.services.records import TEXT_KINDS, Kind, field_parser, get_kind


@dataclass
class Checked:
    """The outcome of checking a file."""

    #: Every row, column by column.
    batch: Batch
    #: Positions of the rows with no problem that the user may write.
    good: list[int]
    #: Rows the user may not write, one problem each.
    denied: list[Problem]
    #: Every problem of every other row, in row order.
    problems: list[Problem]
    #: Positions in writing order (parents before children).
    order: list[int]


#: (every row, the good positions, the file's columns, problems to add to) → positions
#: taken out of the good ones.
SetAside = Callable[[Batch, list[int], csvio.CsvColumns, list[Problem]], Collection[int]]


class RowChecker:
    """Checks the rows of one file, a column at a time, by the kind's own rules."""

    def __init__(self, session: Session, layout: Layout, reading: Reading,
                 progress: Progress) -> None:
        self.session = session
        self.layout = layout
        self.kind: Kind = get_kind(layout.kind)
        self.model = self.kind.model
        self._tick = progress.tick
        self.header = reading.header
        self.custom = reading.custom
        self.custom_columns = reading.custom_columns
        self._custom_plans: dict[int | None, tuple[list[CustomCell], list[str], int]] = {}
        self.file_ids: dict[str, int] = {}
        #: What a self reference to a row left out of this pass means: (OK, the record it
        #: updates) or (BAD, why not), by the row's file id.
        self.elsewhere: dict[str, tuple[int, Any]] = {}

    def check(self, columns: csvio.CsvColumns,
              set_aside: SetAside | None = None) -> Checked:
        """Every rule on every row: what is good, refused, denied, and the writing order.

        `set_aside` takes good rows out before the file-wide rules (the rows an import
        updates rather than creates) and may report problems of its own.
        """
        rows = len(columns.lines)
        self._prepare()
        self.file_ids, problems = self._file_ids(columns)
        batch, good, denied = self._check_rows(columns, problems)
        self._tick(rows)
        if set_aside is not None:
            aside = set_aside(batch, good, columns, problems)
            if aside:
                good = [position for position in good if position not in aside]
        self._check_unique(batch, good, problems)
        order = self._order(batch, problems) if not (problems or denied) else good
        return Checked(batch, good, denied, problems, order)

    def _file_ids(self, columns: csvio.CsvColumns) -> tuple[dict[str, int], list[Problem]]:
        """The file's own ids (the `id` column of an export) → row index; bad ids reported."""
        problems: list[Problem] = []
        if not self.header:
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
            label = _("{kind} on line {line}").format(kind=kind_name(self.kind.name), line=line)
            if not text.isdigit():
                problems.append(Problem(label, ID_COLUMN, text, _("not a whole number"), line))
            elif text in ids:
                problems.append(Problem(label, ID_COLUMN, text,
                                        _("the same id as the row on line {line}").format(line=lines[ids[text]]),
                                        line))
            else:
                ids[text] = index
        return ids, problems

    def _company_by_name(self, name: str) -> Company:
        """A company the user may see, by its exact name."""
        company = Company.get_or_none(Company.name == name)
        if company is None:
            raise V.BadValue(_("no such company"))
        try:
            get_kind("company").check_view(self.session, company)
        except PermissionDenied:
            raise V.BadValue(_("no such company")) from None
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
            self._plan.append(Cell(c, spec, c.field in by_name and not c.by_name,
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

    def _parse(self, cell: Cell, text: str) -> tuple[int, Any]:
        """What one non-empty cell means: (SKIP|OK|BAD|SELF, value|reason|row index)."""
        stripped = text.strip()
        spec = cell.spec
        if not stripped and spec.kind not in TEXT_KINDS:
            return SKIP, None
        if cell.self_ref and stripped in self.file_ids:
            return SELF, self.file_ids[stripped]
        if cell.self_ref and stripped in self.elsewhere:
            return self.elsewhere[stripped]
        if cell.column.id_of and not stripped.isdigit():
            return BAD, f"{cell.column.id_of} {stripped!r} does not exist (an id is expected)"
        try:
            if cell.column.by_name:
                return OK, self._company_by_name(stripped)
            return OK, cell.parse(text)
        except V.BadValue as exc:
            return BAD, str(exc)

    def _check_rows(self, columns: csvio.CsvColumns, problems: list[Problem],
                    ) -> tuple[Batch, list[int], list[Problem]]:
        """Parse and check every row, a column at a time.

        Each row's problems are appended to `problems` in row order. Returns every row, the
        positions of the good ones, and the rows the user may not write (as problems of
        their own, reported as one PermissionDenied).
        """
        layout, kind = self.layout, self.kind
        name = kind.name
        lines = columns.lines
        labels = Labels(name, columns.columns[layout.fixed[0].name], lines)
        state = Checking(columns, labels)
        count = state.count
        steps = len(self._plan) + 5
        for step, cell in enumerate(self._plan, 1):
            self._read_cell(state, cell)
            self._tick(count * step // steps)
        for field_name, column in self._required:
            values = state.values.get(field_name)
            if values is not None and is_complete(values):
                continue
            failed = state.failed.get(field_name, ())
            for index in range(count):
                if (values is None or values[index] is MISSING) and index not in failed:
                    state.problem(index, column, "", "required")
        records = Records(state, self.model, self._template, self._attrs, layout.self_ref)
        self._tick(count * (steps - 3) // steps)
        self._validate(state, records)
        self._tick(count * (steps - 2) // steps)
        self._check_custom(state, records)
        self._tick(count * (steps - 1) // steps)
        found = state.found
        for index in sorted(found):
            problems.extend(found[index])
        good, denied = self._check_modify(records, found, labels, lines)
        batch = Batch(lines, labels, records, state.custom, state.self_refs)
        return batch, good, denied

    def _check_modify(self, records: Records, found: Collection[int], labels: Sequence[str],
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
        fields = batch_form(kind, "check_modify", "modify_fields")
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

    def _read_cell(self, state: Checking, cell: Cell) -> None:
        """Parse one column: each distinct text once, then its meaning into every row."""
        texts = state.cells(cell.name)
        name = cell.field
        if cell.plain and not cell.yields and mostly_distinct(texts):
            # Free text such as names and addresses: parsed straight through.
            parsed = map_all(cell.parse, texts, cell.name in state.full, cell.parse_all)
            if parsed is not None:
                state.values_of(name)[:] = parsed
                state.complete.add(name)
                return
        # Few distinct texts (references, countries, numbers): each parsed, and each record
        # looked up and its access checked, once (in the order of first appearance).
        memo = {text: self._parse(cell, text) if text else EMPTY
                for text in dict.fromkeys(texts)}
        outcomes = {outcome for outcome, _ in memo.values()}
        if name is None:
            # A column only checked (last_update): its value is derived when saved.
            if BAD in outcomes:
                for index, text in enumerate(texts):
                    outcome, reason = memo[text]
                    if outcome == BAD:
                        state.problem(index, cell.name, text, reason)
            return
        values = state.values_of(name)
        failed = state.failed[name]
        if not cell.yields and outcomes == {OK}:
            # Every row gets a value (the usual case): no per-row decisions.
            if len(memo) == 1:
                values[:] = repeat(VALUE(next(iter(memo.values()))), len(values))
                state.same.add(name)
            else:
                found = {text: value for text, (_, value) in memo.items()}
                values[:] = map(found.__getitem__, texts)
            state.complete.add(name)
            return
        if not cell.yields and outcomes <= {SELF, SKIP}:
            # Every given cell names a row of the file (a tree exported whole).
            rows = {text: row for text, (outcome, row) in memo.items() if outcome == SELF}
            targets = list(map(rows.get, texts))
            given = list(map(operator.is_not, targets, repeat(None)))
            refs = dict(zip(itertools.compress(range(len(targets)), given),
                            itertools.compress(targets, given), strict=True))
            state.self_refs.update(refs)
            failed.update(refs)  # given, though not parsed: not "required"
            return
        meanings = map(memo.__getitem__, texts)
        for index, (outcome, value) in enumerate(meanings):
            if outcome == SKIP:
                continue
            if cell.yields and (values[index] is not MISSING or index in failed):
                continue
            if outcome == OK:
                values[index] = value
            elif outcome == BAD:
                failed.add(index)
                state.problem(index, cell.name, texts[index], value)
            elif outcome == SELF:
                state.self_refs[index] = value
                failed.add(index)  # given, though not parsed: not "required"

    def _validate(self, state: Checking, records: Records) -> None:
        """The kind's cross-field rules on every row, named by the row's CSV columns."""
        session, column_for = self.session, self.layout.column_for
        validate_many = batch_form(self.kind, "validate", "validate_many")
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

    def _custom_plan(self, type_id: int | None) -> tuple[list[CustomCell], list[str], int]:
        """For rows of a type: their custom cells, the surplus columns, the field count."""
        plan = self._custom_plans.get(type_id)
        if plan is None:
            fields = self.custom.get(type_id, [])
            if self.header:
                pairs = [CustomCell(f, f.name) for f in fields]
                used = {f.name for f in fields}
                surplus = [name for name in self.custom_columns if name not in used]
            else:
                pairs = [CustomCell(f, column)
                         for f, column in zip(fields, self.custom_columns, strict=False)]
                surplus = self.custom_columns[len(fields):]
            plan = self._custom_plans[type_id] = (pairs, surplus, len(fields))
        return plan

    def _check_custom(self, state: Checking, records: Records) -> None:
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
                parsed = map_all(partial(parse_custom_value, cell.field), texts,
                                  every_row and cell.column in state.full, cell.parse_all) \
                    if mostly_distinct(texts) else None
                if parsed is not None and every_row:
                    state.custom[cell.field_id] = parsed
                    continue
                stored = state.custom.setdefault(cell.field_id, [None] * count)
                if parsed is not None:
                    for index, value in zip(indexes, parsed, strict=True):
                        stored[index] = value
                    continue
                # Few distinct values (or some refused): each distinct text judged once.
                meanings = map(Memo(partial(custom_meaning, cell.field)).__getitem__, texts)
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
            return _("not a custom field")
        noun = kind_name(type_field.replace("_", "-"))
        if type_id is None:
            return _("the row has no {kind}, so it has no custom fields").format(kind=noun)
        if self.header:
            return _("not a custom field of {kind} {id}").format(kind=noun, id=type_id)
        return _("too many columns: {kind} {id} has {count} custom fields").format(
            kind=noun, id=type_id, count=count)

    def _check_unique(self, batch: Batch, good: list[int], problems: list[Problem]) -> None:
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
                            _("appears twice in the file (also on line {line})").format(line=lines[first[value]]),
                            lines[position]))
                    else:
                        first[value] = position
            for value in existing(self.model, column, list(first)):
                position = first[value]
                problems.append(Problem(labels[position], self.layout.column_for(spec.name),
                                        str(value), _("another {kind} already has it").format(kind=kind_name(self.kind.name)),
                                        lines[position]))

    def _order(self, batch: Batch, problems: list[Problem]) -> list[int]:
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
                                            _("the parents within the file form a loop"),
                                            batch.lines[n]))
        return order

    def warnings(self, batch: Batch) -> list[Problem]:
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
                                        _("resembles {record}").format(record=duplicate.describe()), lines[position]))
        for position, (reason, earlier) in sorted(duplicates.within(kind, rows).items()):
            warnings.append(Problem(labels[position], column, rows[position][field],
                                    _("{reason} as the {kind} on line {line}").format(
                                        reason=_(reason), kind=kind_name(kind), line=lines[earlier]),
                                    lines[position]))
        warnings.sort(key=lambda p: p.line or 0)
        return warnings
