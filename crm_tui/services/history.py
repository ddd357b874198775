"""The history of every change: recorded in the transaction that writes, read per record or
per user for an audit (SPEC 10)."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from crm_tui import acl, i18n
from crm_tui.db import database
from crm_tui.errors import Conflict
from crm_tui.i18n import _
from crm_tui.models import History
from crm_tui.services import values as V
from crm_tui.services.context import Session

if TYPE_CHECKING:
    from crm_tui.services.records import Kind

#: What a secret's old and new values are recorded as: only that it changed.
SECRET = "(secret)"

#: Rows per INSERT when a batch (an import, a mass edit) records its history.
_BATCH = 500

#: (import batch, face) of the writes under way, set by `in_import`.
_IMPORT: contextvars.ContextVar[tuple[int | None, str] | None] = contextvars.ContextVar(
    "history_import", default=None)


@contextlib.contextmanager
def in_import(batch: int | None) -> Iterator[None]:
    """History rows written meanwhile (a kind's own update, called by an import) carry the
    import batch and the import face, as the import's own rows do."""
    token = _IMPORT.set((batch, "import"))
    try:
        yield
    finally:
        _IMPORT.reset(token)


def text_of(value: Any) -> Any:
    """A value as history keeps it: JSON-ready text, numbers and lists; None for no value."""
    if value is None or value == "":
        return None
    if isinstance(value, dict | list | bool | int | str):
        return value
    return V.render_text(value)


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """{field: [old, new]} for every field whose value differs between two snapshots."""
    out = {}
    for key in sorted(set(before) | set(after)):
        old, new = text_of(before.get(key)), text_of(after.get(key))
        if old != new:
            out[key] = [old, new]
    return out


def record(session: Session, kind: str, record_id: int, action: str,
           changes: dict[str, list]) -> None:
    """Write one history row (inside the caller's transaction); a change of nothing is none."""
    if action == "change" and not changes:
        return
    record_many(session, kind, [(record_id, action, changes)])


def record_many(session: Session, kind: str,
                entries: Iterable[tuple[int, str, dict[str, list]]],
                face: str | None = None, batch: int | None = None) -> int:
    """Write the history rows of a batch (inside the caller's transaction); returns how many.

    `face` overrides the session's (an import run from the command line is an import);
    `batch` names the import batch that created the records.
    """
    now = session.clock.now()
    current = _IMPORT.get()
    if current is not None:
        batch = current[0] if batch is None else batch
        face = face or current[1]
    face = face or session.face
    login = session.login
    # One encoder for the batch: json.dumps with options builds a new one per call.
    dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode
    at = History.at.db_value(now)
    # A batch (an import of many thousand records) goes through the driver's executemany,
    # _BATCH rows at a time as the entries come (a million-row import never holds them
    # all): building a peewee INSERT per row costs several times the write itself.
    param = database.param
    sql = (f'INSERT INTO "{History._meta.table_name}" (kind, record_id, action, changes, '
           f"login, face, at, batch) VALUES ({', '.join([param] * 8)})")
    entries = iter(entries)
    written = 0
    while rows := [(kind, record_id, action, dumps(changes), login, face, at, batch)
                   for record_id, action, changes in itertools.islice(entries, _BATCH)]:
        database.cursor().executemany(sql, rows)
        written += len(rows)
    return written


def snapshots(session: Session, kind_name: str, ids: Iterable[int]) -> dict[int, dict]:
    """The records as history compares them (fields and custom values), by id."""
    from crm_tui.services.records import Kind, get_kind

    kind = get_kind(kind_name)
    ids = list(ids)
    if type(kind)._snapshot is not Kind._snapshot:  # a kind that adds to it (contracts)
        return {record_id: kind._snapshot(session, record_id) for record_id in ids}
    # Many records (a mass delete) are read a page at a time, not one by one.
    out: dict[int, dict] = {record_id: {} for record_id in ids}
    model = kind.model
    for start in range(0, len(ids), _BATCH):
        rows = list(model.select().where(model.id.in_(ids[start:start + _BATCH])).dicts())
        for row in kind.present(session, rows):
            out[row["id"]] = kind._snapshot_of(row)
    return out


def created(session: Session, kind: Kind, rows: Iterable[dict[str, Any]],
            custom: dict[int, dict[str, str]]) -> Iterator[tuple[int, str, dict[str, list]]]:
    """The history entries of new records from their rows as written (model field ->
    value, ids included) and their custom values: each field's new value, as `snapshots`
    would read it back.

    Reading a big import's rows back costs as much as writing them; the rows are at hand.
    Of what `decorate` derives, only references (a lead's tags) are fields history keeps:
    a kind with such fields is presented and decorated a page at a time; the others have
    their fields converted as `present` converts them, and nothing else.
    """
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        return
    rows = itertools.chain((first,), rows)
    plain = (str, int, list)
    if any(field.kind == "refs" and not field.readonly for field in kind.fields):
        while page := list(itertools.islice(rows, _BATCH)):
            for row in kind.present(session, page, custom=custom):
                yield row["id"], "create", {
                    name: [None, value if type(value) in plain else text_of(value)]
                    for name, value in kind._snapshot_of(row).items()
                    if value is not None and value != ""}
        return
    columns = kind.converters(first, kind._history_fields())
    for row in rows:
        record_id = row["id"]
        changes: dict[str, list] = {}
        for name, column, convert in columns:
            value = row[column]
            if value is not None and convert is not None:
                value = convert(value)
            if value is None or value == "":
                continue
            changes[name] = [None, value if type(value) in plain else text_of(value)]
        for name, value in custom.get(record_id, {}).items():
            if value != "":
                changes[f"custom.{name}"] = [None, value]
        yield record_id, "create", changes


@contextlib.contextmanager
def cascade(session: Session, records: Iterable[tuple[str, int]]) -> Iterator[None]:
    """Record what a write inside the block does to other records (a delete that takes
    their values, tags or rows with it): each one's fields before and after.

    A record gone after the block is recorded as deleted, one still there as changed.
    """
    wanted: dict[str, set[int]] = {}
    for kind_name, record_id in records:
        wanted.setdefault(kind_name, set()).add(record_id)
    before = {name: snapshots(session, name, sorted(ids)) for name, ids in wanted.items()}
    yield
    for name, old in before.items():
        new = snapshots(session, name, old)
        record_many(session, name, [
            (record_id, "change" if new[record_id] else "delete",
             diff(values, new[record_id]))
            for record_id, values in old.items() if values and values != new[record_id]])


def activity(session: Session, kind: str, record_id: int, entry_kind: str, text: str,
             files: Iterable[str] = ()) -> None:
    """Record an entry added to a record's timeline (a note, a filed mail, a file)."""
    record(session, kind, record_id, "change", activity_changes(entry_kind, text, files))


def activity_changes(entry_kind: str, text: str, files: Iterable[str] = ()) -> dict[str, list]:
    """What history records of a timeline entry: its kind and first words, its files."""
    line = " ".join(text.split())
    value = f"{entry_kind}: {line[:80]}" + ("…" if len(line) > 80 else "")
    changes: dict[str, list] = {"activity": [None, value]}
    names = list(files)
    if names:
        changes["files"] = [None, names]
    return changes


def _entry(row: History) -> dict[str, Any]:
    return {"kind": row.kind, "id": row.record_id, "action": row.action, "user": row.login,
            "face": row.face, "at": V.render(row.at), "changes": row.change_data}


def of_record(session: Session, kind_name: str, record_id: int | str) -> list[dict[str, Any]]:
    """The history of one record, oldest first: seen by whoever may view the record.

    Raises:
        NotFound: no such record, or one the user may not view (they answer alike).
    """
    from crm_tui.services.records import get_kind

    obj = get_kind(kind_name).load(session, record_id)
    query = (History.select()
             .where(History.kind == kind_name, History.record_id == obj.id)
             .order_by(History.at, History.id))
    return [_entry(row) for row in query]


def of_user(session: Session, login: str, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Every change a user made since a time, oldest first (an audit).

    A superadmin sees every change, deleted records' included; anyone else only the changes
    of records he may view now, as each record's own history shows them (a change of a
    record hidden from him is left out, never hinted at).
    """
    query = History.select().where(History.login == login)
    if since is not None:
        query = query.where(History.at >= since)
    rows = list(query.order_by(History.at, History.id))
    if not acl.is_admin(session.user):
        visible = _viewable(session, {(row.kind, row.record_id) for row in rows})
        rows = [row for row in rows if (row.kind, row.record_id) in visible]
    return [_entry(row) for row in rows]


def _viewable(session: Session, records: set[tuple[str, int]]) -> set[tuple[str, int]]:
    """Those of `records` (kind, id) the user may view."""
    from crm_tui.services.records import get_kind

    wanted: dict[str, list[int]] = {}
    for kind_name, record_id in records:
        wanted.setdefault(kind_name, []).append(record_id)
    out: set[tuple[str, int]] = set()
    for kind_name, ids in wanted.items():
        try:
            kind = get_kind(kind_name)
        except KeyError:
            continue
        ids.sort()
        for start in range(0, len(ids), _BATCH):
            query = kind.model.select().where(kind.model.id.in_(ids[start:start + _BATCH]),
                                              kind.view_expr(session))
            out.update((kind_name, obj.id) for obj in query if kind.can_view(session, obj))
    return out


def refuse_if_changed(kind_name: str, record_id: int, fields: Iterable[str],
                      since: dt.datetime) -> None:
    """Refuse a change of `fields` when another change touched one of them after `since`.

    Two operators who change different fields of one record both keep their change; one
    whose own fields were changed meanwhile is told by whom and when.

    Raises:
        Conflict: "changed by LOGIN at TIME since you opened it".
    """
    wanted = set(fields)
    if not wanted:
        return
    query = (History.select()
             .where(History.kind == kind_name, History.record_id == record_id,
                    History.at > since)
             .order_by(History.at, History.id))
    for row in query:
        touched = set(row.change_data)
        if row.action == "delete" or touched & wanted:
            when = row.at.replace(microsecond=0).isoformat(sep=" ")
            raise Conflict(_("{kind} #{record_id}: changed by {login} at {when} UTC "
                             "since you opened it: reload it and apply your change again").format(kind=i18n.kind_name(kind_name), record_id=record_id, login=row.login, when=when))

