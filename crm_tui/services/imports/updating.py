"""`--on-duplicate update`: the stored record each row stands for, changed in place.

A row updates a record of this database when its ``id`` names one the user may see with the
same creation date (every export carries both). Any other row — a record made before dates
were kept, a file of another database, a hand-made file — of a kind with a duplicate rule
(companies: name or fiscal id; contacts: email; leads) updates the one stored record it
resembles
(SPEC 10); so an export re-imported into another database updates by the rule, its ids only
linking rows of the same file. Each update is the kind's own `Kind.update` of the row's
texts, as `crm set` would make it: the same rules, history rows and search index. A row
that changes nothing writes nothing (the record keeps its dates). The history rows carry the
import batch, so `crm import undo` restores the old values.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import peewee

from crm_tui import csvio
from crm_tui.db import database
from crm_tui.errors import Conflict, NotFound, PermissionDenied, Problem, ValidationFailed
from crm_tui.models import BaseModel, CustomField, History
from crm_tui.services import duplicates, history
from crm_tui.services.context import Session
from crm_tui.services.imports.bulk import IN_CHUNK
from crm_tui.services.imports.columns import Batch
from crm_tui.services.imports.layouts import ID_COLUMN, Layout
from crm_tui.services.imports.reading import Reading
from crm_tui.services.records import get_kind


@dataclass
class Update:
    """One row of the file that changes a stored record."""

    line: int
    #: How messages name the row ("company 'ACME'").
    label: str
    #: The record it changes, and how messages name that ("company #7 'ACME'").
    target: int
    described: str
    #: The row's values as `Kind.update` takes them (texts by field name, custom by name).
    raw: dict[str, Any]
    #: The line of the row of the same file its self reference points at, if any.
    self_ref_line: int | None = None
    #: What the update changed ({field: [old, new]}), once applied.
    changes: dict[str, list] = field(default_factory=dict)


class Matcher:
    """Finds the record each good row updates; the rows found are set aside from creating.

    Used as `RowChecker.check`'s `set_aside` on the first pass over the file.
    """

    def __init__(self, session: Session, layout: Layout, reading: Reading) -> None:
        self.session = session
        self.layout = layout
        self.kind = get_kind(layout.kind)
        self.model = self.kind.model
        self.present = reading.present
        self.header = reading.header
        self.custom = reading.custom
        self.custom_columns = reading.custom_columns
        #: The updates found, by position in the file.
        self.updates: dict[int, Update] = {}

    def __call__(self, batch: Batch, good: list[int], columns: csvio.CsvColumns,
                 problems: list[Problem]) -> Collection[int]:
        targets: dict[int, tuple[BaseModel, str]] = {}
        by_id = self._by_id(batch, good, columns)
        for position, obj in by_id.items():
            title = getattr(obj, self.kind.title_attr or "", None) or ""
            targets[position] = (obj, f"{self.kind.name} #{obj.id} {title!r}")
        rest = [position for position in good if position not in by_id]
        for position, found in self._by_rule(batch, rest).items():
            if len(found) > 1:
                problems.append(self._problem(
                    batch, position, "resembles " + ", ".join(d.describe() for d in found)
                    + ": give the id of the one to update"))
                continue
            obj = self.model.get_or_none(self.model.id == found[0].id)
            if obj is not None:
                targets[position] = (obj, found[0].describe())
        first: dict[int, int] = {}
        for position in sorted(targets):
            obj, described = targets[position]
            if not self.kind.can_modify(self.session, obj):
                problems.append(self._problem(batch, position,
                                              f"would update {described}, which you may not "
                                              "change"))
                continue
            earlier = first.setdefault(obj.id, position)
            if earlier != position:
                problems.append(self._problem(
                    batch, position, f"would update {described}, as the row on line "
                    f"{batch.lines[earlier]} does"))
                continue
            self_ref_line = batch.lines[batch.self_refs[position]] \
                if position in batch.self_refs else None
            self.updates[position] = Update(
                batch.lines[position], batch.labels[position], obj.id, described,
                self._raw(batch, position, columns), self_ref_line)
        return set(targets)

    def _problem(self, batch: Batch, position: int, reason: str) -> Problem:
        return Problem(batch.labels[position], "row", "", reason, batch.lines[position])

    def _by_id(self, batch: Batch, good: list[int],
               columns: csvio.CsvColumns) -> dict[int, BaseModel]:
        """Rows whose `id` names a record of this database that the row is (see above)."""
        if ID_COLUMN not in self.present:
            return {}
        texts = columns.columns[ID_COLUMN]
        wanted = {position: int(texts[position].strip()) for position in good
                  if texts[position].strip().isdigit()}
        ids = sorted(set(wanted.values()))
        stored: dict[int, BaseModel] = {}
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start:start + IN_CHUNK]
            stored.update((obj.id, obj) for obj in self.model.select().where(
                self.model.id.in_(chunk), self.kind.view_expr(self.session)))
        found: dict[int, BaseModel] = {}
        dated = "created" in self.present and isinstance(
            getattr(self.model, "created", None), peewee.DateTimeField)
        for position, record_id in wanted.items():
            obj = stored.get(record_id)
            if obj is None:
                continue
            if dated:
                # A record without a creation date (made before dates were kept) is known
                # by the duplicate rule alone.
                written = _time_text(columns.columns["created"][position])
                same = bool(written) and written == _time_text(str(obj.created or ""))
            else:
                same = self._same_by_rule(batch, position, obj)
            if same:
                found[position] = obj
        return found

    def _rule_values(self, batch: Batch, position: int) -> dict[str, Any]:
        return {name: batch.records.column(name)[position]
                for name in duplicates.RULE_FIELDS[self.kind.name]}

    def _same_by_rule(self, batch: Batch, position: int, obj: BaseModel) -> bool:
        if self.kind.name not in duplicates.KINDS:
            return False
        kind = self.kind.name
        stored = {name: getattr(obj, name) for name in duplicates.RULE_FIELDS[kind]}
        return bool(set(duplicates.keys(kind, self._rule_values(batch, position)))
                    & set(duplicates.keys(kind, stored)))

    def _by_rule(self, batch: Batch, positions: list[int]) -> dict[int, list]:
        """The stored records each row resembles by the kind's duplicate rule."""
        if self.kind.name not in duplicates.KINDS or not positions:
            return {}
        rows = [self._rule_values(batch, position) for position in positions]
        found = duplicates.find_many(self.session, self.kind.name, rows)
        return {positions[index]: records for index, records in found.items()}

    def _raw(self, batch: Batch, position: int, columns: csvio.CsvColumns) -> dict[str, Any]:
        """The row's texts by field name, as `Kind.update` takes them: every column the file
        has (an empty cell clears the value), a company given by name winning over its id."""
        layout, kind = self.layout, self.kind
        cells = columns.columns
        raw: dict[str, Any] = {}
        for column in layout.columns:
            if column.field is None or column.by_name or column.name not in self.present:
                continue
            spec = kind.field(column.field)
            if spec is None or spec.readonly:
                continue
            if column.field == layout.self_ref and position in batch.self_refs:
                continue  # a row of the file: its id is known once written
            raw[column.field] = cells[column.name][position]
        for column in layout.columns:
            if column.by_name and column.name in self.present \
                    and cells[column.name][position].strip():
                raw[column.field] = cells[column.name][position]
        custom = self._custom(batch, position, cells)
        if custom:
            raw["custom"] = custom
        return raw

    def _custom(self, batch: Batch, position: int,
                cells: dict[str, Any]) -> dict[str, str]:
        """The row's custom values by field name: those of its type the file has."""
        type_field = self.layout.custom_type_field
        type_id = batch.records.column(type_field)[position] if type_field else None
        fields: list[CustomField] = self.custom.get(type_id, [])
        if self.header:
            pairs = [(f.name, f.name) for f in fields]
        else:
            pairs = [(f.name, column) for f, column in zip(fields, self.custom_columns,
                                                           strict=False)]
        return {name: cells[column][position] for name, column in pairs
                if column in self.present and column in cells}


