"""LazyTable driven by Pilot over fake row sources, including a million-row one."""

from __future__ import annotations

import contextlib
import threading

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from widgets.lazy_table import ColumnSpec, LazyTable

MILLION = 1_000_000


class FakeSource:
    """A RowSource that makes its rows up and records every call and the calling thread."""

    def __init__(self, total: int, gate: threading.Event | None = None) -> None:
        self.total = total
        self.gate = gate
        self.pages: list[tuple[int, int]] = []
        self.counts = 0
        self.threads: set[str] = set()

    def columns(self) -> list[ColumnSpec]:
        self.threads.add(threading.current_thread().name)
        return [
            ColumnSpec("id", "ID", 8, "right"),
            ColumnSpec("name", "Name", 20),
            ColumnSpec("city", "City", 12),
        ]

    def count(self) -> int:
        self.threads.add(threading.current_thread().name)
        self.counts += 1
        return self.total

    def page(self, offset: int, limit: int) -> list[tuple[int, tuple[str, ...]]]:
        self.threads.add(threading.current_thread().name)
        if self.gate is not None:
            self.gate.wait(5)
        self.pages.append((offset, limit))
        end = min(self.total, offset + limit)
        return [
            (index, (str(index), f"Name {index}", f"City {index % 7}"))
            for index in range(offset, end)
        ]


class StyledSource(FakeSource):
    """A source with the optional row_style hook."""

    def row_style(self, row_id: int, cells: tuple[str, ...]) -> str | None:
        return "red" if row_id % 2 else None


class SpannedSource(FakeSource):
    """A source with the optional cell_spans hook: parts of cells in their own colours."""

    def page(self, offset: int, limit: int) -> list[tuple[int, tuple[str, ...]]]:
        rows = super().page(offset, limit)
        # Row 1's city is longer than its 12-cell column: the cell is cut.
        return [(i, cells if i != 1 else (cells[0], cells[1], "Valladolid_de_Abajo"))
                for i, cells in rows]

    def cell_spans(self, row_id, cells):
        return {
            0: [(0, len(cells[0]), "magenta")],        # the right-aligned id
            1: [(0, 4, "red"), (5, 99, "blue")],       # "Name" red, the number blue
            2: [(8, 19, "green"), (0, 3, "not a style at all")],  # cut short / ignored
        }


class FailingSource(FakeSource):
    """A source whose pages cannot be read."""

    attempts = 0

    def page(self, offset: int, limit: int) -> list[tuple[int, tuple[str, ...]]]:
        self.attempts += 1
        raise RuntimeError("database is gone")


class TableApp(App[None]):
    """A harness that records the table's messages."""

    def __init__(self, source: FakeSource, **options: object) -> None:
        super().__init__()
        self.source = source
        self.options = options
        self.selected: list[int] = []
        self.moved: list[int] = []
        self.marks: list[frozenset[int]] = []

    def compose(self) -> ComposeResult:
        yield LazyTable(self.source, **self.options)  # type: ignore[arg-type]

    def on_lazy_table_row_selected(self, message: LazyTable.RowSelected) -> None:
        self.selected.append(message.row_id)

    def on_lazy_table_cursor_moved(self, message: LazyTable.CursorMoved) -> None:
        self.moved.append(message.row_id)

    def on_lazy_table_marks_changed(self, message: LazyTable.MarksChanged) -> None:
        self.marks.append(message.selected_ids)


async def settle(pilot: Pilot[None]) -> None:
    """Let workers finish and their messages (and any follow-up fetches) be handled."""
    for _ in range(10):
        # A failing source is part of some tests; the widget itself must survive it.
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in pilot.app.workers):
            return


def line(table: LazyTable, y: int) -> str:
    return table.render_line(y).text


