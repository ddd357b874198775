"""The pipeline board driven by keys: moves (next, chosen, won, lost), queued keys, refusals,
ordering, closed columns, my leads, the filter line, opening."""

from __future__ import annotations

import html
import re
import threading

import pytest

from crm_tui.models import LEAD_STATUSES, History, Lead, LeadActivity
from crm_tui.services import leads
from crm_tui.services.records import get_kind
from screens.lead_detail import LeadDetailScreen
from screens.modals.pipeline_moves import LostReasonModal, StatusPickModal
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
        await settle(pilot)
        # The services said user1 may not change it: its moves are greyed (the app says
        # why when one is pressed: tests/screens/test_refusals.py).
        assert app.active_bindings["greater_than_sign"].enabled is False
        await pilot.press("greater_than_sign", "shift+right")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ben Beta"]).status == 0
        assert last_entry(ids["Ben Beta"]).kind == "created"
        assert board_keys(app)[0] == keys
        assert ids["Ben Beta"] not in board_keys(app)[1]


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


# -- moves straight to a status, won, lost, queued keys, my leads, the filter line ------------


def screen_lines(app) -> list[str]:
    """The terminal's lines as drawn now (from the screenshot, one text run at a time)."""
    svg = app.export_screenshot()
    rows: dict[int, dict[int, str]] = {}
    for x, line, text in re.findall(
            r'<text class="[^"]*" x="([\d.]+)" y="[\d.]+" textLength="[\d.]+" '
            r'clip-path="url\(#[^"]*?line-(\d+)\)">([^<]*)</text>', svg):
        row = rows.setdefault(int(line), {})
        for offset, char in enumerate(html.unescape(text)):
            row[round(float(x) / 12.2) + offset] = char
    return ["".join(row.get(i, " ") for i in range(max(row, default=-1) + 1))
            .replace("\xa0", " ").rstrip() for _, row in sorted(rows.items())]


def status_trail(lead_id: int) -> tuple[list[str], list[str]]:
    """The lead's status entries in its activity and its status changes in the history."""
    entries = [e.text for e in LeadActivity.select().where(
        LeadActivity.lead == lead_id, LeadActivity.kind == "status").order_by(LeadActivity.id)]
    changes = [h.changes for h in History.select().where(
        History.kind == "lead", History.record_id == lead_id, History.action == "change")
        .order_by(History.id)]
    return entries, changes


def filter_line(app) -> str:
    return " ".join(str(label.content) for label in app.screen.query("#board-line Label"))


@pytest.fixture
def any_ids(any_world):
    return seed_leads(any_world)


async def test_g_moves_a_card_straight_to_a_status_picked_by_typing(any_world, any_ids):
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.screen.query_one(KanbanBoard)
        assert board.cursor_card.key == any_ids["Ann Alpha"]
        await pilot.press("g")
        await settle(pilot)
        picker = app.screen
        assert isinstance(picker, StatusPickModal)
        # Every status but the card's own, by name.
        assert picker.choices == list(LEAD_STATUSES[1:])
        await pilot.press(*"PROPO")
        assert picker.choices == ["Proposal delivered"]
        await pilot.press("enter")
        await settle(pilot)
        assert Lead.get_by_id(any_ids["Ann Alpha"]).status == 3
        assert status_trail(any_ids["Ann Alpha"])[0] == ["status New -> Proposal delivered"]
        assert any_ids["Ann Alpha"] in board_keys(app)[3]
        assert board.cursor_card.key == any_ids["Ann Alpha"]


async def test_g_picks_with_the_arrows_and_escape_leaves_the_card(any_world, any_ids):
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, PipelineScreen)
        assert status_trail(any_ids["Ann Alpha"]) == ([], [])
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*"closed")
        assert app.screen.choices == list(LEAD_STATUSES[5:])
        await pilot.press("down", "down", "down", "up", "enter")  # the third: invalid or N/A
        await settle(pilot)
        assert Lead.get_by_id(any_ids["Ann Alpha"]).status == 7
        # Closed columns are hidden: the card left the board, the header counts one less.
        assert any_ids["Ann Alpha"] not in sum(board_keys(app), [])
        new = app.screen.query_one(KanbanBoard).kanban_columns[0]
        assert new.data.count == 1 and new.data.subtitle.startswith("1 lead ·")


