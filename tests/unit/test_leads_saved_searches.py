"""Saved lead searches: save, load, replace, delete, per user, checked filters."""

from __future__ import annotations

import pytest

from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.models import SavedSearch
from crm_tui.services import saved_searches
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads


def test_round_trip_replace_and_delete(any_world):
    seed_leads(any_world)
    user1 = any_world.session("user1")
    filters = {"country": "Spain", "closed": "1", "tag": "vip", "custom.Units": ""}
    saved_searches.save(user1, "Spanish VIPs", filters)
    loaded = saved_searches.load(user1, "Spanish VIPs")
    assert loaded == {"country": "Spain", "closed": "1", "tag": "vip"}
    names = sorted(r["full_name"] for r in get_kind("lead").list(user1, loaded))
    assert names == ["Cid Gamma", "Fay Won"]

    saved_searches.save(user1, "Spanish VIPs", {"country": "Spain"})
    assert saved_searches.load(user1, "Spanish VIPs") == {"country": "Spain"}
    assert SavedSearch.select().count() == 1
    saved_searches.save(user1, "Open", {"closed": "0"})
    assert saved_searches.names(user1) == ["Open", "Spanish VIPs"]

    saved_searches.delete(user1, "Open")
    assert saved_searches.names(user1) == ["Spanish VIPs"]
    with pytest.raises(NotFound):
        saved_searches.delete(user1, "Open")
    with pytest.raises(NotFound):
        saved_searches.load(user1, "Open")


def test_searches_belong_to_their_user(any_world):
    seed_leads(any_world)
    saved_searches.save(any_world.session("user1"), "Mine", {"owner": "user1"})
    manager1 = any_world.session("manager1")
    assert saved_searches.names(manager1) == []
    with pytest.raises(NotFound):
        saved_searches.load(manager1, "Mine")
    saved_searches.save(manager1, "Mine", {"owner": "manager1"})
    assert saved_searches.load(any_world.session("user1"), "Mine") == {"owner": "user1"}


def test_bad_names_and_filters_are_refused(world):
    admin = world.session("admin")
    with pytest.raises(ValidationFailed, match="name"):
        saved_searches.save(admin, "  ", {})
    with pytest.raises(ValidationFailed, match="line breaks"):
        saved_searches.save(admin, "a\nb", {})
    with pytest.raises(ValidationFailed, match="colour"):
        saved_searches.save(admin, "x", {"colour": "red"})
    with pytest.raises(ValidationFailed, match="created_from"):
        saved_searches.save(admin, "x", {"created_from": "soon"})
    assert SavedSearch.select().count() == 0
