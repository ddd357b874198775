"""The Python predicates of crm_tui.acl and its SQL expressions give the same answers, for every
user of the worked example, on both backends, also after managers and memberships change (the
SQL form reads each company's denormalised manager's company)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from crm_tui import acl
from crm_tui.models import Company, Contact, Contract, Invoice, Lead, User
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads

LOGINS = ("admin", "user1", "manager1", "user2", "seller")


def _seed(world) -> None:
    """The worked example with leads, contacts, contracts, invoices and a lead-only seller."""
    admin = world.session("admin")
    seed_leads(world)
    get_kind("profile").create(admin, {"name": "Leads and invoices", "bits": "CR,LR,LW,IR"})
    get_kind("user").create(admin, {"login": "seller", "profiles": "Leads and invoices",
                                    "company": str(world.cid("My company"))})
    # user2 (of Customer #A) manages a company of his own, under Customer #A.
    world.companies["Customer #C"] = get_kind("company").create(admin, {
        "name": "Customer #C", "parent": str(world.cid("Customer #A")), "manager": "user2"})
    for name in ("Customer #A", "Customer #B", "Customer #C", "My company"):
        company = str(world.cid(name))
        get_kind("contact").create(admin, {"full_name": f"Contact of {name}",
                                           "email": "c@example.com", "company": company})
        get_kind("contract").create(admin, {"name": f"Contract of {name}", "company": company})
        Invoice.create(company=world.cid(name), bill_id=f"T-{world.cid(name)}",
                       created=dt.date(2026, 1, 2), total=Decimal("10.00"))
        get_kind("lead").create(admin, {"full_name": f"Lead of {name}", "owner": "user2",
                                        "company": company})


def _visible(model, expr) -> set[int]:
    return {row_id for (row_id,) in model.select(model.id).where(expr).tuples()}


def _check_agreement(world) -> int:
    """Compare every predicate with its expression for every user; returns the checks made."""
    checks = 0
    for login in LOGINS:
        user = world.session(login).user
        pairs = [
            (Company, acl.company_view_expr(user), acl.can_view_company),
            (Company, acl.company_modify_expr(user), acl.can_modify_company),
            (Lead, acl.lead_view_expr(user), acl.can_view_lead),
            (Lead, acl.lead_modify_expr(user), acl.can_modify_lead),
            (Invoice, acl.invoice_view_expr(user), acl.can_view_invoice),
        ]
        for model, expr, predicate in pairs:
            in_sql = _visible(model, expr)
            for obj in model.select():
                assert predicate(user, obj) is (obj.id in in_sql), (
                    login, predicate.__name__, obj.id)
                checks += 1
        session = world.session(login)
        for name, model in (("contact", Contact), ("contract", Contract)):
            kind = get_kind(name)
            in_sql = _visible(model, kind.view_expr(session))
            for obj in model.select():
                assert acl.can_view_company(user, obj.company) is (obj.id in in_sql), (
                    login, name, obj.id)
                checks += 1
    return checks


def test_predicates_and_expressions_agree_on_the_worked_example(any_world):
    _seed(any_world)
    assert _check_agreement(any_world) > 200


def test_they_still_agree_after_memberships_and_managers_change(any_world):
    _seed(any_world)
    admin = any_world.session("admin")
    users, companies = get_kind("user"), get_kind("company")
    # user1 moves to Customer #A: Customer #A (his) now shares with Customer #A's people.
    users.update(admin, any_world.users["user1"], {"company": str(any_world.cid("Customer #A"))})
    assert Company.get_by_id(any_world.cid("Customer #A")).manager_company_id == (
        any_world.cid("Customer #A"))
    _check_agreement(any_world)
    # Customer #B gets a manager of Customer #A; Customer #C one of My company.
    companies.update(admin, any_world.cid("Customer #B"), {"manager": "user2"})
    companies.update(admin, any_world.cid("Customer #C"), {"manager": "manager1"})
    _check_agreement(any_world)
    # user2 leaves every company; user1 comes back.
    users.update(admin, any_world.users["user2"], {"company": ""})
    users.update(admin, any_world.users["user1"], {"company": str(any_world.cid("My company"))})
    assert Company.get_by_id(any_world.cid("Customer #B")).manager_company_id is None
    _check_agreement(any_world)


def test_user2_sees_what_his_colleagues_manage_after_a_move(world):
    """The visible effect of a membership change, through the service layer."""
    _seed(world)
    admin, kind = world.session("admin"), get_kind("company")
    get_kind("profile").create(admin, {"name": "Readers", "bits": "CR"})
    get_kind("user").update(admin, world.users["user2"], {"profiles": "Readers"})
    assert [r["name"] for r in kind.list(world.session("user2"))] == ["Customer #C"]
    get_kind("user").update(admin, world.users["user1"], {"company": str(world.cid("Customer #A"))})
    assert sorted(r["name"] for r in kind.list(world.session("user2"))) == [
        "Customer #A", "Customer #C"]
    assert User.get(User.login == "user1").company_id == world.cid("Customer #A")


def test_imported_companies_keep_their_managers_company(world):
    from crm_tui.services import imports

    _seed(world)
    data = ("name,id_parent,manager\n"
            f"Imported One,{world.cid('My company')},user1\n"
            f"Imported Two,{world.cid('My company')},user2\n").encode()
    imports.run(world.session("admin"), "companies", data, dry_run=False)
    one = Company.get(Company.name == "Imported One")
    two = Company.get(Company.name == "Imported Two")
    assert one.manager_company_id == world.cid("My company")
    assert two.manager_company_id == world.cid("Customer #A")
    _check_agreement(world)
