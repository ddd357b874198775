"""Leads: the pipeline statuses, activity timeline, tags, lead types, duplicates and merging,
and creation from outside (command line, web form); mass operations are in lead_mass."""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import peewee

from crm_tui import acl
from crm_tui.db import database, write_transaction
from crm_tui.errors import Conflict, PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import (
    CLOSED_STATUSES,
    LOST_STATUS,
    OPEN_STATUSES,
    WON_STATUS,
    Attachment,
    CustomField,
    Lead,
    LeadActivity,
    LeadTag,
    LeadType,
    Tag,
)
from crm_tui.services import duplicates, history, references, search, settings
from crm_tui.services import values as V
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.context import Session
from crm_tui.services.records import Field, Kind, get_kind, id_list, register

ACTIVITY_KINDS = ("note", "status", "email_in", "email_out", "created", "change")



def email_key(email: str) -> str:
    """The form of an email address used to find duplicates and route mail."""
    return (email or "").strip().lower()


@register
class LeadTypeKind(CatalogueKind):
    """Lead types, each with its own custom fields."""

    name = "lead-type"
    model = LeadType
    fields = (Field("name", required=True, max_length=100), Field("description", "textarea"))

    def check_write_any(self, session):
        if not acl.can_manage_lead_catalogue(session.user):
            raise PermissionDenied(_("{login} may not change lead types").format(login=session.login))

    def used_by(self, obj):
        return [("lead", Lead.select(Lead.id).where(Lead.lead_type == obj.id))]

    def before_delete(self, session, obj):
        fields = CustomField.select(CustomField.id).where(
            CustomField.entity == "lead_type", CustomField.entity_type_id == obj.id)
        with history.cascade(session, [("field", i) for (i,) in fields.tuples()]):
            CustomField.delete().where(CustomField.id.in_(fields)).execute()


@register
class TagKind(CatalogueKind):
    """Coloured tags for leads."""

    name = "tag"
    model = Tag
    fields = (Field("name", required=True, max_length=60), Field("colour", max_length=20))

    def check_write_any(self, session):
        if not acl.can_manage_lead_catalogue(session.user):
            raise PermissionDenied(_("{login} may not change tags").format(login=session.login))

    def used_by(self, obj):
        return [("lead", LeadTag.select(LeadTag.lead).where(LeadTag.tag == obj.id))]


