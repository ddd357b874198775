"""The orders of the paged lists: pages in sort order across page boundaries (keyset, both
directions) on both backends, a bad order refused, and each order walking an index."""

from __future__ import annotations

import pytest

from crm_tui.db import database
from crm_tui.errors import ValidationFailed
from crm_tui.services.list_sorts import next_sort, sorts_of
from crm_tui.services.records import get_kind
from crm_tui.services.rows import RecordRows
from tests.unit.lead_world import seed_leads
from tests.unit.test_billing_per_currency import billed_in_two_currencies


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
        RecordRows(session, "lead", {}, sort="shoe_size")
    assert "sort" in str(caught.value) and "shoe_size" in str(caught.value)
    assert "full_name" in str(caught.value)


def test_the_cycle_returns_to_the_default_order():
    keys = [s.key for s in sorts_of("company")]
    assert next_sort("company", None) == keys[1]
    assert next_sort("company", keys[-1]) == keys[0]
    assert next_sort("contact", None) is None


@pytest.mark.parametrize("kind", ["lead", "company"])
def test_every_order_walks_an_index_for_an_operator(world, kind):
    """On SQLite, a page of a list sorted by a column of its own table for an operator
    reads along an index: no sort of every matching row (EXPLAIN QUERY PLAN), the form that
    stays fast at a million rows. (Orders by another table's value are `indexed=False`.)"""
    seed_leads(world)
    session = world.session("user1")
    filters = {"closed": "0"} if kind == "lead" else {}
    for sort in sorts_of(kind):
        if not sort.indexed:
            continue
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


def every_page(rows: RecordRows, size: int) -> list[str]:
    """The whole list read forwards `size` rows at a time."""
    total = rows.count()
    return [name for start in range(0, total, size) for name in names(rows.page(start, size))]


def from_the_end(rows: RecordRows, size: int) -> list[str]:
    """The whole list read backwards from its end (deep pages read in reverse order)."""
    total = rows.count()
    pages = []
    for end in range(total, 0, -size):
        start = max(0, end - size)
        pages.append(names(rows.page(start, end - start)))
    return [name for page in reversed(pages) for name in page]


def sorted_leads(session, key: str, filters=None) -> list[str]:
    forward = every_page(RecordRows(session, "lead", filters or {}, sort=key), 2)
    assert every_page(RecordRows(session, "lead", filters or {}, sort=key), 3) == forward
    assert from_the_end(RecordRows(session, "lead", filters or {}, sort=key), 2) == forward
    return forward


def test_leads_sort_by_owner_tags_and_channel_in_the_database(any_world):
    seed_leads(any_world)
    session = any_world.session("user1")  # no superadmin: the access rule is in the query
    # Owner by login (manager1 before user1), ties by id (creation order).
    assert sorted_leads(session, "owner") == [
        "Ben Beta", "Dee Delta", "Gus Lost", "Ann Alpha", "Cid Gamma", "Fay Won", "Hal Dead"]
    # Tags by the first tag's name: untagged first, then hot (Ann; Cid: hot, vip), vip.
    assert sorted_leads(session, "tags") == [
        "Ben Beta", "Dee Delta", "Gus Lost", "Hal Dead", "Ann Alpha", "Cid Gamma", "Fay Won"]
    assert sorted_leads(session, "channel") == [
        "Dee Delta", "Ben Beta", "Gus Lost", "Ann Alpha", "Cid Gamma", "Fay Won", "Hal Dead"]
    # A filter and the order together: user1's own leads by tag.
    assert sorted_leads(session, "tags", {"owner": "user1"}) == [
        "Hal Dead", "Ann Alpha", "Cid Gamma", "Fay Won"]


