"""A virtual table (Line API) that renders only the visible rows of a paged row source."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol, runtime_checkable

from rich.cells import cell_len, set_cell_size
from rich.errors import StyleSyntaxError
from rich.segment import Segment
from rich.style import Style
from textual import events, on, work
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState, get_current_worker

Row = tuple[int, tuple[str, ...]]
"""One row of a source: its id and its cell strings, in column order."""

PAGE_GROUP = "lazy_table.pages"
"""Worker group of the page fetches (exclusive per table: a newer viewport wins)."""
SHAPE_GROUP = "lazy_table.shape"
"""Worker group of the columns/count fetch (and the cursor's page after it)."""

# Cells are drawn as single segments, so anything that would break a line must go.
_CONTROL_CHARS = {code: " " for code in (*range(0, 32), 127)}


@dataclass(frozen=True)
class ColumnSpec:
    """A column of a LazyTable; its width is fixed so no row ever has to be measured."""

    key: str
    """The source's name for the column."""
    label: str
    """Header text."""
    width: int
    """Width in terminal cells (longer cells are cut with an ellipsis)."""
    justify: Literal["left", "right"] = "left"
    """Alignment of the cells; use "right" for numbers and money."""


@runtime_checkable
class RowSource(Protocol):
    """What a LazyTable reads. Every method may block, so the table calls them on a thread.

    A source may also define `row_style(row_id, cells) -> str | None` returning a Rich style
    for a row, and `cell_spans(row_id, cells) -> {column index: [(start, end, style), …]}`
    styling parts of cells (offsets in the cell's own text, e.g. one colour per tag). Those
    hooks run on the event loop while painting, so they must be cheap and must not touch the
    database.
    """

    def columns(self) -> list[ColumnSpec]:
        """Return the columns, in display order."""
        ...

    def count(self) -> int:
        """Return the total number of rows."""
        ...

    def page(self, offset: int, limit: int) -> list[Row]:
        """Return up to `limit` rows starting at row `offset` (0-based)."""
        ...


@dataclass
class _ShapeLoaded(Message, bubble=False):
    """A worker has read the columns and the row count."""

    generation: int
    columns: list[ColumnSpec] | None
    count: int


@dataclass
class _PageLoaded(Message, bubble=False):
    """A worker has read one page of rows."""

    generation: int
    page: int
    rows: list[Row]
    complete: bool = True
    """False for the rows in view read ahead of the rest of their page."""


def _fit(text: str, width: int, justify: str) -> str:
    """Cut or pad `text` to exactly `width` cells."""
    if width <= 0:
        return ""
    text = text.translate(_CONTROL_CHARS)
    length = cell_len(text)
    if length > width:
        return set_cell_size(text, width - 1) + "…"
    padding = " " * (width - length)
    return padding + text if justify == "right" else text + padding


CellSpans = Mapping[int, Sequence[tuple[int, int, str]]]
"""Styled parts of a row's cells: column index → [(start, end, Rich style), …]."""


def _place_span(value: str, fitted: str, justify: str, cell_start: int, start: int, end: int,
                style: str) -> list[tuple[int, int, Style]]:
    """A span of a cell's text moved to its place in the row (cut where the cell is cut)."""
    if len(fitted) >= len(value):  # padded (right-aligned text moves right) or exact
        shift = len(fitted) - len(value) if justify == "right" else 0
        visible = len(value)
    else:  # cut, with an ellipsis in the last place
        shift, visible = 0, len(fitted) - 1
    start, end = max(0, start), min(end, visible)
    if start >= end:
        return []
    try:
        parsed = Style.parse(style)
    except StyleSyntaxError:
        return []
    return [(cell_start + shift + start, cell_start + shift + end, parsed)]


def _styled(text: str, style: Style, spans: list[tuple[int, int, Style]]) -> list[Segment]:
    """`text` as segments in `style`, with each span's style added on top."""
    segments: list[Segment] = []
    position = 0
    for start, end, extra in sorted(spans, key=lambda span: span[0]):
        start = max(start, position)
        if start >= end:
            continue
        if start > position:
            segments.append(Segment(text[position:start], style))
        segments.append(Segment(text[start:end], style + extra))
        position = end
    if position < len(text):
        segments.append(Segment(text[position:], style))
    return segments


class LazyTable(ScrollView, can_focus=True, inherit_bindings=False):
    """A table over a `RowSource` that fetches pages around the viewport on a thread.

    Only the visible lines are rendered, the row count is read once per (re)load, and rows
    arrive in pages kept in an LRU cache, so a million-row source paints as fast as a tiny one.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False, id="lazy_table.cursor_up"),
        Binding("down,j", "cursor_down", "Down", show=False, id="lazy_table.cursor_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="lazy_table.page_up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="lazy_table.page_down"),
        Binding("home", "cursor_home", "First row", show=False, id="lazy_table.home"),
        Binding("end", "cursor_end", "Last row", show=False, id="lazy_table.end"),
        Binding("left", "scroll_left", "Scroll left", show=False, id="lazy_table.left"),
        Binding("right", "scroll_right", "Scroll right", show=False, id="lazy_table.right"),
        Binding(
            "enter",
            "select_row",
            "Open",
            show=False,
            id="open",  # the key map's "open" job: one id with the screens' open
            tooltip="Open the row under the cursor",
        ),
        Binding(
            "space",
            "toggle_mark",
            "Mark",
            id="lazy_table.mark",
            tooltip="Mark or unmark the row for a mass operation",
        ),
    ]
    """Cursor keys with hidden j/k aliases; space marks rows when `multi_select` is on."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "lazy-table--header",
        "lazy-table--cursor",
        "lazy-table--marked",
        "lazy-table--placeholder",
    }

    DEFAULT_CSS = """
    LazyTable {
        height: 1fr;
        background: $surface;
        color: $foreground;
        & > .lazy-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        & > .lazy-table--cursor {
            background: $block-cursor-blurred-background;
            text-style: $block-cursor-blurred-text-style;
        }
        & > .lazy-table--marked {
            color: $accent;
            text-style: bold;
        }
        & > .lazy-table--placeholder {
            color: $text-muted;
        }
        &:focus > .lazy-table--cursor {
            background: $block-cursor-background;
            color: $block-cursor-foreground;
            text-style: $block-cursor-text-style;
        }
    }
    """

    @dataclass
    class RowSelected(Message):
        """Enter (or a click on the cursor row) chose a row."""

        table: LazyTable
        row_id: int
        index: int

        @property
        def control(self) -> LazyTable:
            """The table that posted the message."""
            return self.table

    @dataclass
    class CursorMoved(Message):
        """The cursor rests on another row (posted once that row's page has arrived)."""

        table: LazyTable
        row_id: int
        index: int

        @property
        def control(self) -> LazyTable:
            """The table that posted the message."""
            return self.table

        def can_replace(self, message: Message) -> bool:
            """Collapse a burst of cursor moves (a held key) into the latest one."""
            return isinstance(message, LazyTable.CursorMoved) and message.table is self.table

    @dataclass
    class MarksChanged(Message):
        """The set of marked rows changed (multi-select only)."""

        table: LazyTable
        selected_ids: frozenset[int]

        @property
        def control(self) -> LazyTable:
            """The table that posted the message."""
            return self.table

    def __init__(
        self,
        source: RowSource | None = None,
        *,
        page_size: int = 100,
        cached_pages: int = 64,
        multi_select: bool = False,
        empty_text: str = "No rows",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create the table.

        Args:
            source: Rows to show; may also be given later with `set_source`.
            page_size: Rows per fetched page.
            cached_pages: How many pages the LRU cache keeps.
            multi_select: Let space mark rows (see `selected_ids`).
            empty_text: Text shown when the source has no rows.
        """
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self._source = source
        self.page_size = max(1, page_size)
        self.multi_select = multi_select
        self.empty_text = empty_text
        self._columns: list[ColumnSpec] = []
        self._row_count: int | None = None
        self._pages: LRUCache[int, list[Row]] = LRUCache(max(2, cached_pages))
        # After reload() the old pages are drawn until fresh ones arrive, so the list never
        # flashes placeholders; they are never used for enter, marks or CursorMoved.
        self._stale_pages: dict[int, list[Row]] = {}
        self._inflight: set[int] = set()
        self._failed_pages: set[int] = set()
        self._jobs: dict[Worker[None], list[int]] = {}
        # The cursor's page, read by the count's worker right after the count when the
        # source is (re)loaded, so the first rows need no round trip through the event
        # loop; not requested again meanwhile. (After the count, not beside it: a source
        # may choose how to read its pages from what the count found.)
        self._prefetch: int | None = None
        self._partial: int | None = None
        """The prefetched page while only its rows in view have arrived."""
        self._shape_worker: Worker[None] | None = None
        self._generation = 0
        self._cursor = 0
        self._announced_id: int | None = None
        self._pending_select: int | None = None
        self._marked: set[int] = set()
        self._row_style: Callable[[int, tuple[str, ...]], str | None] | None = None
        self._cell_spans: Callable[[int, tuple[str, ...]], CellSpans | None] | None = None

    # -- public API ---------------------------------------------------------------------

    @property
    def source(self) -> RowSource | None:
        """The current row source."""
        return self._source

    @property
    def columns(self) -> list[ColumnSpec]:
        """The columns, once the source has reported them."""
        return list(self._columns)

    @property
    def row_count(self) -> int | None:
        """Number of rows, or None while it is being counted."""
        return self._row_count

    @property
    def cursor_index(self) -> int:
        """Position of the cursor (0-based row index)."""
        return self._cursor

    @property
    def cursor_row_id(self) -> int | None:
        """Id of the row under the cursor, or None if there is none or it is not loaded yet."""
        row = self.get_row(self._cursor)
        return None if row is None else row[0]

    @property
    def selected_ids(self) -> frozenset[int]:
        """Ids of the rows marked with space (multi-select)."""
        return frozenset(self._marked)

    def get_row(self, index: int) -> Row | None:
        """Return the row at `index` if its page is loaded, else None (never fetches).

        While a reload is in flight the row drawn from the previous pages is returned, so a
        key pressed during a refresh acts on the row the user sees.
        """
        count = self._row_count
        if count is None or not 0 <= index < count:
            return None
        return self._row_at(*divmod(index, self.page_size))

    def _row_at(self, page: int, offset: int) -> Row | None:
        """The loaded row, else the one of the previous pages (drawn until fresh ones come)."""
        rows = self._pages.get(page)
        if rows is not None and offset < len(rows):
            return rows[offset]
        if rows is None or page == self._partial:
            stale = self._stale_pages.get(page)
            if stale is not None and offset < len(stale):
                return stale[offset]
        return None

    def set_source(self, source: RowSource | None) -> None:
        """Show another source: columns and count are read again, cursor and marks reset."""
        self._source = source
        self._row_style = None
        self._cell_spans = None
        self._cursor = 0
        self._announced_id = None
        self._pending_select = None
        self._marked.clear()
        self._stale_pages = {}
        self._reset_cache()
        self._row_count = None
        self._columns = []
        if self.is_mounted:
            self.scroll_to(0, 0, animate=False, force=True)
            self._start_shape_load(with_columns=True)

    def reload(self) -> None:
        """Count again and refetch the visible pages; the cursor stays, clamped to the rows."""
        if self._source is None:
            return
        # Keep the current pages to draw with until the fresh ones arrive.
        self._stale_pages = {
            page: rows for page in list(self._pages.keys()) if (rows := self._pages.get(page))
        }
        self._reset_cache()
        self._pending_select = None
        if self.is_mounted:
            self._start_shape_load(with_columns=False)

    def move_cursor(self, index: int) -> None:
        """Move the cursor to row `index` (clamped) and scroll it into view."""
        count = self._row_count or 0
        index = max(0, min(index, count - 1)) if count else 0
        previous = self._cursor
        self._cursor = index
        if previous != index:
            self._pending_select = None
            self._refresh_row(previous)
            self._refresh_row(index)
        self._scroll_to_cursor()
        self._announce_cursor()

    def clear_marks(self) -> None:
        """Unmark every row."""
        if self._marked:
            self._marked.clear()
            self.refresh()
            self.post_message(self.MarksChanged(self, frozenset()))

    # -- actions ------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide the mark key unless multi-select is on."""
        if action == "toggle_mark":
            return self.multi_select
        return True

    def action_cursor_up(self) -> None:
        """Move the cursor up one row."""
        self.move_cursor(self._cursor - 1)

    def action_cursor_down(self) -> None:
        """Move the cursor down one row."""
        self.move_cursor(self._cursor + 1)

    def action_page_up(self) -> None:
        """Move the cursor up one screenful."""
        self.move_cursor(self._cursor - self._body_height())

    def action_page_down(self) -> None:
        """Move the cursor down one screenful."""
        self.move_cursor(self._cursor + self._body_height())

    def action_cursor_home(self) -> None:
        """Move the cursor to the first row."""
        self.move_cursor(0)

    def action_cursor_end(self) -> None:
        """Move the cursor to the last row."""
        self.move_cursor((self._row_count or 0) - 1)

    def action_select_row(self) -> None:
        """Post RowSelected for the cursor row, as soon as its page is loaded."""
        if not self._row_count:
            return
        row = self.get_row(self._cursor)
        if row is None:
            # The page is on its way: answer the key when it lands rather than dropping it.
            self._pending_select = self._cursor
            return
        self.post_message(self.RowSelected(self, row[0], self._cursor))

    def action_toggle_mark(self) -> None:
        """Mark or unmark the cursor row, then step down like a file manager does."""
        row = self.get_row(self._cursor)
        if not self.multi_select or row is None:
            return
        row_id = row[0]
        if row_id in self._marked:
            self._marked.discard(row_id)
        else:
            self._marked.add(row_id)
        self._refresh_row(self._cursor)
        self.post_message(self.MarksChanged(self, frozenset(self._marked)))
        self.move_cursor(self._cursor + 1)

    # -- loading ------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Start reading the source as soon as the table is in the DOM."""
        self._update_virtual_size()
        if self._source is not None:
            self._start_shape_load(with_columns=True)

    def _reset_cache(self) -> None:
        self._generation += 1
        self._pages.clear()
        self._inflight.clear()
        self._failed_pages.clear()
        self._jobs.clear()
        self._prefetch = None
        self._partial = None

    def _start_shape_load(self, *, with_columns: bool) -> None:
        assert self._source is not None
        self._row_style = getattr(self._source, "row_style", None)
        self._cell_spans = getattr(self._source, "cell_spans", None)
        self._prefetch = self._cursor // self.page_size
        self._shape_worker = self._load_shape(
            self._source, self._generation, with_columns, self._prefetch,
            self._rows_in_view(self._prefetch))

    def _rows_in_view(self, page: int) -> int:
        """How many of `page`'s first rows reach the bottom of the view (the whole page
        when the view does not start inside it)."""
        size = self.page_size
        start = page * size
        top = self.scroll_offset.y
        # Before the first layout, the screen's height is more than the view can show.
        body = self._body_height() if self.scrollable_content_region.height \
            else self.app.size.height
        if not start <= top < start + size:
            return size
        return max(1, min(size, top + body - start))

    @work(
        thread=True,
        exclusive=True,
        group=SHAPE_GROUP,
        exit_on_error=False,
        description="Count table rows",
    )
    def _load_shape(self, source: RowSource, generation: int, with_columns: bool,
                    prefetch: int, in_view: int) -> None:
        columns = list(source.columns()) if with_columns else None
        count = source.count()
        self.post_message(_ShapeLoaded(generation, columns, count))
        worker = get_current_worker()
        start, size = prefetch * self.page_size, self.page_size
        if start >= count or worker.is_cancelled:
            return
        rows: list[Row] = []
        if in_view < size and start + in_view < count:
            # The rows in view first: reading (and formatting) a whole page before the
            # first of them shows would make the first paint cost as much as the page.
            rows = list(source.page(start, in_view))
            if len(rows) < in_view:  # fewer rows than counted: that is the whole page
                self.post_message(_PageLoaded(generation, prefetch, rows))
                return
            self.post_message(_PageLoaded(generation, prefetch, rows, complete=False))
            if worker.is_cancelled:
                return
        # A new list: the rows in view already belong to the event loop.
        rows = [*rows, *source.page(start + len(rows), size - len(rows))]
        self.post_message(_PageLoaded(generation, prefetch, rows))

    @work(
        thread=True,
        exclusive=True,
        group=PAGE_GROUP,
        exit_on_error=False,
        description="Fetch table pages",
    )
    def _load_pages(self, source: RowSource, generation: int, pages: list[int]) -> None:
        worker = get_current_worker()
        size = self.page_size
        for page in pages:
            if worker.is_cancelled:
                return
            rows = source.page(page * size, size)
            self.post_message(_PageLoaded(generation, page, list(rows)))

    @on(_ShapeLoaded)
    def _apply_shape(self, message: _ShapeLoaded) -> None:
        if message.generation != self._generation:
            return
        if message.columns is not None:
            self._columns = message.columns
        self._row_count = max(0, message.count)
        self._update_virtual_size()
        self.move_cursor(self._cursor)
        self.refresh()

    @on(_PageLoaded)
    def _store_page(self, message: _PageLoaded) -> None:
        if message.generation != self._generation:
            return
        self._pages.discard(message.page)  # (set() keeps a key's old value: the part)
        self._pages.set(message.page, message.rows)
        if not message.complete:
            # The rest of the page follows from the same worker (the old rows below the
            # new ones are drawn until then).
            self._partial = message.page
        else:
            self._stale_pages.pop(message.page, None)
            self._failed_pages.discard(message.page)
            self._inflight.discard(message.page)
            if message.page == self._partial:
                self._partial = None
            if message.page == self._prefetch:
                self._prefetch = None
        first = message.page * self.page_size
        self._refresh_rows(first, first + self.page_size)
        self._announce_cursor()
        pending = self._pending_select
        if pending is not None and (row := self.get_row(pending)) is not None:
            self._pending_select = None
            self.post_message(self.RowSelected(self, row[0], pending))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Forget a finished page job; on failure stop asking for its pages until reload()."""
        finished = (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED)
        if event.worker is self._shape_worker and event.state in finished:
            self._shape_worker = None
            if self._partial is not None:
                # The rest of its page never came: drop the part, ask for it the usual way.
                self._pages.discard(self._partial)
                self._partial = None
            if self._prefetch is not None:
                # Its page failed: shown as not loaded, like a page job's failure. Cancelled,
                # failed while counting, or nothing there: asked for the usual way.
                if event.state == WorkerState.ERROR and self._row_count is not None:
                    self._failed_pages.add(self._prefetch)
                self._prefetch = None
                self.refresh()
        pages = self._jobs.get(event.worker)
        if pages is None:
            return
        if event.state == WorkerState.ERROR:
            # Not retried on every repaint, or a broken source would loop; the app's
            # Worker.StateChanged handler reports the error itself.
            missing = {page for page in pages if page not in self._pages}
            self._failed_pages |= missing
            self._inflight -= missing
            self.refresh()
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            del self._jobs[event.worker]

    def _request_pages(self) -> None:
        """Fetch the pages of the viewport, then one screenful either side of it."""
        count = self._row_count
        if not count or self._source is None:
            return
        size = self.page_size
        body = self._body_height()
        top = self.scroll_offset.y
        visible = range(top // size, min(count - 1, top + body - 1) // size + 1)
        around = range(max(0, top - body) // size, min(count - 1, top + 2 * body) // size + 1)
        wanted: list[int] = []
        for page in (*visible, *around):
            if page in wanted or page in self._pages or page in self._failed_pages \
                    or page == self._prefetch:
                continue
            wanted.append(page)
        if not wanted or set(wanted) <= self._inflight:
            return
        self._inflight = set(wanted)
        worker = self._load_pages(self._source, self._generation, wanted)
        self._jobs[worker] = wanted

    # -- rendering ----------------------------------------------------------------------

    def _body_height(self) -> int:
        """Rows that fit below the header."""
        return max(1, self.scrollable_content_region.height - 1)

    def _table_width(self) -> int:
        widths = [column.width for column in self._columns]
        gutter = 2 if self.multi_select else 0
        return gutter + sum(widths) + max(0, len(widths) - 1)

    def _update_virtual_size(self) -> None:
        # One header line plus the rows (or one line for "Loading…"/"No rows").
        self.virtual_size = Size(self._table_width(), max(1, self._row_count or 0) + 1)

    def _scroll_to_cursor(self) -> None:
        body = self._body_height()
        top = self.scroll_offset.y
        if self._cursor < top:
            self.scroll_to(y=self._cursor, animate=False, force=True)
        elif self._cursor >= top + body:
            self.scroll_to(y=self._cursor - body + 1, animate=False, force=True)

    def _refresh_row(self, index: int) -> None:
        self._refresh_rows(index, index + 1)

    def _refresh_rows(self, start: int, end: int) -> None:
        # Row `index` sits on virtual line index + 1, below the header.
        top = self.scroll_offset.y
        first = max(start, top)
        last = min(end, top + self._body_height())
        if first < last:
            self.refresh(Region(0, first - top + 1, self.size.width, last - first))

    def _announce_cursor(self) -> None:
        row = self.get_row(self._cursor)
        if row is not None and row[0] != self._announced_id:
            self._announced_id = row[0]
            self.post_message(self.CursorMoved(self, row[0], self._cursor))

    def render_lines(self, crop: Region) -> list[Strip]:
        """Ask for any missing pages of the viewport, then render as usual."""
        self._request_pages()
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Render line `y` of the viewport: the header, a row, a placeholder or a blank."""
        scroll_x, scroll_y = self.scroll_offset
        width = self.size.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("lazy-table--header")
            labels = [_fit(column.label, column.width, column.justify) for column in self._columns]
            text = ("  " if self.multi_select else "") + " ".join(labels)
            return self._crop(text, style, scroll_x, width)
        index = scroll_y + y - 1
        count = self._row_count
        if count is None or count == 0:
            if y != 1:
                return Strip.blank(width, base)
            message = "Loading…" if count is None else self.empty_text
            style = base + self.get_component_rich_style("lazy-table--placeholder")
            return self._crop(" " + message, style, scroll_x, width)
        if index >= count:
            return Strip.blank(width, base)
        return self._render_row(index, base, scroll_x, width)

    def _render_row(self, index: int, base: Style, scroll_x: int, width: int) -> Strip:
        page, offset = divmod(index, self.page_size)
        row = self._row_at(page, offset)
        style = base
        spans: list[tuple[int, int, Style]] = []
        if row is None:
            # Not fitted to the first column: the placeholder may be wider than it.
            text = ("  " if self.multi_select else "") + (
                "⚠ not loaded" if page in self._failed_pages else "…"
            )
            style += self.get_component_rich_style("lazy-table--placeholder")
        else:
            row_id, cells = row
            marked = row_id in self._marked
            if self._row_style is not None:
                extra = self._row_style(row_id, cells)
                if extra:
                    style += Style.parse(extra)
            if marked:
                style += self.get_component_rich_style("lazy-table--marked")
            cell_spans = self._cell_spans(row_id, cells) if self._cell_spans else None
            text, spans = self._join_cells(cells, marked, cell_spans)
        if index == self._cursor:
            style += self.get_component_rich_style("lazy-table--cursor")
        return self._crop(text, style, scroll_x, width, spans)

    def _join_cells(
        self, cells: Iterable[str], marked: bool, cell_spans: CellSpans | None = None,
    ) -> tuple[str, list[tuple[int, int, Style]]]:
        """The row's text, and the cells' styled parts moved to their place in it."""
        values = list(cells)
        prefix = ("● " if marked else "  ") if self.multi_select else ""
        parts = []
        spans: list[tuple[int, int, Style]] = []
        start = len(prefix)
        for position, column in enumerate(self._columns):
            value = values[position] if position < len(values) else ""
            fitted = _fit(value, column.width, column.justify)
            for span_start, span_end, span_style in (cell_spans or {}).get(position, ()):
                spans.extend(_place_span(value, fitted, column.justify, start, span_start,
                                         span_end, span_style))
            parts.append(fitted)
            start += len(fitted) + 1
        if not self._columns and values:
            parts.append(values[0])
        return prefix + " ".join(parts), spans

    @staticmethod
    def _crop(text: str, style: Style, scroll_x: int, width: int,
              spans: list[tuple[int, int, Style]] | None = None) -> Strip:
        # crop_extend pads with the line's own style, so the cursor bar spans the full width.
        segments = [Segment(text, style)] if not spans else _styled(text, style, spans)
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)

    # -- mouse --------------------------------------------------------------------------

    def _on_click(self, event: events.Click) -> None:
        """Move the cursor to the clicked row; a click on the cursor row selects it."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0 or not self._row_count:
            return
        index = self.scroll_offset.y + offset.y - 1
        if index >= self._row_count:
            return
        if index == self._cursor:
            self.action_select_row()
        else:
            self.move_cursor(index)