@register
class LeadKind(Kind):
    """Sales leads."""

    name = "lead"
    model = Lead
    title_attr = "full_name"
    custom_entity = "lead_type"
    custom_type_attr = "lead_type"
    order_attr = "id"
    extra_filters = ("q", "closed", "without_owner", "tag", "created_from", "created_to",
                     "updated_from", "updated_to", "close_from", "close_to", "status", "status_in",
                     "modifiable")
    fields = (
        Field("full_name", required=True),
        Field("email", "email"),
        Field("company_name"),
        Field("country", max_length=100),
        Field("position", max_length=100),
        Field("phone", max_length=60),
        Field("language", max_length=10),
        Field("owner", "user"),
        Field("company", "ref", ref="company"),
        Field("estimated_sale", "decimal"),
        Field("estimated_close", "date"),
        Field("status", "int"),
        Field("lead_type", "ref", ref="lead-type"),
        Field("tags", "refs", ref="tag"),
        Field("channel", max_length=60),
        Field("description", "textarea"),
        Field("mail_opt_out", "bool", label="No mail"),
        Field("created", "datetime", readonly=True),
        Field("updated", "datetime", readonly=True),
    )

    def view_expr(self, session):
        return acl.lead_view_expr(session.user)

    def check_view(self, session, obj):
        if not acl.can_view_lead(session.user, obj):
            raise PermissionDenied(_("{login} may not view {record}").format(
                login=session.login, record=self.label(obj)))

    def check_write_any(self, session):
        user = session.user
        if not (acl.is_admin(user) or (acl.has(user, "CR") and (acl.has(user, "LW")
                                                                  or acl.has(user, "LM")))):
            raise PermissionDenied(_("{login} may not create or change leads").format(login=session.login))

    def check_modify(self, session, obj):
        if obj.id is None:
            company = obj.company if obj.company_id is not None else None
            if not acl.can_create_lead(session.user, company):
                raise PermissionDenied(_("{login} may not create leads for that company").format(login=session.login))
            # The new lead must be one he may change (and see): without a managing company
            # it is his own unless he holds LM (the server's rule too, crm_tui.rls).
            if company is None and not acl.can_modify_lead(session.user, obj):
                raise PermissionDenied(_("{login} may not create a lead without a managing "
                                         "company for another owner (that takes LM)").format(login=session.login))
            return
        if not acl.can_modify_lead(session.user, obj):
            raise PermissionDenied(_("{login} may not modify {record}").format(login=session.login, record=self.label(obj)))

    def check_delete(self, session, obj):
        self.check_modify(session, obj)
        if not acl.can_manage_leads(session.user):
            raise PermissionDenied(_("{login} may not delete leads (needs LM)").format(login=session.login))

    def defaults(self, session, obj):
        obj.owner = session.user.id
        obj.language = session.user.language or "en"
        obj.status = 0

    def validate(self, session, obj, parsed, problems):
        if obj.status is None or not 0 <= obj.status <= 8:
            problems.append(Problem(self.label(obj), "status", str(obj.status),
                                    _("must be a status number from 0 to 8")))
        if obj.estimated_sale is None:
            obj.estimated_sale = V.parse_decimal("0")
        elif obj.estimated_sale < 0:
            problems.append(Problem(self.label(obj), "estimated_sale", str(obj.estimated_sale),
                                    _("cannot be negative")))
        obj.email_key = email_key(obj.email)

    def before_save(self, session, obj, created):
        now = session.clock.now()
        obj.updated = now
        if created:
            obj.created = now

    def parse(self, session, obj, raw, creating):
        # Remember the status before the edit: a change made in a form is logged like a
        # move on the board.
        obj._status_before = None if creating else obj.status
        given = raw.get("status")
        if not isinstance(given, str) or not given.strip():
            return super().parse(session, obj, raw, creating)
        # A status is given by number or by name (configured, or as the user reads it).
        try:
            number = settings.status_number(given)
        except V.BadValue as exc:
            parsed, custom, problems = super().parse(
                session, obj, {k: v for k, v in raw.items() if k != "status"}, creating)
            problems.append(Problem(self.label(obj) if not creating else self._new_label(raw),
                                    "status", given, str(exc)))
            return parsed, custom, problems
        return super().parse(session, obj, {**raw, "status": number}, creating)

    def after_save(self, session, obj, parsed, created):
        if "tags" in parsed:
            LeadTag.delete().where(LeadTag.lead == obj.id).execute()
            for tag in {t.id: t for t in parsed["tags"]}.values():
                LeadTag.create(lead=obj.id, tag=tag.id)
        if created:
            LeadActivity.create(lead=obj.id, kind="created", author=session.login,
                                created=session.clock.now(), text="Lead created")
        elif getattr(obj, "_status_before", obj.status) != obj.status:
            _log_status(session, obj, obj._status_before, obj.status)

    def after_save_many(self, session, records, ids):
        """`after_save` of many new leads (an import): their tags and "created" timeline
        entries written in bulk; `ids` are the records' ids in their order."""
        if records.given("tags") is not False:
            links = [(lead_id, tag_id) for lead_id, parsed in zip(ids, records.parsed(),
                                                                  strict=True)
                     for tag_id in {t.id for t in parsed.get("tags") or ()}]
            for start in range(0, len(links), 500):
                LeadTag.insert_many(links[start:start + 500],
                                    fields=[LeadTag.lead, LeadTag.tag]).execute()
        now = session.clock.now()
        entries = [(lead_id, "created", session.login, now, "Lead created") for lead_id in ids]
        fields = [LeadActivity.lead, LeadActivity.kind, LeadActivity.author,
                  LeadActivity.created, LeadActivity.text]
        for start in range(0, len(entries), 500):
            LeadActivity.insert_many(entries[start:start + 500], fields=fields).execute()

    def delete(self, session, record_id):
        """Delete a lead with its timeline, tags, custom values and attached files."""
        owns_transaction = not database.in_transaction()
        with write_transaction():
            obj = self.load(session, record_id)
            self.check_delete(session, obj)
            with history.cascade(session, [("lead", obj.id)]):
                stored = _delete_leads([obj.id])
        # Files go only once the rows are gone for good (never inside a caller's transaction
        # that might still roll back).
        if owns_transaction:
            remove_files(stored)

    def extra_filter(self, session, name, value):
        if name == "q":
            key = value.strip().lower()
            return search.match("lead", value, fallback=(
                Lead.full_name.contains(value) | Lead.email_key.contains(key)
                | Lead.company_name.contains(value)), required=True)
        if name == "closed":
            # Most leads are open: `status + 0` keeps the planner off the status indexes,
            # which would fetch three quarters of the table in random order; lists walk
            # their sort index instead and stop after a page.
            return (peewee.SQL("1 = 1") if V.parse_bool(value)
                    else (Lead.status + 0).in_(OPEN_STATUSES))
        if name == "without_owner":
            return Lead.owner.is_null() if V.parse_bool(value) else Lead.owner.is_null(False)
        if name == "tag":
            tagged = LeadTag.select(LeadTag.lead).join(Tag).where(Tag.name == value)
            return Lead.id.in_(tagged)
        if name in ("created_from", "created_to", "updated_from", "updated_to"):
            day = V.parse_date(value)
            if day is None:
                raise V.BadValue(_("not a date"))
            column = Lead.created if name.startswith("created") else Lead.updated
            start = dt.datetime.combine(day, dt.time())
            return (column >= start) if name.endswith("_from") else (
                column < start + dt.timedelta(days=1))
        if name in ("close_from", "close_to"):
            day = V.parse_date(value)
            if day is None:
                raise V.BadValue(_("not a date"))
            return (Lead.estimated_close >= day) if name == "close_from" else (
                Lead.estimated_close <= day)
        if name == "status":
            return Lead.status == settings.status_number(value)
        if name == "status_in":
            numbers = [V.parse_int(v) for v in V.parse_list(value)]
            return Lead.status.in_(numbers)
        if name == "modifiable":
            expr = acl.lead_modify_expr(session.user)
            return expr if V.parse_bool(value) else ~expr
        return super().extra_filter(session, name, value)

    def _custom_filter(self, name, value):
        # Compare as the field stores values (numbers, dates, yes/no normalised); text
        # fields match a part, like the lead's own text fields.
        from crm_tui.models import CustomValue
        from crm_tui.services.custom_fields import parse_custom_value

        conditions = []
        for custom in CustomField.select().where(CustomField.entity == "lead_type",
                                                 CustomField.name == name):
            if custom.kind in ("text", "textarea"):
                match = CustomValue.value.contains(value)
            elif custom.kind == "numeric":
                try:
                    match = CustomValue.value.in_(_numeric_spellings(value))
                except V.BadValue:
                    continue
            else:
                try:
                    match = CustomValue.value == parse_custom_value(custom, value)
                except V.BadValue:
                    continue
            conditions.append((CustomValue.field == custom.id) & match)
        if not conditions:
            return peewee.SQL("1 = 0")
        matching = CustomValue.select(CustomValue.record_id).where(
            functools.reduce(operator.or_, conditions))
        return Lead.id.in_(matching)

    def decorate(self, session, rows):
        names = settings.status_names()
        tags = tags_of([r["id"] for r in rows])
        for row in rows:
            row["status_name"] = names[row["status"]] if 0 <= row["status"] < 9 else ""
            row["tags"] = tags.get(row["id"], [])

    def get(self, session, record_id):
        row = super().get(session, record_id)
        row["activity"] = activity(session, row["id"])
        return row


