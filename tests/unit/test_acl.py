"""The access rules of SPEC section 1, through the service layer, on both backends."""

from __future__ import annotations

import pytest

from crm_tui.errors import NotFound, PermissionDenied
from crm_tui.services.records import get_kind

# (login, company) -> (may view, may modify): the SPEC's worked example, exactly.
MATRIX = {
    ("user1", "Customer #A"): (True, True),
    ("user1", "Customer #B"): (True, False),
    ("user1", "My company"): (False, False),
    ("manager1", "Customer #A"): (True, True),
    ("manager1", "Customer #B"): (True, True),
    ("manager1", "My company"): (False, False),
    ("user2", "Customer #A"): (False, False),
    ("user2", "Customer #B"): (False, False),
    ("user2", "My company"): (False, False),
    ("admin", "Customer #A"): (True, True),
    ("admin", "Customer #B"): (True, True),
    ("admin", "My company"): (True, True),
}


def _can_view(world, login, company):
    try:
        get_kind("company").get(world.session(login), world.cid(company))
    except NotFound:  # a company the user may not see answers like a missing one
        return False
    return True


def _can_modify(world, login, company):
    try:
        get_kind("company").update(world.session(login), world.cid(company),
                                   {"comments": f"edited by {login}"})
    except (PermissionDenied, NotFound):
        return False
    return True


@pytest.mark.parametrize(("login", "company"), sorted(MATRIX))
def test_worked_example_matrix(any_world, login, company):
    view, modify = MATRIX[(login, company)]
    assert _can_view(any_world, login, company) is view
    assert _can_modify(any_world, login, company) is modify


def test_lists_show_exactly_the_visible_companies(any_world):
    names = {
        login: sorted(r["name"] for r in get_kind("company").list(any_world.session(login)))
        for login in ("admin", "user1", "manager1", "user2")
    }
    assert names["admin"] == ["Customer #A", "Customer #B", "My company"]
    assert names["user1"] == ["Customer #A", "Customer #B"]
    assert names["manager1"] == ["Customer #A", "Customer #B"]
    assert names["user2"] == []


def test_root_company_is_seen_only_by_its_manager_and_superadmins(world):
    kind = get_kind("company")
    root = kind.create(world.session("user1"), {"name": "Root of user1"})
    assert kind.get(world.session("user1"), root)["manager"] == "user1"
    # manager1 belongs to the same company as user1 but a root is never shared.
    with pytest.raises(NotFound):
        kind.get(world.session("manager1"), root)
    assert kind.get(world.session("admin"), root)["name"] == "Root of user1"


def test_without_cr_nothing_is_visible_even_as_manager(world):
    kind = get_kind("company")
    admin = world.session("admin")
    kind.update(admin, world.cid("Customer #B"), {"manager": "user2"})
    with pytest.raises(NotFound):
        kind.get(world.session("user2"), world.cid("Customer #B"))
    assert kind.list(world.session("user2")) == []


@pytest.mark.parametrize("kind_name", ["contact", "contract"])
def test_records_inherit_their_company_access(any_world, kind_name):
    kind = get_kind(kind_name)
    admin = any_world.session("admin")
    values = {"contact": {"full_name": "Zoë Álvarez", "email": "zoe@example.com"},
              "contract": {"name": "Support 2026"}}[kind_name]
    ids = {name: kind.create(admin, {**values, "company": str(any_world.cid(name))})
           for name in ("Customer #A", "Customer #B")}
    user1, user2 = any_world.session("user1"), any_world.session("user2")
    assert sorted(r["id"] for r in kind.list(user1)) == sorted(ids.values())
    assert kind.list(user2) == []
    kind.update(user1, ids["Customer #A"], {"description": "ok"})
    with pytest.raises(PermissionDenied):
        kind.update(user1, ids["Customer #B"], {"description": "not allowed"})
    with pytest.raises(PermissionDenied):
        kind.create(user1, {**values, "company": str(any_world.cid("Customer #B"))})
    with pytest.raises(NotFound):
        kind.get(user2, ids["Customer #A"])
    # manager1 (CM) may change both.
    kind.update(any_world.session("manager1"), ids["Customer #B"], {"description": "fine"})


def test_user_without_company_rights_cannot_create_companies(world):
    with pytest.raises(PermissionDenied):
        get_kind("company").create(world.session("user2"), {"name": "Nope"})
    assert not any(r["name"] == "Nope" for r in get_kind("company").list(world.session("admin")))


def test_a_user_cannot_hand_a_company_to_someone_he_cannot_then_modify_for(world):
    kind = get_kind("company")
    user1 = world.session("user1")
    with pytest.raises(PermissionDenied):
        kind.update(user1, world.cid("Customer #A"), {"manager": "admin"})
    assert kind.get(world.session("admin"), world.cid("Customer #A"))["manager"] == "user1"


def test_leads_follow_company_access_and_lead_bits(world):
    admin = world.session("admin")
    kind = get_kind("lead")
    get_kind("profile").create(admin, {"name": "Leads only", "bits": "CR,LR,LW"})
    get_kind("user").create(admin, {"login": "seller", "profiles": "Leads only",
                                    "company": str(world.cid("My company"))})
    lead_a = kind.create(admin, {"full_name": "Lead A", "owner": "user1",
                                 "company": str(world.cid("Customer #A"))})
    lead_b = kind.create(admin, {"full_name": "Lead B", "owner": "admin",
                                 "company": str(world.cid("Customer #B"))})
    # user1 has no lead bits: no leads, even his own.
    assert kind.list(world.session("user1")) == []
    seller = world.session("seller")
    # Both companies are visible to seller (same company as their managers): so are their
    # leads, read-only, since seller may modify neither company.
    assert sorted(r["id"] for r in kind.list(seller)) == sorted([lead_a, lead_b])
    with pytest.raises(PermissionDenied):
        kind.update(seller, lead_b, {"description": "not mine yet"})
    kind.update(admin, lead_b, {"owner": "seller"})
    kind.update(seller, lead_b, {"description": "called them"})
    with pytest.raises(PermissionDenied):
        kind.update(seller, lead_a, {"description": "not mine"})
    assert kind.list(world.session("user2")) == []
