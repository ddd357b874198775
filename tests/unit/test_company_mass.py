"""Mass operations on companies, on both backends: a field set on many, every company of a
manager given to another, each company checked by its own rules, one history row each, and
a refusal that names nothing the operator may not see."""

from __future__ import annotations

import json

import pytest

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.models import Company, History
from crm_tui.services import company_mass
from crm_tui.services.company_mass import CompanyMassRefused
from crm_tui.services.records import get_kind


@pytest.fixture
def firms(any_world):
    """Besides the worked example: Sub C (under My company, managed by user1) and Hidden
    Root (no parent, managed by user1), which manager1 may not see."""
    admin = any_world.session("admin")
    kind = get_kind("company")
    parent = str(any_world.cid("My company"))
    any_world.companies["Sub C"] = kind.create(admin, {"name": "Sub C", "parent": parent,
                                                       "manager": "user1"})
    any_world.companies["Hidden Root"] = kind.create(admin, {"name": "Hidden Root",
                                                             "manager": "user1"})
    return any_world


def changes_of(company_id: int) -> list[dict]:
    return [json.loads(row.changes) for row in History.select().where(
        History.kind == "company", History.record_id == company_id,
        History.action == "change").order_by(History.id)]


def test_a_field_set_on_many_companies_writes_one_history_row_each(firms):
    session = firms.session("manager1")
    ids = [firms.cid("Customer #A"), firms.cid("Customer #B"), firms.cid("Sub C")]
    get_kind("company").update(firms.session("admin"), ids[1], {"country": "Spain"})
    result = company_mass.mass_set(session, ids, "country", "Spain")
    assert (result.changed, result.unchanged, result.refused) == ([ids[0], ids[2]], [ids[1]],
                                                                  [])
    assert {Company.get_by_id(i).country for i in ids} == {"Spain"}
    for company_id in (ids[0], ids[2]):
        rows = changes_of(company_id)
        assert len(rows) == 1 and rows[0]["country"] == [None, "Spain"]
        assert History.get(History.record_id == company_id, History.kind == "company",
                           History.action == "change").login == "manager1"
    assert result.summary() == "country: 2 companies changed, 1 already so"


def test_a_company_he_may_not_see_is_refused_as_missing_and_nothing_is_written(firms):
    session = firms.session("manager1")
    hidden = firms.cid("Hidden Root")
    ids = [firms.cid("Customer #A"), hidden]
    with pytest.raises(CompanyMassRefused) as caught:
        company_mass.mass_set(session, ids, "country", "Peru")
    message = str(caught.value)
    assert f"company {hidden} does not exist" in message
    assert "Hidden Root" not in message and "user1" not in message
    assert Company.get_by_id(ids[0]).country == ""
    assert changes_of(ids[0]) == []
    # Asked to change the others only: the visible one changes, the hidden one is reported.
    result = company_mass.mass_set(session, ids, "country", "Peru", partial=True)
    assert result.changed == [ids[0]] and [i for i, _ in result.refused] == [hidden]
    assert Company.get_by_id(hidden).country == ""


def test_every_company_of_a_manager_goes_to_another(firms):
    session = firms.session("manager1")
    result = company_mass.reassign_manager(session, "user1", "manager1")
    # Hidden Root is user1's too, but manager1 may not see it: not changed, not mentioned.
    assert result.changed == [firms.cid("Customer #A"), firms.cid("Sub C")]
    assert result.refused == [] and result.unchanged == []
    managers = {c.name: c.manager.login for c in Company.select() if c.manager_id}
    assert managers["Customer #A"] == managers["Sub C"] == "manager1"
    assert managers["Hidden Root"] == "user1"
    for name in ("Customer #A", "Sub C"):
        rows = changes_of(firms.cid(name))
        assert len(rows) == 1 and rows[0]["manager"] == ["user1", "manager1"]
    assert changes_of(firms.cid("Hidden Root")) == []
    # Nothing of user1's left that manager1 sees.
    assert company_mass.companies_of_manager(session, "user1") == []


def test_companies_he_could_no_longer_change_are_refused(firms):
    # user2 belongs to Customer #A, not My company: once hers, manager1 could not change the
    # companies any more, so each is refused, by a name manager1 sees.
    session = firms.session("manager1")
    with pytest.raises(CompanyMassRefused) as caught:
        company_mass.reassign_manager(session, "user1", "user2")
    assert "Customer #A" in str(caught.value) and "Hidden Root" not in str(caught.value)
    assert Company.get(Company.name == "Customer #A").manager.login == "user1"
    result = company_mass.reassign_manager(session, "user1", "user2", partial=True)
    assert result.changed == [] and len(result.refused) == 2
    assert changes_of(firms.cid("Customer #A")) == []


def test_mass_operations_take_cm_and_known_values(firms):
    with pytest.raises(PermissionDenied):
        company_mass.mass_set(firms.session("user1"), [firms.cid("Customer #A")],
                              "country", "Spain")
    admin = firms.session("admin")
    with pytest.raises(ValidationFailed):
        company_mass.mass_set(admin, [firms.cid("Customer #A")], "name", "X")
    with pytest.raises(ValidationFailed):
        company_mass.reassign_manager(admin, "user1", "nobody")
    with pytest.raises(ValidationFailed):
        company_mass.mass_set(admin, [firms.cid("Customer #A")], "manager", "nobody")
    assert Company.get(Company.name == "Customer #A").manager.login == "user1"
