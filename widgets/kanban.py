"""A kanban board whose columns page their cards from a blocking fetch callable, building
only the columns and cards in view (its column and card widgets are in
widgets.kanban_column, its local moves in widgets.kanban_moves)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import HorizontalScroll
from textual.message import Message
from textual.widget import Widget
from textual.worker import Worker, WorkerState

from widgets.kanban_column import (
    BoardTexts,
    CardData,
    ColumnData,
    ColumnResized,
    KanbanCard,
    KanbanColumn,
    shows_whole,
)
from widgets.kanban_moves import LocalMoves

__all__ = ["CARDS_GROUP", "BoardTexts", "CardData", "ColumnData", "Fetch", "KanbanBoard", "KanbanCard",
           "KanbanColumn"]

CARDS_GROUP = "kanban.cards"
"""Worker group of the card page fetches (one in flight per column at most)."""


Fetch = Callable[[Any, int, int], Sequence[CardData]]
"""`fetch(column_key, offset, limit) -> cards`; runs on a thread and may block."""


@dataclass
class _CardsLoaded(Message, bubble=False):
    """A worker has fetched one page of a column."""

    column_key: Hashable
    token: int
    offset: int
    limit: int
    cards: list[CardData]


@dataclass
class _PagesLoaded(Message, bubble=False):
    """A worker has fetched the first page of several columns (shown in one go)."""

    pages: list[_CardsLoaded]


class KanbanBoard(LocalMoves, HorizontalScroll, can_focus=True, inherit_bindings=False):
    """Columns side by side with a card cursor; it reports intents and never changes data.

    Moving a card only posts `CardMoved`: the owner decides, then calls `move_card_locally`
    or `reload`, or does nothing to leave the card where it was.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "column_left", "Column ←", show=False, id="kanban.column_left"),
        Binding("right,l", "column_right", "Column →", show=False, id="kanban.column_right"),
        Binding("up,k", "card_up", "Card ↑", show=False, id="kanban.card_up"),
        Binding("down,j", "card_down", "Card ↓", show=False, id="kanban.card_down"),
        Binding("home", "card_first", "First card", show=False, id="kanban.card_first"),
        Binding(
            "shift+right,greater_than_sign",
            "move_card(1)",
            "Move →",
            key_display="⇧→",
            id="kanban.move_right",
            tooltip="Move the card to the next column",
        ),
        Binding(
            "shift+left,less_than_sign",
            "move_card(-1)",
            "Move ←",
            key_display="⇧←",
            id="kanban.move_left",
            tooltip="Move the card to the previous column",
        ),
        Binding(
            "enter",
            "open_card",
            "Open",
            show=False,
            id="open",  # the key map's "open" job: one id with the screens' open
            tooltip="Open the highlighted card",
        ),
    ]
    """Arrows with hidden h/j/k/l aliases; `>`/`<` are hidden aliases of shift+arrows."""

    DEFAULT_CSS = """
    KanbanBoard {
        height: 1fr;
        /* The owner shows which columns are in view ("3-5 of 9"): the row is the cards'. */
        scrollbar-size-horizontal: 0;
        &:focus KanbanCard.-cursor {
            background: $primary 40%;
            border-left: tall $accent;
        }
    }
    """

    @dataclass
    class _BoardMessage(Message):
        """A message of the board: `control` is the board that posted it."""

        board: KanbanBoard

        @property
        def control(self) -> KanbanBoard:
            return self.board

    @dataclass
    class CardMoved(_BoardMessage):
        """The user asked to move a card to a neighbouring column (nothing has moved yet)."""

        card_key: Hashable
        from_column: Hashable
        to_column: Hashable

    @dataclass
    class CardOpened(_BoardMessage):
        """Enter on a card."""

        card_key: Hashable
        column_key: Hashable

    @dataclass
    class ColumnsInView(_BoardMessage):
        """Other columns are wholly in view (scrolled, resized, replaced): `first` to `last`
        of `total`, numbered from 1."""

        first: int
        last: int
        total: int

    @dataclass
    class CardHighlighted(_BoardMessage):
        """The cursor rests on another card."""

        card_key: Hashable
        column_key: Hashable

        def can_replace(self, message: Message) -> bool:
            """Collapse a burst of highlights (a held key) into the latest one."""
            return isinstance(message, KanbanBoard.CardHighlighted) and message.board is self.board

    def __init__(
        self,
        columns: Sequence[ColumnData] = (),
        fetch: Fetch | None = None,
        *,
        page_size: int = 20,
        prefetch_margin: int = 3,
        texts: BoardTexts | None = None,
        pages: Mapping[Hashable, Sequence[CardData]] | None = None,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create the board.

        Args:
            columns: The columns, left to right.
            fetch: `fetch(column_key, offset, limit)`, called on a thread.
            page_size: Cards fetched per request.
            prefetch_margin: Fetch the next page when the cursor is this close to the end.
            texts: The words the board writes (loading, n more…), in the user's language.
            pages: First pages already read, by column key (see `set_columns`).
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.texts = texts or BoardTexts()
        self._column_data = list(columns)
        self._columns = [KanbanColumn(data, built=False, texts=self.texts)
                         for data in self._column_data]
        self._fetch = fetch
        self.page_size = max(1, page_size)
        self.prefetch_margin = max(0, prefetch_margin)
        self._active = 0
        self._next_token = 0
        self._jobs: dict[Worker[None], list[tuple[Hashable, int]]] = {}
        self._highlighted: Hashable | None = None
        self._span: tuple[int, int, int] | None = None
        self._prefill(pages or {})

    def compose(self) -> ComposeResult:
        """One KanbanColumn per ColumnData (only those in view are built)."""
        self._mark_in_view(self._columns)
        if self._columns:
            # The cursor shows in the first frame (the column marks its card as it builds).
            self._columns[self._active].add_class("-active")
        yield from self._columns

    def on_mount(self) -> None:
        """Fetch the first page of every column."""
        self._load_first_pages()

    def on_resize(self, _event: events.Resize) -> None:
        """A new size, or columns laid out (the scrollable width changed): say what shows."""
        self._build_in_view()
        self._report_span()

    @on(ColumnResized)
    def _column_resized(self, event: ColumnResized) -> None:
        """A column has its size (after being mounted): say what shows."""
        event.stop()
        self._report_span()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        """Scrolled sideways: build the columns that come into view, say which show now."""
        super().watch_scroll_x(old_value, new_value)
        self._build_in_view()
        self._report_span()

    def _in_view(self, count: int) -> range:
        """Positions of the columns at least partly in view (before the first layout, a
        guess from the screen's width)."""
        columns = self._columns
        width = (columns[0].outer_size.width if columns else 0) or KanbanColumn.WIDTH
        shown = self.scrollable_content_region.width or self.app.size.width
        left = max(0, round(self.scroll_x))
        return range(min(count, left // width), min(count, -(-(left + shown) // width)))

    def _mark_in_view(self, columns: Sequence[KanbanColumn]) -> None:
        """Before mounting `columns`: those in view (and the cursor's) build at once."""
        for position in [*self._in_view(len(columns)), self._active]:
            if 0 <= position < len(columns):
                columns[position].built = True

    def _build_in_view(self) -> None:
        """Build the columns that have come into view."""
        columns = self._columns
        for position in self._in_view(len(columns)):
            columns[position].build()

    def _report_span(self) -> None:
        columns = self.kanban_columns
        if columns and not columns[0].outer_size.width:
            return  # not laid out yet: the next paint or resize reports
        span = self.visible_span()
        if span != self._span:
            self._span = span
            self.post_message(self.ColumnsInView(self, *span))

    # -- public API ---------------------------------------------------------------------

    @property
    def kanban_columns(self) -> list[KanbanColumn]:
        """The column widgets, left to right."""
        return list(self._columns)

    @property
    def active_column(self) -> KanbanColumn | None:
        """The column holding the cursor."""
        columns = self.kanban_columns
        return columns[self._active] if 0 <= self._active < len(columns) else None

    @property
    def cursor_column(self) -> ColumnData | None:
        """Data of the column holding the cursor."""
        column = self.active_column
        return None if column is None else column.data

    @property
    def cursor_card(self) -> CardData | None:
        """The highlighted card, or None in an empty or still loading column."""
        column = self.active_column
        if column is None or not column.cards:
            return None
        return column.cards[min(column.cursor, len(column.cards) - 1)]

    def column(self, key: Hashable) -> KanbanColumn | None:
        """The column widget for `key`."""
        for column in self.kanban_columns:
            if column.data.key == key:
                return column
        return None

    def select_card(self, card_key: Hashable) -> bool:
        """Put the cursor on a loaded card; returns whether it was found."""
        for position, column in enumerate(self.kanban_columns):
            for index, card in enumerate(column.cards):
                if card.key == card_key:
                    self._active = position
                    column.cursor = index
                    self._paint()
                    return True
        return False

    def set_columns(self, columns: Sequence[ColumnData], fetch: Fetch | None = None, *,
                    pages: Mapping[Hashable, Sequence[CardData]] | None = None) -> None:
        """Replace every column (and optionally the fetch callable) and load them afresh.

        `pages` holds the first page (up to `page_size` cards) of columns the owner has
        already read, by column key: those show as they are built, without a fetch.
        """
        if fetch is not None:
            self._fetch = fetch
        self._column_data = list(columns)
        self._jobs.clear()
        self.remove_children(self._columns)
        self._columns = [KanbanColumn(data, built=False, texts=self.texts)
                         for data in self._column_data]
        self._active = min(self._active, max(0, len(self._columns) - 1))
        pages = pages or {}
        self._prefill(pages)
        self._mark_in_view(self._columns)
        if self._columns:
            # The cursor shows in the first frame (the column marks its card as it builds).
            self._columns[self._active].add_class("-active")
        self.mount_all(self._columns)
        if len(pages) < len(self._columns):
            # Fetch once the new columns are in the DOM.
            self.call_after_refresh(self._load_first_pages)
        else:
            self._paint()

    def _prefill(self, pages: Mapping[Hashable, Sequence[CardData]]) -> None:
        """Give columns not mounted yet the first pages their owner read: they show them as
        they are built, with nothing to fetch."""
        for column in self._columns:
            cards = pages.get(column.data.key)
            if cards is not None:
                self._next_token += 1
                column.token = self._next_token
                column.exhausted = len(cards) < self.page_size
                column.show_cards(cards)

    def _load_first_pages(self) -> None:
        """Fetch the first page of every column not read yet, in one go."""
        self._fetch_pages([column for column in self._columns if not column.token])
        self._paint()

    def reload(self, columns: Sequence[ColumnData] | None = None) -> None:
        """Fetch every column again from the top, as deep as it was loaded.

        Args:
            columns: New titles/counts for the same column keys (e.g. after a move).
        """
        if columns is not None:
            by_key = {data.key: data for data in columns}
            if set(by_key) != {column.data.key for column in self.kanban_columns}:
                self.set_columns(columns)
                return
            self._column_data = list(columns)
            for column in self.kanban_columns:
                column.data = by_key[column.data.key]
        for column in self.kanban_columns:
            depth = max(self.page_size, len(column.cards), column.cursor + 1)
            self._fetch_page(column, 0, depth)

    def visible_span(self) -> tuple[int, int, int]:
        """(first, last, total): the columns wholly in view, numbered from 1.

        At least the cursor's column counts as shown when none fits whole.
        """
        columns = self.kanban_columns
        total = len(columns)
        if not total:
            return (0, 0, 0)
        width = columns[0].outer_size.width
        shown = self.scrollable_content_region.width
        if width <= 0 or shown <= 0:
            return (1, total, total)
        left = round(self.scroll_x)
        first = -(-left // width)  # columns partly scrolled out on the left do not count
        last = min(total, (left + shown) // width)
        if last <= first:
            # Narrower than a column: the cursor's column is the one in view.
            first = last = self._active
            return (first + 1, last + 1, total)
        return (first + 1, last, total)

    # -- actions ------------------------------------------------------------------------

    move_refusal: Callable[[CardData], str | None] | None = None
    """Set by the owner: why the card may not be moved (its moves are greyed and the app says
    this when one is pressed), or None when it may."""

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out moves with no card or no neighbouring column, or of a card the owner
        says may not move."""
        if action == "move_card":
            step = parameters[0] if parameters else 1
            target = self._active + (step if isinstance(step, int) else 1)
            if self.cursor_card is None or not 0 <= target < len(self._column_data):
                return None
            if self.refusal(action, parameters):
                return None
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Why a greyed move does nothing, when the owner said the card may not move."""
        card = self.cursor_card
        if action != "move_card" or card is None or self.move_refusal is None:
            return None
        return self.move_refusal(card)

    def action_column_left(self) -> None:
        """Move the cursor to the previous column."""
        self._activate(self._active - 1)

    def action_column_right(self) -> None:
        """Move the cursor to the next column."""
        self._activate(self._active + 1)

    def action_card_up(self) -> None:
        """Move the cursor to the card above."""
        self._move_cursor(-1)

    def action_card_down(self) -> None:
        """Move the cursor to the card below (fetching more when near the end)."""
        self._move_cursor(+1)

    def action_card_first(self) -> None:
        """Move the cursor to the top card of the column."""
        column = self.active_column
        if column is not None:
            column.cursor = 0
            self._paint()

    def action_move_card(self, step: int) -> None:
        """Post CardMoved towards the neighbouring column `step` away (the owner decides)."""
        columns = self.kanban_columns
        card = self.cursor_card
        target = self._active + step
        if card is None or not 0 <= target < len(columns):
            return
        source = columns[self._active].data.key
        self.post_message(self.CardMoved(self, card.key, source, columns[target].data.key))

    def action_open_card(self) -> None:
        """Post CardOpened for the highlighted card."""
        card = self.cursor_card
        column = self.active_column
        if card is not None and column is not None:
            self.post_message(self.CardOpened(self, card.key, column.data.key))

    def on_click(self, event: events.Click) -> None:
        """A click puts the cursor on the card; a double click opens it."""
        node = event.widget
        while node is not None and not isinstance(node, KanbanCard):
            node = node.parent if isinstance(node.parent, Widget) else None
        if node is None:
            return
        for position, column in enumerate(self.kanban_columns):
            widgets = column.card_widgets()
            if node in widgets:
                self._active = position
                column.cursor = widgets.index(node)
                self._paint()
                if event.chain >= 2:
                    self.action_open_card()
                return

    # -- internals ----------------------------------------------------------------------

    def _activate(self, position: int) -> None:
        if 0 <= position < len(self.kanban_columns):
            self._active = position
            self._columns[position].build()
            self._paint()

    def _move_cursor(self, step: int) -> None:
        column = self.active_column
        if column is None or not column.cards:
            return
        column.cursor = max(0, min(column.cursor + step, len(column.cards) - 1))
        self._paint()
        self._maybe_fetch_more(column)

    def _maybe_fetch_more(self, column: KanbanColumn) -> None:
        near_end = column.cursor >= len(column.cards) - 1 - self.prefetch_margin
        if near_end and column.has_more and not column.loading and not column.failed:
            self._fetch_page(column, len(column.cards), self.page_size)

    def _paint(self) -> None:
        columns = self.kanban_columns
        if not columns:
            return
        self._active = max(0, min(self._active, len(columns) - 1))
        for position, column in enumerate(columns):
            column.paint_cursor(position == self._active)
        active = columns[self._active]
        # After the card has been scrolled into its list: show the whole column sideways.
        if not shows_whole(self, active):
            active.scroll_visible(animate=False)
        card = self.cursor_card
        key = None if card is None else card.key
        # Whether a move is possible depends on the cursor: let the footer grey it out.
        self.refresh_bindings()
        if card is not None and key != self._highlighted:
            self.post_message(self.CardHighlighted(self, card.key, active.data.key))
        self._highlighted = key
        self._report_span()

    def _start_fetch(self, column: KanbanColumn, offset: int) -> None:
        """Mark `column` as loading, under a new token."""
        self._next_token += 1
        column.token = self._next_token
        column.loading = True
        column.failed = False
        if offset == 0:
            column.stale = False
        column.refresh_header()

    def _fetch_page(self, column: KanbanColumn, offset: int, limit: int) -> None:
        if self._fetch is None:
            return
        self._start_fetch(column, offset)
        worker = self._load_cards(self._fetch, column.data.key, column.token, offset, limit)
        self._jobs[worker] = [(column.data.key, column.token)]

    def _fetch_pages(self, columns: Sequence[KanbanColumn]) -> None:
        """The first page of each of `columns`, read by one worker and shown in one go."""
        if self._fetch is None or not columns:
            return
        for column in columns:
            self._start_fetch(column, 0)
        jobs = [(column.data.key, column.token) for column in columns]
        worker = self._load_first(self._fetch, jobs, self.page_size)
        self._jobs[worker] = jobs

    @work(thread=True, group=CARDS_GROUP, exit_on_error=False,
          description="Fetch kanban first pages")
    def _load_first(self, fetch: Fetch, jobs: list[tuple[Hashable, int]], limit: int) -> None:
        pages = [_CardsLoaded(key, token, 0, limit, list(fetch(key, 0, limit)))
                 for key, token in jobs]
        self.post_message(_PagesLoaded(pages))

    @on(_PagesLoaded)
    def _show_pages(self, message: _PagesLoaded) -> None:
        for page in message.pages:
            self._show_page(page)

    @work(thread=True, group=CARDS_GROUP, exit_on_error=False, description="Fetch kanban cards")
    def _load_cards(
        self, fetch: Fetch, column_key: Hashable, token: int, offset: int, limit: int
    ) -> None:
        cards = list(fetch(column_key, offset, limit))
        self.post_message(_CardsLoaded(column_key, token, offset, limit, cards))

    @on(_CardsLoaded)
    def _show_page(self, message: _CardsLoaded) -> None:
        column = self.column(message.column_key)
        if column is None or column.token != message.token:
            return
        column.loading = False
        column.exhausted = len(message.cards) < message.limit
        if message.offset == 0:
            cursor_key = column.cards[column.cursor].key if column.cards else None
            column.show_cards(message.cards)
            # After a reload, keep the cursor on the same card if it is still there.
            keys = [card.key for card in column.cards]
            if cursor_key in keys:
                column.cursor = keys.index(cursor_key)
        else:
            column.append_cards(message.cards[max(0, len(column.cards) - message.offset) :])
        column.refresh_header()
        self._paint()
        if column is self.active_column:
            self._maybe_fetch_more(column)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Mark a column whose fetch failed; the app-wide handler reports the error."""
        jobs = self._jobs.get(event.worker)
        if jobs is None:
            return
        if event.state == WorkerState.ERROR:
            for column_key, token in jobs:
                column = self.column(column_key)
                if column is not None and column.token == token:
                    column.loading = False
                    column.failed = True
                    column.refresh_header()
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            del self._jobs[event.worker]
