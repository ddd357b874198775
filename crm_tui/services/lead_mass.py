"""Mass operations on selected leads: owner, status, company, lead type, tags, delete; each
lead checked against the user's rights, all or nothing unless the caller accepts a part."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import peewee

from crm_tui import acl
from crm_tui.db import database, write_transaction
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import N_, _
from crm_tui.models import Company, Lead, LeadActivity, LeadTag, LeadType, Tag, User
from crm_tui.services import history, pickers, references, settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.leads import _delete_leads, _lead_id, remove_files, tags_of
from crm_tui.services.records import get_kind, not_found

#: The mass operations on selected leads, with the words the screens show.
MASS_ACTIONS = {
    "owner": N_("assign owner"),
    "status": N_("change status"),
    "add_tag": N_("add tag"),
    "remove_tag": N_("remove tag"),
    "company": N_("set company"),
    "lead_type": N_("set lead type"),
    "delete": N_("delete"),
}


@dataclass
class MassResult:
    """What a mass operation did: changed, already so (unchanged), refused with reasons."""

    action: str
    changed: list[int]
    unchanged: list[int]
    refused: list[tuple[int, str]]

    def summary(self) -> str:
        """One line for a status bar or stderr, in the user's language."""
        parts = [_("{count} changed").format(count=len(self.changed))]
        if self.unchanged:
            parts.append(_("{count} already so").format(count=len(self.unchanged)))
        if self.refused:
            parts.append(_("{count} refused").format(count=len(self.refused)))
        action = MASS_ACTIONS.get(self.action)
        return f"{_(action) if action else self.action}: " + ", ".join(parts)


class MassRefused(PermissionDenied):
    """Some selected leads may not be changed; nothing was written. Carries the report."""

    def __init__(self, result: MassResult, total: int) -> None:
        self.result = result
        reasons = "; ".join(reason for _, reason in result.refused[:3])
        more = f"; and {len(result.refused) - 3} more" if len(result.refused) > 3 else ""
        super().__init__(f"{len(result.refused)} of {total} selected leads may not be "
                         f"changed: {reasons}{more}")


#: The operations that set a reference of the lead (the lead's column of the same name).
_REFERENCES = ("owner", "company", "lead_type")
#: Of those, the ones a lead's access depends on: the changed lead is checked again.
_ACCESS_ACTIONS = ("owner", "company")


def _reference_target(session: Session, action: str, label: str, value: object) -> object:
    """The company or lead type a mass operation sets (None: "" clears it): one the user
    may see, and a company also one he may modify (as the lead form's picker offers).

    Raises:
        ValidationFailed: no such record, or one he may not see (the same answer).
        PermissionDenied: a company he sees but may not modify.
    """
    text = "" if value is None else str(value).strip()
    if not text:
        return None
    kind = "company" if action == "company" else "lead-type"
    try:
        target = get_kind(kind).resolve(session, text)
    except V.BadValue as exc:
        raise ValidationFailed.one(label, action, text, str(exc)) from None
    if action == "company" and not acl.can_modify_company(session.user, target):
        raise PermissionDenied(_("{login} may not put leads under {company}").format(
            login=session.login, company=target.name))
    return target


def value_choices(session: Session, action: str, text: str, offset: int = 0,
                  limit: int = 20) -> list[tuple[str, str]]:
    """A page of what `company` or `lead_type` may set, as (title, value), matching `text`:
    what the lead form's picker offers (companies the user may modify, lead types he may
    see), led, while nothing is typed, by "none" (value "")."""
    if action not in ("company", "lead_type"):
        raise KeyError(action)
    if not text.strip():
        if offset == 0:
            none = _("(no company)") if action == "company" else _("(no lead type)")
            return [(none, "")] + pickers.choices(session, "lead", action, text, 0,
                                                  max(1, limit - 1))
        offset -= 1
    return pickers.choices(session, "lead", action, text, offset, limit)