def _numeric_spellings(value: str) -> list[str]:
    """Every way a numeric custom value equal to `value` may be stored (0 to 6 places)."""
    number = V.parse_decimal(value, 6)
    if number is None:
        return [""]
    out = []
    for places in range(7):
        exact = number.quantize(Decimal(1).scaleb(-places))
        if exact == number:
            out.append(format(exact, "f"))
    return out


def tags_of(lead_ids: list[int]) -> dict[int, list[str]]:
    """Tag names per lead for many leads at once."""
    out: dict[int, list[str]] = {}
    for start in range(0, len(lead_ids), 500):
        query = (LeadTag.select(LeadTag.lead, Tag.name).join(Tag)
                 .where(LeadTag.lead.in_(id_list(lead_ids[start:start + 500])))
                 .order_by(Tag.name))
        # An id and a text need no conversion: the driver's rows as they come.
        for lead_id, name in database.execute(query).fetchall():
            out.setdefault(lead_id, []).append(name)
    return out


#: Longest reason a lost lead may be given (one line of its timeline).
MAX_REASON = 500


def _log_status(session: Session, lead: Lead, old: int | None, new: int,
                reason: str = "") -> LeadActivity:
    names = settings.status_names()
    old_name = names[old] if old is not None and 0 <= old < 9 else "?"
    text = f"status {old_name} -> {names[new]}"
    if reason:
        text += f"\nReason: {reason}"
    return LeadActivity.create(lead=lead.id, kind="status", author=session.login,
                               created=session.clock.now(), text=text)