async def test_million_rows_first_paint_fetches_one_page_off_the_event_loop() -> None:
    source = FakeSource(MILLION)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        assert table.row_count == MILLION
        # The rows in view first (at most the screen's height), then the rest of the page.
        in_view = source.pages[0][1]
        assert 0 < in_view <= 24
        assert source.pages == [(0, in_view), (in_view, 100 - in_view)]
        assert threading.main_thread().name not in source.threads
        assert line(table, 0).split() == ["ID", "Name", "City"]
        assert "Name 0" in line(table, 1)
        assert table.cursor_row_id == 0
        assert app.moved == [0]


class HeldRest(FakeSource):
    """A source whose reads below the first rows wait until `rest` is set."""

    def __init__(self, total: int) -> None:
        super().__init__(total)
        self.rest = threading.Event()

    def page(self, offset: int, limit: int) -> list[tuple[int, tuple[str, ...]]]:
        if offset > 0:
            self.rest.wait(5)
        return super().page(offset, limit)


async def test_the_rows_in_view_show_before_the_rest_of_their_page_is_read() -> None:
    source = HeldRest(MILLION)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(LazyTable)
        for _ in range(200):
            if table.get_row(0) is not None:
                break
            await pilot.pause(0.01)
        body = table.scrollable_content_region.height - 1
        assert "Name 0" in line(table, 1)
        assert f"Name {body - 1}" in line(table, body)  # the last row in view
        assert table.get_row(body + 5) is None  # below the view: not read yet
        assert table.cursor_row_id == 0
        source.rest.set()
        await settle(pilot)
        assert table.get_row(99) == (99, ("99", "Name 99", "City 1"))
        assert app.moved == [0]
        in_view = source.pages[0][1]
        assert source.pages == [(0, in_view), (in_view, 100 - in_view)]


async def test_end_jumps_to_last_row_fetching_only_its_page() -> None:
    source = FakeSource(MILLION)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("end")
        await settle(pilot)
        table = app.query_one(LazyTable)
        assert table.cursor_index == MILLION - 1
        assert table.cursor_row_id == MILLION - 1
        assert len(source.pages) <= 3
        assert (MILLION - 100, 100) in source.pages
        body = table.scrollable_content_region.height - 1
        assert "Name 999999" in line(table, body)
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected == [MILLION - 1]
        assert app.moved[-1] == MILLION - 1


async def test_cursor_keys_and_vim_aliases() -> None:
    source = FakeSource(1000)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        await pilot.press("down", "j", "j")
        assert table.cursor_index == 3
        await pilot.press("k", "up")
        assert table.cursor_index == 1
        await pilot.press("pagedown")
        body = table.scrollable_content_region.height - 1
        assert table.cursor_index == 1 + body
        await pilot.press("pageup", "pageup", "home")
        assert table.cursor_index == 0
        await pilot.press("up")
        assert table.cursor_index == 0
        await settle(pilot)
        assert app.moved == [0, 1, 2, 3, 2, 1, 1 + body, 1, 0]
        # Without multi-select, space neither marks nor moves.
        await pilot.press("space")
        assert table.selected_ids == frozenset()
        assert table.cursor_index == 0
        # A click moves the cursor; a click on the cursor row selects it.
        await pilot.click(LazyTable, offset=(5, 4))
        assert table.cursor_index == 3
        await pilot.click(LazyTable, offset=(5, 4))
        await pilot.pause()
        assert app.selected == [3]


async def test_placeholder_until_page_arrives_and_keys_keep_working() -> None:
    gate = threading.Event()
    source = FakeSource(500, gate=gate)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(LazyTable)
        for _ in range(20):
            if table.row_count is not None:
                break
            await pilot.pause(0.01)
        assert table.row_count == 500
        assert line(table, 1).strip() == "…"
        # The page fetch blocks its thread, not the event loop: keys still move the cursor.
        await pilot.press("down", "enter")
        assert table.cursor_index == 1
        assert app.selected == []
        gate.set()
        await settle(pilot)
        assert "Name 1" in line(table, 2)
        # The enter pressed early is answered once the row is known.
        assert app.selected == [1]


