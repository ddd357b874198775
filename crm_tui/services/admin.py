"""The admin screen's catalogues: which the acting user is offered, the lead status names as
a list, and deleting an entry the way `crm delete KIND ID [--force]` does."""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui import acl
from crm_tui.errors import PermissionDenied
from crm_tui.i18n import N_, _
from crm_tui.services import catalogue, forms
from crm_tui.services import settings as settings_service
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from crm_tui.services.rows import Column, Row

STATUSES = "status"
"""The catalogue of lead status names (settings `lead.status.N`, not a record kind)."""


@dataclass(frozen=True)
class Catalogue:
    """One list of the admin screen."""

    kind: str
    """The record kind (`crm list KIND`), or STATUSES."""
    title: str
    """Its name in the side list (English, marked for the catalog)."""
    columns: tuple[Column, ...]
    """The list's columns (they fit beside the side list at 80 columns)."""


def _c(key: str, label: str, width: int) -> Column:
    return Column(key, label, width)


CATALOGUES: tuple[Catalogue, ...] = (
    Catalogue("user", N_("Users"), (_c("login", N_("Login"), 12), _c("real_name", N_("Name"), 18),
                                    _c("profiles", N_("Profiles"), 18))),
    Catalogue("profile", N_("Profiles"), (_c("name", N_("Name"), 20), _c("bits", N_("Bits"), 28))),
    Catalogue("role", N_("Company roles"), (_c("name", N_("Name"), 40),)),
    Catalogue("field", N_("Custom fields"), (_c("name", N_("Name"), 15), _c("kind", N_("Kind"), 8),
                                             _c("entity", N_("Entity"), 11),
                                             _c("section", N_("Section"), 13))),
    Catalogue("section", N_("Field sections"), (_c("name", N_("Name"), 20),
                                                _c("description", N_("Description"), 28))),
    Catalogue("contract-type", N_("Contract types"), (_c("name", N_("Name"), 20),
                                                      _c("description", N_("Description"), 28))),
    Catalogue("template", N_("Contract templates"), (_c("name", N_("Name"), 20),
                                                     _c("description", N_("Description"), 28))),
    Catalogue("lead-type", N_("Lead types"), (_c("name", N_("Name"), 20),
                                              _c("description", N_("Description"), 28))),
    Catalogue("tag", N_("Tags"), (_c("name", N_("Name"), 30), _c("colour", N_("Colour"), 14))),
    Catalogue("mail-template", N_("Mail templates"), (_c("name", N_("Name"), 18),
                                                      _c("language", N_("Language"), 8),
                                                      _c("subject", N_("Subject"), 22))),
    Catalogue(STATUSES, N_("Status names"), (_c("number", N_("No."), 6),
                                             _c("name", N_("Name"), 40))),
)
"""Every catalogue, in the order the side list shows them."""

#: Only those who may change users and profiles are offered them (SPEC 1: superadmins).
_USER_KINDS = ("user", "profile")


def catalogues(session: Session) -> list[Catalogue]:
    """The catalogues the acting user is offered: users and profiles to those who may
    manage them, the others to anyone who may read catalogues (nothing else is said)."""
    user = session.user
    offered = []
    for entry in CATALOGUES:
        if entry.kind in _USER_KINDS:
            if acl.can_manage_users(user):
                offered.append(entry)
        elif entry.kind == STATUSES or acl.can_read_catalogue(user):
            offered.append(entry)
    return offered


# -- lead status names ---------------------------------------------------------------------


class StatusRows:
    """The nine lead status names as list rows (id = the status number); `text` keeps
    those whose name contains it."""

    def __init__(self, session: Session, columns: tuple[Column, ...], text: str = "") -> None:
        self.session = session
        self._columns = list(columns)
        self.text = text.strip().casefold()

    def columns(self) -> list[Column]:
        """The columns."""
        return list(self._columns)

    def _rows(self) -> list[Row]:
        names = settings_service.status_labels()
        return [(number, (str(number), name)) for number, name in enumerate(names)
                if self.text in name.casefold()]

    def count(self) -> int:
        """How many statuses match."""
        return len(self._rows())

    def page(self, offset: int, limit: int) -> list[Row]:
        """A slice of the matching statuses."""
        return self._rows()[max(0, offset):max(0, offset) + max(0, limit)]


def status_permissions(session: Session) -> dict[str, bool]:
    """What the user may do with status names (the shape of `forms.permissions`): rename
    them where settings may be changed; never add or delete one (the nine are fixed)."""
    may = forms.can_change_settings(session)
    return {"view": True, "create": False, "edit": may, "delete": False}


def status_name(session: Session, number: int) -> str:
    """The name of status `number` (0-8), as the user reads it."""
    return settings_service.status_labels()[number]


def rename_status(session: Session, number: int, name: str) -> int:
    """Rename lead status `number` (as `crm config set lead.status.N NAME`); returns the
    number.

    Raises:
        PermissionDenied: not allowed to change settings.
        FormRejected: an empty or taken name (nothing written).
    """
    key = f"lead.status.{number}"
    if name.strip() == status_name(session, number):
        # Saved unchanged (as `submit_settings` treats an unchanged value): a default name
        # shown in the user's language stays the default, read by every other user in theirs.
        return number
    forms.submit_settings(session, {key: name})
    return number


# -- deleting -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DeleteCheck:
    """Whether an entry may be deleted, and what the dialog says about it."""

    allowed: bool
    """False: `note` says why (nothing about records the user may not see)."""
    note: str
    """The refusal, or what deleting takes off records ("" when nothing uses it)."""


def delete_check(session: Session, kind: str, record_id: int) -> DeleteCheck:
    """Ask before deleting: the refusal line, or the note for the confirmation dialog
    (superadmins read how many records use the entry; others read no count)."""
    target = get_kind(kind)
    obj = target.load(session, record_id)
    try:
        if isinstance(target, CatalogueKind):
            # An entry in use is refused only for want of rights; otherwise the dialog asks.
            target.check_delete_rights(session, obj)
        else:
            target.check_delete(session, obj)
    except PermissionDenied as error:
        return DeleteCheck(False, str(error))
    return DeleteCheck(True, catalogue.usage_note(session, kind, record_id))


def delete_entry(session: Session, kind: str, record_id: int) -> None:
    """Delete an entry the user confirmed in the dialog: for a catalogue entry in use, the
    confirmation is the `--force` of the command line.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    target = get_kind(kind)
    if isinstance(target, CatalogueKind):
        target.delete(session, record_id, force=True)
    else:
        target.delete(session, record_id)


def entry_title(kind: str) -> str:
    """A catalogue's name in the current language."""
    return _(next((entry.title for entry in CATALOGUES if entry.kind == kind), kind))
