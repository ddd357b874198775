"""The lead list driven by keys: saved searches, mass edits, closed leads, new-lead duplicates."""

from __future__ import annotations

import pytest

from crm_tui.models import Lead, LeadActivity, SavedSearch
from screens.lead_detail import LeadDetailScreen
from screens.leads import LeadsScreen
from screens.modals.lead_search import LeadSearchModal
from tests.screens.crm_app_helpers import until
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads
from widgets.lazy_table import LazyTable


@pytest.fixture
def ids(world):
    return seed_leads(world)


def listed(app) -> list[str]:
    table = app.screen.query_one("#records", LazyTable)
    rows = [table.get_row(i) for i in range(table.row_count or 0)]
    return [row[1][0] for row in rows if row is not None]


async def test_saved_search_round_trip(world, ids):
    session = world.session("user1")
    app = LeadHarness(lambda: LeadsScreen(session))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert listed(app) == ["Ann Alpha", "Ben Beta", "Cid Gamma", "Dee Delta"]
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, LeadSearchModal)
        await pilot.press(*"gamma")  # the text field (name, email, company) has the focus
        # Back past the saved-search picker to the last field, "Save as".
        await pilot.press("shift+tab", "shift+tab")
        await pilot.press(*"Gammas")
        await pilot.press("ctrl+s")
        # The search is checked and saved on a thread, then the list reads afresh.
        await until(pilot, lambda: isinstance(app.screen, LeadsScreen)
                    and listed(app) == ["Cid Gamma"])
        row = SavedSearch.get()
        assert (row.name, row.user.login) == ("Gammas", "user1")

    # A fresh list: load the saved search from the picker and apply it.
    app = LeadHarness(lambda: LeadsScreen(session))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert len(listed(app)) == 4
        await pilot.press("f")
        await settle(pilot)
        await pilot.press("shift+tab")  # the saved-search picker
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: listed(app) == ["Cid Gamma"])
        assert app.screen.search == {"q": "gamma"}


async def test_each_tag_shows_in_its_own_colour(world, ids):
    session = world.session("user1")
    app = LeadHarness(lambda: LeadsScreen(session))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#records", LazyTable)
        # Cid Gamma (the third row, under the header) has "hot" (red) and "vip" (yellow).
        strip = table.render_line(3)
        assert "hot, vip" in strip.text
        coloured = {}
        for segment in strip:
            if segment.style is not None and segment.style.color is not None:
                name = segment.style.color.name
                coloured[name] = coloured.get(name, "") + segment.text
        assert coloured.get("red") == "hot" and coloured.get("yellow") == "vip"
        # Ben Beta has no tags: nothing on his row is coloured by a tag.
        assert "Ben Beta" in table.render_line(2).text
        assert not {s.style.color.name for s in table.render_line(2)
                    if s.style is not None and s.style.color is not None} & {"red", "yellow"}


async def test_mass_status_change_on_three_marked_leads(world, ids):
    app = LeadHarness(lambda: LeadsScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert listed(app)[:3] == ["Ann Alpha", "Ben Beta", "Cid Gamma"]
        await pilot.press("space", "space", "space")
        assert len(app.screen.query_one("#records", LazyTable).selected_ids) == 3
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "enter")  # change status
        await settle(pilot)
        await pilot.press("down", "down", "down", "enter")  # Proposal delivered
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    chosen = [ids["Ann Alpha"], ids["Ben Beta"], ids["Cid Gamma"]]
    assert [Lead.get_by_id(i).status for i in chosen] == [3, 3, 3]
    assert Lead.get_by_id(ids["Dee Delta"]).status == 2
    for lead_id in chosen:
        entry = LeadActivity.select().where(LeadActivity.lead == lead_id).order_by(
            LeadActivity.id.desc()).get()
        assert entry.author == "manager1" and entry.text.endswith("-> Proposal delivered")
    assert any("change status: 3 changed" in text for _, text in app.notes)


async def test_mass_edit_refused_leads_can_be_skipped(world, ids):
    # user1 holds LM too here (not CM), so he still may not change Customer #B's leads.
    from crm_tui.services.records import get_kind

    admin = world.session("admin")
    get_kind("profile").create(admin, {"name": "Lead manager", "bits": "CR,CW,LR,LW,LM"})
    get_kind("user").update(admin, world.users["user1"], {"profiles": "Lead manager"})
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")  # Ann (A) and Ben (B, read-only)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "down", "enter")  # add tag
        await settle(pilot)
        await pilot.press("enter")  # hot
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        # One lead was refused: nothing changed yet, and the screen asks about the rest.
        assert not Lead.get_by_id(ids["Ben Beta"]).tag_links.count()
        await pilot.press("y")
        await settle(pilot)
    assert [t.tag.name for t in Lead.get_by_id(ids["Ann Alpha"]).tag_links] == ["hot"]
    assert not Lead.get_by_id(ids["Ben Beta"]).tag_links.count()


