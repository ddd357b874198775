"""A small table of text rows edited in place: one input per cell, rows added and removed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

CELL_SEPARATOR = "\t"
"""Joins the cells of a row in `value`."""
ROW_SEPARATOR = "\n"
"""Joins the rows in `value`."""


def _clean(text: str) -> str:
    """A cell's text without the separators (a pasted tab or line break is a space)."""
    return text.replace(CELL_SEPARATOR, " ").replace(ROW_SEPARATOR, " ").replace("\r", " ")


class RowsEditor(Vertical, can_focus=False):
    """Rows of cells under column headers. `enter` goes to the next cell (a new row after
    the last), `↑/↓` to the row above or below, `ctrl+n` adds a row, `ctrl+y` removes the
    row with the cursor. `value` is the rows (empty ones left out), cells joined by a tab
    and rows by a line break; the owner parses them."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+n", "add_row", "Add row", id="rows.add", tooltip="Add a row"),
        Binding("ctrl+y", "remove_row", "Remove row", id="rows.remove",
                tooltip="Remove the row with the cursor"),
        Binding("down", "move(1)", "Row below", show=False, id="rows.down"),
        Binding("up", "move(-1)", "Row above", show=False, id="rows.up"),
    ]

    DEFAULT_CSS = """
    RowsEditor {
        height: auto;
        & > .rows-header, & > .rows-row {
            height: 1;
        }
        & > .rows-header > Static {
            color: $text-muted;
            text-style: underline;
        }
        & .rows-cell {
            width: 1fr;
            margin-right: 1;
        }
        & .rows-cell.-first {
            width: 3fr;
        }
    }
    """

    class Changed(Message):
        """A cell was edited, or a row added or removed."""

        def __init__(self, editor: RowsEditor) -> None:
            super().__init__()
            self.editor = editor

        @property
        def control(self) -> RowsEditor:
            """The editor that changed."""
            return self.editor

    def __init__(self, columns: Sequence[str], value: str = "", *, id: str | None = None) -> None:
        """`columns`: the header of each column; `value`: the initial rows (see `value`)."""
        super().__init__(id=id)
        self.columns = list(columns) or [""]
        self._initial = [self._cells(line) for line in value.split(ROW_SEPARATOR) if line.strip()]

    def _cells(self, line: str) -> list[str]:
        cells = line.split(CELL_SEPARATOR)
        cells += [""] * (len(self.columns) - len(cells))
        return cells[:len(self.columns)]

    def compose(self) -> ComposeResult:
        """The headers and one row per initial row (one empty row when there is none)."""
        with Horizontal(classes="rows-header"):
            for number, label in enumerate(self.columns):
                yield Static(label, markup=False,
                             classes="rows-cell -first" if number == 0 else "rows-cell")
        for cells in self._initial or [[""] * len(self.columns)]:
            yield self._row(cells)

    def _row(self, cells: Sequence[str]) -> Horizontal:
        return Horizontal(*(Input(text, compact=True,
                                  classes="rows-cell -first" if number == 0 else "rows-cell")
                            for number, text in enumerate(cells)), classes="rows-row")

    @property
    def rows(self) -> list[list[str]]:
        """Every row's cells, empty rows included."""
        return [[_clean(cell.value) for cell in row.query(Input)]
                for row in self.query(".rows-row")]

    @property
    def value(self) -> str:
        """The non-empty rows, cells joined by a tab and rows by a line break."""
        return ROW_SEPARATOR.join(CELL_SEPARATOR.join(cells) for cells in self.rows
                                  if any(cell.strip() for cell in cells))

    def focus(self, scroll_visible: bool = True) -> RowsEditor:
        """Focus the first cell."""
        cells = list(self.query(Input))
        if cells:
            cells[0].focus(scroll_visible)
        return self

    def _cursor(self) -> tuple[int, int]:
        """(row, column) of the focused cell; (-1, 0) when none has the focus."""
        for row_number, row in enumerate(self.query(".rows-row")):
            for column, cell in enumerate(row.query(Input)):
                if cell.has_focus:
                    return row_number, column
        return -1, 0

    def _cell(self, row: int, column: int) -> Input | None:
        rows = list(self.query(".rows-row"))
        if not 0 <= row < len(rows):
            return None
        cells = list(rows[row].query(Input))
        return cells[min(column, len(cells) - 1)]

    async def action_add_row(self) -> None:
        """Add an empty row below the cursor and put the cursor in it."""
        row, _column = self._cursor()
        rows = list(self.query(".rows-row"))
        new = self._row([""] * len(self.columns))
        if 0 <= row < len(rows):
            await self.mount(new, after=rows[row])
        else:
            await self.mount(new)
        new.query(Input).first().focus()
        self.post_message(self.Changed(self))

    async def action_remove_row(self) -> None:
        """Remove the row with the cursor (the last row is emptied instead)."""
        row, column = self._cursor()
        rows = list(self.query(".rows-row"))
        if not 0 <= row < len(rows):
            return
        if len(rows) == 1:
            for cell in rows[0].query(Input):
                cell.value = ""
        else:
            await rows[row].remove()
            target = self._cell(min(row, len(rows) - 2), column)
            if target is not None:
                target.focus()
        self.post_message(self.Changed(self))

    def action_move(self, step: int) -> None:
        """The same column in the row above or below."""
        row, column = self._cursor()
        target = self._cell(row + step, column)
        if target is not None:
            target.focus()

    @on(Input.Submitted)
    async def _next_cell(self, event: Input.Submitted) -> None:
        event.stop()
        row, column = self._cursor()
        if column + 1 < len(self.columns):
            target = self._cell(row, column + 1)
        else:
            target = self._cell(row + 1, 0)
            if target is None:
                await self.action_add_row()
                return
        if target is not None:
            target.focus()

    @on(Input.Changed)
    def _edited(self, event: Input.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self))
