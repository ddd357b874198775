"""The generic record layer: validation, clear problems, nothing written on rejection."""

from __future__ import annotations

import pytest

from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.models import Company, Contact
from crm_tui.services.records import get_kind


def _problems(excinfo) -> list[tuple[str, str, str]]:
    return [(p.field, p.value, p.reason) for p in excinfo.value.problems]


def test_unknown_field_bad_number_bad_date_are_all_reported(admin):
    company = get_kind("company").create(admin, {"name": "Some company"})
    with pytest.raises(ValidationFailed) as excinfo:
        get_kind("contract").create(admin, {"name": "X", "company": str(company), "colour": "red",
                                            "sla": "fast", "date_begin": "2026-13-45"})
    fields = {field for field, _value, _reason in _problems(excinfo)}
    assert fields == {"colour", "sla", "date_begin"}
    assert "field sla: value 'fast': not a whole number" in str(excinfo.value)


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("parent", "999", "no such company"),
    ("manager", "nobody", "no such user"),
    ("role", "77", "no such role"),
    ("payment_conditions", "3.5", "not a whole number"),
])
def test_bad_references_are_rejected_and_nothing_is_written(admin, field, value, reason):
    with pytest.raises(ValidationFailed) as excinfo:
        get_kind("company").create(admin, {"name": "Bad Co", field: value})
    assert _problems(excinfo) == [(field, value, reason)]
    assert not Company.select().where(Company.name == "Bad Co").exists()


def test_duplicate_unique_name_is_a_clear_problem(admin):
    kind = get_kind("company")
    kind.create(admin, {"name": "Únicа"})
    with pytest.raises(ValidationFailed) as excinfo:
        kind.create(admin, {"name": "Únicа"})
    assert _problems(excinfo) == [("name", "Únicа", "another company already has it")]


def test_parent_cycles_are_refused(admin):
    kind = get_kind("company")
    a = kind.create(admin, {"name": "A"})
    b = kind.create(admin, {"name": "B", "parent": str(a)})
    c = kind.create(admin, {"name": "C", "parent": str(b)})
    with pytest.raises(ValidationFailed) as excinfo:
        kind.update(admin, a, {"parent": str(c)})
    assert _problems(excinfo)[0][0] == "parent"
    with pytest.raises(ValidationFailed):
        kind.update(admin, a, {"parent": str(a)})
    assert kind.get(admin, a)["parent"] is None


def test_required_fields_of_contacts(admin):
    with pytest.raises(ValidationFailed) as excinfo:
        get_kind("contact").create(admin, {"full_name": "Nadie"})
    assert {p[0] for p in _problems(excinfo)} == {"email", "company"}
    assert Contact.select().count() == 0


def test_custom_fields_are_validated_by_kind(admin):
    get_kind("field").create(admin, {"name": "Tier", "kind": "combo", "entity": "company",
                                     "options": "Gold,Silver"})
    kind = get_kind("company")
    with pytest.raises(ValidationFailed) as excinfo:
        kind.create(admin, {"name": "T", "custom.Tier": "Bronze"})
    assert _problems(excinfo) == [("custom.Tier", "Bronze", "must be one of Gold, Silver")]
    cid = kind.create(admin, {"name": "T", "custom.Tier": "Gold",
                              "custom.Office Phone": "+34 600"})
    assert kind.get(admin, cid)["custom"] == {"Tier": "Gold", "Office Phone": "+34 600"}


def test_missing_record_is_not_found(admin):
    with pytest.raises(NotFound):
        get_kind("company").get(admin, 4242)


def test_filters_match_text_parts_and_exact_values(admin):
    kind = get_kind("company")
    kind.create(admin, {"name": "Fjord Logistics", "country": "Norway"})
    kind.create(admin, {"name": "Fjordane", "country": "Norway", "payment_conditions": "30"})
    kind.create(admin, {"name": "Other", "country": "Spain"})
    assert [r["name"] for r in kind.list(admin, {"name": "fjord"})] == [
        "Fjord Logistics", "Fjordane"]
    assert [r["name"] for r in kind.list(admin, {"payment_conditions": "30"})] == ["Fjordane"]
    with pytest.raises(ValidationFailed):
        kind.list(admin, {"shoe_size": "42"})


def test_money_is_decimal_and_times_are_utc(admin, clock):
    lead = get_kind("lead").create(admin, {"full_name": "Ñandú", "estimated_sale": "1234.5"})
    row = get_kind("lead").get(admin, lead)
    assert row["estimated_sale"] == "1234.50"
    assert row["created"] == "2026-01-15T09:30:00Z"
    with pytest.raises(ValidationFailed):
        get_kind("lead").create(admin, {"full_name": "X", "estimated_sale": "1e5"})


def test_list_pages_with_offset_and_limit_alone_or_together(any_world) -> None:
    kind = get_kind("company")
    admin = any_world.session("admin")
    names = [row["name"] for row in kind.list(admin)]
    assert len(names) == 3

    assert [row["name"] for row in kind.list(admin, offset=1)] == names[1:]
    assert [row["name"] for row in kind.list(admin, limit=1)] == names[:1]
    assert [row["name"] for row in kind.list(admin, limit=1, offset=2)] == names[2:3]
