"""Deleting a catalogue entry that records use (a role, custom field or section, contract or
lead type, tag, template): how many records use it, and whether it may go.

An entry in use is deleted only when the user may change every record that uses it; a
superadmin, who may change them all, confirms with `force` (`crm delete … --force`, a
dialog in the TUI). Only superadmins are told how many records use an entry: others read
that it is "in use by records you may not see" (or not change), never a count.
"""

from __future__ import annotations

import contextvars
from dataclasses import dataclass, field

import peewee

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import N_, _, kind_name
from crm_tui.models import BaseModel
from crm_tui.services import history
from crm_tui.services.context import Session
from crm_tui.services.records import Kind, get_kind

NOT_SEEN = N_("in use by records you may not see")
NOT_CHANGED = N_("in use by records you may not change")

#: Whether the delete under way was confirmed (`force`); read by `CatalogueKind.check_delete`.
_FORCE: contextvars.ContextVar[bool] = contextvars.ContextVar("catalogue_force", default=False)

#: One kind of record that uses an entry: (record kind, a select of those records' ids).
Use = tuple[str, peewee.Select]


@dataclass(frozen=True)
class Usage:
    """Who uses a catalogue entry, as far as the acting user may know it."""

    counts: dict[str, int] = field(default_factory=dict)
    """How many records of each kind use it (every record, seen or not)."""
    hidden: bool = False
    """Some of them the user may not see."""
    locked: bool = False
    """Some of them the user may not change."""

    @property
    def total(self) -> int:
        """How many records use it."""
        return sum(self.counts.values())


class CatalogueKind(Kind):
    """A catalogue kind whose entries records use; subclasses say which (`used_by`)."""

    def used_by(self, obj: BaseModel) -> list[Use]:
        """The records that use `obj`, by kind (none by default)."""
        return []

    def check_delete(self, session: Session, obj: BaseModel) -> None:
        usage = self.check_delete_rights(session, obj)
        if usage.total and acl.is_admin(session.user) and not _FORCE.get():
            raise ValidationFailed.one(
                self.label(obj), "id", obj.id,
                _("used by {records}: --force deletes it anyway").format(
                    records=describe(usage.counts)))

    def check_delete_rights(self, session: Session, obj: BaseModel) -> Usage:
        """Raise PermissionDenied unless the user may delete `obj` once confirmed: the right
        to change the kind, and (but for superadmins) to see and change every record that
        uses it. Returns who uses it.
        """
        super().check_delete(session, obj)
        usage = usage_of(session, self, obj)
        if usage.total and not acl.is_admin(session.user) and (usage.hidden or usage.locked):
            raise PermissionDenied(_("{record} is {why}").format(
                record=self.label(obj), why=_(NOT_SEEN if usage.hidden else NOT_CHANGED)))
        return usage

    def delete(self, session: Session, record_id: int | str, *, force: bool = False) -> None:
        """Delete an entry; `force` confirms deleting one that records use (superadmins).

        Raises:
            NotFound, PermissionDenied, ValidationFailed (in use, not confirmed).
        """
        token = _FORCE.set(force)
        try:
            with write_transaction():
                obj = self.load(session, record_id)
                # The records that use it lose it (their values of a field, a tag, a type):
                # each one's history says what it lost.
                using = [(kind, record_id) for kind, ids in self.used_by(obj)
                         for (record_id,) in ids.tuples()]
                with history.cascade(session, using):
                    super().delete(session, record_id)
        finally:
            _FORCE.reset(token)


def _modify_expr(session: Session, kind: str, model: type[BaseModel]) -> peewee.Node:
    """Which records of a kind the user may change, as a WHERE expression."""
    user = session.user
    if kind == "company":
        return acl.company_modify_expr(user)
    if kind in ("contact", "contract"):
        return model.company.in_(acl.modifiable_company_ids(user))
    if kind == "lead":
        return acl.lead_modify_expr(user)
    return peewee.SQL("1 = 0")


def usage_of(session: Session, kind: Kind, obj: BaseModel) -> Usage:
    """Who uses a catalogue entry (counts are for superadmins' eyes: see `usage_note`)."""
    used_by = getattr(kind, "used_by", None)
    if used_by is None:
        return Usage()
    counts: dict[str, int] = {}
    hidden = locked = False
    admin = acl.is_admin(session.user)
    for record_kind, ids in used_by(obj):
        target = get_kind(record_kind)
        model = target.model
        records = model.select(model.id).where(model.id.in_(ids))
        count = records.count()
        if not count:
            continue
        counts[record_kind] = counts.get(record_kind, 0) + count
        if admin:
            continue
        hidden = hidden or records.where(target.view_expr(session)).count() < count
        locked = locked or records.where(
            _modify_expr(session, record_kind, model)).count() < count
    return Usage(counts, hidden, locked)


_PLURALS = {"company": "companies"}


def describe(counts: dict[str, int]) -> str:
    """`{"contract": 2, "lead": 1}` as "2 contracts, 1 lead"."""
    return ", ".join(f"{n} {kind_name(kind if n == 1 else _PLURALS.get(kind, kind + 's'))}"
                     for kind, n in counts.items())


def usage_note(session: Session, kind: str, record_id: int | str) -> str:
    """A line for the delete dialog: how many records use the entry (superadmins), that
    records the user may not see or change use it (others), or "" when none do.

    Raises:
        NotFound, PermissionDenied.
    """
    target = get_kind(kind)
    obj = target.load(session, record_id)
    usage = usage_of(session, target, obj)
    if not usage.total:
        return ""
    if acl.is_admin(session.user):
        return _("Used by {records}: deleting it takes it off them.").format(
            records=describe(usage.counts))
    if usage.hidden:
        return _("It is {why}: it cannot be deleted.").format(why=_(NOT_SEEN))
    if usage.locked:
        return _("It is {why}: it cannot be deleted.").format(why=_(NOT_CHANGED))
    return _("Records you may change use it: deleting it takes it off them.")
