"""A kanban board's parts: its column and card widgets and the data they show."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from rich.console import RenderableType
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static


@dataclass(frozen=True)
class ColumnData:
    """A board column; `count` is the total number of its cards, used for paging."""

    key: Hashable
    """The caller's id for the column (e.g. a status number); passed back to fetch."""
    title: str
    subtitle: str = ""
    """Second header line, e.g. "12 leads · 3,400.00"; "<count> cards" when empty."""
    count: int = 0


@dataclass
class CardData:
    """One card: a title, a few plain-text lines and coloured tags."""

    key: Hashable
    title: str
    lines: list[str] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    """(name, colour) pairs; colour is any Rich colour ("red", "#aa3300")."""



def _more(count: int) -> str:
    return f"{count:,} more ↓"


def _cards(count: int) -> str:
    return f"{count:,} cards"


@dataclass(frozen=True)
class BoardTexts:
    """The words the board writes itself, for its owner to give in the user's language."""

    loading: str = "loading…"
    failed: str = "⚠ could not load"
    more: Callable[[int], str] = _more
    """The status line under a column's loaded cards: how many more there are."""
    cards: Callable[[int], str] = _cards
    """A header's second line when the column has no subtitle."""


def card_lines(card: CardData) -> int:
    """How many lines a card's text takes (title, its lines, one line of tags)."""
    return (1 + card.title.count("\n") + sum(1 + line.count("\n") for line in card.lines)
            + (1 if card.tags else 0))


def card_height(card: CardData) -> int:
    """The rows a card takes in its column, with the margin below it (see KanbanCard's CSS)."""
    return card_lines(card) + 1


def _tag_style(colour: str) -> Style:
    """A chip style for a tag colour; unknown colours fall back to reverse video."""
    try:
        background = Style.parse(f"on {colour}")
    except StyleSyntaxError:
        return Style(reverse=True)
    color = background.bgcolor
    if color is None:
        return Style(reverse=True)
    # Pick black or white text, whichever reads better on the chip.
    red, green, blue = color.get_truecolor()
    foreground = "black" if (red * 299 + green * 587 + blue * 114) / 1000 > 128 else "white"
    return background + Style(color=foreground)


class KanbanCard(Widget):
    """A card on the board; it shows a `CardData` and never takes focus."""

    DEFAULT_CSS = """
    KanbanCard {
        height: auto;
        padding: 0 1 0 0;
        margin: 0 0 1 0;
        background: $boost;
        border-left: tall $panel;
        text-wrap: nowrap;
        text-overflow: ellipsis;
        &.-cursor {
            background: $primary 20%;
            border-left: tall $primary;
        }
    }
    """

    def __init__(self, card: CardData) -> None:
        """Show `card`."""
        super().__init__()
        self.card = card

    def update(self, card: CardData) -> None:
        """Show another card in this widget (reused on reload to avoid remounting)."""
        self.card = card
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """The card's lines, known without rendering it (each line is cut to the width)."""
        return card_lines(self.card)

    def render(self) -> RenderableType:
        """Title in bold, the lines dimmed, then the tags as chips; each line cut to width."""
        card = self.card
        text = Text(no_wrap=True, overflow="ellipsis", end="")
        text.append(card.title, style="bold")
        for line in card.lines:
            text.append("\n")
            text.append(line, style="dim")
        if card.tags:
            text.append("\n")
            for position, (name, colour) in enumerate(card.tags):
                if position:
                    text.append(" ")
                text.append(f" {name} ", style=_tag_style(colour))
        return text


