"""FilterBar driven by Pilot: hidden until shown, debounced changes, escape closes."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Input

from widgets.filter_bar import FilterBar


class BarApp(App[None]):
    """A harness that records the bar's messages."""

    def __init__(self, debounce: float = 0.2) -> None:
        super().__init__()
        self.debounce = debounce
        self.changes: list[str] = []
        self.closed = 0

    def compose(self) -> ComposeResult:
        yield FilterBar(debounce=self.debounce)

    def on_filter_bar_filter_changed(self, message: FilterBar.FilterChanged) -> None:
        self.changes.append(message.text)

    def on_filter_bar_closed(self, message: FilterBar.Closed) -> None:
        self.closed += 1


async def test_hidden_until_shown_then_typing_is_debounced() -> None:
    # Longer than the default 0.2 s so a slow test machine cannot pause between keys.
    app = BarApp(debounce=0.5)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(FilterBar)
        assert not bar.display
        assert not bar.is_open
        bar.show()
        await pilot.pause()
        assert bar.display
        assert isinstance(app.focused, Input)
        await pilot.press("a", "c", "m", "e")
        await pilot.pause()
        # Still typing: nothing reported yet.
        assert app.changes == []
        await pilot.pause(0.8)
        assert app.changes == ["acme"]
        await pilot.press("escape")
        await pilot.pause()
        assert app.closed == 1
        assert not bar.display
        assert bar.value == "acme"


async def test_enter_reports_at_once_and_duplicates_are_dropped() -> None:
    app = BarApp(debounce=5.0)
    async with app.run_test(size=(80, 24)) as pilot:
        bar = app.query_one(FilterBar)
        bar.show("ab")
        await pilot.press("c", "enter")
        await pilot.pause()
        assert app.changes == ["abc"]
        await pilot.press("enter", "escape")
        await pilot.pause()
        assert app.changes == ["abc"]
        bar.clear()
        await pilot.pause()
        assert app.changes == ["abc", ""]