def _reason(lead_id: int, raw: object) -> str:
    """A move's reason from outside: one line, trimmed, at most MAX_REASON characters."""
    try:
        return V.parse_text(raw, MAX_REASON)
    except V.BadValue as exc:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead_id}", "reason", str(raw), str(exc)) from exc


def set_status(session: Session, lead_id: int, status: int, reason: str = "") -> None:
    """Move a lead straight to another pipeline status and log it in its activity.

    One move is one activity entry and one history row, however many statuses lie between
    the old and the new one. `reason` (one line) is written into that entry.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 8:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead_id}", "status", status,
                                   _("must be a status number from 0 to 8"))
    reason = _reason(lead_id, reason)
    kind = get_kind("lead")
    with write_transaction():
        lead = kind.load(session, lead_id)
        kind.check_modify(session, lead)
        if lead.status == status:
            return
        old = lead.status
        lead.status = status
        lead.updated = session.clock.now()
        lead.save(only=[Lead.status, Lead.updated])
        _log_status(session, lead, old, status, reason)
        history.record(session, "lead", lead.id, "change", {"status": [old, status]})


def mark_won(session: Session, lead_id: int) -> None:
    """Close a lead as won (Closed successfully) in one status change.

    Raises:
        NotFound, PermissionDenied.
    """
    set_status(session, lead_id, WON_STATUS)


def mark_lost(session: Session, lead_id: int, reason: str) -> None:
    """Close a lead as lost, with the reason written into its activity.

    Raises:
        ValidationFailed: no reason, or one longer than MAX_REASON.
        NotFound, PermissionDenied.
    """
    if not _reason(lead_id, reason):
        raise ValidationFailed.one(f"{kind_name('lead')} {lead_id}", "reason", "", _("required to close as lost"))
    set_status(session, lead_id, LOST_STATUS, reason)


def add_activity(
    session: Session, lead_id: int, text: str, kind: str = "note", author: str | None = None
) -> int:
    """Add an entry to a lead's timeline (needs modify access); returns its id."""
    if kind not in ACTIVITY_KINDS:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead_id} activity", "kind", kind, _("unknown kind"))
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead_id} activity", "text", "", _("required"))
    lead_kind = get_kind("lead")
    with write_transaction():
        lead = lead_kind.load(session, lead_id)
        lead_kind.check_modify(session, lead)
        entry = LeadActivity.create(lead=lead.id, kind=kind, author=author or session.login,
                                    created=session.clock.now(), text=text)
        lead.updated = session.clock.now()
        lead.save(only=[Lead.updated])
        history.activity(session, "lead", lead.id, kind, text)
    return entry.id


