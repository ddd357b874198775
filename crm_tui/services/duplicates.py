"""The duplicate rule of each kind, in one place for every face that creates records.

Leads: the same email (trimmed, lower case), or the same company name and full name.
Contacts: the same email. Companies: the same name as people compare names (NFKC,
case-folded) or the same fiscal id (trimmed, lower case). Every lookup goes through an
index (see migrations 0004, 0050 and 0074), so it stays cheap on millions of rows; only
records the acting user may see are ever reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import peewee

from crm_tui import i18n
from crm_tui.db import select_in_parts, write_transaction
from crm_tui.errors import Conflict
from crm_tui.i18n import N_, _
from crm_tui.models import Company, Contact, Lead
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

#: The kinds with a duplicate rule.
KINDS = ("company", "contact", "lead")
#: The fields each kind's rule reads.
RULE_FIELDS = {"lead": ("email", "company_name", "full_name"), "contact": ("email",),
               "company": ("name", "fiscal_id")}


REASONS = (N_("same email"), N_("same company and name"), N_("same name"),
           N_("same fiscal id"))
"""Why a record resembles another, as stored in `Duplicate.reason` (English, the `--json`
word); a sentence shows it translated."""


@dataclass(frozen=True)
class Duplicate:
    """An existing record that a new one resembles, and why."""

    kind: str
    id: int
    title: str
    reason: str
    """"same email", "same company and name", "same name" or "same fiscal id" (`REASONS`)."""
    modifiable: bool = False
    """Whether the user may change it (and so merge into it)."""

    @property
    def full_name(self) -> str:
        """The title of a lead or contact (its full name)."""
        return self.title

    def describe(self) -> str:
        """One line naming the record and the reason."""
        return f"{i18n.kind_name(self.kind)} #{self.id} {self.title!r} ({i18n.gettext(self.reason)})"


def _text(values: Mapping[str, object], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def email_key(email: str) -> str:
    """The form of an email address the rules compare (and mail routing uses)."""
    return (email or "").strip().lower()


def keys(kind: str, values: Mapping[str, object]) -> list[tuple[str, str]]:
    """The rule's keys of one record, as (reason, key): two records sharing a key are
    duplicates (what an import compares within its file)."""
    out: list[tuple[str, str]] = []
    if kind in ("lead", "contact"):
        email = email_key(_text(values, "email"))
        if email:
            out.append(("same email", email))
    if kind == "lead":
        company, name = _text(values, "company_name"), _text(values, "full_name")
        if company and name:
            out.append(("same company and name", f"{company.lower()}\n{name.lower()}"))
    if kind == "company":
        name = _text(values, "name")
        if name:
            out.append(("same name", V.name_key(name)))
        fiscal_id = _text(values, "fiscal_id").lower()
        if fiscal_id:
            out.append(("same fiscal id", fiscal_id))
    return out


def _queries(kind: str, values: Mapping[str, object]) -> list[tuple[str, peewee.Expression]]:
    """(reason, condition) of each rule that applies to `values`; each condition is one
    indexed lookup."""
    lower, trim = peewee.fn.LOWER, peewee.fn.TRIM
    found: list[tuple[str, peewee.Expression]] = []
    if kind == "lead":
        key = email_key(_text(values, "email"))
        if key:
            found.append(("same email", Lead.email_key == key))
        company, name = _text(values, "company_name"), _text(values, "full_name")
        if company and name:
            # Both sides go through the database's own lower() so the expression index
            # (migration 0004) serves the lookup and both backends agree on case.
            found.append(("same company and name",
                          (lower(trim(Lead.company_name)) == lower(company))
                          & (lower(trim(Lead.full_name)) == lower(name))))
    elif kind == "contact":
        key = email_key(_text(values, "email"))
        if key:
            found.append(("same email", lower(trim(Contact.email)) == key))
    elif kind == "company":
        name = _text(values, "name")
        if name:
            # lower() (indexed, migration 0050) finds the candidates; `name_key` decides.
            found.append(("same name", (Company.name == name)
                          | (lower(Company.name) == name.lower())))
        fiscal_id = _text(values, "fiscal_id").lower()
        if fiscal_id:
            found.append(("same fiscal id", lower(trim(Company.fiscal_id)) == fiscal_id))
    return found


def find(session: Session, kind_name: str, values: Mapping[str, object], *,
         exclude_id: int | None = None, limit: int = 10) -> list[Duplicate]:
    """Visible records of a kind that `values` (field names as `crm add` takes them) would
    duplicate, by id; records the user may not see are never reported."""
    if kind_name not in KINDS:
        return []
    kind = get_kind(kind_name)
    model = kind.model
    title = getattr(model, kind.title_attr)
    visible = kind.view_expr(session)
    name_key = V.name_key(_text(values, "name")) if kind_name == "company" else ""
    found: dict[int, Duplicate] = {}
    for reason, condition in _queries(kind_name, values):
        query = model.select(model.id, title).where(condition, visible).order_by(model.id)
        for record_id, text in query.limit(limit).tuples():
            if reason == "same name" and V.name_key(text or "") != name_key:
                continue
            found.setdefault(record_id, Duplicate(kind_name, record_id, text or "", reason))
    found.pop(exclude_id, None)
    offered = sorted(found.values(), key=lambda d: d.id)[:limit]
    if not offered:
        return []
    rows = {obj.id: obj for obj in model.select().where(model.id.in_([d.id for d in offered]))}
    return [replace(d, modifiable=kind.can_modify(session, rows[d.id])) for d in offered]


def within(kind: str, rows: Sequence[Mapping[str, object]]) -> dict[int, tuple[str, int]]:
    """Rows that duplicate an earlier row of the same batch: {position: (reason, earlier)}."""
    first: dict[tuple[str, str], int] = {}
    out: dict[int, tuple[str, int]] = {}
    for position, values in enumerate(rows):
        for reason, key in keys(kind, values):
            earlier = first.setdefault((reason, key), position)
            if earlier != position and position not in out:
                out[position] = (reason, earlier)
    return out


def find_many(session: Session, kind_name: str, rows: Sequence[Mapping[str, object]],
              chunk: int = 200) -> dict[int, list[Duplicate]]:
    """`find` for many new records at once (an import): {position: duplicates}, a few
    indexed queries per `chunk` rows instead of one per row and rule (`modifiable` is
    not looked up)."""
    kind = get_kind(kind_name)
    model = kind.model
    title = getattr(model, kind.title_attr)
    visible = kind.view_expr(session)
    lower, trim = peewee.fn.LOWER, peewee.fn.TRIM
    out: dict[int, list[Duplicate]] = {}

    def add(position: int, record_id: int, text: str, reason: str) -> None:
        found = out.setdefault(position, [])
        if all(d.id != record_id for d in found):
            found.append(Duplicate(kind_name, record_id, text or "", reason))

    # Each rule: (reason, the row's key, the column expression that holds the key).
    lookups: list[tuple[str, Callable[[Mapping[str, object]], str], peewee.Node]] = []
    if kind_name in ("lead", "contact"):
        column = Lead.email_key if kind_name == "lead" else lower(trim(Contact.email))
        lookups.append(("same email", lambda v: email_key(_text(v, "email")), column))
    if kind_name == "company":
        lookups.append(("same fiscal id", lambda v: _text(v, "fiscal_id").lower(),
                        lower(trim(Company.fiscal_id))))
        lookups.append(("same name", lambda v: _text(v, "name").lower(), lower(Company.name)))
    for reason, key_of, column in lookups:
        wanted: dict[str, list[int]] = {}
        for position, values in enumerate(rows):
            key = key_of(values)
            if key:
                wanted.setdefault(key, []).append(position)

        def matching(part: list[str], column: peewee.Node = column) -> peewee.Query:
            return model.select(model.id, title, column.alias("key")).where(
                column.in_(part), visible)

        for record_id, text, key in select_in_parts(matching, list(wanted), chunk):
            for position in wanted.get(key, ()):
                if reason == "same name" and V.name_key(text or "") != V.name_key(
                        _text(rows[position], "name")):
                    continue
                add(position, record_id, text, reason)
    if kind_name == "lead":
        pairs: dict[tuple[str, str], list[int]] = {}
        for position, values in enumerate(rows):
            company, name = _text(values, "company_name"), _text(values, "full_name")
            if company and name:
                pairs.setdefault((company.lower(), name.lower()), []).append(position)
        listed = list(pairs)
        for start in range(0, len(listed), chunk):
            # Both columns of the index (migration 0004) by IN lists (a few statements per
            # chunk, cheap to render); the pairs themselves are matched below.
            part = listed[start:start + chunk]
            companies = list(dict.fromkeys(company for company, _ in part))
            names = list(dict.fromkeys(name for _, name in part))
            condition = (lower(trim(Lead.company_name)).in_([lower(c) for c in companies])
                         & lower(trim(Lead.full_name)).in_([lower(n) for n in names]))
            query = (Lead.select(Lead.id, Lead.full_name, Lead.company_name)
                     .where(condition, visible).tuples())
            for record_id, text, company in query:
                for position in pairs.get(((company or "").strip().lower(),
                                           (text or "").strip().lower()), ()):
                    add(position, record_id, text, "same company and name")
    for found in out.values():
        found.sort(key=lambda d: d.id)
    return out


def create(session: Session, kind_name: str, raw: dict[str, object], *,
           refuse: bool = False) -> tuple[int, list[Duplicate]]:
    """Create a record after looking for duplicates: (new id, the duplicates found).

    With `refuse`, a record that resembles one the user may see is not created.

    Raises:
        Conflict: `refuse` and duplicates were found (nothing written).
        PermissionDenied, ValidationFailed: as the kind's create.
    """
    if kind_name == "lead":
        from crm_tui.services.leads import create_lead

        created = create_lead(session, raw, on_duplicate="refuse" if refuse else "create")
        return created.id, list(created.duplicates)
    kind = get_kind(kind_name)
    with write_transaction():
        # Under the write lock, so two saves of the same record cannot both pass.
        found = find(session, kind_name, raw)
        if found and refuse:
            raise Conflict(_("the new {kind} resembles {records}: open or merge it instead")
                           .format(kind=i18n.kind_name(kind_name),
                                   records=", ".join(d.describe() for d in found)))
        return kind.create(session, raw), found
