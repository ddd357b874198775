"""Merging two companies, contacts or leads into one: what moves to the kept record, what
is kept as a note, and the redirect that keeps the other's id resolving."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_tui import i18n
from crm_tui.db import database, write_transaction
from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import (
    Attachment,
    Company,
    CompanyActivity,
    Contact,
    Contract,
    CustomField,
    CustomValue,
    FiledMessage,
    Invoice,
    Lead,
    LeadActivity,
    LeadTag,
    MailTemplate,
    OutboxMail,
    Redirect,
    SentMail,
    User,
)
from crm_tui.services import history, search
from crm_tui.services.context import Session
from crm_tui.services.records import Kind, get_kind, not_found

#: The kinds that can be merged (and whose old ids redirect).
MERGEABLE = ("company", "contact", "lead")

#: Fields a merge never copies nor notes: lists handled by the kind (tags).
_SKIPPED = {"tags"}


@dataclass
class MergeResult:
    """What a merge did: the kept and the other record, what moved, and whether the other
    stays as an archived record (a company that holds issued invoices)."""

    kind: str
    kept: int
    other: int
    archived: bool = False
    moved: dict[str, int] = field(default_factory=dict)
    filled: list[str] = field(default_factory=list)
    noted: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a person: what went where."""
        text = f"{self.kind} {self.other} merged into {self.kind} {self.kept}"
        moved = ", ".join(f"{count} {what}" for what, count in self.moved.items() if count)
        if moved:
            text += f" (moved {moved})"
        if self.archived:
            text += f"; {self.kind} {self.other} is kept archived: it holds issued invoices"
        return text


def merge(session: Session, kind_name: str, keep_ref: int | str,
          other_ref: int | str) -> MergeResult:
    """Fold record `other_ref` of a kind into `keep_ref` (one transaction, all or nothing).

    The kept record keeps its values; its empty fields take the other's; every other
    value of the other that differs is kept as a note on it. Activity, attachments,
    contacts, contracts, draft invoices and leads move to the kept record; issued
    invoices keep the company they were issued to, which then stays, archived. The other
    record's id redirects to the kept one. Needs the right to change both records.

    Raises:
        NotFound: either record does not exist or is hidden (the same answer).
        PermissionDenied: a record the user may see but not change.
        ValidationFailed: not a mergeable kind, or a record merged into itself.
    """
    kind = _kind(kind_name)
    owns_transaction = not database.in_transaction()
    with write_transaction():
        keep = kind._locked(kind.load(session, keep_ref))
        other = kind._locked(kind.load(session, other_ref))
        if keep.id == other.id:
            raise ValidationFailed.one(kind.label(keep), "other", other.id,
                                       _("cannot merge a {kind} into itself").format(kind=i18n.kind_name(kind_name)))
        kind.check_modify(session, keep)
        kind.check_modify(session, other)
        if Redirect.get_or_none(Redirect.kind == kind_name, Redirect.old_id == keep.id):
            raise ValidationFailed.one(kind.label(keep), "keep", keep.id,
                                       _("was itself merged into another record: keep that one"))
        result = MergeResult(kind_name, keep.id, other.id)
        theirs = kind._snapshot(session, other.id)
        fills, differing = _compare(kind, keep, kind._snapshot(session, keep.id), theirs, other)
        if fills:
            kind.update(session, keep.id, fills)
            keep = kind.model.get_by_id(keep.id)
        result.filled = sorted(fills)
        result.noted = [name for name, _value in differing]
        _note(session, kind, keep, other, differing)
        stored = _MOVERS[kind_name](session, keep, other, result)
        if not result.archived:
            history.record(session, kind_name, other.id, "delete", history.diff(theirs, {}))
            stored += _REMOVERS[kind_name](other)
        Redirect.update(new_id=keep.id).where(Redirect.kind == kind_name,
                                              Redirect.new_id == other.id).execute()
        Redirect.delete().where(Redirect.kind == kind_name, Redirect.old_id == other.id).execute()
        Redirect.create(kind=kind_name, old_id=other.id, new_id=keep.id, login=session.login,
                        at=session.clock.now())
        history.record(session, kind_name, keep.id, "merge",
                       {"merged": [None, f"#{other.id} {kind.stored_label(other)}"]})
    if owns_transaction and stored:
        from crm_tui.services.leads import remove_files

        remove_files(stored)
    return result


