"""What a form's type-ahead picker offers: the records a reference field may point at, by page.

A picker shows only what the user may see and, where the record being written takes its
access from the referenced company (contacts, contracts, invoices, leads, templates), only
the companies he may also modify: the ones the service would accept on save.
"""

from __future__ import annotations

from crm_tui import acl
from crm_tui.models import Company, User
from crm_tui.services import references, search
from crm_tui.services.context import Session
from crm_tui.services.records import Field, get_kind
from crm_tui.services.rows import find_titles

#: The form kinds whose `company` reference must be a company the user may modify.
_COMPANY_WRITES = frozenset({"contact", "contract", "invoice", "lead"})
#: Targets whose pickers match the title alone (their `q` filter also reads other columns
#: without an index, which a type-ahead over a million rows cannot afford).
_TITLE_ONLY = frozenset({"company", "contact"})
#: A rule matching at least this many companies is checked per row along the name index.
_MANY = 2000
#: The most a page may hold.
MAX_PAGE = 200
#: Settings that name a user by login: the settings form picks them (kind "settings").
SETTING_USERS = frozenset({"mail.lead_owner"})
#: Form keys that are no field of their kind and pick a record all the same, with the kind
#: they pick: a custom field's contract or lead type (sent within its `entity`).
FORM_REFS = {("field", "contract_type"): "contract-type", ("field", "lead_type"): "lead-type"}


def _field(kind: str, key: str) -> Field:
    field = get_kind(kind).field(key)
    if field is None or field.kind not in ("ref", "refs", "user"):
        raise KeyError(f"{kind} has no reference field {key!r}")
    return field


def choices(session: Session, kind: str, key: str, text: str, offset: int = 0,
            limit: int = 20) -> list[tuple[str, str]]:
    """A page of what the `key` field of a `kind` form may point at, matching `text`
    (accent- and case-insensitive), as (title, value): the value is what the form sends
    (`forms.submit` then validates it as ever).

    The `settings` kind has the user settings of `SETTING_USERS` as its fields, and
    `FORM_REFS` names the keys a form has beside its kind's fields.

    Raises:
        KeyError: no such reference field.
    """
    limit = max(1, min(int(limit), MAX_PAGE))
    offset = max(0, int(offset))
    if kind == "settings":
        if key not in SETTING_USERS:
            raise KeyError(f"settings have no user field {key!r}")
        return user_choices(text, offset, limit)
    if (kind, key) in FORM_REFS:
        found = find_titles(session, FORM_REFS[kind, key], text, limit, offset=offset)
        return [(title, str(record_id)) for record_id, title in found]
    field = _field(kind, key)
    if field.kind == "user":
        return user_choices(text, offset, limit)
    target = field.ref or ""
    if target == "company":
        return company_choices(session, text, offset, limit,
                               modify=key == "company" and kind in _COMPANY_WRITES,
                               own_only=kind == "mail-template")
    found = find_titles(session, target, text, limit, offset=offset,
                        title_only=target in _TITLE_ONLY)
    return [(title, str(record_id)) for record_id, title in found]


def company_choices(session: Session, text: str, offset: int = 0, limit: int = 20, *,
                    modify: bool = False, own_only: bool = False) -> list[tuple[str, str]]:
    """A page of the companies the user may see (`modify`: and modify) whose name has a
    word starting with each typed word, as (name, id): by name, or, when every typed word
    is common (thousands of companies each), along the search index (`search.along_index`:
    by the word the longest typed one starts, then oldest first).

    The access rule is the services' own (`acl`). When it holds for many companies (a
    member of My company sees nearly all of them) it is checked on each row as the name
    index is walked, so a page stops after `limit` matches instead of fetching and sorting
    every company the user may see. `own_only`: a superadmin may choose any, anyone else
    only his own company (a mail template's: he sees the templates of his company alone).
    """
    user = session.user
    rule = acl.company_modify_expr(user) if modify else acl.company_view_expr(user)
    if own_only and not acl.is_admin(user):
        rule = Company.id == (user.company_id or 0)
    if not acl.is_admin(user):
        many = Company.select(Company.id).where(rule).limit(_MANY).count() >= _MANY
        if many:
            rule = acl.row_checked(rule)
    query = Company.select(Company.id, Company.name).where(rule)
    typed = list(dict.fromkeys(search.words_of(text)))
    # Words that start with what is typed, through the search index only: a substring of a
    # word (`gistica`) would read every company on each key.
    if typed and search.all_common("company", text, ("n",)):
        # Only common words ("nimbus l", "77"): along the name index their companies sit
        # together (their names start with them), far down a million names, and along the
        # primary key a number's may sit far apart; along the search index they come at
        # once.
        query = search.along_index(query, "company", text, ("n",))
    else:
        # Each word on its own: a rare one gathers its few companies, a common one is
        # checked per company.
        for word in typed:
            query = query.where(search.match("company", word, ("n",)))
        query = query.order_by(Company.name, Company.id)
    query = query.limit(limit).offset(offset)
    return [(str(name), str(record_id)) for record_id, name in query.tuples()]


def user_choices(text: str, offset: int = 0, limit: int = 20) -> list[tuple[str, str]]:
    """Enabled users whose login or name holds `text` (accents and case aside), by login,
    as ("login (name)", login)."""
    wanted = search.normalise(text.strip())
    out: list[tuple[str, str]] = []
    skipped = 0
    query = (User.select(User.login, User.real_name).where(User.enabled)
             .order_by(User.login).tuples())
    for login, name in query:
        if wanted and wanted not in search.normalise(f"{login} {name or ''}"):
            continue
        if skipped < offset:
            skipped += 1
            continue
        out.append((f"{login} ({name})" if name and name != login else login, login))
        if len(out) >= limit:
            break
    return out


def chosen(session: Session, kind: str, key: str, value: str) -> list[tuple[str, str]]:
    """The (title, value) pairs a picker starts with for a field's current value: a
    record the user may not see reads "(not visible)" and keeps its id."""
    field = _field(kind, key)
    items = [item.strip() for item in str(value or "").split(",") if item.strip()]
    if field.kind == "user" or field.ref is None:
        return [(item, item) for item in items]
    ids = [int(item) for item in items if item.isdigit()]
    titles = references.titles(session, field.ref, ids) if ids else {}
    # A value given by name (a user's profiles) starts as the id the list gives for it,
    # so choosing it again in the list removes it instead of adding it twice.
    named = _ids_by_title(session, field.ref, [item for item in items if not item.isdigit()])
    return [(titles.get(int(item), f"#{item}"), item) if item.isdigit()
            else (item, str(named.get(item, item))) for item in items]


def _ids_by_title(session: Session, kind: str, names: list[str]) -> dict[str, int]:
    """The ids of visible records of `kind` by their exact titles (the first of a name)."""
    if not names:
        return {}
    target = get_kind(kind)
    model = target.model
    attr = getattr(model, target.title_attr, None)
    if attr is None:
        return {}
    found: dict[str, int] = {}
    for record_id, title in (target.query(session).select(model.id, attr)
                             .where(attr.in_(names)).order_by(model.id).tuples()):
        found.setdefault(str(title), record_id)
    return found