async def test_c_shows_closed_leads_and_enter_opens_one(world, ids):
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        assert "Fay Won" in listed(app) and len(listed(app)) == 7
        await pilot.press("end", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert app.screen.lead_id == ids["Hal Dead"]


async def test_new_lead_like_an_existing_one_offers_to_open_it(world, ids):
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"Annie")  # full name has the focus
        await pilot.press("tab")
        await pilot.press(*"ANN@example.com")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "DuplicateChoiceModal"
        await pilot.press("enter")  # open the existing lead
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert app.screen.lead_id == ids["Ann Alpha"]
    assert Lead.select().where(Lead.full_name == "Annie").count() == 0


async def test_lead_statistics_section_counts_the_visible_leads(world, ids):
    from textual.app import ComposeResult
    from textual.screen import Screen

    from screens.lead_statistics import LeadStatisticsSection
    from widgets.bar_chart import BarChart

    class StatsHarness(Screen):
        def compose(self) -> ComposeResult:
            yield LeadStatisticsSection(world.session("user1"))

    app = LeadHarness(StatsHarness)
    async with app.run_test(size=(80, 40)) as pilot:
        await settle(pilot)
        summary = app.screen.query_one("#lead-stats-summary")
        assert str(summary.render()) == "7 leads · conversion 33.3% (1 won of 3 closed)"
        channels = app.screen.query_one("#lead-by-channel", BarChart)
        assert channels.data == [("web", 4), ("phone", 2), ("fair", 1)]
        weeks = app.screen.query_one("#lead-per-week", BarChart)
        assert len(weeks.data) == 12 and sum(n for _, n in weeks.data) == 7


async def test_mass_owner_and_status_are_picked_by_typing_part_of_their_names(world, ids):
    app = LeadHarness(lambda: LeadsScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space")  # Ann Alpha and Ben Beta
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("enter")  # assign owner
        await settle(pilot)
        await pilot.press(*"user #2")  # "user" alone would match user1 as well
        await settle(pilot)
        await pilot.press("enter", "y")
        await settle(pilot)
    app = LeadHarness(lambda: LeadsScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("space", "space", "space")  # Ann, Ben and Cid
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "enter")  # change status
        await settle(pilot)
        await pilot.press(*"propos")
        await settle(pilot)
        await pilot.press("enter", "y")
        await settle(pilot)
    assert [Lead.get_by_id(ids[n]).owner.login for n in ("Ann Alpha", "Ben Beta")] == [
        "user2", "user2"]
    assert Lead.get_by_id(ids["Dee Delta"]).owner.login == "manager1"
    assert {Lead.get_by_id(ids[n]).status for n in ("Ann Alpha", "Ben Beta", "Cid Gamma")} \
        == {3}


async def test_mass_company_and_lead_type_are_picked_from_the_database(world, ids):
    from crm_tui.services.records import get_kind

    reseller = get_kind("lead-type").create(world.session("admin"), {"name": "Reseller"})
    app = LeadHarness(lambda: LeadsScreen(world.session("manager1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert listed(app)[:3] == ["Ann Alpha", "Ben Beta", "Cid Gamma"]
        await pilot.press("space", "down", "space")  # Ann Alpha and Cid Gamma (Customer #A)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("down", "down", "down", "down", "enter")  # set company
        await settle(pilot)
        picker = app.screen.query_one("#mass-value")
        # Nothing typed yet: "none" first, then the companies he may modify.
        assert [title for title, _value in picker._found] == [
            "(no company)", "Customer #A", "Customer #B"]
        await pilot.press(*"customer b")
        await settle(pilot)
        assert [title for title, _value in picker._found] == ["Customer #B"]
        await pilot.press("enter")
        await settle(pilot)
        assert "Set company to Customer #B on 2 leads?" in app.screen.question
        await pilot.press("y")
        await settle(pilot)
        assert any("set company: 2 changed" in text for _, text in app.notes)

        assert not app.screen.query_one("#records", LazyTable).selected_ids
        await pilot.press("home", "space", "space")  # Ann and Ben
        await pilot.press("m")
        await settle(pilot)
        await pilot.press(*["down"] * 5, "enter")  # set lead type
        await settle(pilot)
        await pilot.press(*"resel", "enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    customer_b = world.cid("Customer #B")
    assert [Lead.get_by_id(ids[n]).company_id for n in ("Ann Alpha", "Cid Gamma")] == [
        customer_b, customer_b]
    assert Lead.get_by_id(ids["Dee Delta"]).company_id == customer_b  # as it was
    assert [Lead.get_by_id(ids[n]).lead_type_id for n in ("Ann Alpha", "Ben Beta")] == [
        reseller, reseller]
    assert Lead.get_by_id(ids["Cid Gamma"]).lead_type_id is None
