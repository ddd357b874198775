"""Import batches: which imports wrote what, and taking one back while nothing it created
has been used since (SPEC 10)."""

from __future__ import annotations

from typing import Any

import peewee

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import Problem, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import Attachment, CustomField, CustomValue, History, ImportBatch, LeadActivity
from crm_tui.services import history
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind, not_found

#: Ids per IN (…) list.
_CHUNK = 500

#: Rows that belong to a record rather than use it: they go with it.
_OWNED = {"lead_tag", "user_profile"}


def _visible(session: Session) -> peewee.Expression:
    """An import batch is seen by who ran it, and by superadmins."""
    if acl.is_admin(session.user):
        return peewee.SQL("1 = 1")
    return ImportBatch.login == session.login


def listing(session: Session) -> list[dict[str, Any]]:
    """The import batches the user may see, newest first."""
    query = ImportBatch.select().where(_visible(session)).order_by(ImportBatch.id.desc())
    return [{"batch": b.id, "kind": b.kind, "user": b.login, "at": V.render(b.at),
             "file": b.file, "created": b.created, "updated": b.updated,
             "undone": V.render(b.undone_at) if b.undone_at else None} for b in query]


def _chunks(ids: list[int]):
    for start in range(0, len(ids), _CHUNK):
        yield ids[start:start + _CHUNK]


def undo(session: Session, batch_id: int | str) -> int:
    """Take an import back (see `take_back`); returns how many records it removed."""
    return take_back(session, batch_id)[0]


def take_back(session: Session, batch_id: int | str) -> tuple[int, int]:
    """Take an import back: delete every record it created and give every record it
    updated its old values again; returns (records removed, records restored).

    Refused, listing the records, when one it created was since changed, noted, attached
    to, or used by another record (a contact of an imported company, say), or one it
    updated was changed again since.

    Raises:
        NotFound: no such batch, or one of another user (they answer alike).
        ValidationFailed: already undone, or records in use (each named).
    """
    text = str(batch_id).strip()
    with write_transaction():
        batch = (ImportBatch.get_or_none(ImportBatch.id == int(text), _visible(session))
                 if text.isdigit() else None)
        if batch is None:
            raise not_found("import batch", batch_id)
        if batch.undone_at is not None:
            raise ValidationFailed.one(f"{kind_name('import batch')} {batch.id}", "batch", batch.id,
                                       _("was already undone by {undone_by}").format(undone_by=batch.undone_by))
        kind = get_kind(batch.kind)
        model = kind.model
        ids = [i for (i,) in History.select(History.record_id).where(
            History.batch == batch.id, History.action == "create").tuples()]
        updates = list(History.select().where(History.batch == batch.id,
                                              History.action == "change").order_by(History.id))
        problems = _uses(batch, kind, model, ids) + _changed_since(batch, kind, updates)
        if problems:
            raise ValidationFailed(problems)
        existing = {i for chunk in _chunks(ids) for (i,) in
                    model.select(model.id).where(model.id.in_(chunk)).tuples()}
        ids = sorted(existing)
        # Each record's values as it goes, as any delete records them.
        gone = history.snapshots(session, kind.name, ids)
        self_refs = [f for f in model._meta.refs if f.rel_model is model]
        for chunk in _chunks(ids):
            if self_refs:  # parents and children of the batch go together
                model.update({f: None for f in self_refs}).where(model.id.in_(chunk)).execute()
            if kind.custom_entity is not None:
                CustomValue.delete().where(
                    CustomValue.record_id.in_(chunk),
                    CustomValue.field.in_(CustomField.select(CustomField.id).where(
                        CustomField.entity == kind.custom_entity))).execute()
            # The lead's own "created" entries and tags go by ON DELETE CASCADE.
            model.delete().where(model.id.in_(chunk)).execute()
        history.record_many(session, kind.name,
                            ((i, "delete", history.diff(gone[i], {})) for i in ids),
                            face="import", batch=batch.id)
        restored = _restore(session, kind, batch, updates)
        batch.undone_at, batch.undone_by = session.clock.now(), session.login
        batch.save(only=[ImportBatch.undone_at, ImportBatch.undone_by])
    return len(ids), restored


def _changed_since(batch: ImportBatch, kind, updates: list[History]) -> list[Problem]:
    """The records the batch updated that someone changed (or deleted) after it."""
    first: dict[int, int] = {}
    for entry in updates:
        first.setdefault(entry.record_id, entry.id)
    problems = []
    for record_id, entry_id in sorted(first.items()):
        later = (History.select(History.login)
                 .where(History.kind == kind.name, History.record_id == record_id,
                        History.id > entry_id,
                        (History.batch != batch.id) | History.batch.is_null())
                 .order_by(History.id).first())
        if later is not None:
            problems.append(Problem(f"{kind.name} #{record_id}", "id", str(record_id),
                                    _("was changed since by {login}: the import cannot be "
                                      "taken back").format(login=later.login)))
    return problems


def _restore(session: Session, kind, batch: ImportBatch, updates: list[History]) -> int:
    """Give the records the batch updated their old values, through the kind's own update
    (its rules, history and search index); returns how many records."""
    old: dict[int, dict[str, Any]] = {}
    for entry in reversed(updates):  # the earliest old value of each field wins
        for name, (before, _after) in entry.change_data.items():
            if before != history.SECRET:
                old.setdefault(entry.record_id, {})[name] = "" if before is None else before
    with history.in_import(batch.id):
        for record_id, raw in old.items():
            kind.update(session, record_id, raw)
    return len(old)


def _uses(batch: ImportBatch, kind, model, ids: list[int]) -> list[Problem]:
    """Why records of the batch may not be taken back: each use, naming the record."""
    found: dict[int, str] = {}
    for chunk in _chunks(ids):
        # Changed, noted or deleted since: any history row of another batch or none.
        later = (History.select(History.record_id, History.login)
                 .where(History.kind == kind.name, History.record_id.in_(chunk),
                        (History.batch != batch.id) | History.batch.is_null()))
        for record_id, login in later.tuples():
            found.setdefault(record_id, f"was changed since by {login}")
        attached = Attachment.select(Attachment.owner_id).where(
            Attachment.owner_kind == kind.name, Attachment.owner_id.in_(chunk))
        for (record_id,) in attached.tuples():
            found.setdefault(record_id, "has attached files")
        for fk in model._meta.backrefs:
            referrer = fk.model
            if referrer._meta.table_name in _OWNED:
                continue
            query = referrer.select(fk).where(fk.in_(chunk))
            if referrer is model:
                # Children within the same batch go with their parents.
                query = query.where(referrer.id.not_in(History.select(History.record_id).where(
                    History.batch == batch.id, History.action == "create")))
            if referrer is LeadActivity:
                query = query.where(LeadActivity.kind != "created")
            noun = referrer._meta.table_name.replace("_", " ")
            for (record_id,) in query.tuples():
                found.setdefault(record_id, f"is used by a {noun}")
    return [Problem(f"{kind.name} #{record_id}", "id", str(record_id),
                    _("{why}: the import cannot be taken back").format(why=why))
            for record_id, why in sorted(found.items())]
