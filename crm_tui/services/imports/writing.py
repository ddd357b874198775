"""Writing an import: every checked row in one write transaction, by the fastest safe path.

A kind whose `before_save` has a batch form (and no `after_save` of its own) is written
straight from the columns; the others as model objects with `before_save` called on each.
Either way the custom values, the import batch, the history rows and the search index are
written in the same transaction.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import peewee

from crm_tui.db import bulk_cache, write_transaction
from crm_tui.errors import Conflict
from crm_tui.i18n import _
from crm_tui.models import CustomField, CustomValue, ImportBatch
from crm_tui.services import history, search
from crm_tui.services.context import Session
from crm_tui.services.imports.bulk import Insert, Same, allocate_ids, driver_value, insert_dicts
from crm_tui.services.imports.cells import batch_form
from crm_tui.services.imports.columns import Batch
from crm_tui.services.imports.layouts import Layout
from crm_tui.services.imports.report import STEP, Progress
from crm_tui.services.records import Kind, get_kind

#: How far the writing has come (0 to 1) once the rows are in, once the kind's after-save
#: work is done and once the history is written; the search index takes the rest.
INSERTED, SAVED, RECORDED = 0.4, 0.55, 0.8


class Writer:
    """Writes the checked rows of one file: every row, its custom values, history, search."""

    def __init__(self, session: Session, layout: Layout, progress: Progress,
                 file_name: str) -> None:
        self.session = session
        self.layout = layout
        self.kind: Kind = get_kind(layout.kind)
        self.model = self.kind.model
        self._tick = progress.tick
        #: Where the data came from, as the import batch records it.
        self.file_name = file_name

    def write(self, batch: Batch, order: list[int], done: int) -> tuple[list[int], int]:
        """Insert every row and its custom values in one write transaction; returns the ids
        and the import batch recorded with them."""
        session, kind, model = self.session, self.kind, self.model
        records = batch.records
        count = records.count
        in_file_order = order == list(range(count))
        self._done, self._count = done, count
        try:
            with bulk_cache(), write_transaction():
                # Ids follow the writing order: rows go in at the end of the table's b-tree,
                # and a parent within the file always has a smaller id than its children.
                written_ids = allocate_ids(model, count)
                if in_file_order:
                    ids = written_ids
                else:
                    ids = [0] * count
                    for position, new_id in zip(order, written_ids, strict=True):
                        ids[position] = new_id
                before_save_many = batch_form(kind, "before_save", "before_save_many")
                sets = before_save_many(session, records) if before_save_many else None
                per_record = sets is None or type(kind).after_save is not Kind.after_save
                # Each row as written (model field -> value): what the history of the new
                # records is made from, without reading them back.
                if per_record:
                    later, written = self._insert_objects(batch, order, ids, done)
                else:
                    later, written = self._insert_columns(batch, order, ids, sets, done)
                # In index order (field, then record: `order` has increasing ids), as the
                # unique (field, record) index is built fastest.
                insert = Insert(CustomValue, [CustomValue.field, CustomValue.record_id,
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
                        insert.columns((Same(field_id), record_ids, texts), start,
                                       min(start + STEP * 5, len(texts)))
                        self._at(INSERTED)
                after_save_many = batch_form(kind, "after_save", "after_save_many")
                if after_save_many is not None:
                    # The kind's after_save of many new records at once (leads: their tags
                    # and timeline entries in bulk).
                    after_save_many(session, records, ids)
                    self._at(SAVED)
                elif per_record and type(kind).after_save is not Kind.after_save:
                    after_save, parsed = kind.after_save, records.parsed()
                    objects = records.objects()
                    for n, position in enumerate(order, 1):
                        after_save(session, objects[position], parsed[position], True)
                        if n % STEP == 0:
                            self._at(INSERTED + (SAVED - INSERTED) * n / count)
                column = getattr(model, self.layout.self_ref) if later else None
                for target, row_id in later:
                    model.update({column: target}).where(model.id == row_id).execute()
                import_batch = ImportBatch.create(
                    kind=self.layout.kind, login=session.login, at=session.clock.now(),
                    file=self.file_name[-300:], created=count)
                if later:
                    written = with_targets(written, self.layout.self_ref, later)
                history.record_many(
                    session, kind.name,
                    history.created(session, kind, self._counted(written),
                                    custom_by_record(batch, ids)),
                    face="import", batch=import_batch.id)
                if kind.name in search.FIELDS:
                    # The search index of the new rows, from their columns (file order).
                    search.index_new(kind.name, ids, {
                        name: records.column(name) for _, name in search.FIELDS[kind.name]},
                        progress=lambda part: self._at(RECORDED + (1 - RECORDED) * part))
                self._tick(done + count)
        except peewee.IntegrityError as exc:
            raise Conflict(
                _("the database changed during the import and refused a row ({reason}); "
                  "nothing was written: run the import again").format(reason=first_line(exc))) from None
        return ids, import_batch.id

    def _at(self, part: float) -> None:
        """This much (0 to 1) of the writing is done: progress, and stop if cancelled."""
        self._tick(self._done + int(self._count * part))

    def _counted(self, rows: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        """The rows, the history's part of the progress moving as they are taken."""
        for n, row in enumerate(rows, 1):
            if n % STEP == 0:
                self._at(SAVED + (RECORDED - SAVED) * n / self._count)
            yield row

    def _insert_objects(self, batch: Batch, order: list[int], ids: list[int],
                        done: int) -> tuple[list[tuple[int, int]], list[dict[str, Any]]]:
        """Insert the rows as model objects, `before_save` called on each.

        Returns the self references to set once every row is in (target id, row id), and
        each row's values as inserted.
        """
        session, layout, model = self.session, self.layout, self.model
        objects = batch.records.objects()
        key = model._meta.primary_key.name
        later: list[tuple[int, int]] = []
        self_refs, self_ref = batch.self_refs, layout.self_ref
        before_save = self.kind.before_save
        written: list[dict[str, Any]] = []
        for positions in in_batches(order, STEP):
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
            insert_dicts(model, rows)
            written.extend(rows)
            self._at(INSERTED * len(written) / len(order))
        return later, written

    def _insert_columns(self, batch: Batch, order: list[int], ids: list[int],
                        sets: dict[str, Any], done: int
                        ) -> tuple[list[tuple[int, int]], Iterator[dict[str, Any]]]:
        """Insert the rows straight from the columns, with what `before_save_many` sets.

        Returns the self references to set once every row is in (target id, row id), and
        each row's values as inserted (made as they are read).
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
        columns: list[Sequence[Any] | Same] = []
        # The values shared by every row as the model holds them (`columns` has them as the
        # driver takes them), for the history.
        shared: dict[int, Any] = {}
        for model_field in fields:
            name = model_field.name
            if name == key:
                column: Sequence[Any] = ids
            elif name in derived:
                column = derived[name]
            elif name in sets:
                shared[len(columns)] = sets[name]
                columns.append(Same(driver_value(sets[name])))
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
                    shared[len(columns)] = value
                    columns.append(Same(driver_value(value)))
                    continue
                column = records.column(name)
            columns.append(column if pick is None or count < 2 else pick(column))
        insert = Insert(model, fields)
        for start in range(0, count, STEP):
            insert.columns(columns, start, min(start + STEP, count))
            self._at(INSERTED * min(start + STEP, count) / count)
        # Each row's values as inserted, made one at a time as the history asks for them.
        names = [model_field.name for model_field in fields]
        values = [itertools.repeat(shared[n], count) if n in shared else column
                  for n, column in enumerate(columns)]
        return later, (dict(zip(names, row, strict=True)) for row in zip(*values, strict=True))


def custom_by_record(batch: Batch, ids: list[int]) -> dict[int, dict[str, str]]:
    """The custom values the import writes, by record id and field name (records without
    any are left out)."""
    names = dict(CustomField.select(CustomField.id, CustomField.name)
                 .where(CustomField.id.in_(list(batch.custom))).tuples()) if batch.custom else {}
    out: dict[int, dict[str, str]] = {}
    for field_id, texts in batch.custom.items():
        name = names[field_id]
        for record_id, text in zip(ids, texts, strict=True):
            if text is not None:
                out.setdefault(record_id, {})[name] = text
    return out


def with_targets(rows: Iterable[dict[str, Any]], self_ref: str,
                 later: list[tuple[int, int]]) -> Iterator[dict[str, Any]]:
    """The rows with the self references set after the inserts (target id, row id)."""
    targets = {row_id: target for target, row_id in later}
    for row in rows:
        target = targets.get(row["id"])
        if target is not None:
            row = {**row, self_ref: target}
        yield row


def in_batches(items: Sequence, size: int) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__

