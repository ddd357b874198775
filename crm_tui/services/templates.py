"""CRM mail templates, visible to the users of their managing company."""

from __future__ import annotations

import peewee

from crm_tui import acl
from crm_tui.errors import PermissionDenied, Problem
from crm_tui.i18n import _
from crm_tui.models import MailTemplate
from crm_tui.services import values as V
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.records import Field, register


@register
class MailTemplateKind(CatalogueKind):
    """Mail templates with the `_DEST_NAME_ _DEST_EMAIL_ _SRC_NAME_ _SRC_EMAIL_` macros."""

    name = "mail-template"
    model = MailTemplate
    fields = (
        Field("name", required=True, max_length=100),
        Field("language", max_length=10),
        Field("subject", max_length=300),
        Field("body", "textarea"),
        Field("company", "ref", ref="company"),
    )

    def view_expr(self, session):
        user = session.user
        if acl.is_admin(user):
            return peewee.SQL("1 = 1")
        if not acl.has(user, "CR"):
            return peewee.SQL("1 = 0")
        expr = MailTemplate.company.is_null()
        if user.company_id is not None:
            expr |= MailTemplate.company == user.company_id
        return expr

    def check_view(self, session, obj):
        user = session.user
        if acl.is_admin(user):
            return
        if not acl.has(user, "CR") or (
            obj.company_id is not None and obj.company_id != user.company_id
        ):
            raise PermissionDenied(_("{login} may not view {record}").format(login=session.login, record=self.label(obj)))

    def check_write_any(self, session):
        if not acl.can_manage_lead_catalogue(session.user):
            raise PermissionDenied(_("{login} may not change mail templates").format(login=session.login))

    def defaults(self, session, obj):
        obj.language = "en"

    def validate(self, session, obj, parsed, problems):
        # One name per language and managing company, compared as people compare names:
        # "Welcome", "WELCOME" and "Welcome " are one template.
        same_place = MailTemplate.select(MailTemplate.id, MailTemplate.name).where(
            peewee.fn.LOWER(MailTemplate.language) == (obj.language or "").lower(),
            MailTemplate.company.is_null() if obj.company_id is None
            else MailTemplate.company == obj.company_id)
        if obj.id is not None:
            same_place = same_place.where(MailTemplate.id != obj.id)
        key = V.name_key(obj.name or "")
        if any(V.name_key(name) == key for _id, name in same_place.tuples()):
            reason = (_("another mail template of no company in {language!r} already has it")
                      if obj.company_id is None else
                      _("another mail template of this company in {language!r} already has it"))
            problems.append(Problem(self.label(obj), "name", obj.name,
                                    reason.format(language=obj.language)))
