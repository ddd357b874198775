"""Personal data of a contact or lead: export all of it, erase it, and mail opt-out.

`export` gathers everything the CRM holds about one person's record (fields, custom values,
timeline, mail sent and received, history, attached files) for a subject-access request.
`erase` anonymises that record in one transaction: the person's fields, the texts of the
timeline, mail copies, attachments and the values kept by history. Issued invoices are not
touched (they belong to companies and keep their legal data); the record itself stays, so
statistics and links still count it. `refuse_opted_out` is the one check every outgoing mail
passes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import peewee

from crm_tui.db import write_transaction
from crm_tui.errors import Problem, ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import (
    Attachment,
    Contact,
    CustomField,
    CustomValue,
    FiledMessage,
    History,
    Lead,
    LeadActivity,
    OutboxMail,
    SentMail,
)
from crm_tui.services import attachments, history, search
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

#: The kinds that hold a person.
KINDS = ("contact", "lead")
#: What replaces an erased text.
ERASED = "(erased)"
#: Fields of each kind that describe the person; erase empties them (the name gets a
#: placeholder, since a record needs one) and history forgets their values.
PERSONAL_FIELDS = {
    "contact": ("full_name", "email", "phone", "mobile", "position", "description"),
    "lead": ("full_name", "email", "phone", "position", "description", "company_name"),
}
#: Timeline entries whose text is the CRM's own (a status change), not the person's.
_OWN_ENTRIES = ("status", "created")


def _load(session: Session, kind: str, record_id: int | str, *, modify: bool):
    record_kind = get_kind(kind)
    obj = record_kind.load(session, record_id)
    if modify:
        record_kind.check_modify(session, obj)
    return record_kind, obj


# -- export ----------------------------------------------------------------------------------


def export(session: Session, kind: str, record_id: int | str, directory: str | Path) -> Path:
    """Write everything held about one contact or lead into `directory` (created; must not
    exist yet): `data.json` and the attached files under `files/`. Returns the JSON's path.

    Raises:
        NotFound (also for a record the user may not see), ValidationFailed (the directory
        exists already).
    """
    record_kind, obj = _load(session, kind, record_id, modify=False)
    target = Path(directory)
    if target.exists():
        raise ValidationFailed.one(record_kind.label(obj), "directory", str(target),
                                   _("exists already; name a new one"))
    address = _address(kind, obj)
    data: dict[str, Any] = {
        "kind": kind,
        "id": obj.id,
        "exported_at": V.render(session.clock.now()),
        "exported_by": session.login,
        "record": record_kind.get(session, obj.id),
        "history": history.of_record(session, kind, obj.id),
        "also_held_as": _same_address(session, kind, obj),
        # Mail from the address that was filed nowhere is held too (as a raw copy).
        "mail_unmatched": [
            {"id": m.id, "subject": m.subject, "reason": m.reason, "size": m.size,
             "created": V.render(m.created)}
            for m in _unmatched_from(address)],
    }
    files: list[tuple[Attachment, str]] = []
    if kind == "lead":
        data.update(_lead_mail(obj.id))
        from crm_tui.services.leads import activity

        data["activity"] = activity(session, obj.id, limit=1_000_000)
        owned = Attachment.select().where(
            ((Attachment.owner_kind == "lead") & (Attachment.owner_id == obj.id))
            | ((Attachment.owner_kind == "lead_activity")
               & Attachment.owner_id.in_(LeadActivity.select(LeadActivity.id)
                                         .where(LeadActivity.lead == obj.id))))
        files = [(att, f"files/{att.id}-{attachments.file_name(att.original_name)}")
                 for att in owned.order_by(Attachment.id)]
    data["attachments"] = [
        {"id": att.id, "name": att.original_name, "file": name, "size": att.size,
         "content_type": att.content_type, "owner": f"{att.owner_kind} {att.owner_id}",
         "created": V.render(att.created)}
        for att, name in files
    ]
    # Written into a directory of the user's own (0700), files 0600: this is personal data.
    (target / "files").mkdir(parents=True, mode=0o700)
    os.chmod(target, 0o700)
    for att, name in files:
        _write_private(target / name, attachments.path_of(att.stored_name).read_bytes())
    path = target / "data.json"
    _write_private(path, json.dumps(data, ensure_ascii=False, indent=2, default=str).encode())
    return path


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _lead_mail(lead_id: int) -> dict[str, list[dict]]:
    sent = [{"message_id": m.message_id, "recipients": m.recipients, "created": V.render(m.created)}
            for m in SentMail.select().where(SentMail.lead == lead_id).order_by(SentMail.id)]
    outbox = [{"id": m.id, "subject": m.subject, "recipients": m.recipients, "status": m.status,
               "created": V.render(m.created), "sent": V.render(m.sent),
               "message": bytes(m.message).decode("utf-8", errors="replace")}
              for m in OutboxMail.select().where(OutboxMail.lead == lead_id)
              .order_by(OutboxMail.id)]
    received = [{"sender": m.sender, "outcome": m.outcome, "reason": m.reason,
                 "created": V.render(m.created), "activity": m.activity_id}
                for m in FiledMessage.select().where(FiledMessage.lead == lead_id)
                .order_by(FiledMessage.id)]
    return {"mail_sent": sent, "outbox": outbox, "mail_received": received}


def _address(kind: str, obj) -> str:
    return (obj.email or "").strip().lower()


def _unmatched_from(address: str) -> list[FiledMessage]:
    """Mail from the address that was filed on no lead (its raw copy kept for an operator)."""
    if not address:
        return []
    return list(FiledMessage.select(FiledMessage.id, FiledMessage.subject, FiledMessage.reason,
                                    FiledMessage.size, FiledMessage.created)
                .where(FiledMessage.lead.is_null(), peewee.fn.LOWER(FiledMessage.sender)
                       == address).order_by(FiledMessage.id))


def _same_address(session: Session, kind: str, obj) -> list[str]:
    """Other visible contacts and leads with the same address: the same person, likely."""
    address = _address(kind, obj)
    if not address:
        return []
    out: list[str] = []
    lead_kind, contact_kind = get_kind("lead"), get_kind("contact")
    leads = (Lead.select(Lead.id).where(Lead.email_key == address, lead_kind.view_expr(session))
             .order_by(Lead.id).limit(100))
    out += [f"lead {i}" for (i,) in leads.tuples() if not (kind == "lead" and i == obj.id)]
    contacts = (Contact.select(Contact.id)
                .where(peewee.fn.LOWER(Contact.email) == address, contact_kind.view_expr(session))
                .order_by(Contact.id).limit(100))
    out += [f"contact {i}" for (i,) in contacts.tuples()
            if not (kind == "contact" and i == obj.id)]
    return out


# -- erase -----------------------------------------------------------------------------------


def erase(session: Session, kind: str, record_id: int | str) -> dict[str, int]:
    """Anonymise one contact or lead; returns what was erased, counted.

    The record keeps its id, company, status, amounts and dates (statistics and links stay
    right) and is opted out of mail. Needs the right to modify the record.

    Raises:
        NotFound, PermissionDenied.
    """
    record_kind, obj = _load(session, kind, record_id, modify=True)
    counts = {"fields": 0, "activity": 0, "mails": 0, "attachments": 0, "history": 0}
    stored: list[str] = []
    with write_transaction():
        obj = record_kind._locked(obj)
        before = record_kind._snapshot(session, obj.id)
        fields = PERSONAL_FIELDS[kind]
        blank = {name: "" for name in fields}
        blank["full_name"] = f"{ERASED} {kind} {obj.id}"
        if kind == "lead":
            blank["email_key"] = ""
        counts["fields"] = sum(1 for name in fields if getattr(obj, name, ""))
        model = record_kind.model
        model.update(mail_opt_out=True, **blank).where(model.id == obj.id).execute()
        custom = CustomValue.delete().where(
            CustomValue.record_id == obj.id,
            CustomValue.field.in_(CustomField.select(CustomField.id)
                                  .where(CustomField.entity.in_(_custom_entities(kind))))
        ).execute()
        counts["fields"] += custom
        if kind == "lead":
            counts.update(_erase_lead_mail(obj.id, stored))
        counts["mails"] += (FiledMessage.update(sender="", subject="", reason="", raw=None)
                            .where(FiledMessage.id.in_([m.id for m in _unmatched_from(
                                _address(kind, obj))])).execute())
        counts["history"] = _scrub_history(kind, obj.id, fields)
        # What changed, its personal values forgotten as the older rows' are.
        changes = history.diff(before, record_kind._snapshot(session, obj.id))
        for name, pair in changes.items():
            if name in fields or name.startswith("custom."):
                pair[0] = None if pair[0] is None else ERASED
        history.record(session, kind, obj.id, "erase", changes)
        if kind in search.FIELDS:
            search.reindex(kind, [obj.id])
    attachments.remove_files(stored)
    return counts


def _custom_entities(kind: str) -> tuple[str, ...]:
    return ("contact",) if kind == "contact" else ("lead_type",)


def _erase_lead_mail(lead_id: int, stored: list[str]) -> dict[str, int]:
    entries = LeadActivity.select(LeadActivity.id).where(LeadActivity.lead == lead_id)
    activity = (LeadActivity.update(text=ERASED)
                .where(LeadActivity.lead == lead_id, LeadActivity.kind.not_in(_OWN_ENTRIES))
                .execute())
    files = 0
    for (entry_id,) in entries.tuples():
        dropped = attachments.drop_rows("lead_activity", entry_id)
        stored += dropped
        files += len(dropped)
    dropped = attachments.drop_rows("lead", lead_id)
    stored += dropped
    files += len(dropped)
    mails = SentMail.update(recipients="").where(SentMail.lead == lead_id).execute()
    # Mail not yet sent is not sent any more; sent copies lose their content.
    OutboxMail.update(status="cancelled").where(
        OutboxMail.lead == lead_id, OutboxMail.status.in_(("queued", "sending"))).execute()
    mails += OutboxMail.update(recipients="", subject="", message=b"", answer="").where(
        OutboxMail.lead == lead_id).execute()
    mails += FiledMessage.update(sender="", reason="").where(
        FiledMessage.lead == lead_id).execute()
    return {"activity": activity, "mails": mails, "attachments": files}


def _scrub_history(kind: str, record_id: int, fields: tuple[str, ...]) -> int:
    """Forget the personal values history kept of this record (who changed what stays)."""
    personal = set(fields)
    scrubbed = 0
    rows = History.select(History.id, History.changes).where(
        History.kind == kind, History.record_id == record_id)
    for row in rows:
        changes = row.change_data
        hit = False
        for name, pair in changes.items():
            # A timeline entry's first words (a note, a mail) are personal too.
            if name in personal or name.startswith("custom.") or name in ("activity", "files"):
                changes[name] = [None if v is None else ERASED for v in pair]
                hit = True
        if hit:
            History.update(changes=json.dumps(changes, ensure_ascii=False)).where(
                History.id == row.id).execute()
            scrubbed += 1
    return scrubbed


# -- opt-out ---------------------------------------------------------------------------------


def opted_out(addresses: list[str]) -> list[str]:
    """Those of `addresses` (compared lower-cased) whose contact or lead opted out of mail."""
    wanted = list(dict.fromkeys(a.strip().lower() for a in addresses if a.strip()))
    if not wanted:
        return []
    found = {a for (a,) in Lead.select(Lead.email_key)
             .where(Lead.mail_opt_out == True, Lead.email_key.in_(wanted)).tuples()}  # noqa: E712
    # Few contacts opt out: the flag's index finds them, their addresses compare lower-cased.
    found |= {e.lower() for (e,) in Contact.select(Contact.email).where(
        Contact.mail_opt_out == True, peewee.fn.LOWER(Contact.email).in_(wanted)).tuples()}  # noqa: E712
    return [a for a in wanted if a in found]


def refuse_opted_out(record: str, addresses: list[str]) -> None:
    """Refuse a mail to anyone who opted out: one line per address.

    Raises:
        ValidationFailed.
    """
    refused = opted_out(addresses)
    if refused:
        raise ValidationFailed([Problem(record, "to", a, _("has opted out of mail"))
                                for a in refused])