def test_leads_sort_by_a_custom_value_numbers_as_numbers(any_world):
    ids = seed_leads(any_world)
    admin = any_world.session("admin")
    type_id = get_kind("lead-type").create(admin, {"name": "Hardware"})
    fields = get_kind("field")
    for name, kind in (("Units", "numeric"), ("Model", "text")):
        fields.create(admin, {"name": name, "kind": kind, "entity": f"lead_type:{type_id}",
                              "visible": "1"})
    leads = get_kind("lead")
    for name, units, model in (("Ann Alpha", "100", "b-200"), ("Ben Beta", "9", "a-100"),
                               ("Cid Gamma", "12.5", ""), ("Dee Delta", "", "c-300")):
        leads.update(admin, ids[name], {"lead_type": str(type_id), "custom.Units": units,
                                        "custom.Model": model})
    session = any_world.session("user1")
    # 9 < 12.5 < 100 (as text "100" would come first); empty values last, by id.
    assert sorted_leads(session, "custom.Units") == [
        "Ben Beta", "Cid Gamma", "Ann Alpha", "Dee Delta", "Fay Won", "Gus Lost", "Hal Dead"]
    assert sorted_leads(session, "custom.Model") == [
        "Ben Beta", "Ann Alpha", "Dee Delta", "Cid Gamma", "Fay Won", "Gus Lost", "Hal Dead"]
    # The cycle takes the custom columns the list shows after the kind's own orders.
    last = sorts_of("lead")[-1].key
    assert next_sort("lead", last, ["custom.Units", "custom.Model"]) == "custom.Units"
    assert next_sort("lead", "custom.Model", ["custom.Units", "custom.Model"]) == "created"
    # An unknown field is refused when the list is read (on its thread), like a bad filter.
    with pytest.raises(ValidationFailed) as caught:
        RecordRows(session, "lead", {}, sort="custom.No such field").page(0, 10)
    assert "custom.No such field" in str(caught.value)


def companies_sorted(session, key: str) -> list[str]:
    forward = every_page(RecordRows(session, "company", {}, sort=key), 2)
    assert from_the_end(RecordRows(session, "company", {}, sort=key), 2) == forward
    return forward


def test_companies_sort_by_role_manager_and_billing(any_world):
    a, b = billed_in_two_currencies(any_world)
    admin = any_world.session("admin")
    roles = get_kind("role")
    supplier = roles.create(admin, {"name": "Wholesaler"})
    agency = roles.create(admin, {"name": "Agency"})
    companies = get_kind("company")
    parent = str(any_world.cid("My company"))
    zeta = companies.create(admin, {"name": "Zeta Corp", "parent": parent, "manager": "user1",
                                    "role": str(agency)})
    companies.create(admin, {"name": "Alfa SA", "parent": parent, "manager": "admin",
                             "role": str(supplier)})
    companies.update(admin, a, {"role": str(supplier), "manager": "manager1"})
    companies.update(admin, b, {"role": "", "manager": "user1"})
    assert companies_sorted(admin, "role") == [
        "My company", "Customer #B", "Zeta Corp", "Customer #A", "Alfa SA"]
    managers = {row["name"]: row["manager"] for row in companies.list(admin)}
    expected = sorted(managers, key=lambda name: (managers[name] or "",
                                                  any_world.cid(name) if name in
                                                  any_world.companies else 10**6 + len(name)))
    by_manager = companies_sorted(admin, "manager")
    assert [managers[name] or "" for name in by_manager] == sorted(
        managers[name] or "" for name in managers)
    assert by_manager.index("Customer #B") < by_manager.index("Zeta Corp")  # user1: by id
    assert expected[0] == by_manager[0]
    # Billing, largest first: A's largest total is 2613.60 EUR, B's 121.00 EUR; the rest
    # billed nothing (ties newest first, as every largest-first order breaks them).
    assert companies_sorted(admin, "billing") == [
        "Customer #A", "Customer #B", "Alfa SA", "Zeta Corp", "My company"]
    assert zeta


def test_an_order_reveals_nothing_the_user_may_not_see(any_world):
    from crm_tui.services.companies import sees_invoice_amounts

    billed_in_two_currencies(any_world)
    session = any_world.session("user1")
    visible = every_page(RecordRows(session, "company", {}), 10)
    assert not sees_invoice_amounts(session)
    # Billing withheld from him: as if nothing was billed, ties broken by id (newest
    # first, as in every largest-first order).
    by_id = [name for name, _id in sorted(any_world.companies.items(), key=lambda i: -i[1])
             if name in visible]
    assert len(by_id) >= 2 and companies_sorted(session, "billing") == by_id
