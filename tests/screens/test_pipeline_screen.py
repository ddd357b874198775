"""The pipeline board driven by keys: moves, refusals, ordering, closed columns, opening."""

from __future__ import annotations

import pytest

from crm_tui.models import Lead, LeadActivity
from crm_tui.services.records import get_kind
from screens.lead_detail import LeadDetailScreen
from screens.pipeline import PipelineScreen
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads, session_at
from widgets.kanban import KanbanBoard


@pytest.fixture
def ids(world):
    ids = seed_leads(world)
    company_a = str(world.cid("Customer #A"))
    kind = get_kind("lead")
    ids["Ord One"] = kind.create(session_at("admin", "2026-01-15 08:00"), {
        "full_name": "Ord One", "estimated_sale": "50", "estimated_close": "2026-01-16",
        "company": company_a})
    ids["Ord Two"] = kind.create(session_at("admin", "2026-01-10 08:00"), {
        "full_name": "Ord Two", "estimated_sale": "9000", "company": company_a})
    return ids


def board_keys(app) -> list[list[int]]:
    board = app.screen.query_one(KanbanBoard)
    return [[card.key for card in column.cards] for column in board.kanban_columns]


def last_entry(lead_id: int) -> LeadActivity:
    return (LeadActivity.select().where(LeadActivity.lead == lead_id)
            .order_by(LeadActivity.id.desc()).get())


async def test_move_a_card_right_and_left_writes_activity(world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert board_keys(app)[0][:2] == [ids["Ord Two"], ids["Ann Alpha"]]
        await pilot.press("down")  # Ann Alpha
        await pilot.press("shift+right")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 1
        entry = last_entry(ids["Ann Alpha"])
        assert (entry.kind, entry.author, entry.text) == (
            "status", "user1", "status New -> Meeting arranged")
        assert ids["Ann Alpha"] in board_keys(app)[1]
        board = app.screen.query_one(KanbanBoard)
        assert board.cursor_card.key == ids["Ann Alpha"]
        assert "2 leads" in board.kanban_columns[1].data.subtitle

        await pilot.press("less_than_sign")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 0
        assert last_entry(ids["Ann Alpha"]).text == "status Meeting arranged -> New"
        assert ids["Ann Alpha"] in board_keys(app)[0]


async def test_a_read_only_lead_does_not_move_and_the_user_is_told(world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        keys = board_keys(app)[0]
        position = keys.index(ids["Ben Beta"])  # Customer #B: user1 may only look
        for _ in range(position):
            await pilot.press("j")
        await pilot.press("greater_than_sign")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ben Beta"]).status == 0
        assert last_entry(ids["Ben Beta"]).kind == "created"
        assert board_keys(app)[0] == keys
        assert ids["Ben Beta"] not in board_keys(app)[1]
        warnings = [text for severity, text in app.notes if severity == "warning"]
        assert warnings and "may not modify lead 'Ben Beta'" in warnings[-1]


async def test_o_cycles_the_ordering(world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        by_sale = [ids[n] for n in ("Ord Two", "Ann Alpha", "Ben Beta", "Ord One")]
        assert board_keys(app)[0] == by_sale
        await pilot.press("o")
        await settle(pilot)
        assert board_keys(app)[0] == [ids[n] for n in ("Ord One", "Ann Alpha", "Ben Beta",
                                                       "Ord Two")]
        assert "last change" in app.screen.screen_title()
        await pilot.press("o")
        await settle(pilot)
        assert board_keys(app)[0] == [ids[n] for n in ("Ord One", "Ann Alpha", "Ben Beta",
                                                       "Ord Two")]
        assert "estimated close date" in app.screen.screen_title()
        await pilot.press("o")
        await settle(pilot)
        assert board_keys(app)[0] == by_sale


async def test_c_toggles_the_closed_columns(world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.screen.query_one(KanbanBoard)
        assert [c.data.title for c in board.kanban_columns] == [
            "New", "Meeting arranged", "Needs discovered", "Proposal delivered",
            "Offer accepted"]
        await pilot.press("c")
        await settle(pilot)
        board = app.screen.query_one(KanbanBoard)
        assert len(board.kanban_columns) == 9
        assert board_keys(app)[8] == [ids["Fay Won"]]
        await pilot.press("c")
        await settle(pilot)
        assert len(app.screen.query_one(KanbanBoard).kanban_columns) == 5


async def test_enter_opens_the_lead(world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert app.screen.lead_id == ids["Cid Gamma"]
