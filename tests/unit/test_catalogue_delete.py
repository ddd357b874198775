"""Deleting catalogue entries that records use: refused unless the user may change every
record that uses it; a superadmin is told how many and confirms with --force; nobody else
is told a count."""

from __future__ import annotations

import re

import pytest

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.models import Company, CompanyRole, Contract, CustomField, LeadTag
from crm_tui.services import catalogue
from crm_tui.services.records import get_kind


def add_keeper(world) -> None:
    """A user of My company who manages catalogues (CR, CM) but may change no company."""
    admin = world.session("admin")
    get_kind("profile").create(admin, {"name": "Catalogue keeper", "bits": "CR,CM"})
    get_kind("user").create(admin, {"login": "keeper", "profiles": "Catalogue keeper",
                                    "company": str(world.cid("My company")),
                                    "password": "keeper-pw"})


def role_used_by(world, *companies: str) -> int:
    admin = world.session("admin")
    role = get_kind("role").create(admin, {"name": "Reseller" + "s" * len(companies)})
    for name in companies:
        get_kind("company").update(admin, world.cid(name), {"role": str(role)})
    return role


def test_an_unused_entry_goes_at_once(any_world):
    role = get_kind("role").create(any_world.session("admin"), {"name": "Unused"})
    get_kind("role").delete(any_world.session("manager1"), role)
    assert CompanyRole.get_or_none(CompanyRole.id == role) is None


def test_a_user_who_may_change_every_user_of_it_deletes_it(any_world):
    role = role_used_by(any_world, "Customer #A", "Customer #B")
    get_kind("role").delete(any_world.session("manager1"), role)
    assert CompanyRole.get_or_none(CompanyRole.id == role) is None
    assert Company.select().where(Company.role.is_null(False)).count() == 0


def test_records_hidden_from_the_user_keep_it_and_no_count_is_told(any_world):
    role = role_used_by(any_world, "Customer #A", "My company")
    with pytest.raises(PermissionDenied) as refused:
        get_kind("role").delete(any_world.session("manager1"), role)
    assert catalogue.NOT_SEEN in str(refused.value)
    assert not re.search(r"\d", str(refused.value))
    assert "My company" not in str(refused.value)
    note = catalogue.usage_note(any_world.session("manager1"), "role", role)
    assert catalogue.NOT_SEEN in note and not re.search(r"\d", note)
    assert CompanyRole.get_or_none(CompanyRole.id == role) is not None
    assert Company.get(Company.id == any_world.cid("My company")).role_id == role


def test_records_the_user_may_see_but_not_change_keep_it(any_world):
    add_keeper(any_world)
    role = role_used_by(any_world, "Customer #A")
    with pytest.raises(PermissionDenied) as refused:
        get_kind("role").delete(any_world.session("keeper"), role)
    assert catalogue.NOT_CHANGED in str(refused.value)
    assert CompanyRole.get_or_none(CompanyRole.id == role) is not None


def test_a_superadmin_is_told_how_many_and_forces_it(any_world):
    admin = any_world.session("admin")
    role = role_used_by(any_world, "Customer #A", "My company")
    with pytest.raises(ValidationFailed) as refused:
        get_kind("role").delete(admin, role)
    assert "used by 2 companies" in str(refused.value) and "--force" in str(refused.value)
    assert "2 companies" in catalogue.usage_note(admin, "role", role)
    get_kind("role").delete(admin, role, force=True)
    assert CompanyRole.get_or_none(CompanyRole.id == role) is None
    assert Company.select().where(Company.role.is_null(False)).count() == 0


def test_a_forced_contract_type_leaves_its_contracts_without_it(any_world):
    admin = any_world.session("admin")
    ctype = get_kind("contract-type").create(admin, {"name": "Hosting"})
    from crm_tui.services import contracts

    contracts.add_type_field(admin, ctype, {"name": "Plan", "kind": "text"})
    contract = get_kind("contract").create(admin, {
        "name": "Web", "company": str(any_world.cid("My company")), "contract_type": str(ctype),
        "custom": {"Plan": "Gold"}})
    with pytest.raises(PermissionDenied, match=catalogue.NOT_SEEN):
        get_kind("contract-type").delete(any_world.session("manager1"), ctype)
    with pytest.raises(ValidationFailed, match="used by 1 contract:"):
        get_kind("contract-type").delete(admin, ctype)
    get_kind("contract-type").delete(admin, ctype, force=True)
    assert Contract.get(Contract.id == contract).contract_type_id is None
    assert not CustomField.select().where(CustomField.entity_type_id == ctype,
                                          CustomField.entity == "contract_type").exists()


def test_fields_sections_tags_and_lead_types_count_their_records(any_world):
    from tests.unit.lead_world import grant_lead_bits

    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    section = get_kind("section").create(admin, {"name": "Banking"})
    field = get_kind("field").create(admin, {"name": "IBAN", "kind": "text",
                                             "entity": "company", "section": str(section)})
    get_kind("company").update(admin, any_world.cid("My company"), {"custom": {"IBAN": "ES1"}})
    tag = get_kind("tag").create(admin, {"name": "vip"})
    ltype = get_kind("lead-type").create(admin, {"name": "Inbound"})
    get_kind("lead").create(admin, {"full_name": "Hidden Lead", "email": "h@example.com",
                                    "company": str(any_world.cid("My company")),
                                    "tags": "vip", "lead_type": str(ltype)})
    manager1 = any_world.session("manager1")
    for kind, entry in (("section", section), ("field", field), ("tag", tag),
                        ("lead-type", ltype)):
        with pytest.raises(PermissionDenied, match=catalogue.NOT_SEEN):
            get_kind(kind).delete(manager1, entry)
        with pytest.raises(ValidationFailed, match="used by 1 "):
            get_kind(kind).delete(admin, entry)
    get_kind("tag").delete(admin, tag, force=True)
    assert LeadTag.select().count() == 0


def test_the_command_line_refuses_counts_and_forces(any_world, any_db, run_crm):
    role = role_used_by(any_world, "Customer #A", "My company")
    refused = run_crm("--user", "manager1", "delete", "role", str(role), db=any_db)
    assert refused.returncode == 3, refused.stderr
    assert catalogue.NOT_SEEN in refused.stderr and "2" not in refused.stderr
    unforced = run_crm("delete", "role", str(role), db=any_db)
    assert unforced.returncode == 1 and "used by 2 companies" in unforced.stderr
    forced = run_crm("delete", "role", str(role), "--force", db=any_db)
    assert forced.returncode == 0, forced.stderr
    gone = run_crm("show", "role", str(role), db=any_db)
    assert gone.returncode != 0
    misuse = run_crm("delete", "company", str(any_world.cid("Customer #A")), "--force",
                     db=any_db)
    assert misuse.returncode == 2 and "catalogue" in misuse.stderr