def activity(session: Session, lead_id: int, limit: int = 200) -> list[dict]:
    """A lead's timeline, newest first, each entry with its attachments' names.

    The owner reading it has seen its new mail (the marker and count go)."""
    lead = get_kind("lead").load(session, lead_id)
    from crm_tui.services import mail_seen

    mail_seen.seen(session, lead)
    entries = list(
        LeadActivity.select()
        .where(LeadActivity.lead == lead.id)
        .order_by(LeadActivity.created.desc(), LeadActivity.id.desc())
        .limit(limit)
    )
    files: dict[int, list[dict]] = {}
    if entries:
        query = Attachment.select().where(Attachment.owner_kind == "lead_activity",
                                          Attachment.owner_id.in_([e.id for e in entries]))
        for att in query:
            files.setdefault(att.owner_id, []).append(
                {"id": att.id, "name": att.original_name, "size": att.size})
    # Outgoing mail shows its outbox state: queued, sent or failed, with the server's answer.
    from crm_tui.services.outbox import for_activities

    mail = for_activities([e.id for e in entries if e.kind == "email_out"])
    rows = [
        {"id": e.id, "kind": e.kind, "author": e.author, "created": V.render(e.created),
         "text": e.text, "attachments": files.get(e.id, [])}
        for e in entries
    ]
    for row in rows:
        if row["id"] in mail:
            row["mail"] = mail[row["id"]]
    return rows


def open_statuses() -> tuple[int, ...]:
    """The status numbers of open leads."""
    return OPEN_STATUSES


def closed_statuses() -> tuple[int, ...]:
    """The status numbers of closed leads."""
    return CLOSED_STATUSES


def add_note(session: Session, lead_id: int, text: str) -> int:
    """Add a note to a lead's timeline (needs modify access); returns the entry id."""
    return add_activity(session, lead_id, text, "note")


