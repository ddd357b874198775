"""Why a greyed key does nothing: the one line naming what the user may not do to a record."""

from __future__ import annotations

from collections.abc import Iterable

from crm_tui.i18n import _


def refusal_text(what: str, name: str) -> str:
    """Why a greyed key does nothing: the user may not `what` ("edit", "delete") the record
    called `name` (one the user sees; nothing else is named)."""
    if what == "delete":
        return _("you may not delete {name}").format(name=name)
    return _("read-only: you may not modify {name}").format(name=name)


def permission_refusal(permissions: dict[str, bool] | None, action: str, name: str,
                       modify: Iterable[str], delete: Iterable[str]) -> str | None:
    """The refusal for `action` where the services' `permissions` of a record say no: an
    action of `modify` needs "edit", one of `delete` needs "delete". None while the
    permissions are not known yet, or where they allow it (greyed for another reason)."""
    if permissions is None:
        return None
    if action in delete and not permissions.get("delete"):
        return refusal_text("delete", name)
    if action in modify and not permissions.get("edit"):
        return refusal_text("edit", name)
    return None