async def test_w_from_offer_accepted_writes_one_status_change(any_world, any_ids):
    leads.set_status(any_world.session("user1"), any_ids["Cid Gamma"], 4)
    before = status_trail(any_ids["Cid Gamma"])
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1"), show_closed=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l", "l", "l", "l")
        board = app.screen.query_one(KanbanBoard)
        assert board.cursor_card.key == any_ids["Cid Gamma"]
        await pilot.press("W")
        await settle(pilot)
        assert Lead.get_by_id(any_ids["Cid Gamma"]).status == 8
        entries, changes = status_trail(any_ids["Cid Gamma"])
        assert entries[len(before[0]):] == ["status Offer accepted -> Closed successfully"]
        assert len(changes) == len(before[1]) + 1 and '"status": [4, 8]' in changes[-1]
        # The card followed into the (shown) Closed successfully column.
        assert board_keys(app)[8][0] == any_ids["Cid Gamma"]
        assert board.cursor_card.key == any_ids["Cid Gamma"]
        await pilot.press("W")  # already won: nothing more is written
        await settle(pilot)
        assert app.notes[-1] == ("information",
                                 "Gamma Ltd is already in Closed successfully")
        assert len(status_trail(any_ids["Cid Gamma"])[0]) == len(entries)


async def test_x_asks_the_reason_and_records_it_in_the_activity(any_world, any_ids):
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("l", "X")  # Cid Gamma
        await settle(pilot)
        assert isinstance(app.screen, LostReasonModal)
        await pilot.press("escape")
        await settle(pilot)
        assert Lead.get_by_id(any_ids["Cid Gamma"]).status == 1
        await pilot.press("X")
        await settle(pilot)
        await pilot.press("enter")  # no reason yet: the dialog stays and says so
        assert isinstance(app.screen, LostReasonModal)
        assert "reason is needed" in str(app.screen.query_one("#lost-hint").content)
        await pilot.press(*"Chose a rival", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PipelineScreen)
        assert Lead.get_by_id(any_ids["Cid Gamma"]).status == 6
        assert status_trail(any_ids["Cid Gamma"])[0] == [
            "status Meeting arranged -> Closed – lost\nReason: Chose a rival"]
        assert any_ids["Cid Gamma"] not in board_keys(app)[1]


async def test_won_and_lost_of_a_read_only_lead_are_refused(any_world, any_ids):
    from tests.screens.crm_app_helpers import app_for

    app = app_for(any_world, "user1")  # the real app, which says why a greyed key is
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("6")
        await settle(pilot)
        await pilot.press("j")  # Ben Beta, Customer #B: user1 may only look
        await settle(pilot)
        board = app.screen.query_one(KanbanBoard)
        assert board.cursor_card.key == any_ids["Ben Beta"]
        keys = board_keys(app)
        for key in ("X", "g", "W"):
            await pilot.press(key)
            await settle(pilot)
            assert isinstance(app.screen, PipelineScreen)  # no dialog for a refused move
            warnings = [text for severity, text in app.notes if severity == "warning"]
            assert warnings[-1] == "read-only: you may not modify Ben Beta"
            assert board_keys(app) == keys
        assert len([s for s, _ in app.notes if s == "warning"]) == 3
        assert Lead.get_by_id(any_ids["Ben Beta"]).status == 0
        assert status_trail(any_ids["Ben Beta"]) == ([], [])


async def test_three_quick_moves_move_the_card_three_columns(any_world, any_ids):
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # No waiting between the keys: the second and third come while the first is saved.
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        await settle(pilot)
        assert Lead.get_by_id(any_ids["Ann Alpha"]).status == 3
        assert status_trail(any_ids["Ann Alpha"])[0] == [
            "status New -> Meeting arranged", "status Meeting arranged -> Needs discovered",
            "status Needs discovered -> Proposal delivered"]
        assert board_keys(app)[3] == [any_ids["Ann Alpha"]]
        assert app.screen.query_one(KanbanBoard).cursor_card.key == any_ids["Ann Alpha"]
        assert app.screen.query_one(KanbanBoard).kanban_columns[3].data.subtitle.startswith(
            "1 lead")


