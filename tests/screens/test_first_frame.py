"""The cyclic garbage collector waits while the board builds its first frame, and runs
again afterwards (also when the board goes before that frame)."""

from __future__ import annotations

import gc

import pytest

from screens.first_frame import CollectorPause
from screens.pipeline import PipelineScreen
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads
from widgets.kanban import KanbanBoard


@pytest.fixture
def collector_on():
    """Each test starts with the collector on, and leaves it as it found it."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_pauses_nest_and_end_once(collector_on):
    first, second = CollectorPause(), CollectorPause()
    first.start()
    second.start()
    first.start()  # a second start of the same pause counts once
    assert not gc.isenabled()
    first.end()
    assert not gc.isenabled()  # the other screen is still building
    first.end()  # a second end of the same pause counts once
    assert not gc.isenabled()
    second.end()
    assert gc.isenabled()


def test_a_collector_switched_off_stays_off(collector_on):
    gc.disable()
    pause = CollectorPause()
    pause.start()
    pause.end()
    assert not gc.isenabled()


class _Recording(PipelineScreen):
    """Notes whether the collector ran while the first page of the board was read."""

    collector_during_compose: bool | None = None

    def _first_board(self):
        type(self).collector_during_compose = gc.isenabled()
        return super()._first_board()


async def test_the_board_pauses_the_collector_until_its_first_frame(world, collector_on):
    seed_leads(world)
    app = LeadHarness(lambda: _Recording(world.session("admin")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.screen.query_one(KanbanBoard)
        assert any(column.cards for column in board.kanban_columns)
        assert _Recording.collector_during_compose is False
        assert not app.screen._collector.active
        assert gc.isenabled()


async def test_a_board_gone_before_its_first_frame_lets_the_collector_run(world, collector_on):
    seed_leads(world)

    class Leaving(_Recording):
        def on_mount(self) -> None:
            self.app.pop_screen()  # composed, gone before its first frame

    app = LeadHarness(lambda: Leaving(world.session("admin")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert Leaving.collector_during_compose is False
        assert not isinstance(app.screen, Leaving)
        assert gc.isenabled()
