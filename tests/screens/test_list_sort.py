"""`o` sorts the lead list and the company list by the next column, in the database, on both
backends, for an operator who is not a superadmin."""

from __future__ import annotations

from textual.widgets import Label

from crm_tui.services.records import get_kind
from screens.companies import CompaniesScreen
from screens.leads import LeadsScreen
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads, session_at
from widgets.lazy_table import LazyTable


def listed(app) -> list[str]:
    table = app.screen.query_one("#records", LazyTable)
    rows = [table.get_row(i) for i in range(table.row_count or 0)]
    return [row[1][0] for row in rows if row is not None]


def title(app) -> str:
    return str(app.screen.query_one("#top-title", Label).content)


async def test_o_cycles_the_lead_list_through_its_orders(any_world):
    seed_leads(any_world)
    # A later lead whose name, company and country sort first or last.
    get_kind("lead").create(session_at("admin", "2026-01-20 10:00"), {
        "full_name": "Abe Zulu", "company_name": "Zulu Ltd", "owner": "user1", "status": "0",
        "estimated_sale": "10", "country": "Austria",
        "company": str(any_world.cid("Customer #A"))})
    # user1 is no superadmin: his access rule is part of every page's query.
    session = any_world.session("user1")
    app = LeadHarness(lambda: LeadsScreen(session))
    expected = [
        ("creation", ["Ann Alpha", "Ben Beta", "Cid Gamma", "Dee Delta", "Abe Zulu"]),
        ("name", ["Abe Zulu", "Ann Alpha", "Ben Beta", "Cid Gamma", "Dee Delta"]),
        ("company", ["Ann Alpha", "Ben Beta", "Dee Delta", "Cid Gamma", "Abe Zulu"]),
        ("status", ["Ann Alpha", "Ben Beta", "Abe Zulu", "Cid Gamma", "Dee Delta"]),
        # Owner by login: manager1 before user1, ties in creation order.
        ("owner", ["Ben Beta", "Dee Delta", "Ann Alpha", "Cid Gamma", "Abe Zulu"]),
        ("estimated sale", ["Cid Gamma", "Ann Alpha", "Ben Beta", "Dee Delta", "Abe Zulu"]),
        # Tags by the first tag's name: untagged, then "hot" (Ann; Cid has hot and vip).
        ("tags", ["Ben Beta", "Dee Delta", "Abe Zulu", "Ann Alpha", "Cid Gamma"]),
        ("country", ["Abe Zulu", "Ben Beta", "Dee Delta", "Ann Alpha", "Cid Gamma"]),
        ("channel", ["Abe Zulu", "Dee Delta", "Ben Beta", "Ann Alpha", "Cid Gamma"]),
        ("creation", ["Ann Alpha", "Ben Beta", "Cid Gamma", "Dee Delta", "Abe Zulu"]),
    ]
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        for step, (label, names) in enumerate(expected):
            if step:
                await pilot.press("o")
                await settle(pilot)
            if label == "creation":  # the default order: the title stays short
                assert title(app) == "5 Leads"
            else:
                assert title(app).endswith(f"· by {label}"), label
            assert listed(app) == names, label
        assert ("information", "Sorted by creation") in app.notes


async def test_o_sorts_the_company_list_not_the_tree(any_world):
    admin = any_world.session("admin")
    companies = get_kind("company")
    parent = str(any_world.cid("My company"))
    companies.create(admin, {"name": "Zeta Corp", "parent": parent, "manager": "user1",
                             "country": "Andorra"})
    companies.create(admin, {"name": "Alfa SA", "parent": parent, "manager": "manager1",
                             "country": "Zambia"})
    session = any_world.session("user1")
    app = LeadHarness(lambda: CompaniesScreen(session))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.check_action("cycle_sort", ()) is False  # the tree keeps its order
        await pilot.press("v")
        await settle(pilot)
        assert listed(app) == ["Alfa SA", "Customer #A", "Customer #B", "Zeta Corp"]
        assert title(app) == "1 Companies · list"
        await pilot.press("o")
        await settle(pilot)
        assert title(app).endswith("· by role")
        await pilot.press("o")
        await settle(pilot)
        assert title(app).endswith("· by manager")
        # By login: manager1's companies, then user1's, each in id order.
        assert listed(app) == ["Customer #B", "Alfa SA", "Customer #A", "Zeta Corp"]
        await pilot.press("o")
        await settle(pilot)
        assert title(app).endswith("· by country")
        # Customer #A and #B have no country: they come first, in id order.
        assert listed(app) == ["Customer #A", "Customer #B", "Zeta Corp", "Alfa SA"]
        await pilot.press("o")
        await settle(pilot)
        assert title(app).endswith("· by billing")
        await pilot.press("o")
        await settle(pilot)
        assert listed(app) == ["Alfa SA", "Customer #A", "Customer #B", "Zeta Corp"]
        assert title(app) == "1 Companies · list"
        assert ("information", "Sorted by name") in app.notes


async def test_o_reaches_the_custom_field_columns_of_the_lead_list(any_world):
    ids = seed_leads(any_world)
    admin = any_world.session("admin")
    type_id = get_kind("lead-type").create(admin, {"name": "Hardware"})
    get_kind("field").create(admin, {"name": "Units", "kind": "numeric",
                                     "entity": f"lead_type:{type_id}", "visible": "1"})
    for name, units in (("Ann Alpha", "100"), ("Ben Beta", "9"), ("Cid Gamma", "12")):
        get_kind("lead").update(admin, ids[name], {"lead_type": str(type_id),
                                                   "custom.Units": units})
    app = LeadHarness(lambda: LeadsScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "custom.Units" in [column.key for column in app.screen.columns]
        for _press in range(12):
            if title(app).endswith("· by Units"):
                break
            await pilot.press("o")
            await settle(pilot)
        assert title(app).endswith("· by Units")
        assert app.screen.sort == "custom.Units"
        # As numbers (9 < 12 < 100), the leads without a value last.
        assert listed(app) == ["Ben Beta", "Cid Gamma", "Ann Alpha", "Dee Delta"]
        assert ("information", "Sorted by Units") in app.notes
        await pilot.press("o")
        await settle(pilot)
        assert title(app) == "5 Leads"  # back to the default order
