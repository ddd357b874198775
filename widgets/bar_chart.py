"""A horizontal bar chart drawn with Unicode block characters."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal

from rich.cells import cell_len, set_cell_size
from rich.console import RenderableType
from rich.text import Text
from textual.geometry import Size
from textual.widget import Widget

Number = int | float | Decimal
"""A bar's value."""

# Eighth blocks give a bar eight steps per cell, so short charts still show differences.
_PARTIAL_BLOCKS = " ▏▎▍▌▋▊▉"
_FULL_BLOCK = "█"


def default_format(value: Number) -> str:
    """Thousands separators; two decimals unless the value is an int."""
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}"


def bar_text(value: float, maximum: float, width: int) -> str:
    """A bar of at most `width` cells for `value` on a scale of 0..`maximum`."""
    if maximum <= 0 or width <= 0:
        return ""
    eighths = round(min(abs(value), maximum) / maximum * width * 8)
    if value and not eighths:
        # A small but non-zero value still gets a sliver, so it does not read as zero.
        eighths = 1
    full, rest = divmod(eighths, 8)
    return _FULL_BLOCK * full + (_PARTIAL_BLOCKS[rest] if rest else "")


class BarChart(Widget):
    """Labelled horizontal bars, scaled to the widget's width, with the values at the right.

    Negative values are drawn by magnitude in the "negative" colour.
    """

    DEFAULT_CSS = """
    BarChart {
        height: auto;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(
        self,
        data: Iterable[tuple[str, Number]] = (),
        *,
        title: str = "",
        value_format: Callable[[Number], str] = default_format,
        max_label_width: int = 24,
        bar_style: str = "cyan",
        negative_style: str = "red",
        empty_text: str = "No data",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create the chart.

        Args:
            data: (label, value) pairs, drawn top to bottom.
            title: Bold line above the bars.
            value_format: Turns a value into the text shown after its bar.
            max_label_width: Longer labels are cut with an ellipsis.
            bar_style: Rich style of positive bars.
            negative_style: Rich style of negative bars.
            empty_text: Shown when there is no data.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.data: list[tuple[str, Number]] = list(data)
        self.title = title
        self.value_format = value_format
        self.max_label_width = max(1, max_label_width)
        self.bar_style = bar_style
        self.negative_style = negative_style
        self.empty_text = empty_text

    def set_data(self, data: Iterable[tuple[str, Number]], title: str | None = None) -> None:
        """Replace the bars (and optionally the title) and redraw."""
        self.data = list(data)
        if title is not None:
            self.title = title
        self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """One line per bar (or for the empty text), plus the title."""
        return max(1, len(self.data)) + (1 if self.title else 0)

    def render(self) -> RenderableType:
        """Draw the title and one line per bar for the current width."""
        return self.render_text(self.size.width)

    def render_text(self, width: int) -> Text:
        """The chart as Rich Text for a given width (also handy in tests)."""
        text = Text(no_wrap=True, overflow="crop", end="")
        if self.title:
            text.append(self.title, style="bold")
            text.append("\n")
        if not self.data:
            text.append(self.empty_text, style="dim")
            return text
        labels = [label.replace("\n", " ") for label, _ in self.data]
        values = [self.value_format(value) for _, value in self.data]
        value_width = max(cell_len(value) for value in values)
        label_width = min(self.max_label_width, max(cell_len(label) for label in labels))
        # Keep at least a third of the width for the bars on narrow screens.
        label_width = max(1, min(label_width, max(4, width // 3)))
        bar_width = max(1, width - label_width - value_width - 2)
        maximum = max(float(abs(value)) for _, value in self.data)
        for position, (label, value_text, (_, value)) in enumerate(
            zip(labels, values, self.data, strict=True)
        ):
            if position:
                text.append("\n")
            if cell_len(label) > label_width:
                label = set_cell_size(label, label_width - 1) + "…"
            text.append(set_cell_size(label, label_width))
            text.append(" ")
            style = self.negative_style if value < 0 else self.bar_style
            bar = bar_text(float(value), maximum, bar_width)
            text.append(bar, style=style)
            text.append(" " * (bar_width - cell_len(bar)))
            text.append(" ")
            text.append(value_text.rjust(value_width), style="bold")
        return text
