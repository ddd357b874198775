"""Mass operations on companies: one field set on many selected companies, and every company
of one manager given to another (an operator who leaves)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import NotFound, PermissionDenied, ValidationFailed
from crm_tui.i18n import N_, _, ngettext
from crm_tui.models import Company, CompanyRole, User
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind, not_found

#: The fields a mass edit of companies sets, with the words the screens show.
MASS_FIELDS = {
    "manager": N_("manager"),
    "role": N_("role"),
    "country": N_("country"),
    "payment_conditions": N_("payment conditions"),
}


@dataclass
class CompanyMassResult:
    """What a mass operation did: changed, already so (unchanged), refused with reasons."""

    field: str
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for a status bar or stderr, in the user's language."""
        parts = [ngettext("{count} company changed", "{count} companies changed",
                          len(self.changed)).format(count=len(self.changed))]
        if self.unchanged:
            parts.append(_("{count} already so").format(count=len(self.unchanged)))
        if self.refused:
            parts.append(_("{count} refused").format(count=len(self.refused)))
        return _("{field}: {parts}").format(field=_(MASS_FIELDS[self.field]),
                                            parts=", ".join(parts))


class CompanyMassRefused(PermissionDenied):
    """Some selected companies may not be changed; nothing was written. Carries the report."""

    def __init__(self, result: CompanyMassResult, total: int) -> None:
        self.result = result
        reasons = "; ".join(reason for _id, reason in result.refused[:3])
        more = (_("; and {count} more").format(count=len(result.refused) - 3)
                if len(result.refused) > 3 else "")
        super().__init__(_("{refused} of {total} selected companies may not be changed: "
                           "{reasons}{more}").format(refused=len(result.refused), total=total,
                                                     reasons=reasons, more=more))


def can_mass_edit(session: Session) -> bool:
    """Whether the user may run mass operations on companies (CR, CW and CM; each company
    is checked on its own as well)."""
    return acl.can_manage_companies(session.user)


def _company_id(value: object) -> int:
    try:
        number = value if isinstance(value, int) else V.parse_int(value)
    except V.BadValue:
        number = None
    if number is None:
        raise ValidationFailed.one("company", "id", value, _("not a company id"))
    return number


def mass_set(session: Session, company_ids: Iterable[object], field_name: str,
             value: object, *, partial: bool = False) -> CompanyMassResult:
    """Set one field to `value` on every selected company, each through the company rules
    (the same checks, validation and history row as an edit of that company).

    All or nothing by default: when any company may not be changed, nothing is written and
    CompanyMassRefused carries the per-company report, so the caller can offer to change
    the others only (`partial=True`). A company the user may not see is refused as not
    found, exactly as an id that does not exist.

    Args:
        field_name: One of MASS_FIELDS; `value` as `crm set` takes it (a login for the
            manager, a role id, text, a number; "" clears).

    Raises:
        PermissionDenied: the user may not run mass operations on companies.
        CompanyMassRefused: some companies were refused and `partial` is False.
        ValidationFailed: an unknown field, or a value the company rules reject.
    """
    if field_name not in MASS_FIELDS:
        raise ValidationFailed.one(_("mass operation"), "field", field_name,
                                   _("must be one of {choices}").format(
                                       choices=", ".join(MASS_FIELDS)))
    if not can_mass_edit(session):
        raise PermissionDenied(_("{login} may not run mass operations on companies (they "
                                 "take CM)").format(login=session.login))
    ids = list(dict.fromkeys(_company_id(v) for v in company_ids))
    result = CompanyMassResult(field_name)
    kind = get_kind("company")
    text = "" if value is None else str(value)
    with write_transaction():
        for company_id in ids:
            before = _stored(company_id, field_name)
            try:
                # Each company in its own savepoint: a refusal undoes only its own change.
                with write_transaction():
                    kind.update(session, company_id, {field_name: text})
            except NotFound:
                result.refused.append((company_id, str(not_found("company", company_id))))
                continue
            except PermissionDenied as refusal:
                result.refused.append((company_id, str(refusal)))
                continue
            if _stored(company_id, field_name) == before:
                result.unchanged.append(company_id)
            else:
                result.changed.append(company_id)
        if result.refused and not partial:
            raise CompanyMassRefused(result, len(ids))
    return result


def _stored(company_id: int, field_name: str) -> object:
    """The field's stored value (an id for references), to tell a change from a no-op."""
    row = (Company.select(getattr(Company, field_name)).where(Company.id == company_id)
           .tuples().first())
    return row[0] if row else None


def companies_of_manager(session: Session, login: str) -> list[int]:
    """The companies managed by `login` that the user may see (others are not his to know
    of), in name order."""
    if not login.strip():
        raise ValidationFailed.one(_("reassign"), "from", login, _("give a manager's login"))
    user = User.get_or_none(User.login == login.strip())
    if user is None:
        raise ValidationFailed.one(_("reassign"), "from", login, _("no such user"))
    kind = get_kind("company")
    query = (kind.query(session).where(Company.manager == user.id)
             .select(Company.id).order_by(Company.name, Company.id))
    return [company_id for (company_id,) in query.tuples()]


def reassign_manager(session: Session, from_login: str, to_login: str, *,
                     partial: bool = False) -> CompanyMassResult:
    """Give every company that `from_login` manages (of those the user may see) to
    `to_login`: one history row per changed company, all or nothing unless `partial`.

    Raises:
        PermissionDenied, CompanyMassRefused, ValidationFailed: as `mass_set`.
    """
    if not to_login.strip():
        raise ValidationFailed.one(_("reassign"), "to", to_login, _("give a manager's login"))
    if User.get_or_none(User.login == to_login.strip()) is None:
        raise ValidationFailed.one(_("reassign"), "to", to_login, _("no such user"))
    if not can_mass_edit(session):
        raise PermissionDenied(_("{login} may not run mass operations on companies (they "
                                 "take CM)").format(login=session.login))
    ids = companies_of_manager(session, from_login)
    return mass_set(session, ids, "manager", to_login.strip(), partial=partial)


def choices(session: Session) -> dict[str, list]:
    """What the company mass edit offers: `managers` [(login, name)] and `roles`
    [(id, name)]."""
    if not acl.can_read_catalogue(session.user):
        return {"managers": [], "roles": []}
    managers = (User.select(User.login, User.real_name).where(User.enabled == True)  # noqa: E712
                .order_by(User.login).tuples())
    roles = CompanyRole.select(CompanyRole.id, CompanyRole.name).order_by(CompanyRole.name)
    return {"managers": [(login, name or login) for login, name in managers],
            "roles": list(roles.tuples())}
