"""Screen 6: the pipeline board, a column per status whose cards move with shift+arrows.

The board only reports intents; this screen moves the card at once, asks the services to
change the status (which logs it in the lead's timeline), and moves the card back with
the reason when the services refuse.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.timer import Timer

from crm_tui.services import leads, pipeline
from crm_tui.services.changes import Change
from crm_tui.services.context import Session
from screens.base import CrmScreen, error_text
from widgets.kanban import CardData, ColumnData, KanbanBoard

#: Inner width of a card (the column is 26 cells: border and padding take the rest).
CARD_WIDTH = 22


def short_money(amount: Decimal) -> str:
    """An amount that fits a column header: 1,234.50 below a million, then 12.35M."""
    if abs(amount) >= 1_000_000:
        return f"{amount / 1_000_000:,.2f}M"
    return f"{amount:,.2f}"


def column_subtitle(count: int, total: Decimal) -> str:
    """The second header line: how many leads and the sum of their estimated sales."""
    text = f"{count:,} leads · {short_money(total)}"
    return text if len(text) <= CARD_WIDTH else f"{count:,} · {short_money(total)}"


def card_data(card: pipeline.Card, order: str) -> CardData:
    """What a card shows: company, contact, country, estimated sale, tags (and the date
    it is ordered by, when that is a date)."""
    title = card.company_name or card.full_name
    lines = [card.full_name] if card.company_name else []
    where = f"{card.country} · " if card.country else ""
    lines.append(f"{where}{card.estimated_sale:,.2f}")
    if order == "estimated_close" and card.estimated_close is not None:
        lines.append(f"close {card.estimated_close.isoformat()}")
    elif order == "updated":
        lines.append(f"changed {card.updated:%Y-%m-%d}")
    return CardData(card.id, title, lines, list(card.tags))


@dataclass(frozen=True)
class _Move:
    """A move shown on the board and not yet saved."""

    lead_id: int
    from_status: int
    to_status: int
    index: int


class PipelineScreen(CrmScreen):
    """The kanban board of leads: arrows or h/j/k/l move the cursor, shift+→/← (or > <) move
    the card to the next/previous status, enter opens the lead, o orders, c shows closed."""

    SCREEN_TITLE = "6 Pipeline"
    AUTO_FOCUS = "#board"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "cycle_order", "Order", id="pipeline.order",
                tooltip="Order cards by estimated sale, last change or estimated close date"),
        Binding("c", "toggle_closed", "Closed", id="pipeline.closed",
                tooltip="Show or hide the closed statuses"),
        Binding("ctrl+r", "refresh_board", "Refresh", show=False, id="pipeline.refresh",
                tooltip="Read the board again"),
    ]
    """Screen keys; the board's own keys (arrows, shift+arrows, enter) show beside them."""

    DEFAULT_CSS = """
    PipelineScreen {
        & KanbanBoard {
            height: 1fr;
        }
    }
    """

    def __init__(self, session: Session, *, order: str = "estimated_sale",
                 show_closed: bool = False, page_size: int = 10, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """Create the board for `session`, ordered by `order` (see pipeline.ORDERS)."""
        super().__init__(session, name=name, id=id, classes=classes)
        self.order = order if order in pipeline.ORDERS else pipeline.ORDERS[0]
        self.show_closed = show_closed
        self.page_size = page_size
        self._moves: deque[_Move] = deque()
        self._saving = False
        self._figures_timer: Timer | None = None

    def compose_body(self) -> ComposeResult:
        """The board; its columns arrive from the services."""
        yield KanbanBoard([], self.fetch_cards, page_size=self.page_size, id="board")

    def screen_title(self) -> str:
        """Title with the ordering and whether closed statuses show."""
        closed = " · with closed" if self.show_closed else ""
        return f"{self.SCREEN_TITLE} · by {pipeline.ORDER_LABELS[self.order]}{closed}"

    @property
    def board(self) -> KanbanBoard:
        """The kanban board."""
        return self.query_one("#board", KanbanBoard)

    def on_mount(self) -> None:
        """Read the columns (counts and sums) from the services."""
        self.load_columns()

    def on_screen_resume(self) -> None:
        """A lead may have changed in its detail view: read the board again."""
        # (CrmScreen's own handler runs too: Textual calls each class's handler.)
        if self.is_mounted and self.board.kanban_columns:
            self.load_columns()

    # -- data ---------------------------------------------------------------------------

    def fetch_cards(self, status: object, offset: int, limit: int) -> list[CardData]:
        """The board's fetch (runs on the board's thread): one page of one column."""
        order = self.order
        cards = pipeline.column_page(self.session, int(status), order, offset, limit)
        return [card_data(card, order) for card in cards]

    def load_columns(self) -> None:
        """Show the columns (their cards reload), then count them on another thread.

        The cards do not wait for the counts: a column's first page is an indexed read of a
        few rows, while its count and sum visit every lead in it. The counting starts once
        the cards are on screen, so on a busy machine it does not slow their first paint.
        """
        self.call_service(pipeline.titles, self.show_closed, done=self._show_titles,
                          group="pipeline.titles", exclusive=True)

    def _load_figures(self) -> None:
        self.call_service(self._columns, done=self._refresh_headers, group="pipeline.figures",
                          exclusive=True)

    def _figures_after_cards(self) -> None:
        """Start counting once every column has its first cards (or after 2 s anyway)."""
        if self._figures_timer is not None:
            self._figures_timer.stop()
        started = time.monotonic()

        def check() -> None:
            columns = self.board.kanban_columns
            fetched = all(c.token > 0 and not c.loading for c in columns)
            if fetched or time.monotonic() - started > 2:
                if self._figures_timer is not None:
                    self._figures_timer.stop()
                    self._figures_timer = None
                self.call_after_refresh(self._load_figures)

        self._figures_timer = self.set_interval(0.02, check)

    def _columns(self) -> list[ColumnData]:
        return [ColumnData(c.status, c.name, column_subtitle(c.count, c.total), c.count)
                for c in pipeline.columns(self.session, show_closed=self.show_closed)]

    def _show_titles(self, titles: list[tuple[int, str]]) -> None:
        board = self.board
        shown = {column.data.key: column.data for column in board.kanban_columns}
        columns = []
        for status, title in titles:
            known = shown.get(status)
            # Keep the figures already shown until the new ones arrive.
            columns.append(ColumnData(status, title, known.subtitle, known.count) if known
                           else ColumnData(status, title, "counting…", 0))
        board.reload(columns)
        self._figures_after_cards()

    def _refresh_headers(self, columns: list[ColumnData]) -> None:
        """New counts and sums in the headers, without fetching cards again."""
        if self._moves or self._saving:
            return  # more moves are on their way; the last one brings the final figures
        by_key = {data.key: data for data in columns}
        for column in self.board.kanban_columns:
            data = by_key.get(column.data.key)
            if data is not None:
                # The count also lets the column page further down.
                column.data = data
                if column.is_mounted:
                    column.refresh_header()

    # -- moving cards -------------------------------------------------------------------

    @on(KanbanBoard.CardMoved)
    def move_card_to_status(self, event: KanbanBoard.CardMoved) -> None:
        """Show the move at once and queue it for the services (saved one at a time, in order)."""
        event.stop()
        board = event.board
        source = board.column(event.from_column)
        keys = [card.key for card in source.cards] if source is not None else []
        index = keys.index(event.card_key) if event.card_key in keys else 0
        board.move_card_locally(event.card_key, event.to_column)
        self._moves.append(_Move(int(event.card_key), int(event.from_column),
                                 int(event.to_column), index))
        self._save_next_move()

    def _save_next_move(self) -> None:
        if self._saving or not self._moves:
            return
        move = self._moves.popleft()
        self._saving = True
        self.call_service(self._save_move, move, done=self._move_saved,
                          failed=lambda error: self._move_refused(move, error),
                          group="pipeline.move")

    def _save_move(self, move: _Move) -> list[ColumnData]:
        leads.set_status(self.session, move.lead_id, move.to_status)
        return self._columns()

    def _move_saved(self, columns: list[ColumnData]) -> None:
        self._saving = False
        if self._moves:
            self._save_next_move()
        else:
            self._refresh_headers(columns)

    def _move_refused(self, move: _Move, error: BaseException) -> None:
        """Put the card back where it was and say why."""
        self._saving = False
        later = [m for m in self._moves if m.lead_id == move.lead_id]
        self._moves = deque(m for m in self._moves if m.lead_id != move.lead_id)
        board = self.board
        board.move_card_locally(move.lead_id, move.from_status, index=move.index)
        self.notify(f"Not moved: {error_text(error)}", severity="warning", timeout=8)
        if later:
            # Later moves of the same card assumed this one: show what is really stored.
            self.load_columns()
        elif not self._moves:
            self.call_service(self._columns, done=self._refresh_headers,
                              group="pipeline.columns")
        self._save_next_move()

    # -- other keys ---------------------------------------------------------------------

    @on(KanbanBoard.CardOpened)
    def open_lead(self, event: KanbanBoard.CardOpened) -> None:
        """Enter on a card: the lead's detail view."""
        event.stop()
        from screens.lead_detail import LeadDetailScreen

        self.app.push_screen(LeadDetailScreen(self.session, int(event.card_key)))

    def action_cycle_order(self) -> None:
        """Order the cards by the next criterion (estimated sale, last change, close date)."""
        self.order = pipeline.next_order(self.order)
        self.set_title(self.screen_title())
        self.board.reload()
        self.notify(f"Ordered by {pipeline.ORDER_LABELS[self.order]}", timeout=2)

    def action_toggle_closed(self) -> None:
        """Show or hide the columns of the closed statuses."""
        self.show_closed = not self.show_closed
        self.set_title(self.screen_title())
        self.load_columns()

    def action_refresh_board(self) -> None:
        """Read every column again."""
        self.load_columns()

    def live_refresh(self, change: Change) -> None:
        """Another process committed a change: read the board again; the cursor stays on
        its card (screens.live). Not while this screen's own moves are being saved: the
        card would jump back for a moment; the last save brings the figures instead."""
        if self._moves or self._saving:
            self.live_stale = True
            self.set_timer(0.3, self._live_retry)
            return
        self.load_columns()

    def _live_retry(self) -> None:
        if self.live_stale and self.is_current:
            self.live_stale = False
            self.live_refresh(Change(None, None, time.time()))
