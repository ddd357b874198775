"""Companies: the tree, its access rules, activity notes, and company roles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import peewee

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import N_plural, _, ngettext
from crm_tui.models import (
    Company,
    CompanyActivity,
    CompanyRole,
    Contact,
    Contract,
    Invoice,
    Lead,
)
from crm_tui.money import amounts_text
from crm_tui.services import history, search
from crm_tui.services import values as V
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.context import Session
from crm_tui.services.records import Field, Kind, get_kind, register


@register
class RoleKind(CatalogueKind):
    """Company roles: Customer, Supplier, Partner…"""

    name = "role"
    model = CompanyRole
    fields = (Field("name", required=True, max_length=100),)

    def used_by(self, obj):
        return [("company", Company.select(Company.id).where(Company.role == obj.id))]


@register
class CompanyKind(Kind):
    """Companies, with the access rules of SPEC section 1."""

    name = "company"
    model = Company
    custom_entity = "company"
    order_attr = "name"
    extra_filters = ("q", "modifiable")
    fields = (
        Field("name", required=True),
        Field("address", "textarea"),
        Field("fiscal_id", max_length=60),
        Field("country", max_length=100),
        Field("website"),
        Field("comments", "textarea"),
        Field("role", "ref", ref="role"),
        Field("parent", "ref", ref="company"),
        Field("manager", "user"),
        Field("payment_conditions", "int"),
        Field("last_update", "datetime", readonly=True),
        Field("billing", readonly=True),  # per currency: "1210.00 EUR; 50.00 USD"
    )

    #: Derived values that are None when withheld from the user (text faces say so).
    withheld_fields = ("billing",)

    def view_expr(self, session):
        return acl.company_view_expr(session.user)

    def check_view(self, session, obj):
        if not acl.can_view_company(session.user, obj):
            raise PermissionDenied(_("{login} may not view {record}").format(
                login=session.login, record=self.label(obj)))

    def check_write_any(self, session):
        if not acl.can_create_company(session.user):
            raise PermissionDenied(_("{login} may not change companies").format(
                login=session.login))

    def check_modify(self, session, obj):
        if not acl.can_modify_company(session.user, obj):
            raise PermissionDenied(_("{login} may not modify {record}").format(
                login=session.login, record=self.label(obj)))

    def defaults(self, session, obj):
        obj.manager = session.user

    def validate(self, session, obj, parsed, problems):
        if "name" in parsed and not obj.name.strip():
            problems.append(Problem(self.label(obj), "name", obj.name, _("required")))
        if obj.payment_conditions is not None and obj.payment_conditions < 0:
            problems.append(Problem(self.label(obj), "payment_conditions",
                                    str(obj.payment_conditions), _("cannot be negative")))
        if "parent" in parsed and parsed["parent"] is not None and obj.id is not None:
            if creates_cycle(obj.id, parsed["parent"].id):
                problems.append(Problem(self.label(obj), "parent", str(parsed["parent"].id),
                                        _("would make the company its own ancestor")))

    def before_save(self, session, obj, created):
        obj.last_update = session.clock.now()
        if created:
            obj.created = obj.last_update
        # The access rule reads the manager's company off the company row itself.
        obj.manager_company_id = acl.manager_company_of(obj.manager_id)

    # The batch forms of the hooks above, for imports: the same rules and words.

    #: acl.can_modify_company reads the manager and whether there is a parent.
    modify_fields = ("manager", "parent")

    def validate_many(self, session, records):
        if records.given("name") is None:
            return None
        problems = []
        names = records.column("name")
        # Each rule looks at every record only when some record breaks it.
        if records.given("name") and not all(map(str.strip, names)):
            problems += [(n, Problem(self._new_label(name), "name", name, _("required")))
                         for n, name in enumerate(names) if not name.strip()]
        terms = records.column("payment_conditions")
        if any(value is not None and value < 0 for value in set(terms)):
            problems += [(n, Problem(self._new_label(names[n]), "payment_conditions", str(value),
                                     _("cannot be negative")))
                         for n, value in enumerate(terms) if value is not None and value < 0]
        # A new record has no id yet, so it cannot become its own ancestor.
        problems.sort(key=lambda found: found[0])  # stable: each record's in validate's order
        return problems

    def _new_label(self, name):
        return self.label(Company(name=name))

    def before_save_many(self, session, records):
        now = session.clock.now()
        return {"last_update": now, "created": now}

    def derived_many(self, session, records):
        return {"manager_company_id": manager_companies(records.column("manager"))}

    def before_delete(self, session, obj):
        # user.company has no database-level foreign key (the two tables point at each
        # other), so the rule is kept here. The user may modify this company, so saying how
        # many records still hang off it tells him nothing he may not know; which ones it
        # does not say (some may be hidden from him).
        from crm_tui.models import User

        dependants = ((User.company, N_plural("{n} user", "{n} users")),
                      (Company.parent, N_plural("{n} child company", "{n} child companies")),
                      (Contact.company, N_plural("{n} contact", "{n} contacts")),
                      (Contract.company, N_plural("{n} contract", "{n} contracts")),
                      (Invoice.company, N_plural("{n} invoice", "{n} invoices")),
                      (Lead.company, N_plural("{n} lead", "{n} leads")))
        left = []
        for column, (one, many) in dependants:
            count = column.model.select().where(column == obj.id).count()
            if count:
                left.append(ngettext(one, many, count).format(n=count))
        if left:
            raise ValidationFailed.one(self.label(obj), "id", obj.id,
                                       _("it still has {records}: delete or move them first").format(
                                           records=", ".join(left)))
        search.forget("company", [obj.id])

    def extra_filter(self, session, name, value):
        if name == "q":
            return (search.match("company", value, fallback=Company.name.contains(value))
                    | Company.country.contains(value) | Company.fiscal_id.contains(value))
        if name == "modifiable":
            expr = acl.company_modify_expr(session.user)
            return expr if V.parse_bool(value) else ~expr
        return super().extra_filter(session, name, value)

    def decorate(self, session, rows):
        # Billing is derived from invoices: without an invoice bit it is withheld (None).
        billing = billing_of(session, [r["id"] for r in rows])
        for row in rows:
            # Per currency: EUR and USD are never added ("1210.00 EUR; 50.00 USD").
            row["billing"] = (None if billing is None
                              else amounts_text(billing.get(row["id"], {})))




def sees_invoice_amounts(session: Session) -> bool:
    """May the user see amounts derived from invoices (an invoice bit, IR, IW or IM)?"""
    user = session.user
    return acl.is_admin(user) or (acl.has(user, "CR")
                                  and any(acl.has(user, bit) for bit in acl.INVOICE_BITS))


def billing_of(session: Session, company_ids: list[int]) -> dict[int, dict[str, Decimal]] | None:
    """What each company was billed, per currency ({company id: {currency: total}}), over
    the issued invoices the user may see (credit notes subtract; see
    `invoices.billed_expr`); None when the user may not see invoice amounts."""
    from crm_tui.services.invoices import billing_by_currency

    if not sees_invoice_amounts(session):
        return None
    return billing_by_currency(company_ids, acl.invoice_view_expr(session.user))


def manager_companies(manager_ids: Sequence[int | None]) -> list[int | None]:
    """Each manager's company, by position: the `manager_company_id` of new companies."""
    from crm_tui.models import User

    wanted = {m for m in manager_ids if m is not None}
    found = dict(User.select(User.id, User.company).where(User.id.in_(list(wanted)))
                 .tuples()) if wanted else {}
    return [found.get(m) if m is not None else None for m in manager_ids]


