"""A kanban board's parts: its column and card widgets and the data they show."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

from rich.console import RenderableType
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
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


class KanbanColumn(Vertical):
    """One column: a header, its loaded cards and a status line ("loading…", "n more")."""

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

    def __init__(self, data: ColumnData) -> None:
        """Create an empty column for `data`; the board fills it."""
        super().__init__()
        self.data = data
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
        # Our own list, because removed widgets linger in the DOM until pruned.
        self._widgets: list[KanbanCard] = []

    def compose(self) -> ComposeResult:
        """Header, card list, status line."""
        yield Static(classes="kanban--header")
        yield _CardList()
        yield Static(classes="kanban--status")

    def on_mount(self) -> None:
        """Draw the header and status once the children exist."""
        self.refresh_header()

    @property
    def has_more(self) -> bool:
        """Whether cards beyond the loaded ones remain to be fetched."""
        return not self.exhausted and len(self.cards) < self.data.count

    def refresh_header(self) -> None:
        """Redraw the header and the status line from `data` and the loading state."""
        data = self.data
        header = Text(no_wrap=True, overflow="ellipsis")
        header.append(data.title, style="bold")
        header.append("\n")
        header.append(data.subtitle or f"{data.count:,} cards", style="dim")
        self.query_one(".kanban--header", Static).update(header)
        if self.failed:
            status = "⚠ could not load"
        elif self.loading:
            status = "loading…"
        elif self.has_more:
            status = f"{data.count - len(self.cards):,} more ↓"
        else:
            status = ""
        self.query_one(".kanban--status", Static).update(status)

    def card_widgets(self) -> list[KanbanCard]:
        """The card widgets, in order."""
        return list(self._widgets)

    def show_cards(self, cards: Iterable[CardData]) -> None:
        """Replace the shown cards, reusing the mounted widgets where possible."""
        self.cards = list(cards)
        keep = min(len(self._widgets), len(self.cards))
        for widget, card in zip(self._widgets[:keep], self.cards[:keep], strict=True):
            widget.update(card)
        card_list = self.query_one(_CardList)
        if len(self._widgets) > keep:
            card_list.remove_children(self._widgets[keep:])
        new = [KanbanCard(card) for card in self.cards[keep:]]
        if new:
            card_list.mount_all(new)
        self._widgets = self._widgets[:keep] + new

    def append_cards(self, cards: Iterable[CardData]) -> None:
        """Add cards below the loaded ones."""
        new = [KanbanCard(card) for card in cards]
        if new:
            self.cards.extend(widget.card for widget in new)
            self.query_one(_CardList).mount_all(new)
            self._widgets.extend(new)

    def paint_cursor(self, active: bool) -> None:
        """Mark the cursor card (when the column is active) and scroll it into view."""
        self.set_class(active, "-active")
        self.cursor = max(0, min(self.cursor, len(self.cards) - 1))
        for position, widget in enumerate(self._widgets):
            is_cursor = active and position == self.cursor
            widget.set_class(is_cursor, "-cursor")
            if is_cursor and not shows_whole(self.query_one(_CardList), widget):
                widget.scroll_visible(animate=False)


def shows_whole(container: Widget, widget: Widget) -> bool:
    """Whether `widget` is already fully in view inside `container`.

    Scrolling to a widget that is in view changes nothing on screen but still makes the
    screen lay itself out again, the costliest part of a key press on a full board.
    """
    shown = container.scrollable_content_region
    region = widget.region
    return bool(shown) and bool(region) and shown.contains_region(region)
