"""A kanban board's local moves: cards moved, taken off and put back without fetching, and
the page fetches such a move makes stale (mixed into widgets.kanban.KanbanBoard)."""

from __future__ import annotations

from collections.abc import Hashable
from typing import TYPE_CHECKING

from widgets.kanban_column import CardData, ColumnData, KanbanColumn


class LocalMoves:
    """What the board does to its loaded cards when its owner moves one."""

    if TYPE_CHECKING:
        _active: int
        _next_token: int
        page_size: int

        @property
        def kanban_columns(self) -> list[KanbanColumn]: ...

        def column(self, key: Hashable) -> KanbanColumn | None: ...

        def _paint(self) -> None: ...

        def _fetch_page(self, column: KanbanColumn, offset: int, limit: int) -> None: ...

    def move_card_locally(
        self, card_key: Hashable, to_column: Hashable, *, index: int = 0, follow: bool = True
    ) -> bool:
        """Move a loaded card to another column without fetching, e.g. once a move is saved.

        Counts are adjusted by one; the cursor follows the card unless `follow` is False.
        Returns whether the card and the column were found.
        """
        target = self.column(to_column)
        if target is None:
            return False
        for source in self.kanban_columns:
            for position, card in enumerate(source.cards):
                if card.key != card_key:
                    continue
                if source is target:
                    return True
                self._transfer(source, position, target, index)
                if follow:
                    self._active = self.kanban_columns.index(target)
                    target.cursor = max(0, min(index, len(target.cards) - 1))
                self._paint()
                return True
        return False

    def remove_card_locally(self, card_key: Hashable) -> tuple[CardData, Hashable, int] | None:
        """Take a loaded card off the board (moved to a column not shown), without fetching.

        The column's count drops by one and its cursor stays at the same place. Returns the
        card, its column key and its index (to put it back with `insert_card_locally`), or
        None when the card is not loaded.
        """
        for source in self.kanban_columns:
            for position, card in enumerate(source.cards):
                if card.key == card_key:
                    self._drop_stale_pages(source)
                    cards = list(source.cards)
                    cards.pop(position)
                    source.data = _with_count(source.data, source.data.count - 1)
                    source.show_cards(cards)
                    source.refresh_header()
                    self._paint()
                    return card, source.data.key, position
        return None

    def insert_card_locally(
        self, card: CardData, column_key: Hashable, *, index: int = 0, follow: bool = True
    ) -> bool:
        """Put a card (back) into a column without fetching; the count grows by one.

        Returns whether the column was found; a card already on the board is moved instead.
        """
        if self.move_card_locally(card.key, column_key, index=index, follow=follow):
            return True
        target = self.column(column_key)
        if target is None:
            return False
        self._drop_stale_pages(target)
        cards = list(target.cards)
        index = max(0, min(index, len(cards)))
        cards.insert(index, card)
        target.data = _with_count(target.data, target.data.count + 1)
        target.show_cards(cards)
        target.refresh_header()
        if follow:
            self._active = self.kanban_columns.index(target)
            target.cursor = index
        self._paint()
        return True

    def fetch_stale(self) -> None:
        """Fetch again the columns whose page fetches a local move made stale.

        Call it once the moves are stored: a page read before then would show the card
        where it was.
        """
        for column in self.kanban_columns:
            if column.stale:
                column.stale = False
                depth = max(self.page_size, len(column.cards), column.cursor + 1)
                self._fetch_page(column, 0, depth)

    def _transfer(
        self, source: KanbanColumn, position: int, target: KanbanColumn, index: int
    ) -> None:
        self._drop_stale_pages(source)
        self._drop_stale_pages(target)
        cards = list(source.cards)
        card = cards.pop(position)
        moved = list(target.cards)
        moved.insert(max(0, min(index, len(moved))), card)
        source.data = _with_count(source.data, source.data.count - 1)
        target.data = _with_count(target.data, target.data.count + 1)
        # Widgets are reused in place, so both columns update in the same refresh.
        source.show_cards(cards)
        target.show_cards(moved)
        source.refresh_header()
        target.refresh_header()

    def _drop_stale_pages(self, column: KanbanColumn) -> None:
        """A card moves in or out of `column`: a page being fetched predates the move and
        would undo it on screen (or shift its offsets), so it is dropped and marked for
        `fetch_stale`."""
        if column.loading:
            self._next_token += 1
            column.token = self._next_token
            column.loading = False
            column.stale = True


def _with_count(data: ColumnData, count: int) -> ColumnData:
    """A copy of `data` with another card count (the subtitle is the owner's to update)."""
    return ColumnData(data.key, data.title, data.subtitle, max(0, count))