def attach_file(session: Session, lead_id: int, original_name: str, data: bytes,
                note: str = "") -> int:
    """Attach a file to a lead as a timeline entry; returns the entry id.

    The entry and the attachment are written together: a refusal leaves neither.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    from crm_tui.services import attachments

    name = attachments.display_name(original_name)
    text = V.parse_text(note or f"Attached {name}", None, single_line=False).strip()
    kind = get_kind("lead")
    with write_transaction():
        lead = kind.load(session, lead_id)
        kind.check_modify(session, lead)
        entry = LeadActivity.create(lead=lead.id, kind="note", author=session.login,
                                    created=session.clock.now(), text=text)
        lead.updated = session.clock.now()
        lead.save(only=[Lead.updated])
        attachments.add(session, "lead_activity", entry.id, name, data)
        history.activity(session, "lead", lead.id, "note", text, files=[name])
    return entry.id


def attach_local_file(session: Session, lead_id: int, path: str, note: str = "") -> int:
    """Attach a file the operator names on his own machine; returns the timeline entry id.

    Raises:
        ValidationFailed: the file cannot be read or is too large.
        NotFound, PermissionDenied.
    """
    from crm_tui.services.attachments import read_local_file

    name, data = read_local_file(path)
    return attach_file(session, lead_id, name, data, note)


# --- catalogues the lead screens offer --------------------------------------------------------


def status_choices() -> list[tuple[int, str]]:
    """Every status as (number, name as the user reads it), in pipeline order."""
    return list(enumerate(settings.status_labels()))


def tag_chips_of(lead_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """(name, colour) of the tags of many leads at once, by lead id."""
    out: dict[int, list[tuple[str, str]]] = {}
    for start in range(0, len(lead_ids), 500):
        query = (LeadTag.select(LeadTag.lead, Tag.name, Tag.colour).join(Tag)
                 .where(LeadTag.lead.in_(id_list(lead_ids[start:start + 500])))
                 .order_by(Tag.name).tuples())
        for lead_id, name, colour in query:
            out.setdefault(lead_id, []).append((name, colour))
    return out


def tag_catalogue(session: Session) -> list[dict]:
    """Every tag the user may pick: id, name, colour."""
    return get_kind("tag").list(session)


def lead_type_catalogue(session: Session) -> list[dict]:
    """Every lead type: id, name, description."""
    return get_kind("lead-type").list(session)


def list_columns(session: Session) -> list[dict]:
    """The lead types' custom fields marked visible, to be shown as list columns.

    Returns dicts with `name`, `kind`, `lead_type` (id) and `lead_type_name`.
    """
    if not acl.can_read_catalogue(session.user):
        return []
    query = (CustomField.select(CustomField, LeadType.name.alias("type_name"))
             .join(LeadType, on=(CustomField.entity_type_id == LeadType.id))
             .where(CustomField.entity == "lead_type", CustomField.visible == True)  # noqa: E712
             .order_by(CustomField.position, CustomField.id))
    seen: set[str] = set()
    out = []
    for row in query.dicts():
        # Two types may share a field name; one column shows both.
        if row["name"] in seen:
            continue
        seen.add(row["name"])
        out.append({"name": row["name"], "kind": row["kind"],
                    "lead_type": row["entity_type_id"], "lead_type_name": row["type_name"]})
    return out


def owner_choices(session: Session) -> list[tuple[str, str]]:
    """(login, real name) of the enabled users, for owner pickers and filters."""
    if not acl.can_read_catalogue(session.user):
        return []
    from crm_tui.models import User

    query = (User.select(User.login, User.real_name).where(User.enabled == True)  # noqa: E712
             .order_by(User.login).tuples())
    return [(login, real_name or login) for login, real_name in query]


def search_choices(session: Session) -> dict[str, list]:
    """What the advanced search and mass edit offer, in one call.

    Returns `owners` [(login, name)], `statuses` [(number, name)], `lead_types`
    [(id, name)], `tags` [(name, colour)], `custom_fields` [names of lead-type fields] and
    `saved` [the user's saved search names].
    """
    from crm_tui.services import saved_searches

    readable = acl.can_read_catalogue(session.user)
    fields: list[str] = []
    if readable:
        query = (CustomField.select(CustomField.name).where(CustomField.entity == "lead_type")
                 .order_by(CustomField.position, CustomField.id).tuples())
        fields = list(dict.fromkeys(name for (name,) in query))
    return {
        "owners": owner_choices(session),
        "statuses": status_choices(),
        "lead_types": [(t["id"], t["name"]) for t in lead_type_catalogue(session)]
        if readable else [],
        "tags": [(t["name"], t["colour"]) for t in tag_catalogue(session)] if readable else [],
        "custom_fields": fields,
        "saved": saved_searches.names(session),
    }


def detail(session: Session, lead_id: int) -> dict:
    """Everything the lead detail view shows: the --json shape plus labels and rights.

    Adds `tag_chips` [(name, colour)], `custom_fields` [{name, kind, value}], `files` (the
    lead's own attachments), `modifiable`, `owner_name`, `company_name_label` and
    `lead_type_name`.
    """
    kind = get_kind("lead")
    lead = kind.load(session, lead_id)
    row = kind.get(session, lead.id)
    row["tag_chips"] = tag_chips_of([lead.id]).get(lead.id, [])
    custom = row.get("custom", {})
    row["custom_fields"] = [{"name": f.name, "kind": f.kind, "value": custom.get(f.name, "")}
                            for f in kind.custom_fields_for(lead)]
    row["files"] = [
        {"id": a.id, "name": a.original_name, "size": a.size}
        for a in Attachment.select().where(Attachment.owner_kind == "lead",
                                           Attachment.owner_id == lead.id).order_by(Attachment.id)
    ]
    row["modifiable"] = kind.can_modify(session, lead)
    owner = lead.owner if lead.owner_id is not None else None
    row["owner_name"] = (owner.real_name or owner.login) if owner is not None else ""
    # A lead is seen by its owner even when its managing company is hidden from him.
    row["company_label"] = references.title(session, "company", lead.company_id)
    row["lead_type_name"] = lead.lead_type.name if lead.lead_type_id is not None else ""
    row["fields"] = _display_fields(kind, lead, row)
    return row


def _display_fields(kind: Kind, lead: Lead, row: dict) -> list[dict[str, str]]:
    """Every field as text for the detail view: {section, key, label, kind, text}; times
    stay in ISO 8601 UTC for the face to show in local time."""
    labels = {"company": row["company_label"], "lead_type": row["lead_type_name"]}
    out = []
    for spec in kind.fields:
        value = row.get(spec.name)
        if spec.name in labels:
            text = labels[spec.name]
        elif spec.kind == "refs":
            text = ", ".join(str(v) for v in value or [])
        elif spec.kind == "int" and spec.name == "status":
            text = settings.status_label(row["status_name"])
        elif spec.kind == "bool":
            text = "yes" if value else "no"
        else:
            text = V.render_text(value)
        out.append({"section": "", "key": spec.name, "label": spec.title, "kind": spec.kind,
                    "text": text})
    sections = {}
    custom_fields = kind.custom_fields_for(lead)
    section_ids = {f.section_id for f in custom_fields if f.section_id is not None}
    if section_ids:
        from crm_tui.models import CustomFieldSection

        sections = dict(CustomFieldSection.select(CustomFieldSection.id, CustomFieldSection.name)
                        .where(CustomFieldSection.id.in_(list(section_ids))).tuples())
    for custom in custom_fields:
        value = row.get("custom", {}).get(custom.name, "")
        if custom.kind == "checkbox":
            value = {"1": "yes", "0": "no"}.get(value, value)
        out.append({"section": sections.get(custom.section_id, "Custom fields"),
                    "key": f"custom.{custom.name}", "label": custom.name, "kind": custom.kind,
                    "text": value})
    return out


# --- duplicates and merging -------------------------------------------------------------------


#: An existing lead that a new one resembles (the rule lives in crm_tui.services.duplicates).
Duplicate = duplicates.Duplicate


def find_duplicates(
    session: Session, values: Mapping[str, object], *, exclude_id: int | None = None,
    limit: int = 10,
) -> list[Duplicate]:
    """Visible leads that `values` (lead field names) would duplicate: the same email
    (trimmed, lower case), or the same company name and full name. Leads the user may not
    see are never reported (that would reveal them)."""
    return duplicates.find(session, "lead", values, exclude_id=exclude_id, limit=limit)


@dataclass(frozen=True)
class CreatedLead:
    """The outcome of `create_lead`: the new id and the leads it resembles."""

    id: int
    duplicates: tuple[Duplicate, ...] = ()


def create_lead(
    session: Session, raw: Mapping[str, object], *, on_duplicate: str = "create",
    note: str = "",
) -> CreatedLead:
    """Create a lead, checking for duplicates first (the one entry point of every face).

    Args:
        raw: Field values by lead field name (as `crm add lead` takes them).
        on_duplicate: "create" creates anyway and reports the duplicates; "refuse" raises
            Conflict and writes nothing.
        note: An extra timeline entry written with the lead (e.g. where it came from).

    Raises:
        PermissionDenied, ValidationFailed, Conflict.
    """
    if on_duplicate not in ("create", "refuse"):
        raise ValueError(f"unknown duplicate policy {on_duplicate!r}")
    kind = get_kind("lead")
    with write_transaction():
        # Under the write lock, so two submissions of the same person cannot both pass.
        duplicates = find_duplicates(session, raw)
        lead_id = kind.create(session, dict(raw))
        if duplicates and on_duplicate == "refuse":
            # Raising rolls the new row back; validation problems were reported first.
            raise Conflict(_("the lead resembles {records}: open or merge it instead").format(
                records=", ".join(d.describe() for d in duplicates)))
        if note.strip():
            LeadActivity.create(lead=lead_id, kind="note", author=session.login,
                                created=session.clock.now(), text=note.strip())
        if duplicates:
            # The timeline keeps the warning, so whoever opens the lead can merge it later.
            LeadActivity.create(
                lead=lead_id, kind="note", author=session.login, created=session.clock.now(),
                text="Possible duplicate of " + ", ".join(d.describe() for d in duplicates))
    return CreatedLead(lead_id, tuple(duplicates))


def merge(session: Session, keep_id: int, other_id: int) -> None:
    """Fold lead `other_id` into `keep_id` (see `crm_tui.services.merging.merge`).

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    from crm_tui.services.merging import merge as merge_records

    merge_records(session, "lead", _lead_id(keep_id), _lead_id(other_id))


def merge_values(session: Session, lead_id: int, raw: Mapping[str, object]) -> None:
    """Fold the values of a would-be new lead into an existing one instead of creating it.

    Empty fields of the lead are filled; values that differ from what the lead holds are
    kept as a note on its timeline, so nothing submitted is lost.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    kind = get_kind("lead")
    with write_transaction():
        lead = kind.load(session, lead_id)
        kind.check_modify(session, lead)
        probe = Lead(full_name=lead.full_name)
        parsed, _custom, problems = kind.parse(session, probe, dict(raw), creating=False)
        if problems:
            raise ValidationFailed(problems)
        fills: dict[str, object] = {}
        differing: list[str] = []
        for name, value in parsed.items():
            if name in ("tags", "status") or value in (None, "", []):
                continue
            current = getattr(lead, kind.field(name).column + ("_id" if name in (
                "owner", "company", "lead_type") else ""), None)
            if isinstance(value, peewee.Model):
                value = value.id
            if current in (None, ""):
                fills[name] = raw[name]
            elif str(current) != str(value):
                differing.append(f"{name}: {value}")
        if fills:
            kind.update(session, lead.id, fills)
        text = "Merged a new submission of this lead"
        if differing:
            text += ":\n" + "\n".join(differing)
        LeadActivity.create(lead=lead.id, kind="change", author=session.login,
                            created=session.clock.now(), text=text)


def _lead_id(value: object) -> int:
    number = V.parse_int(value) if not isinstance(value, int) else value
    if number is None:
        raise ValidationFailed.one("lead", "id", value, _("not a lead id"))
    return number


# --- deleting ---------------------------------------------------------------------------------


def drop_attachments(lead_ids: list[int]) -> list[str]:
    """Delete the attachment rows of leads and of their timeline entries.

    Returns the stored file names, to be removed once the transaction has committed.
    """
    stored: list[str] = []
    for start in range(0, len(lead_ids), 500):
        chunk = lead_ids[start:start + 500]
        entries = LeadActivity.select(LeadActivity.id).where(LeadActivity.lead.in_(chunk))
        owned = (((Attachment.owner_kind == "lead") & Attachment.owner_id.in_(chunk))
                 | ((Attachment.owner_kind == "lead_activity")
                    & Attachment.owner_id.in_(entries)))
        rows = list(Attachment.select(Attachment.id, Attachment.stored_name).where(owned)
                    .tuples())
        if rows:
            Attachment.delete().where(Attachment.id.in_([r[0] for r in rows])).execute()
            stored.extend(r[1] for r in rows)
    return stored


def remove_files(stored_names: Iterable[str]) -> None:
    """Remove stored attachment files whose rows are gone (best effort)."""
    from crm_tui.services.attachments import path_of

    for name in stored_names:
        try:
            path_of(name).unlink(missing_ok=True)
        except OSError:
            # A file that cannot be removed now is only wasted space, never wrong data.
            continue


def _delete_leads(lead_ids: list[int]) -> list[str]:
    """Delete leads and what hangs off them (inside the caller's transaction)."""
    from crm_tui.models import CustomValue

    stored = drop_attachments(lead_ids)
    lead_fields = CustomField.select(CustomField.id).where(CustomField.entity == "lead_type")
    for start in range(0, len(lead_ids), 500):
        chunk = lead_ids[start:start + 500]
        CustomValue.delete().where(CustomValue.record_id.in_(chunk),
                                   CustomValue.field.in_(lead_fields)).execute()
        # Tags, timeline and sent-mail rows go by ON DELETE CASCADE.
        Lead.delete().where(Lead.id.in_(chunk)).execute()
    search.forget("lead", lead_ids)
    return stored