class GatedBoard(PipelineScreen):
    """The board on a slow server: pages and saves wait until the test lets them through."""

    def __init__(self, session) -> None:
        super().__init__(session)
        self.pages = threading.Event()
        self.pages.set()
        self.reading = threading.Event()
        self.saves = threading.Event()
        self.saves.set()

    def fetch_cards(self, status, offset, limit):
        self.reading.set()
        assert self.pages.wait(10)
        return super().fetch_cards(status, offset, limit)

    def _save_move(self, move):
        assert self.saves.wait(10)
        return super()._save_move(move)


async def wait_until(pilot, event: threading.Event) -> None:
    for _ in range(200):
        if event.is_set():
            return
        await pilot.pause(0.02)
    raise AssertionError("the board never got there")


async def test_keys_pressed_while_moves_are_saved_and_pages_read_are_not_lost(world):
    ids = seed_leads(world)
    app = LeadHarness(lambda: GatedBoard(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen
        board = screen.query_one(KanbanBoard)
        screen.pages.clear()
        screen.reading.clear()
        screen.saves.clear()
        await pilot.press("ctrl+r")
        await wait_until(pilot, screen.reading)  # the board is being read again…
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        # …and the first move is being saved: the card shows where the keys put it.
        assert screen.busy and Lead.get_by_id(ids["Ann Alpha"]).status == 0
        assert board.cursor_card.key == ids["Ann Alpha"]
        assert board_keys(app)[3] == [ids["Ann Alpha"]]
        screen.pages.set()  # the pages read before the moves arrive…
        await pilot.pause(0.2)
        assert board_keys(app)[3] == [ids["Ann Alpha"]]  # …and do not put the card back
        assert board.cursor_card.key == ids["Ann Alpha"]
        await pilot.press("less_than_sign")
        screen.saves.set()
        await settle(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 2
        assert status_trail(ids["Ann Alpha"])[0] == [
            "status New -> Meeting arranged", "status Meeting arranged -> Needs discovered",
            "status Needs discovered -> Proposal delivered",
            "status Proposal delivered -> Needs discovered"]
        assert board_keys(app)[:4] == [[ids["Ben Beta"]], [ids["Cid Gamma"]],
                                       [ids["Ann Alpha"], ids["Dee Delta"]], []]
        assert board.cursor_card.key == ids["Ann Alpha"]
        # No other card was moved by a key meant for this one.
        assert [Lead.get_by_id(ids[n]).status for n in ("Ben Beta", "Cid Gamma")] == [0, 1]


async def test_m_shows_only_my_leads_and_says_so(any_world, any_ids):
    app = LeadHarness(lambda: PipelineScreen(any_world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert filter_line(app).startswith("All leads")
        assert board_keys(app)[0] == [any_ids["Ann Alpha"], any_ids["Ben Beta"]]
        await pilot.press("m")
        await settle(pilot)
        assert filter_line(app).startswith("Filter: my leads")
        assert board_keys(app)[:3] == [[any_ids["Ann Alpha"]], [any_ids["Cid Gamma"]], []]
        counts = [c.data.count for c in app.screen.query_one(KanbanBoard).kanban_columns]
        assert counts == [1, 1, 0, 0, 0]
        await pilot.press("m")
        await settle(pilot)
        assert filter_line(app).startswith("All leads")
        assert board_keys(app)[2] == [any_ids["Dee Delta"]]


async def test_cards_show_the_owner(world):
    ids = seed_leads(world)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        cards = {c.key: c for c in app.screen.query_one(KanbanBoard).kanban_columns[0].cards}
        assert "owner user1" in cards[ids["Ann Alpha"]].lines
        assert "owner manager1" in cards[ids["Ben Beta"]].lines
        assert "owner manager1" in "\n".join(screen_lines(app))


async def test_column_position_and_closed_headers_at_80x24(world):
    seed_leads(world)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert screen_lines(app)[1].endswith("columns 1-3 of 5")
        await pilot.press("l", "l", "l")
        await settle(pilot)
        assert screen_lines(app)[1].endswith("columns 2-4 of 5")
        await pilot.press("l")
        await settle(pilot)
        assert screen_lines(app)[1].endswith("columns 3-5 of 5")
        await pilot.press("c")
        await settle(pilot)
        await pilot.press(*["l"] * 8)
        await settle(pilot)
        lines = screen_lines(app)
        assert lines[1].endswith("columns 7-9 of 9")
        # Each closed header keeps its second line (count and sum), even under a long name.
        assert "Closed – invalid or N…" in lines[3]
        assert [cell.strip() for cell in lines[4].split("│") if cell.strip()] == [
            "1 lead · 700.00", "0 leads · 0.00", "1 lead · 2,000.00"]
        await pilot.press(*["h"] * 8)
        await settle(pilot)
        assert screen_lines(app)[1].endswith("columns 1-3 of 9")


async def test_card_moves_are_greyed_in_an_empty_column(world):
    seed_leads(world)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        enabled = {key: app.screen.active_bindings[key].enabled for key in ("g", "W", "X")}
        assert enabled == {"g": True, "W": True, "X": True}
        await pilot.press("l", "l", "l", "l")  # Offer accepted: no card
        await settle(pilot)
        enabled = {key: app.screen.active_bindings[key].enabled for key in ("g", "W", "X")}
        assert enabled == {"g": False, "W": False, "X": False}
        await pilot.press("g", "W", "X")
        await settle(pilot)
        assert isinstance(app.screen, PipelineScreen) and app.notes == []


async def test_g_to_the_lost_status_asks_the_reason_too(world):
    ids = seed_leads(world)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*"lost", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LostReasonModal)
        await pilot.press(*"Too late", "enter")
        await settle(pilot)
        assert status_trail(ids["Ann Alpha"])[0] == ["status New -> Closed – lost\nReason: Too late"]


async def test_three_quick_moves_in_the_live_app(any_world):
    """The whole app, following commits as it does for a user: its own moves' commits come
    back as changes while the next keys are pressed, and no key is lost to them."""
    import asyncio

    from tests.screens.crm_app_helpers import SIZE, app_for, press
    from tests.screens.crm_app_helpers import settle as settle_app

    ids = seed_leads(any_world)
    app = app_for(any_world, "user1", live=True)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "6")
        assert isinstance(app.screen, PipelineScreen)
        assert await asyncio.to_thread(app.live_updates.watch.wait_ready, 10)
        for _ in range(2):
            await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
            await pilot.press("less_than_sign", "less_than_sign")
        await settle_app(pilot)
        await pilot.pause(0.5)  # the changes the commits announce, and the board read again
        await settle_app(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 2
        assert len(status_trail(ids["Ann Alpha"])[0]) == 10
        assert ids["Ann Alpha"] in board_keys(app)[2]
        assert app.screen.query_one(KanbanBoard).cursor_card.key == ids["Ann Alpha"]
        assert [Lead.get_by_id(ids[n]).status for n in ("Ben Beta", "Cid Gamma")] == [0, 1]


async def test_the_status_picker_ignores_accents_and_case_and_shows_renamed_statuses(world):
    from crm_tui.services import settings

    ids = seed_leads(world)
    settings.set_value(world.session("admin"), "lead.status.3", "Presentación enviada")
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)
        await pilot.press(*"PRESENTACION")
        assert app.screen.choices == ["Presentación enviada"]
        await pilot.press(*" zz")
        assert app.screen.choices == []
        await pilot.press("enter")  # nothing matches: nothing moves, the picker stays
        await settle(pilot)
        assert isinstance(app.screen, StatusPickModal)
        await pilot.press("escape")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 0


async def test_the_board_reads_default_status_names_in_the_user_s_language(world, ids):
    from crm_tui import i18n

    i18n.override_language("es")
    try:
        app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            board = app.screen.query_one(KanbanBoard)
            assert [c.data.title for c in board.kanban_columns][:2] == [
                "Nuevo", "Reunión concertada"]
            moved = board.cursor_card.key
            await pilot.press("g")
            await settle(pilot)
            picker = app.screen
            assert isinstance(picker, StatusPickModal)
            await pilot.press(*"propuesta")
            assert picker.choices == ["Propuesta entregada"]
            await pilot.press("enter")
            await settle(pilot)
        assert Lead.get_by_id(moved).status == 3
        # Stored in English, whatever the mover's language.
        assert last_entry(moved).text == "status New -> Proposal delivered"
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)
