"""Saved lead searches ("custom searches"): named filter sets, one list per user."""

from __future__ import annotations

import json

from crm_tui.db import write_transaction
from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import SavedSearch
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

MAX_FILTERS = 50


def _name(raw: object) -> str:
    try:
        name = V.parse_text(raw, SavedSearch.name.max_length).strip()
    except V.BadValue as exc:
        raise ValidationFailed.one(kind_name("saved search"), "name", raw, str(exc)) from None
    if not name:
        raise ValidationFailed.one(kind_name("saved search"), "name", "", _("required"))
    return name


def check_filters(session: Session, filters: dict[str, object]) -> dict[str, str]:
    """Filters as text without empty values, checked the way the lead list applies them.

    Raises:
        ValidationFailed: an unknown filter or a value that does not parse.
    """
    return _clean(session, filters)


def _clean(session: Session, filters: dict[str, object]) -> dict[str, str]:
    if not isinstance(filters, dict) or len(filters) > MAX_FILTERS:
        raise ValidationFailed.one(kind_name("saved search"), "filters", "",
                                   _("must be at most {most} FIELD=VALUE filters").format(most=MAX_FILTERS))
    clean = {str(k): V.render_text(v) for k, v in filters.items() if V.render_text(v) != ""}
    # Building the query parses every filter: an unknown field or a bad value is refused
    # now rather than when the search is loaded.
    get_kind("lead").query(session, clean)
    return clean


def save(session: Session, name: str, filters: dict[str, object]) -> int:
    """Save (or replace) a named search of the acting user; returns its id.

    Raises:
        ValidationFailed: an empty name or a filter the lead list does not know.
    """
    name = _name(name)
    clean = _clean(session, filters)
    text = json.dumps(clean, ensure_ascii=False, sort_keys=True)
    with write_transaction():
        row = SavedSearch.get_or_none(SavedSearch.user == session.user.id,
                                      SavedSearch.name == name)
        if row is None:
            row = SavedSearch.create(user=session.user.id, name=name, query=text)
        else:
            row.query = text
            row.save(only=[SavedSearch.query])
    return row.id


def load(session: Session, name: str) -> dict[str, str]:
    """The filters of one of the acting user's saved searches.

    Raises:
        NotFound: the user has no search of that name.
    """
    row = SavedSearch.get_or_none(SavedSearch.user == session.user.id,
                                  SavedSearch.name == _name(name))
    if row is None:
        raise NotFound(_("saved search {name!r} does not exist").format(name=name))
    try:
        data = json.loads(row.query or "{}")
    except ValueError:
        data = {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def delete(session: Session, name: str) -> None:
    """Delete one of the acting user's saved searches.

    Raises:
        NotFound: the user has no search of that name.
    """
    with write_transaction():
        deleted = SavedSearch.delete().where(SavedSearch.user == session.user.id,
                                             SavedSearch.name == _name(name)).execute()
    if not deleted:
        raise NotFound(_("saved search {name!r} does not exist").format(name=name))


def names(session: Session) -> list[str]:
    """The names of the acting user's saved searches, alphabetically."""
    query = (SavedSearch.select(SavedSearch.name).where(SavedSearch.user == session.user.id)
             .order_by(SavedSearch.name).tuples())
    return [name for (name,) in query]
