"""KanbanBoard driven by Pilot: paging per column, intent messages, sideways scrolling, the
columns in view, local moves and the pages they make stale."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from widgets.kanban import CardData, ColumnData, KanbanBoard

BIG = 100_000
KEYS = ["new", "meeting", "needs", "proposal", "accepted"]


class FakeFetch:
    """Cards made up on demand; records (column, offset, limit) of every call."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes
        self.calls: list[tuple[str, int, int]] = []
        self.threads: set[str] = set()

    def __call__(self, column: str, offset: int, limit: int) -> list[CardData]:
        self.calls.append((column, offset, limit))
        self.threads.add(threading.current_thread().name)
        end = min(self.sizes[column], offset + limit)
        return [
            CardData(
                f"{column}-{n}",
                f"Lead {n} of {column}",
                [f"{n * 100:,}.00", "ACME Corp"],
                [("hot", "red"), ("vip", "#ffcc00")],
            )
            for n in range(offset, end)
        ]

    def per_column(self) -> Counter[str]:
        return Counter(column for column, _, _ in self.calls)


def columns(sizes: dict[str, int]) -> list[ColumnData]:
    return [ColumnData(key, key.title(), f"{sizes[key]:,} leads", sizes[key]) for key in sizes]


class BoardApp(App[None]):
    """A harness that records the board's messages."""

    def __init__(self, sizes: dict[str, int], page_size: int = 20) -> None:
        super().__init__()
        self.page_size = page_size
        self.fetch = FakeFetch(sizes)
        self.sizes = sizes
        self.moves: list[tuple[object, object, object]] = []
        self.opened: list[object] = []

    def compose(self) -> ComposeResult:
        yield KanbanBoard(columns(self.sizes), self.fetch, page_size=self.page_size)

    def on_kanban_board_card_moved(self, message: KanbanBoard.CardMoved) -> None:
        self.moves.append((message.card_key, message.from_column, message.to_column))

    def on_kanban_board_card_opened(self, message: KanbanBoard.CardOpened) -> None:
        self.opened.append(message.card_key)


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages (and any follow-up fetches) be handled."""
    for _ in range(10):
        # A failing source is part of some tests; the widget itself must survive it.
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in pilot.app.workers):
            return


def big_board() -> BoardApp:
    return BoardApp(dict.fromkeys(KEYS, BIG))


async def test_each_column_fetches_one_page_on_a_thread() -> None:
    app = big_board()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        assert app.fetch.per_column() == dict.fromkeys(KEYS, 1)
        assert all(offset == 0 for _, offset, _ in app.fetch.calls)
        assert threading.main_thread().name not in app.fetch.threads
        assert all(len(column.cards) == board.page_size for column in board.kanban_columns)
        assert board.cursor_card is not None and board.cursor_card.key == "new-0"


async def test_move_keys_post_card_moved_and_change_nothing() -> None:
    app = big_board()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        await pilot.press("shift+right")
        await pilot.press("l", "j", "<")
        await pilot.press("shift+left", "greater_than_sign")
        await pilot.pause()
        assert app.moves == [
            ("new-0", "new", "meeting"),
            ("meeting-1", "meeting", "new"),
            ("meeting-1", "meeting", "new"),
            ("meeting-1", "meeting", "needs"),
        ]
        # The board only reports intents; the data is untouched.
        assert [card.key for card in board.column("new").cards[:2]] == ["new-0", "new-1"]
        assert board.column("meeting").data.count == BIG


async def test_no_move_past_the_outer_columns_and_enter_opens() -> None:
    app = BoardApp({"new": 2, "won": 2})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        await pilot.press("shift+left", "h")
        assert board.check_action("move_card", (-1,)) is None
        await pilot.press("l", "l", "shift+right")
        await pilot.pause()
        assert board.cursor_column is not None and board.cursor_column.key == "won"
        assert board.check_action("move_card", (1,)) is None
        assert app.moves == []
        # Vim keys move; enter opens.
        await pilot.press("h", "j", "k", "j", "enter")
        await pilot.pause()
        assert app.opened == ["new-1"]


async def test_more_cards_load_as_the_cursor_nears_the_end() -> None:
    # With pages of 8 and a margin of 3, the fifth card (index 4) asks for the next page.
    app = BoardApp({"new": BIG, "won": BIG}, page_size=8)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        assert app.fetch.per_column() == {"new": 1, "won": 1}
        await pilot.press("down")
        await settle(pilot)
        assert app.fetch.calls[-1] == ("new", 8, 8)
        assert len(board.column("new").cards) == 16
        assert app.fetch.per_column() == {"new": 2, "won": 1}
        assert board.cursor_card is not None and board.cursor_card.key == "new-4"


async def test_short_column_stops_fetching() -> None:
    app = BoardApp({"new": 3, "won": 0})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        await pilot.press("down", "down", "down")
        await settle(pilot)
        assert app.fetch.per_column() == {"new": 1, "won": 1}
        assert board.cursor_card is not None and board.cursor_card.key == "new-2"
        await pilot.press("l", "enter", "shift+left")
        await pilot.pause()
        assert board.cursor_card is None
        assert app.opened == [] and app.moves == []


async def test_columns_scroll_sideways_at_80_columns() -> None:
    app = big_board()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        assert board.scroll_x == 0
        await pilot.press("l", "l", "l", "l")
        await pilot.pause()
        await pilot.pause()
        last = board.column("accepted")
        assert board.scroll_x > 0
        assert board.region.contains_region(last.region)


async def test_the_cursor_card_is_scrolled_into_view_and_back() -> None:
    app = BoardApp({"new": 15, "won": 2})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        column = board.column("new")
        cards = column.query_one("_CardList")
        assert cards.scroll_y == 0
        await pilot.press(*["down"] * 12)
        await settle(pilot)
        widget = column.card_widgets()[12]
        assert widget.has_class("-cursor")
        assert cards.scroll_y > 0
        assert cards.scrollable_content_region.contains_region(widget.region)
        await pilot.press("home")
        await settle(pilot)
        assert cards.scroll_y == 0


async def test_click_then_move_card_locally_and_reload() -> None:
    app = BoardApp({"new": 5, "won": 2})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        second = board.column("won").card_widgets()[1]
        await pilot.click(second)
        assert board.cursor_card is not None and board.cursor_card.key == "won-1"
        await pilot.double_click(second)
        await pilot.pause()
        assert app.opened == ["won-1"]
        assert board.move_card_locally("new-0", "won")
        await pilot.pause()
        assert [card.key for card in board.column("won").cards] == ["new-0", "won-0", "won-1"]
        assert board.column("new").data.count == 4
        assert board.cursor_card is not None and board.cursor_card.key == "new-0"
        assert board.cursor_column is not None and board.cursor_column.key == "won"
        # The owner saved the move and reloads from the source of truth.
        app.fetch.sizes = {"new": 4, "won": 3}
        board.reload(columns(app.fetch.sizes))
        await settle(pilot)
        assert [card.key for card in board.column("won").cards] == ["won-0", "won-1", "won-2"]
        assert board.column("won").data.count == 3
        assert not board.move_card_locally("missing", "won")


class InViewApp(BoardApp):
    """Also records which columns the board says are in view."""

    def __init__(self, sizes: dict[str, int]) -> None:
        super().__init__(sizes)
        self.spans: list[tuple[int, int, int]] = []

    def on_kanban_board_columns_in_view(self, message: KanbanBoard.ColumnsInView) -> None:
        self.spans.append((message.first, message.last, message.total))


async def test_the_board_says_which_columns_are_in_view() -> None:
    app = InViewApp(dict.fromkeys(KEYS, 3))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        # 26 cells a column: three whole ones fit in 80.
        assert app.spans[-1] == (1, 3, 5)
        await pilot.press("l", "l", "l")
        await settle(pilot)
        assert app.spans[-1] == (2, 4, 5)  # the first one is partly scrolled out
        await pilot.press("l")
        await settle(pilot)
        assert app.spans[-1] == (3, 5, 5) == app.query_one(KanbanBoard).visible_span()
        await pilot.resize_terminal(140, 24)
        await settle(pilot)
        assert app.spans[-1] == (1, 5, 5)


async def test_remove_and_insert_a_card_locally() -> None:
    app = BoardApp({"new": 3, "won": 1})
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        await pilot.press("down")
        removed = board.remove_card_locally("new-1")
        assert removed is not None
        card, column_key, index = removed
        assert (card.key, column_key, index) == ("new-1", "new", 1)
        assert [c.key for c in board.column("new").cards] == ["new-0", "new-2"]
        assert board.column("new").data.count == 2
        assert board.cursor_card is not None and board.cursor_card.key == "new-2"
        assert board.remove_card_locally("new-1") is None
        assert board.insert_card_locally(card, "new", index=1)
        assert [c.key for c in board.column("new").cards] == ["new-0", "new-1", "new-2"]
        assert board.column("new").data.count == 3
        assert board.cursor_card is not None and board.cursor_card.key == "new-1"
        assert not board.insert_card_locally(card, "lost")


class GatedFetch(FakeFetch):
    """Pages wait for `gate` (to stand for a slow server)."""

    def __init__(self, sizes: dict[str, int]) -> None:
        super().__init__(sizes)
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, column: str, offset: int, limit: int) -> list[CardData]:
        assert self.gate.wait(10)
        return super().__call__(column, offset, limit)


async def test_a_page_read_before_a_local_move_does_not_undo_it() -> None:
    app = BoardApp({"new": 2, "won": 1})
    app.fetch = GatedFetch(app.sizes)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        app.fetch.gate.clear()
        board.reload()  # both columns are being read…
        await pilot.pause()
        assert board.move_card_locally("new-0", "won")  # …when a card moves
        app.fetch.gate.set()
        await settle(pilot)
        # The pages read before the move were dropped: the card stays where it was moved.
        assert [c.key for c in board.column("won").cards] == ["new-0", "won-0"]
        assert [c.key for c in board.column("new").cards] == ["new-1"]
        assert board.column("won").stale and board.column("new").stale
        # Once the move is stored, the owner has the dropped pages read again.
        app.fetch.sizes = {"new": 1, "won": 2}
        board.fetch_stale()
        await settle(pilot)
        assert not board.column("won").stale
        assert [c.key for c in board.column("won").cards] == ["won-0", "won-1"]
        assert [c.key for c in board.column("new").cards] == ["new-0"]


async def test_only_what_is_in_view_is_built() -> None:
    # 80 columns hold three whole columns and the edge of a fourth: the fifth stays an
    # empty frame, and each column has widgets only for the cards its list shows.
    app = big_board()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        built = [column.built for column in board.kanban_columns]
        assert built == [True, True, True, True, False]
        last = board.column("accepted")
        assert not last.children and len(last.cards) == board.page_size  # read, not built
        new = board.column("new")
        widgets = new.card_widgets()
        assert 0 < len(widgets) < len(new.cards)
        card_list = new.query_one("_CardList")
        bottom = card_list.scrollable_content_region.bottom
        assert widgets[-1].region.bottom >= bottom - 1  # down to the bottom of the list
        # The list scrolls as if every loaded card were there (4 lines and a margin each).
        assert card_list.virtual_size.height == 5 * len(new.cards)
        # Moving to the last column builds it, with its cards.
        await pilot.press("l", "l", "l", "l")
        await settle(pilot)
        assert last.built and last.card_widgets()
        assert last.card_widgets()[0].has_class("-cursor")


async def test_cards_mount_as_the_cursor_or_the_wheel_goes_down() -> None:
    app = big_board()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        board = app.query_one(KanbanBoard)
        new = board.column("new")
        shown = len(new.card_widgets())
        await pilot.press(*["down"] * shown)
        await settle(pilot)
        widgets = new.card_widgets()
        assert len(widgets) > shown and widgets[shown].has_class("-cursor")
        card_list = new.query_one("_CardList")
        assert card_list.scrollable_content_region.contains_region(widgets[shown].region)
        # The wheel (no cursor move) in another column mounts what comes into view.
        meeting = board.column("meeting")
        before = len(meeting.card_widgets())
        meeting.query_one("_CardList").scroll_to(y=30, animate=False)
        await settle(pilot)
        assert len(meeting.card_widgets()) > before
        assert board.cursor_card is not None and board.cursor_card.key == f"new-{shown}"