def apply(session: Session, layout: Layout, updates: list[Update],
          ids_by_line: dict[int, int], batch_id: int | None) -> None:
    """Make every update (inside the caller's write transaction), its history rows carrying
    the import batch.

    Raises:
        ValidationFailed: some rows break a rule once applied (each named with its line);
            the caller's transaction then writes nothing.
    """
    kind = get_kind(layout.kind)
    problems: list[Problem] = []
    for update in updates:
        raw = dict(update.raw)
        if update.self_ref_line in ids_by_line and layout.self_ref:
            # A row of the file (a dry run knows only the ids of those it updates).
            raw[layout.self_ref] = str(ids_by_line[update.self_ref_line])
        last = History.select(peewee.fn.MAX(History.id)).scalar() or 0
        try:
            with database.atomic() as savepoint:
                with history.in_import(batch_id):
                    kind.update(session, update.target, raw)
                rows = list(History.select().where(
                    History.id > last, History.kind == kind.name,
                    History.record_id == update.target, History.action == "change"))
                if not rows:
                    # Nothing changed: nothing written, the record keeps its dates.
                    savepoint.rollback()
                    continue
                for row in rows:
                    update.changes.update(row.change_data)
        except ValidationFailed as exc:
            problems.extend(Problem(update.label, layout.column_for(p.field), p.value,
                                    p.reason, update.line) for p in exc.problems)
        except (PermissionDenied, NotFound, Conflict) as exc:
            problems.append(Problem(update.label, "row", "", str(exc), update.line))
    if problems:
        raise ValidationFailed(problems)


def _time_text(text: str) -> str:
    """A date and time as exports write it ("2026-01-20 10:00:00"), for comparing."""
    return text.strip().replace("T", " ").removesuffix("Z")[:19]
