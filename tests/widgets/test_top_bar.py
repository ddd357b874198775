"""TopBar: the whole title and as many whole parts of the status as the line holds."""

from __future__ import annotations

from textual.app import App, ComposeResult

from widgets.top_bar import TopBar

TITLE = "3 Contracts"
STATUS = "admin  mail: synced 2026-01-15 09:12 UTC · 3 filed, 0 errors · 2 contracts end soon"


class BarApp(App[None]):
    def compose(self) -> ComposeResult:
        yield TopBar(TITLE, STATUS)


def line(app: App[None]) -> str:
    return app.screen._compositor.render_strips()[0].text


async def test_trailing_status_parts_that_do_not_fit_are_left_out_whole() -> None:
    app = BarApp()
    async with app.run_test(size=(80, 5)) as pilot:
        await pilot.pause()
        shown = line(app)
        assert TITLE in shown
        assert "admin  mail: synced 2026-01-15 09:12 UTC · 3 filed, 0 errors" in shown
        assert "contracts" not in shown.replace(TITLE, "")
        bar = app.query_one(TopBar)
        assert bar.status == STATUS
        assert bar.query_one("#top-status").tooltip == STATUS

        await pilot.resize_terminal(120, 5)
        await pilot.pause()
        assert STATUS in line(app)
        assert bar.query_one("#top-status").tooltip is None

        bar.set_status("admin  mail: not synced")
        await pilot.pause()
        assert line(app).rstrip().endswith("admin  mail: not synced")