def _mass_target(session: Session, action: str, value: object) -> object:
    label = f"mass {MASS_ACTIONS[action]}"
    if action == "owner":
        login = "" if value is None else str(value).strip()
        if not login:
            return None
        user = User.get_or_none(User.login == login)
        if user is None:
            raise ValidationFailed.one(label, "owner", login, _("no such user"))
        return user
    if action == "status":
        try:
            return settings.status_number(value)
        except V.BadValue as exc:
            raise ValidationFailed.one(label, "status", value, str(exc)) from None
    if action in ("company", "lead_type"):
        return _reference_target(session, action, label, value)
    if action in ("add_tag", "remove_tag"):
        text = "" if value is None else str(value).strip()
        tag = None
        if text.isdigit():
            tag = Tag.get_or_none(Tag.id == int(text))
        elif text:
            tag = Tag.get_or_none(Tag.name == text)
        if tag is None:
            raise ValidationFailed.one(label, "tag", text, _("no such tag"))
        return tag
    return None


def mass_update(
    session: Session, lead_ids: Iterable[object], action: str, value: object = None, *,
    partial: bool = False,
) -> MassResult:
    """Apply one operation to many selected leads, checking each lead's access rules.

    All or nothing by default: when any lead may not be changed, nothing is written and
    MassRefused carries the per-lead report, so the caller can offer to apply the change
    to the others only (`partial=True`: allowed leads change, refused ones are reported).

    Args:
        action: One of MASS_ACTIONS: owner (value: a login, "" for none), status (a number),
            company (an id or name of a company the user may modify, "" for none),
            lead_type (an id or name, "" for none), add_tag / remove_tag (a tag name or
            id), delete.

    Raises:
        PermissionDenied: the user may not run mass operations (they take LM), or may not
            put leads under that company.
        MassRefused: some leads were refused and `partial` is False.
        ValidationFailed: an unknown action or value.
    """
    if action not in MASS_ACTIONS:
        raise ValidationFailed.one("mass operation", "action", action,
                                   _("must be one of {choices}").format(
                                       choices=", ".join(MASS_ACTIONS)))
    if not acl.can_manage_leads(session.user):
        raise PermissionDenied(_("{login} may not run mass operations on leads (they take LM)").format(login=session.login))
    ids = list(dict.fromkeys(_lead_id(v) for v in lead_ids))
    target = _mass_target(session, action, value)
    result = MassResult(action, [], [], [])
    if not ids:
        return result
    kind = get_kind("lead")
    owns_transaction = not database.in_transaction()
    stored: list[str] = []
    with write_transaction():
        leads: dict[int, Lead] = {}
        for start in range(0, len(ids), 500):
            query = (Lead.select(Lead, Company)
                     .join(Company, peewee.JOIN.LEFT_OUTER, on=(Lead.company == Company.id))
                     .where(Lead.id.in_(ids[start:start + 500])))
            leads.update((lead.id, lead) for lead in query)
        tagged: set[int] = set()
        if action in ("add_tag", "remove_tag"):
            for start in range(0, len(ids), 500):
                tagged.update(lead_id for (lead_id,) in LeadTag.select(LeadTag.lead).where(
                    LeadTag.tag == target.id, LeadTag.lead.in_(ids[start:start + 500])).tuples())
        for lead_id in ids:
            lead = leads.get(lead_id)
            if lead is None or not acl.can_view_lead(session.user, lead):
                result.refused.append((lead_id, str(not_found("lead", lead_id))))
                continue
            try:
                if action == "delete":
                    kind.check_delete(session, lead)
                else:
                    kind.check_modify(session, lead)
                if action in _ACCESS_ACTIONS and not _mass_is_noop(action, lead, target, tagged):
                    # As in a form edit: the changed lead must stay one he may change.
                    before = getattr(lead, action)
                    setattr(lead, action, target)
                    try:
                        kind.check_modify(session, lead)
                    finally:
                        setattr(lead, action, before)
            except PermissionDenied as refusal:
                result.refused.append((lead_id, str(refusal)))
                continue
            if _mass_is_noop(action, lead, target, tagged):
                result.unchanged.append(lead_id)
            else:
                result.changed.append(lead_id)
        if result.refused and not partial:
            raise MassRefused(result, len(ids))
        stored = _mass_apply(session, action, target, [leads[i] for i in result.changed])
    if owns_transaction:
        remove_files(stored)
    return result


