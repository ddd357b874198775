"""Several operators on one record: an update writes only the fields it changed, under a row
lock, and a uniqueness race ends in the ordinary line, on both backends."""

from __future__ import annotations

import threading

import pytest

from crm_tui import db
from crm_tui.errors import ValidationFailed
from crm_tui.services.records import Kind, get_kind

FIELDS = ("country", "website")


def test_operators_changing_different_fields_keep_both_changes(any_world, monkeypatch):
    """Two operators change different fields of one company at the same moment.

    Each waits (at most a second) inside its update for the other to have read the record
    too: without the row lock both read the old values, and a write of every field would
    put the other's old value back.
    """
    company = get_kind("company")
    target = any_world.cid("Customer #B")
    meet = threading.Barrier(len(FIELDS))
    real_validate = type(company).validate

    def validate_then_meet(self, session, obj, parsed, problems):
        real_validate(self, session, obj, parsed, problems)
        try:
            meet.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass  # the other operator waits for our lock: go on alone

    monkeypatch.setattr(type(company), "validate", validate_then_meet)
    errors: list[BaseException] = []

    def operator(field: str) -> None:
        try:
            company.update(any_world.session("manager1"), target, {field: f"new {field}"})
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
        finally:
            db.close_database()

    threads = [threading.Thread(target=operator, args=(f,)) for f in FIELDS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    shown = company.get(any_world.session("admin"), target)
    assert {f: shown[f] for f in FIELDS} == {f: f"new {f}" for f in FIELDS}


def test_an_unchanged_update_writes_nothing(any_world):
    company = get_kind("company")
    session = any_world.session("admin")
    target = any_world.cid("Customer #A")
    before = company.get(session, target)
    company.update(session, target, {"name": "Customer #A"})
    assert company.get(session, target) == before


def test_a_uniqueness_race_gives_the_ordinary_line(any_world, monkeypatch):
    """The name check passed for both writers; the unique index stops the second one."""
    company = get_kind("company")
    session = any_world.session("admin")
    real_check = Kind.check_unique
    calls = {"n": 0}

    def check_passes_once(self, obj, problems):
        calls["n"] += 1
        if calls["n"] > 1:
            real_check(self, obj, problems)

    monkeypatch.setattr(Kind, "check_unique", check_passes_once)
    with pytest.raises(ValidationFailed) as refused:
        company.create(session, {"name": "My company"})
    assert str(refused.value) == ("company 'My company': field name: value 'My company': "
                                  "another company already has it")
    names = [row["name"] for row in company.list(session)]
    assert names.count("My company") == 1
