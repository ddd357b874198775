"""The access rules of records that inherit them from their company."""

from __future__ import annotations

import peewee

from crm_tui import acl
from crm_tui.errors import PermissionDenied
from crm_tui.i18n import _, kind_name
from crm_tui.models import Company
from crm_tui.services.records import Kind


class CompanyOwnedKind(Kind):
    """A kind whose rows belong to a company and see and change what the company allows."""

    def view_expr(self, session):
        # A superadmin sees every row: no company condition at all. For others each listed
        # row checks its own company's row (one primary-key lookup), so a page read along
        # a name index stays cheap however many companies the user may see; an
        # `IN (visible companies)` list would be rebuilt for every page.
        if acl.is_admin(session.user):
            return peewee.SQL("1 = 1")
        owner = Company.alias("owner")
        return peewee.fn.EXISTS(
            owner.select(peewee.SQL("1")).where(
                owner.id == self.model.company, acl.company_view_expr(session.user, owner)
            )
        )

    def check_view(self, session, obj):
        if obj.company_id is None or not acl.can_view_company(session.user, obj.company):
            raise PermissionDenied(_("{login} may not view {record}").format(
                login=session.login, record=self.label(obj)))

    def check_write_any(self, session):
        if not acl.can_create_company(session.user):
            raise PermissionDenied(_("{login} may not change {kind} records").format(login=session.login, kind=kind_name(self.name)))

    #: check_modify reads the company alone: an import asks once per distinct company.
    modify_fields = ("company",)

    def check_modify(self, session, obj):
        if obj.company_id is None:
            return  # the missing company is reported as a validation problem
        if not acl.can_modify_company(session.user, obj.company):
            raise PermissionDenied(
                _("{login} may not modify {record} of company {name!r}").format(login=session.login, record=self.label(obj), name=obj.company.name)
            )
