"""The TUI shows nothing of records the user may not see (SPEC 1, "Nothing leaks"): the
palette's "Go to …" and the new-lead duplicate offers name only visible records."""

from __future__ import annotations

from textual.command import CommandList
from textual.widgets import OptionList

from crm_tui.models import Lead
from crm_tui.services.records import get_kind
from screens.lead_detail import LeadDetailScreen
from screens.leads import LeadsScreen
from tests.screens import lead_harness
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text
from tests.unit.lead_world import seed_leads


def _offered(app) -> list[str]:
    results = app.screen.query_one(CommandList)
    return [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]


async def _offered_once_it_shows(pilot, text: str) -> list[str]:
    """The palette's hits once one contains `text` (its search runs on threads)."""
    for _ in range(100):
        offered = _offered(pilot.app)
        if any(text in hit for hit in offered):
            return offered
        await pilot.pause(0.05)
    raise AssertionError(f"the palette never offered {text!r}: {offered}")


async def test_go_to_offers_visible_companies_and_leads_never_hidden_ones(world):
    admin = world.session("admin")
    get_kind("profile").create(admin, {"name": "Sales and CRM", "bits": "CR,CW,LR,LW"})
    get_kind("user").update(admin, "user1", {"profiles": "Sales and CRM"})
    company, lead = get_kind("company"), get_kind("lead")
    # Hidden from user1: a root company of admin's, and a lead of My company (a root too).
    company.create(admin, {"name": "Zephyr Hidden Works", "manager": "admin"})
    lead.create(admin, {"full_name": "Zephyr Hidden Lead", "owner": "admin",
                        "company": str(world.cid("My company"))})
    # Visible to user1: his own company's child and a lead of Customer #A.
    company.create(admin, {"name": "Zephyr Shown Works", "manager": "user1",
                           "parent": str(world.cid("Customer #A"))})
    shown_lead = lead.create(admin, {"full_name": "Zephyr Shown Lead", "owner": "admin",
                                     "company": str(world.cid("Customer #A"))})

    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, "Zephyr")
        await _offered_once_it_shows(pilot, "Go to lead: Zephyr Shown Lead")
        offered = await _offered_once_it_shows(pilot, "Go to company: Zephyr Shown Works")
        assert not any("Hidden" in text for text in offered), offered
        # Typing what only the hidden ones match finds nothing to go to.
        await press(pilot, *["backspace"] * len("Zephyr"))
        await type_text(pilot, "Zephyr Hidden")
        await pilot.pause(1.0)
        assert not any("Go to" in text and "Hidden" in text for text in _offered(app))
        # A visible lead opens from the palette.
        await press(pilot, *["backspace"] * len("Zephyr Hidden"))
        await type_text(pilot, "Shown Lead")
        await _offered_once_it_shows(pilot, "Go to lead: Zephyr Shown Lead")
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "LeadDetailScreen"
        assert app.screen.lead_id == shown_lead


async def _new_lead(app, pilot, name: str, email: str) -> None:
    await pilot.press("n")
    await lead_harness.settle(pilot)
    await pilot.press(*name)  # full name has the focus
    await pilot.press("tab")
    await pilot.press(*email)
    await pilot.press("ctrl+s")
    await lead_harness.settle(pilot)


async def test_duplicate_offers_name_visible_leads_and_merge_only_changeable_ones(world):
    ids = seed_leads(world)
    session = world.session("user1")
    app = lead_harness.LeadHarness(lambda: LeadsScreen(session))
    async with app.run_test(size=(80, 24)) as pilot:
        await lead_harness.settle(pilot)
        # Ben Beta's lead is visible to user1 but not his to change: open, never merge.
        await _new_lead(app, pilot, "Benny", "ben@example.com")
        assert type(app.screen).__name__ == "DuplicateChoiceModal"
        options = app.screen.query_one(OptionList)
        texts = [str(options.get_option_at_index(i).prompt)
                 for i in range(options.option_count)]
        assert texts == [f"Open lead #{ids['Ben Beta']} 'Ben Beta' (same email)",
                         "Create a new lead anyway"]
        await pilot.press("escape", "escape")  # the offer, then the form with its edits
        await lead_harness.settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"  # discard the unsaved edits?
        await pilot.press("y")
        await lead_harness.settle(pilot)
        assert isinstance(app.screen, LeadsScreen)
        # Eve's lead is hidden from user1: no offer at all, the lead is simply created.
        await _new_lead(app, pilot, "Evelyn", "eve@example.com")
        assert isinstance(app.screen, LeadDetailScreen)
        assert "Eve Epsilon" not in str(app.screen.title or "")
    assert Lead.select().where(Lead.full_name == "Evelyn").count() == 1