def membership_changed(user_id: int, company_id: int | None) -> int:
    """A user now belongs to `company_id`: the companies he manages follow (same transaction).

    Returns how many companies changed.
    """
    return (Company.update(manager_company_id=company_id)
            .where(Company.manager == user_id).execute())


def refresh_manager_companies() -> None:
    """Set every company's `manager_company_id` from its manager (after bulk writes)."""
    from crm_tui.models import User

    Company.update(manager_company_id=User.select(User.company).where(
        User.id == Company.manager)).execute()


def creates_cycle(company_id: int, new_parent_id: int) -> bool:
    """True when making `new_parent_id` the parent of `company_id` would close a loop."""
    seen = set()
    current: int | None = new_parent_id
    while current is not None:
        if current == company_id:
            return True
        if current in seen:  # an existing loop (should not happen); stop walking
            return True
        seen.add(current)
        row = Company.select(Company.parent).where(Company.id == current).tuples().first()
        current = row[0] if row else None
    return False


@dataclass(frozen=True)
class TreeNode:
    """One company in the tree as the tree screen shows it."""

    id: int
    name: str
    has_children: bool
    modifiable: bool


def children(session: Session, parent_id: int | None, limit: int | None = None) -> list[TreeNode]:
    """The visible companies directly under `parent_id` (None: the visible roots).

    A visible company whose parent the user cannot see is shown as a root, so nothing
    visible is unreachable in the tree.
    """
    user = session.user
    if parent_id is None:
        if acl.is_admin(user):
            # Everything is visible: the roots are the parentless companies.
            where = Company.parent.is_null()
        else:
            # A parent the user cannot see makes a root; checked on the parent's own row
            # (a primary-key lookup), not against the list of every visible id.
            Parent = Company.alias()
            parent_visible = peewee.fn.EXISTS(
                Parent.select(Parent.id).where(Parent.id == Company.parent,
                                               acl.company_view_expr(user, Parent)))
            where = Company.parent.is_null() | ~parent_visible
    else:
        where = Company.parent == parent_id
    # Visible children are checked on the child rows themselves (an index lookup per
    # company), never against the list of every visible id, which would be rebuilt per row.
    Child = Company.alias()
    has_children = peewee.fn.EXISTS(
        Child.select(Child.id).where(Child.parent == Company.id,
                                     acl.company_view_expr(user, Child)))
    modifiable = peewee.Case(None, [(acl.company_modify_expr(user), True)], False)
    query = (
        Company.select(Company.id, Company.name, has_children.alias("kids"),
                       modifiable.alias("mod"))
        .where(where, acl.company_view_expr(user))
        .order_by(Company.name)
    )
    if limit is not None:
        query = query.limit(limit)
    return [TreeNode(i, n, bool(k), bool(m)) for i, n, k, m in query.tuples()]