async def test_first_paint_does_not_wait_for_the_count() -> None:
    gate = threading.Event()

    class SlowCount(FakeSource):
        def count(self) -> int:
            gate.wait(5)
            return super().count()

    app = TableApp(SlowCount(10))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.query_one(LazyTable)
        assert table.row_count is None
        assert line(table, 1).strip() == "Loading…"
        gate.set()
        await settle(pilot)
        assert table.row_count == 10
        assert "Name 0" in line(table, 1)


async def test_space_marks_rows_for_mass_operations() -> None:
    app = TableApp(FakeSource(100), multi_select=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        await pilot.press("space", "space")
        assert table.selected_ids == {0, 1}
        assert table.cursor_index == 2
        assert line(table, 1).startswith("●")
        assert line(table, 3).startswith("  ")
        await pilot.press("up", "space")
        assert table.selected_ids == {0}
        await pilot.pause()
        assert app.marks[-1] == frozenset({0})
        table.clear_marks()
        await pilot.pause()
        assert table.selected_ids == frozenset()


async def test_reload_counts_again_and_clamps_cursor() -> None:
    source = FakeSource(50)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        await pilot.press("end")
        assert table.cursor_index == 49
        source.total = 10
        fetched = len(source.pages)
        table.reload()
        await settle(pilot)
        assert source.counts == 2
        assert len(source.pages) > fetched
        assert table.row_count == 10
        assert table.cursor_index == 9
        assert table.cursor_row_id == 9


async def test_set_source_swaps_columns_and_rows() -> None:
    app = TableApp(FakeSource(30))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        await pilot.press("down", "down")

        class Other(FakeSource):
            def columns(self) -> list[ColumnSpec]:
                return [ColumnSpec("title", "Title", 10)]

        table.set_source(Other(3))
        await settle(pilot)
        assert table.cursor_index == 0
        assert line(table, 0).strip() == "Title"
        assert table.row_count == 3


async def test_empty_source_and_row_style_hook() -> None:
    app = TableApp(FakeSource(0))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        assert line(table, 1).strip() == "No rows"
        await pilot.press("enter", "down", "end")
        assert app.selected == []

    styled = TableApp(StyledSource(5))
    async with styled.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = styled.query_one(LazyTable)
        odd_row = table.render_line(2)
        colours = {
            segment.style.color.name for segment in odd_row if segment.style and segment.style.color
        }
        assert "red" in colours


async def test_failed_page_is_shown_and_not_retried_until_reload() -> None:
    source = FailingSource(10)
    app = TableApp(source)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        assert "not loaded" in line(table, 1)
        assert table.cursor_row_id is None
        # Repaints do not hammer the broken source; reload() tries again.
        attempts = source.attempts
        table.refresh()
        await settle(pilot)
        assert source.attempts == attempts
        table.reload()
        await settle(pilot)
        assert source.attempts == attempts + 1


def coloured(table: LazyTable, y: int) -> dict[str, str]:
    """The text drawn in each foreground colour on line `y`."""
    out: dict[str, str] = {}
    for segment in table.render_line(y):
        if segment.style is not None and segment.style.color is not None:
            name = segment.style.color.name
            out[name] = out.get(name, "") + segment.text
    return out


async def test_cell_spans_colour_parts_of_cells_where_they_are_drawn() -> None:
    app = TableApp(SpannedSource(5))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.query_one(LazyTable)
        # Line 0 is the header; row 0 is on line 1 and has the cursor.
        assert line(table, 3) == f"{'2':>8} {'Name 2':20} {'City 2':12}".ljust(80)
        colours = coloured(table, 3)
        assert colours["magenta"] == "2"
        assert colours["red"] == "Name" and colours["blue"] == "2"
        assert "green" not in colours  # that part of the city is beyond the text
        cut = coloured(table, 2)
        assert line(table, 2).split()[-1] == "Valladolid_…"
        # The green span (8-19) is cut where the cell is cut, before the ellipsis.
        assert cut["green"] == "id_"
        assert cut["red"] == "Name" and cut["blue"] == "1"
