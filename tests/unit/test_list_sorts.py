"""The orders of the paged lists: pages in sort order across page boundaries (keyset, both
directions) on both backends, a bad order refused, and each order walking an index."""

from __future__ import annotations

import pytest

from crm_tui.db import database
from crm_tui.errors import ValidationFailed
from crm_tui.services.list_sorts import next_sort, sorts_of
from crm_tui.services.rows import RecordRows
from tests.unit.lead_world import seed_leads


def names(rows) -> list[str]:
    return [cells[0] for _id, cells in rows]


def test_pages_follow_the_order_across_page_boundaries(any_world):
    seed_leads(any_world)
    session = any_world.session("user1")  # no superadmin: the access rule is in the query
    rows = RecordRows(session, "lead", {}, sort="estimated_sale")
    assert rows.count() == 7
    # Read forwards two at a time (each page seeks after the last one read)...
    forward = [name for start in range(0, 7, 2) for name in names(rows.page(start, 2))]
    assert forward == ["Cid Gamma", "Fay Won", "Ann Alpha", "Ben Beta", "Gus Lost",
                       "Dee Delta", "Hal Dead"]
    # ...and backwards from the end (each page seeks before the first one read).
    rows = RecordRows(session, "lead", {}, sort="estimated_sale")
    rows.count()
    backward = [names(rows.page(start, size)) for start, size in ((5, 2), (3, 2), (1, 2),
                                                                  (0, 1))]
    assert [n for page in reversed(backward) for n in page] == forward
    rows = RecordRows(session, "lead", {}, sort="company_name")
    rows.count()
    assert [n for start in range(0, 7, 4) for n in names(rows.page(start, 4))] == [
        "Ann Alpha", "Ben Beta", "Hal Dead", "Dee Delta", "Cid Gamma", "Gus Lost", "Fay Won"]


def test_an_unknown_order_is_refused_with_its_choices(any_world):
    session = any_world.session("user1")
    with pytest.raises(ValidationFailed) as caught:
        RecordRows(session, "lead", {}, sort="owner")
    assert "sort" in str(caught.value) and "owner" in str(caught.value)
    assert "full_name" in str(caught.value)


def test_the_cycle_returns_to_the_default_order():
    keys = [s.key for s in sorts_of("company")]
    assert next_sort("company", None) == keys[1]
    assert next_sort("company", keys[-1]) == keys[0]
    assert next_sort("contact", None) is None


@pytest.mark.parametrize("kind", ["lead", "company"])
def test_every_order_walks_an_index_for_an_operator(world, kind):
    """On SQLite, a page of a sorted list for an operator reads along an index: no sort of
    every matching row (EXPLAIN QUERY PLAN), the form that stays fast at a million rows."""
    seed_leads(world)
    session = world.session("user1")
    filters = {"closed": "0"} if kind == "lead" else {}
    for sort in sorts_of(kind):
        rows = RecordRows(session, kind, filters, sort=sort.key)
        rows.count()
        for descending in (False, True):
            query = rows.query(dense=True).order_by(*rows._order(descending)).limit(40)
            sql, params = query.sql()
            plan = " | ".join(row[-1] for row in
                              database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
            assert "TEMP B-TREE" not in plan, (sort.key, plan)
            if sort.attr != "id":
                assert "USING INDEX" in plan.split("|")[0] or "USING COVERING INDEX" in plan, (
                    sort.key, plan)