def _mass_is_noop(action: str, lead: Lead, target: object, tagged: set[int]) -> bool:
    if action in _REFERENCES:
        return getattr(lead, f"{action}_id") == (target.id if target is not None else None)
    if action == "status":
        return lead.status == target
    if action == "add_tag":
        return lead.id in tagged
    if action == "remove_tag":
        return lead.id not in tagged
    return False


def _mass_apply(session: Session, action: str, target: object, leads: list[Lead]) -> list[str]:
    """Write a mass operation for the allowed leads; returns stored files to remove."""
    if not leads:
        return []
    ids = [lead.id for lead in leads]
    if action == "delete":
        with history.cascade(session, [("lead", i) for i in ids]):
            return _delete_leads(ids)
    now = session.clock.now()
    entries: list[dict] = []
    changed: list[tuple[int, str, dict[str, list]]] = []
    if action == "owner":
        from crm_tui.services.records import user_logins

        logins = user_logins()
        new = logins.get(target.id) if target is not None else None
        for lead in leads:
            old = logins.get(lead.owner_id) if lead.owner_id is not None else None
            entries.append(_entry(lead.id, "change", session, now,
                                  f"owner {old or '(none)'} -> {new or '(none)'}"))
            if old != new:
                changed.append((lead.id, "change", {"owner": [old, new]}))
        changes = {Lead.owner: target.id if target is not None else None}
    elif action == "status":
        names = settings.status_names()
        for lead in leads:
            entries.append(_entry(lead.id, "status", session, now,
                                  f"status {names[lead.status]} -> {names[target]}"))
            if lead.status != target:
                changed.append((lead.id, "change", {"status": [lead.status, target]}))
        changes = {Lead.status: target}
    elif action in ("company", "lead_type"):
        new_id = target.id if target is not None else None
        names = _names(session, action, {getattr(lead, f"{action}_id") for lead in leads})
        new = target.name if target is not None else "(none)"
        word = "company" if action == "company" else "lead type"
        for lead in leads:
            old_id = getattr(lead, f"{action}_id")
            old = names.get(old_id, "(none)")
            entries.append(_entry(lead.id, "change", session, now, f"{word} {old} -> {new}"))
            # As a form's change of a reference: the ids before and after.
            changed.append((lead.id, "change", {action: [old_id, new_id]}))
        changes = {getattr(Lead, action): new_id}
    else:
        adding = action == "add_tag"
        tags_before = tags_of(ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            if adding:
                LeadTag.insert_many([{"lead": i, "tag": target.id} for i in chunk]).execute()
            else:
                LeadTag.delete().where(LeadTag.tag == target.id, LeadTag.lead.in_(chunk)).execute()
        word = "added" if adding else "removed"
        entries = [_entry(i, "change", session, now, f"tag {target.name} {word}") for i in ids]
        # As a form's change of the tags: the whole list before and after.
        tags_after = tags_of(ids)
        changed = [(i, "change", {"tags": [tags_before.get(i, []), tags_after.get(i, [])]})
                   for i in ids]
        changes = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        Lead.update({**changes, Lead.updated: now}).where(Lead.id.in_(chunk)).execute()
    for start in range(0, len(entries), 200):
        LeadActivity.insert_many(entries[start:start + 200]).execute()
    history.record_many(session, "lead", changed)
    return []


def _names(session: Session, action: str, ids: set[int | None]) -> dict[int, str]:
    """The names of the companies or lead types `ids` for the timeline (stored in English,
    as the other entries): a company the user may not see reads "(not visible)"."""
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    model = Company if action == "company" else LeadType
    names = {record_id: name for record_id, name in
             model.select(model.id, model.name).where(model.id.in_(wanted)).tuples()}
    if action == "company" and not acl.is_admin(session.user):
        seen = references.visible_ids(session, "company", wanted)
        names = {i: name if i in seen else references.NOT_VISIBLE for i, name in names.items()}
    return names


def _entry(lead_id: int, kind: str, session: Session, now: dt.datetime, text: str) -> dict:
    return {"lead": lead_id, "kind": kind, "author": session.login, "created": now, "text": text}


