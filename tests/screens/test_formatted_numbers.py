"""Amounts on the lead list and the board as the user reads them: babel in Spanish
(1.200,50) and English (1,200.50), never Python's own formatting."""

from __future__ import annotations

import pytest

from crm_tui import i18n
from screens.leads import LeadsScreen
from screens.pipeline import PipelineScreen
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads
from widgets.kanban import KanbanBoard
from widgets.lazy_table import LazyTable

CASES = [("en", "1,200.50", "2,000.50"), ("es", "1.200,50", "2.000,50")]


@pytest.fixture
def speak():
    def choose(code: str) -> None:
        i18n.override_language(code)

    yield choose
    i18n.clear_override()
    i18n.set_language(i18n.SOURCE_LANGUAGE)


@pytest.mark.parametrize(("language", "ann", "_column"), CASES)
async def test_the_lead_list_shows_amounts_in_the_users_language(world, speak, language, ann,
                                                                  _column):
    seed_leads(world)
    speak(language)
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#records", LazyTable)
        row = table.get_row(0)
        assert row is not None and row[1][0] == "Ann Alpha"
        assert ann in row[1]  # the Est. sale cell
        assert ann in table.render_line(1).text


@pytest.mark.parametrize(("language", "ann", "column"), CASES)
async def test_the_board_shows_amounts_in_the_users_language(world, speak, language, ann,
                                                              column):
    ids = seed_leads(world)
    speak(language)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.query_one(KanbanBoard).kanban_columns[0]
        # New: Ann Alpha (1200.50) and Ben Beta (800.00).
        assert first.data.subtitle.endswith(f"· {column}")
        cards = {card.key: card for card in first.cards}
        assert f"Spain · {ann}" in cards[ids["Ann Alpha"]].lines