class _CardList(VerticalScroll, can_focus=False):
    """The scrolling part of a column; the board owns the keys."""

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scrolled (wheel, scrollbar): mount the cards that come into view."""
        super().watch_scroll_y(old_value, new_value)
        if isinstance(self.parent, KanbanColumn):
            self.parent.fill()

    def on_resize(self, _event: events.Resize) -> None:
        """Taller than guessed: mount the cards that now fit."""
        if isinstance(self.parent, KanbanColumn):
            self.parent.fill()


class _Unmounted(Widget):
    """Stands for the loaded cards not mounted yet, as tall as they would be, so that the
    list scrolls as if they were there."""

    DEFAULT_CSS = """
    _Unmounted {
        height: 0;
    }
    """


class ColumnResized(Message):
    """A column has a new size (e.g. its first layout): the board says what is in view."""


class KanbanColumn(Vertical):
    """One column: a header, its loaded cards and a status line ("loading…", "n more").

    Only what shows is built: a column out of view is an empty frame until the board
    `build`s it, and of its loaded cards only those down to the bottom of the view (and the
    cursor) have widgets; the others are a blank of their height, mounted as the list
    scrolls or the cursor moves down.
    """

    DEFAULT_CSS = """
    KanbanColumn {
        width: 26;
        height: 1fr;
        border: round $panel-lighten-1;
        &.-active {
            border: round $primary;
        }
        & > .kanban--header {
            height: 2;
            padding: 0 1;
            text-wrap: nowrap;
            text-overflow: ellipsis;
        }
        & > .kanban--status {
            height: 1;
            color: $text-muted;
            padding: 0 1;
        }
        & > _CardList {
            height: 1fr;
            scrollbar-size-vertical: 1;
        }
    }
    """

    WIDTH = 26
    """The width DEFAULT_CSS gives a column: what the board guesses before any layout."""

    def __init__(self, data: ColumnData, *, built: bool = True,
                 texts: BoardTexts | None = None) -> None:
        """Create an empty column for `data`; the board fills it. Unless `built`, its
        parts wait for `build` (the column is out of view)."""
        super().__init__()
        self.data = data
        self.texts = texts or BoardTexts()
        self.cards: list[CardData] = []
        """Cards loaded so far, in board order."""
        self.cursor = 0
        """Index of the highlighted card in `cards`."""
        self.loading = False
        self.exhausted = False
        self.failed = False
        self.stale = False
        """A page fetch was dropped because a card moved meanwhile: fetch again later."""
        self.token = 0
        self.built = built
        """Whether the header, card list and status line exist (or are being mounted)."""
        # Our own list, because removed widgets linger in the DOM until pruned.
        self._widgets: list[KanbanCard] = []
        self._blank = _Unmounted()
        self._parts_shown: tuple[Static, _CardList, Static] | None = None
        """Header, card list and status line, once built."""

    def on_resize(self, _event: events.Resize) -> None:
        """Laid out (or resized): let the board know."""
        self.post_message(ColumnResized())

    def compose(self) -> ComposeResult:
        """Header, card list (the cards that show, then the blank), status line."""
        if self.built:
            yield from self._parts()

    def build(self) -> None:
        """Mount the header, cards and status line of a column that was out of view."""
        if not self.built and self.is_attached:
            self.built = True
            self.mount_all(self._parts())

    def _parts(self) -> list[Widget]:
        self._widgets = [KanbanCard(card) for card in self.cards[: self._wanted()]]
        if self.has_class("-active") and 0 <= self.cursor < len(self._widgets):
            self._widgets[self.cursor].add_class("-cursor")
        self._size_blank()
        parts = (Static(self._header_text(), classes="kanban--header"),
                 _CardList(*self._widgets, self._blank),
                 Static(self._status_text(), classes="kanban--status"))
        self._parts_shown = parts
        return list(parts)

    @property
    def _card_list(self) -> _CardList | None:
        """The card list, once it is in the DOM."""
        parts = self._parts_shown
        return parts[1] if parts is not None and parts[1].is_attached else None

    @property
    def has_more(self) -> bool:
        """Whether cards beyond the loaded ones remain to be fetched."""
        return not self.exhausted and len(self.cards) < self.data.count

    def _header_text(self) -> Text:
        data = self.data
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(data.title, style="bold")
        header.append("\n")
        header.append(data.subtitle or self.texts.cards(data.count), style="dim")
        return header

    def _status_text(self) -> str:
        if self.failed:
            return self.texts.failed
        if self.loading:
            return self.texts.loading
        if self.has_more:
            return self.texts.more(self.data.count - len(self.cards))
        return ""

    def refresh_header(self) -> None:
        """Redraw the header and the status line from `data` and the loading state."""
        if self._parts_shown is None:
            return  # building draws them
        header, _cards, status = self._parts_shown
        header.update(self._header_text())
        status.update(self._status_text())

    def card_widgets(self) -> list[KanbanCard]:
        """The card widgets mounted so far, in order (those of the first cards)."""
        return list(self._widgets)

    def _wanted(self, at_least: int = 0) -> int:
        """How many of the first cards need widgets: down to the bottom of the view, and
        `at_least` (e.g. down to the cursor)."""
        card_list = self._card_list
        if card_list is not None and card_list.scrollable_content_region.height:
            bottom = card_list.scroll_y + card_list.scrollable_content_region.height
        else:
            # Not laid out yet: the screen's height is more than the list can show.
            bottom = self.app.size.height
        wanted, top = 0, 0
        for card in self.cards:
            if top >= bottom:
                break
            top += card_height(card)
            wanted += 1
        return min(len(self.cards), max(wanted, at_least))

    def _size_blank(self) -> None:
        """The blank is as tall as the loaded cards without widgets."""
        height = sum(card_height(card) for card in self.cards[len(self._widgets):])
        self._blank.styles.height = height

    def fill(self, at_least: int = 0) -> None:
        """Mount widgets for the cards now in view (and the first `at_least` cards)."""
        card_list = self._card_list
        if card_list is None:
            return
        wanted = self._wanted(at_least)
        if wanted > len(self._widgets):
            new = [KanbanCard(card) for card in self.cards[len(self._widgets):wanted]]
            self._widgets.extend(new)
            card_list.mount_all(new, before=self._blank)
        self._size_blank()

    def show_cards(self, cards: Iterable[CardData]) -> None:
        """Replace the shown cards, reusing the mounted widgets where possible."""
        self.cards = list(cards)
        card_list = self._card_list
        if card_list is None:
            self._widgets = []  # building makes them
            return
        keep = min(len(self._widgets), len(self.cards))
        for widget, card in zip(self._widgets[:keep], self.cards[:keep], strict=True):
            widget.update(card)
        if len(self._widgets) > keep:
            card_list.remove_children(self._widgets[keep:])
        self._widgets = self._widgets[:keep]
        self.fill()

    def append_cards(self, cards: Iterable[CardData]) -> None:
        """Add cards below the loaded ones."""
        self.cards.extend(cards)
        self.fill()

    def paint_cursor(self, active: bool) -> None:
        """Mark the cursor card (when the column is active) and scroll it into view."""
        self.set_class(active, "-active")
        self.cursor = max(0, min(self.cursor, len(self.cards) - 1))
        card_list = self._card_list
        if card_list is None:
            return
        if active:
            self.fill(self.cursor + 1)
        for position, widget in enumerate(self._widgets):
            is_cursor = active and position == self.cursor
            widget.set_class(is_cursor, "-cursor")
            if is_cursor and not shows_whole(card_list, widget):
                widget.scroll_visible(animate=False)


def shows_whole(container: Widget, widget: Widget) -> bool:
    """Whether `widget` is already fully in view inside `container`.

    Scrolling to a widget that is in view changes nothing on screen but still makes the
    screen lay itself out again, the costliest part of a key press on a full board.
    """
    shown = container.scrollable_content_region
    region = widget.region
    return bool(shown) and bool(region) and shown.contains_region(region)
