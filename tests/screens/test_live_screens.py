"""Live screens on both backends: what another app instance or a `crm set` process commits
shows on an open board, list or detail without a key press, and the cursor stays put."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from textual.pilot import Pilot

from crm_tui.models import Company, Lead
from screens.company_detail import CompanyDetailScreen
from screens.pipeline import PipelineScreen
from screens.record_list import RecordListScreen
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle
from tests.unit.lead_world import seed_leads
from widgets.field_form import FieldForm
from widgets.kanban import KanbanBoard

#: Generous for a shared test machine; the bench measures the real latency (well below 1 s).
DEADLINE = 5.0


async def wait_until(pilot: Pilot, test: Callable[[], bool], what: str) -> float:
    """Let the app run (no key pressed) until `test()` holds; returns the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < DEADLINE:
        if test():
            return time.monotonic() - started
        await pilot.pause(0.02)
    raise AssertionError(f"not shown within {DEADLINE} s: {what}")


async def watching(app) -> None:
    """Wait until the app's change watch listens (it sees commits made after that)."""
    assert app.live_updates is not None
    assert await asyncio.to_thread(app.live_updates.watch.wait_ready, 10)


def board_keys(app) -> list[list[int]]:
    board = app.screen.query_one(KanbanBoard)
    return [[card.key for card in column.cards] for column in board.kanban_columns]


async def test_a_card_moved_in_one_app_appears_moved_in_the_other(any_world):
    ids = seed_leads(any_world)
    ann, ben = ids["Ann Alpha"], ids["Ben Beta"]
    mover, watcher = app_for(any_world, "user1", live=True), app_for(any_world, "admin", live=True)
    async with mover.run_test(size=SIZE) as moving, watcher.run_test(size=SIZE) as seeing:
        await press(moving, "6")
        await press(seeing, "6")
        assert isinstance(watcher.screen, PipelineScreen)
        await watching(watcher)
        assert board_keys(watcher)[0][:2] == [ann, ben]
        await press(seeing, "down")  # the watcher's cursor rests on Ben Beta
        board = watcher.screen.query_one(KanbanBoard)
        assert board.cursor_card.key == ben

        assert board_keys(mover)[0][0] == ann
        await press(moving, "shift+right")
        assert Lead.get_by_id(ann).status == 1

        await wait_until(seeing, lambda: ann in board_keys(watcher)[1]
                         and ann not in board_keys(watcher)[0], "the moved card")
        await settle(seeing)
        assert board.cursor_card.key == ben
        assert board.active_column is board.kanban_columns[0]


def list_names(screen: RecordListScreen) -> list[str]:
    table = screen.table
    assert table is not None
    rows = [table.get_row(index) for index in range(table.row_count or 0)]
    return [row[1][0] for row in rows if row is not None]


async def test_a_company_renamed_by_crm_set_appears_in_an_open_list(any_world, run_crm,
                                                                     backend_url):
    app = app_for(any_world, "admin", live=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")  # the flat list of screen 1
        screen = app.screen
        assert isinstance(screen, RecordListScreen)
        await watching(app)
        names = list_names(screen)
        assert names[:3] == ["Customer #A", "Customer #B", "My company"]
        await press(pilot, "down")
        table = screen.table
        assert table.cursor_row_id == any_world.cid("Customer #B")

        done = await asyncio.to_thread(
            run_crm, "--user", "admin", "set", "company", str(any_world.cid("My company")),
            "name=My company (renamed)", db=backend_url)
        assert done.returncode == 0, done.stderr

        await wait_until(pilot, lambda: "My company (renamed)" in list_names(screen),
                         "the new name")
        await settle(pilot)
        assert list_names(screen)[:3] == ["Customer #A", "Customer #B", "My company (renamed)"]
        assert table.cursor_index == 1
        assert table.cursor_row_id == any_world.cid("Customer #B")


async def test_an_open_detail_shows_a_change_but_an_open_form_keeps_what_was_typed(
        any_world, run_crm, backend_url):
    cid = any_world.cid("Customer #A")
    app = app_for(any_world, "admin", live=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(CompanyDetailScreen(app.session, cid))
        await settle(pilot)
        detail = app.screen
        assert detail.company_name.startswith("Customer #A")
        await watching(app)

        done = await asyncio.to_thread(
            run_crm, "--user", "admin", "set", "company", str(cid), "name=Customer #A2",
            db=backend_url)
        assert done.returncode == 0, done.stderr
        await wait_until(pilot, lambda: detail.company_name.startswith("Customer #A2"),
                         "the renamed company on its detail")

        # A form opened over the detail: another change does not touch what is typed.
        await press(pilot, "e")
        form = app.screen
        assert form is not detail
        fields = form.query_one(FieldForm)
        name_input = fields.input_for("name")
        name_input.value = "Typed here"
        done = await asyncio.to_thread(
            run_crm, "--user", "admin", "set", "company", str(cid), "name=Customer #A3",
            db=backend_url)
        assert done.returncode == 0, done.stderr
        # The detail underneath shows the change; the form keeps the typed text.
        await wait_until(pilot, lambda: detail.company_name.startswith("Customer #A3"),
                         "the change under the form")
        assert app.screen is form
        assert fields.values()["name"] == "Typed here"
        assert Company.get_by_id(cid).name == "Customer #A3"


def _in_another_connection(change: Callable[[], object]) -> None:
    """Run a service call on a thread of its own (its own database connection), as another
    operator's write arrives."""
    from crm_tui import db

    try:
        change()
    finally:
        db.close_database()


async def test_a_lead_detail_shows_another_operators_change(any_world):
    from crm_tui.services.records import get_kind
    from screens.lead_detail import LeadDetailScreen

    ids = seed_leads(any_world)
    ann = ids["Ann Alpha"]
    app = app_for(any_world, "user1", live=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await app.push_screen(LeadDetailScreen(app.session, ann))
        await settle(pilot)
        detail = app.screen
        assert "4321" not in str(detail.detail) and "4,321" not in str(detail.detail)
        await watching(app)
        await asyncio.to_thread(_in_another_connection, lambda: get_kind("lead").update(
            any_world.session("admin"), ann, {"estimated_sale": "4321"}))
        await wait_until(pilot, lambda: "4321" in str(detail.detail)
                         or "4,321" in str(detail.detail), "the new estimated sale")
        assert app.screen is detail


async def test_a_list_hidden_under_a_detail_shows_the_change_when_back(any_world):
    from crm_tui.services.records import get_kind

    cid = any_world.cid("Customer #B")
    app = app_for(any_world, "admin", live=True)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        companies = app.screen
        await watching(app)
        await app.push_screen(CompanyDetailScreen(app.session, any_world.cid("Customer #A")))
        await settle(pilot)
        await asyncio.to_thread(_in_another_connection, lambda: get_kind("company").update(
            any_world.session("admin"), cid, {"name": "Customer #B (new)"}))
        await wait_until(pilot, lambda: companies.live_stale, "the list marked as behind")
        assert "Customer #B (new)" not in list_names(companies)
        await press(pilot, "q")
        assert app.screen is companies
        await wait_until(pilot, lambda: "Customer #B (new)" in list_names(companies),
                         "the change once the list shows again")
