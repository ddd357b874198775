"""Screen 6: the pipeline board, a column per status whose cards move with shift+arrows,
`g` (to a status picked by name), `W` (won) and `X` (lost, with a reason).

The board only reports intents; this screen moves the card at once, asks the services to
change the status (which logs it in the lead's timeline), and moves the card back with
the reason when the services refuse. Moves are saved one at a time, in the order of the
keys; the board is not read again until the last one is stored, so no page read before a
move can put its card back on screen.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.timer import Timer
from textual.widgets import Label

from crm_tui import formatting
from crm_tui.errors import error_text
from crm_tui.i18n import N_, _, ngettext
from crm_tui.services import leads, pipeline
from crm_tui.services.changes import Change
from crm_tui.services.context import Session
from screens import keymap
from screens.crm_screen import CrmScreen
from screens.first_frame import CollectorPause
from screens.modals.pipeline_moves import LostReasonModal, StatusPickModal
from screens.refusals import refusal_text
from widgets.kanban import BoardTexts, CardData, ColumnData, KanbanBoard

#: Inner width of a card (the column is 26 cells: border and padding take the rest).
CARD_WIDTH = 22


def short_money(amount: Decimal) -> str:
    """An amount that fits a column header, in the user's language: en 1,234.50 below a
    million, then 12.35M; es 1.234,50 and 12,35M."""
    return formatting.short_amount_text(amount)


def column_subtitle(count: int, total: Decimal) -> str:
    """The second header line: how many leads and the sum of their estimated sales."""
    text = ngettext("{count} lead · {total}", "{count} leads · {total}", count).format(
        count=formatting.count_text(count), total=short_money(total))
    return (text if len(text) <= CARD_WIDTH
            else f"{formatting.count_text(count)} · {short_money(total)}")


def card_data(card: pipeline.Card, order: str) -> CardData:
    """What a card shows: company, contact, country, estimated sale, owner, tags (and the
    date it is ordered by, when that is a date)."""
    title = card.company_name or card.full_name
    lines = [card.full_name] if card.company_name else []
    where = f"{card.country} · " if card.country else ""
    lines.append(f"{where}{formatting.amount_text(card.estimated_sale)}")
    lines.append(_("owner {login}").format(login=card.owner) if card.owner else _("no owner"))
    if order == "estimated_close" and card.estimated_close is not None:
        lines.append(_("close {date}").format(
            date=formatting.date_text(card.estimated_close)))
    elif order == "updated":
        lines.append(_("changed {updated}").format(
            updated=formatting.date_text(formatting.local_time(card.updated))))
    return CardData(card.id, title, lines, list(card.tags))


@dataclass(frozen=True)
class _Move:
    """A move shown on the board and not yet saved."""

    lead_id: int
    from_status: int
    to_status: int
    index: int
    card: CardData
    """The card as it was, to put back when the move is refused."""
    reason: str = ""
    """Why the lead was lost (a move to the lost status only)."""


def position_text(first: int, last: int, total: int) -> str:
    """Which columns are in view: "3-5 of 9"."""
    if not total:
        return ""
    shown = f"{first}" if first == last else f"{first}-{last}"
    return _("columns {shown} of {total}").format(shown=shown, total=total)


def board_texts() -> BoardTexts:
    """The board's own words in the user's language."""
    return BoardTexts(
        loading=_("loading…"), failed=_("⚠ could not load"),
        more=lambda n: ngettext("{n} more ↓", "{n} more ↓", n).format(n=formatting.count_text(n)),
        cards=lambda n: ngettext("{n} card", "{n} cards", n).format(
            n=formatting.count_text(n)))


class PipelineScreen(CrmScreen):
    """The kanban board of leads: arrows or h/j/k/l move the cursor, shift+→/← (or > <) move
    the card to the next/previous status, g to a status chosen by name, W closes it as won,
    X as lost (asking why), enter opens the lead, o orders, c shows closed, m my leads."""

    SCREEN_TITLE = N_("6 Pipeline")
    AUTO_FOCUS = "#board"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("g", "move_to_status", "Status", id="pipeline.move_to",
                tooltip="Move the card straight to a status chosen by name"),
        Binding("W", "won", "Won", id="pipeline.won",
                tooltip="Close the lead as won (Closed successfully)"),
        Binding("X", "lost", "Lost", id="pipeline.lost",
                tooltip="Close the lead as lost, with the reason in its activity"),
        Binding("m", "toggle_mine", "Mine", id="pipeline.mine",
                tooltip="Show only my leads, or everyone's again"),
        Binding("o", "cycle_order", "Order", id=keymap.SORT_ID,
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
        & #board-line {
            height: 1;
            padding: 0 1;
            background: $boost;
            & > #board-filter {
                width: 1fr;
                color: $accent;
            }
            & > #board-position {
                width: auto;
                color: $text-muted;
            }
        }
    }
    """

    def __init__(self, session: Session, *, order: str = "estimated_sale",
                 show_closed: bool = False, mine: bool = False, page_size: int = 10,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the board for `session`, ordered by `order` (see pipeline.ORDERS)."""
        super().__init__(session, name=name, id=id, classes=classes)
        self.order = order if order in pipeline.ORDERS else pipeline.ORDERS[0]
        self.show_closed = show_closed
        self.mine = mine
        self.page_size = page_size
        self._moves: deque[_Move] = deque()
        self._saving = False
        self._reload_after_moves = False
        self._figures_timer: Timer | None = None
        self._shown = False
        # Card key -> (may the user move it, the lead's name), as the services said.
        self._move_rights: dict[object, tuple[bool, str]] = {}
        self._collector = CollectorPause()

    def compose_body(self) -> ComposeResult:
        """The filter line (which leads, which columns are in view), then the board; its
        columns arrive from the services."""
        self._collector.start()  # until the first frame is out (on_mount)
        with Horizontal(id="board-line"):
            yield Label(self.filter_text(), id="board-filter", markup=False)
            yield Label("", id="board-position", markup=False)
        titles, pages = self._first_board()
        yield KanbanBoard([ColumnData(status, title, _("counting…"), 0) for status, title in titles],
                          self.fetch_cards, page_size=self.page_size, texts=board_texts(),
                          pages=pages, id="board")

    def filter_text(self) -> str:
        """The filter line: whose leads the board shows."""
        return _("Filter: my leads (m: everyone's)") if self.mine else _("All leads")

    def screen_title(self) -> str:
        """Title with the ordering and whether closed statuses show."""
        closed = _(" · with closed") if self.show_closed else ""
        return _("{title} · by {order}{closed}").format(
            title=_(self.SCREEN_TITLE), order=_(pipeline.ORDER_LABELS[self.order]), closed=closed)

    @property
    def board(self) -> KanbanBoard:
        """The kanban board."""
        return self.query_one("#board", KanbanBoard)

    def on_mount(self) -> None:
        """Count the columns (on a thread) once the first frame is out; or, when the
        first read failed, read the board the usual way (on a thread, which says why)."""
        self.call_after_refresh(self._collector.end)
        if self.board.kanban_columns:
            self.call_after_refresh(self._load_figures)
        else:
            self.load_columns()

    def on_unmount(self) -> None:
        """Gone before its first frame: the garbage collector runs again."""
        self._collector.end()

    @on(KanbanBoard.ColumnsInView)
    def _show_position(self, event: KanbanBoard.ColumnsInView) -> None:
        """The filter line says which columns are in view ("columns 3-5 of 9")."""
        event.stop()
        self.query_one("#board-position", Label).update(
            position_text(event.first, event.last, event.total))

    def on_screen_resume(self) -> None:
        """A lead may have changed in its detail view: read the board again."""
        # (CrmScreen's own handler runs too: Textual calls each class's handler.)
        if not self._shown:
            self._shown = True  # shown for the first time: just read as it was composed
        elif self.is_mounted and self.board.kanban_columns:
            self.load_columns()

    # -- data ---------------------------------------------------------------------------

    def fetch_cards(self, status: object, offset: int, limit: int) -> list[CardData]:
        """The board's fetch (runs on the board's thread): one page of one column."""
        order = self.order
        cards = pipeline.column_page(self.session, int(status), order, offset, limit,
                                     mine=self.mine)
        return [card_data(card, order) for card in cards]

    @property
    def busy(self) -> bool:
        """Whether moves are waiting to be saved or being saved."""
        return self._saving or bool(self._moves)

    def load_columns(self) -> None:
        """Show the columns (their cards reload), then count them on another thread.

        The cards do not wait for the counts: a column's first page is an indexed read of a
        few rows, while its count and sum visit every lead in it. The counting starts once
        the cards are on screen, so on a busy machine it does not slow their first paint.
        While moves are being saved, the reading waits for the last one.
        """
        if self.busy:
            self._reload_after_moves = True
            return
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
                # Not after the next refresh: with the cards drawn, none may come.
                self._load_figures()

        self._figures_timer = self.set_interval(0.02, check)

    def _first_board(self) -> tuple[list[tuple[int, str]], dict[int, list[CardData]]]:
        """The titles and every column's first page: what the first frame shows.

        Read as the screen is composed, on the event loop, not on a thread: it is a few
        rows per column in index order, whatever the column's size (about 10 ms for the
        five columns), and the board then mounts with the screen and shows in its first
        frame. On a thread, each row read waited for the drawing of the empty screen to let
        go of the interpreter, and the cards came several frames later: the first paint
        took twice as long. The counts and sums stay on a thread (`_load_figures`). On
        PostgreSQL (a server, maybe a distant one) and when this read fails, the board
        starts empty and is read the usual way, on a thread (which says why it failed).
        """
        if not pipeline.reads_are_local():
            return [], {}
        try:
            titles = pipeline.titles(self.show_closed)
            return titles, {status: self.fetch_cards(status, 0, self.page_size)
                            for status, _title in titles}
        except Exception:  # noqa: BLE001 - read again on a thread, which reports it
            return [], {}

    def _columns(self) -> list[ColumnData]:
        return [ColumnData(c.status, c.name, column_subtitle(c.count, c.total), c.count)
                for c in pipeline.columns(self.session, show_closed=self.show_closed,
                                          mine=self.mine)]

    def _show_titles(self, titles: list[tuple[int, str]]) -> None:
        if self.busy:
            # A move came in while the titles were read: read the board after it.
            self._reload_after_moves = True
            return
        board = self.board
        shown = {column.data.key: column.data for column in board.kanban_columns}
        columns = []
        for status, title in titles:
            known = shown.get(status)
            # Keep the figures already shown until the new ones arrive.
            columns.append(ColumnData(status, title, known.subtitle, known.count) if known
                           else ColumnData(status, title, _("counting…"), 0))
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
                column.refresh_header()

    # -- moving cards -------------------------------------------------------------------

    @on(KanbanBoard.CardMoved)
    def move_card_to_status(self, event: KanbanBoard.CardMoved) -> None:
        """Shift+arrow (or > <): the card goes to the neighbouring column at once."""
        event.stop()
        self.queue_move(event.card_key, int(event.to_column))

    def queue_move(self, card_key: object, to_status: int, reason: str = "") -> bool:
        """Show the move at once and queue it for the services (saved one at a time, in
        order); returns whether the card was found on the board.

        A status whose column is not shown (a closed one) takes the card off the board.
        """
        board = self.board
        found = self._find_card(card_key)
        if found is None:
            return False
        card, from_status, index = found
        if from_status == to_status:
            column = board.column(to_status)
            where = column.data.title if column is not None else _("that status")
            self.notify(_("{card} is already in {status}").format(card=card.title, status=where),
                        timeout=3)
            return True
        if board.column(to_status) is not None:
            board.move_card_locally(card.key, to_status)
        else:
            board.remove_card_locally(card.key)
        self._moves.append(_Move(int(card.key), from_status, to_status, index, card, reason))
        self._save_next_move()
        return True

    def _find_card(self, card_key: object) -> tuple[CardData, int, int] | None:
        for column in self.board.kanban_columns:
            for index, card in enumerate(column.cards):
                if card.key == card_key:
                    return card, int(column.data.key), index
        return None

    def _save_next_move(self) -> None:
        if self._saving or not self._moves:
            return
        move = self._moves.popleft()
        self._saving = True
        self.call_service(self._save_move, move, done=self._move_saved,
                          failed=lambda error: self._move_refused(move, error),
                          group="pipeline.move")

    def _save_move(self, move: _Move) -> list[ColumnData]:
        if move.to_status == pipeline.LOST and move.reason:
            leads.mark_lost(self.session, move.lead_id, move.reason)
        else:
            leads.set_status(self.session, move.lead_id, move.to_status)
        return self._columns()

    def _move_saved(self, columns: list[ColumnData]) -> None:
        self._saving = False
        if self._moves:
            self._save_next_move()
        else:
            self._moves_stored(columns)

    def _moves_stored(self, columns: list[ColumnData] | None) -> None:
        """The last queued move is stored (or refused): the board may be read again."""
        if self._reload_after_moves:
            self._reload_after_moves = False
            self.load_columns()
            return
        self.board.fetch_stale()
        if columns is not None:
            self._refresh_headers(columns)
        else:
            self.call_service(self._columns, done=self._refresh_headers,
                              group="pipeline.columns")

    def _move_refused(self, move: _Move, error: BaseException) -> None:
        """Put the card back where it was and say why."""
        self._saving = False
        later = [m for m in self._moves if m.lead_id == move.lead_id]
        self._moves = deque(m for m in self._moves if m.lead_id != move.lead_id)
        # Back to its column (also when a later move took it off the board).
        self.board.insert_card_locally(move.card, move.from_status, index=move.index)
        self.notify(_("Not moved: {reason}").format(reason=error_text(error)), severity="warning",
                    timeout=8)
        if later:
            # Later moves of the same card assumed this one: show what is really stored.
            self._reload_after_moves = True
        if self._moves:
            self._save_next_move()
        else:
            self._moves_stored(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey out the card moves while no card is highlighted (an empty column), or on a
        lead the user may only look at (`refusal` says why)."""
        if action in ("move_to_status", "won", "lost") and self.is_mounted:
            boards = self.query("#board")
            card = boards.first(KanbanBoard).cursor_card if boards else None
            if card is None or self.move_refusal(card):
                return None
        return True

    # -- whether the card under the cursor may move ------------------------------------

    @on(KanbanBoard.CardHighlighted)
    def _card_highlighted(self, event: KanbanBoard.CardHighlighted) -> None:
        """Ask the services (on a thread) whether the user may move the highlighted card;
        until they answer, its keys work and the services refuse a move they do not allow."""
        event.board.move_refusal = self.move_refusal  # the board's own moves (shift+arrows)
        key = event.card_key

        def loaded(answer: tuple[bool, str]) -> None:
            self._move_rights[key] = answer
            self.refresh_bindings()

        self.call_service(pipeline.may_move, self.session, int(key), done=loaded,
                          failed=lambda _error: None, group="pipeline.rights", exclusive=True)

    def move_refusal(self, card: CardData) -> str | None:
        """Why `card` may not move: its lead is read-only for this user (named by the lead's
        name, which the card shows)."""
        answer = self._move_rights.get(card.key)
        if answer is None or answer[0]:
            return None  # may move, or not known yet
        return refusal_text("edit", answer[1])

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """g, W and X on a lead the user may not change."""
        if action not in ("move_to_status", "won", "lost") or not self.is_mounted:
            return None
        boards = self.query("#board")
        card = boards.first(KanbanBoard).cursor_card if boards else None
        return None if card is None else self.move_refusal(card)

    def action_move_to_status(self) -> None:
        """Move the card straight to a status picked by name (one status change)."""
        card = self.board.cursor_card
        if card is None:
            return
        self._ask_then(card, self._pick_status)

    def action_won(self) -> None:
        """Close the card's lead as won, in one status change."""
        card = self.board.cursor_card
        if card is not None:
            self.queue_move(card.key, pipeline.WON)

    def action_lost(self) -> None:
        """Ask why the card's lead was lost, then close it as lost with that reason."""
        card = self.board.cursor_card
        if card is None:
            return
        self._ask_then(card, self._ask_reason)

    def _ask_then(self, card: CardData, ask: Callable[[CardData], None]) -> None:
        """Ask only about a lead the user may move: a refusal is told before any dialog."""
        def allowed(_name: str) -> None:
            ask(card)

        def refused(error: BaseException) -> None:
            self.notify(_("Not moved: {reason}").format(reason=error_text(error)),
                        severity="warning", timeout=8)

        self.call_service(pipeline.check_move, self.session, int(card.key), done=allowed,
                          failed=refused, group="pipeline.check")

    def _pick_status(self, card: CardData) -> None:
        found = self._find_card(card.key)
        if found is None:
            return
        current = found[1]

        def picked(status: int | None) -> None:
            if status == pipeline.LOST:
                self._ask_reason(card)  # lost is always lost with a reason
            elif status is not None:
                self.queue_move(card.key, status)

        self.app.push_screen(StatusPickModal(_("Move {card} to").format(card=card.title),
                                             pipeline.move_choices(), current), picked)

    def _ask_reason(self, card: CardData) -> None:
        def given(reason: str | None) -> None:
            if reason:
                self.queue_move(card.key, pipeline.LOST, reason)

        self.app.push_screen(LostReasonModal(_("Lost: {card}").format(card=card.title)), given)

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
        if self.busy:
            self._reload_after_moves = True
        else:
            self.board.reload()
        self.notify(_("Ordered by {order}").format(order=_(pipeline.ORDER_LABELS[self.order])),
                    timeout=2)

    def action_toggle_closed(self) -> None:
        """Show or hide the columns of the closed statuses."""
        self.show_closed = not self.show_closed
        self.set_title(self.screen_title())
        self.load_columns()

    def action_toggle_mine(self) -> None:
        """Show only the user's own leads, or every lead he may see again."""
        self.mine = not self.mine
        self.query_one("#board-filter", Label).update(self.filter_text())
        self.load_columns()

    def action_refresh_board(self) -> None:
        """Read every column again."""
        self.load_columns()

    def live_refresh(self, change: Change) -> None:
        """Another process committed a change: read the board again; the cursor stays on
        its card (screens.live). Not while this screen's own moves are being saved: the
        card would jump back for a moment; the last save brings the figures instead."""
        if self.busy:
            self.live_stale = True
            self.set_timer(0.3, self._live_retry)
            return
        self.load_columns()

    def _live_retry(self) -> None:
        if self.live_stale and self.is_current:
            self.live_stale = False
            self.live_refresh(Change(None, None, time.time()))