def follow(session: Session, kind_name: str, ref: int | str) -> tuple[int, int | None]:
    """The record a reference names, following a merge: (id, the merged id it came from).

    A record merged away resolves to the record it was merged into, when the user may see
    that one; otherwise the answer is the one for a record that does not exist.

    Raises:
        NotFound.
    """
    kind = get_kind(kind_name)
    try:
        return kind.load(session, ref).id, None
    except NotFound:
        if kind_name not in MERGEABLE or not str(ref).strip().isdigit():
            raise
        moved = Redirect.get_or_none(Redirect.kind == kind_name,
                                     Redirect.old_id == int(str(ref).strip()))
        if moved is None:
            raise
    try:
        return kind.load(session, moved.new_id).id, moved.old_id
    except NotFound:
        raise not_found(kind_name, ref) from None


def by_id(session: Session, kind_name: str, ref: int | str) -> tuple[int, str, int | None] | None:
    """The record an id names for a user, following a merge (go-to by id): (id, title, the
    merged-away id it came from, or None); None when the user may see no such record."""
    kind = get_kind(kind_name)
    try:
        if kind_name in MERGEABLE:
            found, merged_from = follow(session, kind_name, ref)
        else:
            found, merged_from = kind.load(session, ref).id, None
    except NotFound:
        return None
    obj = kind.model.get_by_id(found)
    title = getattr(obj, kind.title_attr, None) or f"#{found}"
    return found, str(title), merged_from


def merged_into(kind_name: str, record_id: int) -> int | None:
    """The record an archived (merged, yet kept) record was merged into, or None."""
    moved = Redirect.get_or_none(Redirect.kind == kind_name, Redirect.old_id == record_id)
    return None if moved is None else moved.new_id


def redirected(kind_name: str, ids: set[int] | list[int]) -> dict[int, int]:
    """{old id: kept id} for those of `ids` that were merged away (no access check: for
    routing done on the system's behalf, such as filing mail)."""
    found: dict[int, int] = {}
    ids = sorted(ids)
    for start in range(0, len(ids), 500):
        query = (Redirect.select(Redirect.old_id, Redirect.new_id)
                 .where(Redirect.kind == kind_name, Redirect.old_id.in_(ids[start:start + 500]))
                 .tuples())
        found.update(query)
    return found