def add_note(session: Session, company_id: int, text: str) -> int:
    """Add a note to a company's activity log; needs modify access. Returns the note id."""
    kind = get_kind("company")
    text = (text or "").strip()
    if not text:
        raise ValidationFailed.one("company activity", "text", "", _("required"))
    with write_transaction():
        company = kind.load(session, company_id)
        kind.check_modify(session, company)
        note = CompanyActivity.create(company=company.id, author=session.login,
                                      created=session.clock.now(), text=text)
        history.activity(session, "company", company.id, "note", text)
    return note.id


def activity(session: Session, company_id: int, limit: int = 100) -> list[dict]:
    """The company's notes, newest first."""
    company = get_kind("company").load(session, company_id)
    query = (
        CompanyActivity.select()
        .where(CompanyActivity.company == company.id)
        .order_by(CompanyActivity.created.desc(), CompanyActivity.id.desc())
        .limit(limit)
    )
    return [
        {"author": a.author, "created": V.render(a.created), "text": a.text} for a in query
    ]


def summary(session: Session, company_id: int) -> dict:
    """Counts of what hangs off a company (for its detail view), within the user's rights."""
    company = get_kind("company").load(session, company_id)
    user = session.user
    counts = {
        "contacts": Contact.select().where(Contact.company == company.id).count(),
        "contracts": Contract.select().where(Contract.company == company.id).count(),
        "invoices": Invoice.select().where(Invoice.company == company.id,
                                           acl.invoice_view_expr(user)).count(),
        "leads": Lead.select().where(Lead.company == company.id,
                                     acl.lead_view_expr(user)).count(),
        "children": Company.select().where(Company.parent == company.id,
                                           acl.company_view_expr(user)).count(),
    }
    return {"modifiable": acl.can_modify_company(user, company), **counts}
