"""Mass operations on the company list, driven by keys: a field for the marked companies,
and every company of a manager given to another."""

from __future__ import annotations

from crm_tui.models import Company, History
from crm_tui.services.records import get_kind
from screens.companies import CompaniesScreen
from screens.modals.company_mass import CompanyMassModal
from tests.screens.lead_harness import LeadHarness, settle
from widgets.lazy_table import LazyTable


def add_sub_c(world) -> None:
    get_kind("company").create(world.session("admin"), {
        "name": "Sub C", "parent": str(world.cid("My company")), "manager": "user1"})


async def open_list(pilot) -> LazyTable:
    await settle(pilot)
    await pilot.press("v")
    await settle(pilot)
    return pilot.app.screen.query_one("#records", LazyTable)


async def test_m_sets_the_country_of_the_marked_companies(world):
    add_sub_c(world)
    app = LeadHarness(lambda: CompaniesScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        table = await open_list(pilot)
        await pilot.press("space", "space")  # Customer #A and Customer #B
        assert len(table.selected_ids) == 2
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, CompanyMassModal)
        await pilot.press("down", "down", "enter")  # set the country
        await settle(pilot)
        await pilot.press(*"Peru", "enter")
        await settle(pilot)
        # The question keeps the value as typed (str.capitalize would lower its capitals).
        assert app.screen.question == "Set the country to Peru on 2 companies?"
        await pilot.press("y")
        await settle(pilot)
        assert not table.selected_ids
    countries = {c.name: c.country for c in Company.select()}
    assert countries["Customer #A"] == countries["Customer #B"] == "Peru"
    assert countries["Sub C"] == ""
    assert ("information", "country: 2 companies changed") in app.notes
    assert History.select().where(History.kind == "company", History.action == "change",
                                  History.login == "manager1").count() == 2


async def test_m_gives_every_company_of_a_manager_to_another(world):
    add_sub_c(world)
    app = LeadHarness(lambda: CompaniesScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # give every company…
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # admin, manager1, user1: who leaves
        await settle(pilot)
        await pilot.press("down", "enter")  # manager1 takes over
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    managers = {c.name: c.manager.login for c in Company.select() if c.manager_id}
    assert managers["Customer #A"] == managers["Sub C"] == "manager1"
    assert ("information", "manager: 2 companies changed") in app.notes


async def test_m_is_hidden_from_an_operator_without_cm(world):
    app = LeadHarness(lambda: CompaniesScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_list(pilot)
        assert app.screen.check_action("mass_edit", ()) is False
        await pilot.press("m")
        await settle(pilot)
        assert not isinstance(app.screen, CompanyMassModal)
