"""How a reference to another record reads for the acting user: that record's title when he
may see it, "(not visible)" when he may not, never its name.

A record the user may see can point at one he may not (a company's parent, a lead's
company, a contract's related contract, an invoice's contracts). Its id stays in --json (it
is a column of the row the user sees); every face that would show a name asks here.
"(not visible)" is text a person reads, so it comes in his language; --json and CSV exports
never carry it (they give the id, or null for a withheld figure).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from crm_tui import acl
from crm_tui.i18n import N_, gettext
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

NOT_VISIBLE = N_("(not visible)")
"""What a face shows in place of a record, or a figure, the user may not see (in English:
the faces show `not_visible()`)."""


def not_visible() -> str:
    """NOT_VISIBLE in the reader's language."""
    return gettext(NOT_VISIBLE)

_PAGE = 500


def visible_ids(session: Session, kind: str, ids: Iterable[int]) -> set[int]:
    """Those of `ids` that name records of `kind` the user may see (one query per 500)."""
    target = get_kind(kind)
    model = target.model
    wanted = sorted({i for i in ids if isinstance(i, int)})
    out: set[int] = set()
    for start in range(0, len(wanted), _PAGE):
        chunk = wanted[start:start + _PAGE]
        query = target.query(session).select(model.id).where(model.id.in_(chunk))
        out.update(record_id for (record_id,) in query.tuples())
    return out


def titles(session: Session, kind: str, ids: Iterable[int]) -> dict[int, str]:
    """The titles of referenced records by id: `not_visible()` for those the user may not
    see (ids that name no record are left out)."""
    target = get_kind(kind)
    model = target.model
    attr = getattr(model, target.title_attr, None) or model.id
    wanted = sorted({i for i in ids if isinstance(i, int)})
    seen = wanted if acl.is_admin(session.user) else visible_ids(session, kind, wanted)
    seen = set(seen)
    hidden = not_visible()
    out: dict[int, str] = {}
    for start in range(0, len(wanted), _PAGE):
        chunk = wanted[start:start + _PAGE]
        for record_id, title in model.select(model.id, attr).where(model.id.in_(chunk)).tuples():
            if record_id not in seen:
                out[record_id] = hidden
            else:
                out[record_id] = str(title) if title not in (None, "") else f"#{record_id}"
    return out


def title(session: Session, kind: str, record_id: int | None) -> str:
    """One reference as text: its title, `not_visible()`, or "" for none."""
    if record_id is None:
        return ""
    return titles(session, kind, [record_id]).get(record_id, f"#{record_id}")


def text_rows(session: Session, kind: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Copies of --json rows for a text face: a reference to a record the user may not see
    reads `not_visible()` (a visible one keeps its id), and so does a figure withheld from
    him (a company's billing without an invoice bit)."""
    target = get_kind(kind)
    hidden: dict[str, set[int]] = {}
    for field in target.fields:
        if field.kind not in ("ref", "refs") or field.ref is None:
            continue
        ids: set[int] = set()
        for row in rows:
            value = row.get(field.name)
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, list):
                ids.update(v for v in value if isinstance(v, int))
        if ids and not acl.is_admin(session.user):
            hidden[field.name] = ids - visible_ids(session, field.ref, ids)
    withheld = getattr(target, "withheld_fields", ())
    shown = not_visible()
    out = []
    for row in rows:
        row = dict(row)
        for name, ids in hidden.items():
            value = row.get(name)
            if isinstance(value, int) and value in ids:
                row[name] = shown
            elif isinstance(value, list):
                row[name] = [shown if v in ids else v for v in value]
        for name in withheld:
            if name in row and row[name] is None:
                row[name] = shown
        out.append(row)
    return out
