"""A one-line bar docked on top: a title on the left, a status text on the right."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

PADDING = 2
"""Cells of padding around each of the two labels (one each side)."""


class TopBar(Horizontal):
    """One line on top: where you are on the left, who you are and the status on the right.

    The status is parts joined by `separator`; when the whole title and the whole status do
    not fit on the line, trailing parts are left out (the full status is the label's tooltip)
    rather than either label being cut.
    """

    DEFAULT_CSS = """
    TopBar {
        dock: top;
        height: 1;
        background: $panel;
        & > #top-title {
            width: 1fr;
            text-style: bold;
            color: $text;
            padding: 0 1;
        }
        & > #top-status {
            width: auto;
            color: $text-muted;
            padding: 0 1;
        }
    }
    """

    def __init__(self, title: str, status: str = "", *, separator: str = " · ") -> None:
        """Create the bar with its title and status texts."""
        super().__init__()
        self._title = title
        self._status = status
        self._separator = separator

    @property
    def status(self) -> str:
        """The whole status text, shown or not."""
        return self._status

    def compose(self) -> ComposeResult:
        """The two labels."""
        yield Label(self._title, id="top-title", markup=False)
        yield Label(self._fitted_status(), id="top-status", markup=False)

    def _fitted_status(self) -> str:
        """As many leading parts of the status as fit beside the whole title (the first
        always: a title too long for the line is what gives way then)."""
        width = self.size.width
        parts = self._status.split(self._separator)
        if not width or len(parts) == 1:
            return self._status
        room = width - cell_len(self._title) - 2 * PADDING
        shown = parts[0]
        for part in parts[1:]:
            longer = f"{shown}{self._separator}{part}"
            if cell_len(longer) > room:
                break
            shown = longer
        return shown

    def _label(self, label_id: str) -> Label | None:
        """One of the two labels; None while they are not in the DOM (being composed, or
        taken down with a screen that left at once): compose then shows the current texts."""
        if not self.is_mounted:
            return None
        labels = self.query_children(f"#{label_id}")
        return labels.first(Label) if labels else None

    def _show(self) -> None:
        label = self._label("top-status")
        if label is None:
            return
        fitted = self._fitted_status()
        label.update(fitted)
        label.tooltip = self._status if fitted != self._status else None

    def on_resize(self) -> None:
        """A narrower or wider line shows fewer or more parts of the status."""
        self._show()

    def set_title(self, text: str) -> None:
        """Replace the title."""
        self._title = text
        label = self._label("top-title")
        if label is not None:
            label.update(text)
            self._show()

    def set_status(self, text: str) -> None:
        """Replace the status text."""
        self._status = text
        self._show()