def merge_values(session: Session, kind_name: str, record_id: int,
                 raw: dict[str, Any]) -> None:
    """Fold the values of a would-be new record into an existing one instead of creating it
    (a form's "merge"): its empty fields are filled, differing values kept as a note.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    kind = _kind(kind_name)
    if kind_name == "lead":
        from crm_tui.services.leads import merge_values as merge_lead_values

        merge_lead_values(session, record_id, raw)
        return
    with write_transaction():
        obj = kind.load(session, record_id)
        kind.check_modify(session, obj)
        probe = kind.model()
        given = {k: v for k, v in raw.items() if not k.startswith("custom.")}
        parsed, _custom, problems = kind.parse(session, probe, given, creating=False)
        if problems:
            raise ValidationFailed(problems)
        fills: dict[str, Any] = {}
        differing: list[tuple[str, Any]] = []
        for name, value in parsed.items():
            spec = kind.field(name)
            if spec is None or value in (None, "", []):
                continue
            if spec.kind in ("ref", "user"):
                current, value = getattr(obj, spec.column + "_id"), value.id
            else:
                current = getattr(obj, spec.column)
            if current in (None, ""):
                fills[name] = raw[name]
            elif str(current) != str(value):
                differing.append((name, value))
        if fills:
            kind.update(session, obj.id, fills)
            obj = kind.model.get_by_id(obj.id)
        if differing:
            text = (f"Merged a new submission of this {kind_name}; its differing values:\n"
                    + "\n".join(f"{name}: {value}" for name, value in differing))
            _write_note(session, kind, obj, text)


# --- comparing values ---------------------------------------------------------------------


def _kind(kind_name: str) -> Kind:
    if kind_name not in MERGEABLE:
        raise ValidationFailed.one("merge", "kind", kind_name,
                                   _("only {kinds} can be merged").format(kinds=", ".join(MERGEABLE)))
    return get_kind(kind_name)


def _empty(kind: Kind, name: str, value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    spec = kind.field(name)
    if spec is not None and spec.kind == "bool":
        # A flag set on either record holds for the merged one (a mail opt-out above all).
        return not value
    if spec is not None and spec.kind == "decimal":
        try:
            return Decimal(str(value)) == 0
        except InvalidOperation:
            return False
    return False


def _compare(kind: Kind, keep: Any, mine: dict, theirs: dict,
             other: Any) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """What the kept record takes from the other (its empty fields) and what differs (as a
    note): ({field: value}, [(field, other's value)])."""
    applicable = _applicable_custom(kind, keep, other)
    fills: dict[str, Any] = {}
    differing: list[tuple[str, Any]] = []
    for name, value in theirs.items():
        if name in _SKIPPED or _empty(kind, name, value):
            continue
        current = mine.get(name)
        if name.startswith("custom.") and name[7:] not in applicable:
            if current != value:
                differing.append((name, value))
            continue
        if name == "parent" and value == keep.id:
            continue
        if _empty(kind, name, current):
            fills[name] = value
        elif str(current) != str(value):
            differing.append((name, value))
    return fills, differing


def _applicable_custom(kind: Kind, keep: Any, other: Any) -> set[str]:
    """Custom fields the kept record can hold of the other's values."""
    if kind.custom_type_attr is None:
        return {f.name for f in kind.custom_fields_for(keep)}
    attr = kind.custom_type_attr + "_id"
    mine, theirs = getattr(keep, attr), getattr(other, attr)
    if mine is not None and mine != theirs:
        return set()
    return {f.name for f in kind.custom_fields_for(other)}


# The note is kept on the record and read later by people of any language: English, the
# record named as stored text names it (Kind.stored_label).
def _note_text(kind: Kind, other: Any, differing: list[tuple[str, Any]]) -> str:
    lines = [f"Merged {kind.stored_label(other)} (#{other.id}); its differing values:"]
    lines += [f"{name}: {value}" for name, value in differing]
    return "\n".join(lines)


def _note(session: Session, kind: Kind, keep: Any, other: Any,
          differing: list[tuple[str, Any]]) -> None:
    """Keep the other's differing values on the kept record (its activity, or for a
    contact, which has none, its description)."""
    if differing:
        _write_note(session, kind, keep, _note_text(kind, other, differing))


def _write_note(session: Session, kind: Kind, keep: Any, text: str) -> None:
    now = session.clock.now()
    if kind.name == "lead":
        LeadActivity.create(lead=keep.id, kind="change", author=session.login, created=now,
                            text=text)
    elif kind.name == "company":
        CompanyActivity.create(company=keep.id, author=session.login, created=now, text=text)
    else:
        description = f"{(keep.description or '').rstrip()}\n\n{text}".strip()
        kind.update(session, keep.id, {"description": description})


# --- what moves -----------------------------------------------------------------------------


def _moved_rows(session: Session, kind_name: str, model: Any, column: Any, other_id: int,
                keep_id: int, field_name: str, where: Any = None) -> int:
    """Point rows of `model` from the other record to the kept one, with their history."""
    query = model.select(model.id).where(column == other_id)
    if where is not None:
        query = query.where(where)
    ids = [row_id for (row_id,) in query.tuples()]
    for start in range(0, len(ids), 500):
        model.update({column: keep_id}).where(model.id.in_(ids[start:start + 500])).execute()
    history.record_many(session, kind_name, [
        (row_id, "change", {field_name: [other_id, keep_id]}) for row_id in ids])
    return len(ids)


def _move_lead(session: Session, keep: Lead, other: Lead, result: MergeResult) -> list[str]:
    moved = result.moved
    moved["activity entries"] = (LeadActivity.update(lead=keep.id)
                                 .where(LeadActivity.lead == other.id).execute())
    moved["attachments"] = (Attachment.update(owner_id=keep.id)
                            .where(Attachment.owner_kind == "lead",
                                   Attachment.owner_id == other.id).execute())
    # Mail threads follow: replies to mail sent for the other lead reach the kept one.
    SentMail.update(lead=keep.id).where(SentMail.lead == other.id).execute()
    FiledMessage.update(lead=keep.id).where(FiledMessage.lead == other.id).execute()
    OutboxMail.update(lead=keep.id).where(OutboxMail.lead == other.id).execute()
    have = {t for (t,) in LeadTag.select(LeadTag.tag).where(LeadTag.lead == keep.id).tuples()}
    for (tag_id,) in LeadTag.select(LeadTag.tag).where(LeadTag.lead == other.id).tuples():
        if tag_id not in have:
            LeadTag.create(lead=keep.id, tag=tag_id)
    LeadActivity.create(lead=keep.id, kind="change", author=session.login,
                        created=session.clock.now(),
                        text=f"merged lead #{other.id} {other.full_name!r} into this lead")
    Lead.update(updated=session.clock.now()).where(Lead.id == keep.id).execute()
    return []


def _move_contact(session: Session, keep: Contact, other: Contact,
                  result: MergeResult) -> list[str]:
    # Nothing refers to a contact: its values (compared above) are all there is.
    return []


def _move_company(session: Session, keep: Company, other: Company,
                  result: MergeResult) -> list[str]:
    from crm_tui.services.companies import membership_changed

    moved = result.moved
    moved["notes"] = (CompanyActivity.update(company=keep.id)
                      .where(CompanyActivity.company == other.id).execute())
    moved["attachments"] = (Attachment.update(owner_id=keep.id)
                            .where(Attachment.owner_kind == "company",
                                   Attachment.owner_id == other.id).execute())
    for label, model, kind_name in (("contacts", Contact, "contact"),
                                    ("contracts", Contract, "contract"),
                                    ("leads", Lead, "lead")):
        moved[label] = _moved_rows(session, kind_name, model, model.company, other.id, keep.id,
                                   "company")
    # An issued invoice keeps the customer it was issued to; drafts (and received
    # invoices, which are never issued) move.
    moved["draft invoices"] = _moved_rows(session, "invoice", Invoice, Invoice.company,
                                          other.id, keep.id, "company", Invoice.issued.is_null())
    moved["child companies"] = _moved_rows(session, "company", Company, Company.parent,
                                           other.id, keep.id, "parent", Company.id != keep.id)
    if keep.parent_id == other.id:
        Company.update(parent=other.parent_id).where(Company.id == keep.id).execute()
        history.record(session, "company", keep.id, "change",
                       {"parent": [other.id, other.parent_id]})
    members = [u for (u,) in User.select(User.id).where(User.company == other.id).tuples()]
    User.update(company=keep.id).where(User.id.in_(members)).execute()
    for user_id in members:
        membership_changed(user_id, keep.id)
    history.record_many(session, "user", [(u, "change", {"company": [other.id, keep.id]})
                                          for u in members])
    moved["users"] = len(members)
    MailTemplate.update(company=keep.id).where(MailTemplate.company == other.id).execute()
    result.archived = Invoice.select().where(Invoice.company == other.id).exists()
    if result.archived:
        text = (f"Merged into company #{keep.id} {keep.name!r}; kept archived for the "
                "invoices issued to it")
        CompanyActivity.create(company=other.id, author=session.login,
                               created=session.clock.now(), text=text)
        history.activity(session, "company", other.id, "note", text)
    return []


def _custom_entity_ids(entity: str) -> Any:
    return CustomField.select(CustomField.id).where(CustomField.entity == entity)


def _remove_lead(other: Lead) -> list[str]:
    from crm_tui.services.leads import _delete_leads

    return _delete_leads([other.id])


def _remove_contact(other: Contact) -> list[str]:
    CustomValue.delete().where(CustomValue.record_id == other.id,
                               CustomValue.field.in_(_custom_entity_ids("contact"))).execute()
    search.forget("contact", [other.id])
    other.delete_instance()
    return []


def _remove_company(other: Company) -> list[str]:
    CustomValue.delete().where(CustomValue.record_id == other.id,
                               CustomValue.field.in_(_custom_entity_ids("company"))).execute()
    search.forget("company", [other.id])
    other.delete_instance()
    return []


_MOVERS = {"lead": _move_lead, "contact": _move_contact, "company": _move_company}
_REMOVERS = {"lead": _remove_lead, "contact": _remove_contact, "company": _remove_company}


def candidates(session: Session, kind_name: str, record_id: int, text: str = "",
               limit: int = 20) -> list[tuple[int, str]]:
    """Records a user may merge into `record_id`: others of the kind he may change, matching
    `text` (words of the name or email, as the list's search), as (id, label)."""
    kind = _kind(kind_name)
    filters = {"q": text.strip()} if text.strip() else {}
    query = (kind.query(session, filters).where(kind.model.id != record_id)
             .order_by(kind.model.id.desc()).limit(limit * 3))
    found = [(obj.id, f"#{obj.id} {kind.label(obj)}") for obj in query
             if kind.can_modify(session, obj)]
    return found[:limit]
