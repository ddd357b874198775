"""BarChart: labels, scaling and values, mounted and as plain text."""

from __future__ import annotations

from decimal import Decimal

from textual.app import App, ComposeResult

from widgets.bar_chart import BarChart, bar_text

DATA = [
    ("Manager #1", 1200),
    ("User #1", Decimal("300.50")),
    ("A very long company name that cannot fit", 600.0),
    ("Refunds", -150),
]


def test_bars_scale_to_width_with_eighth_blocks() -> None:
    assert bar_text(10, 10, 5) == "█████"
    assert bar_text(5, 10, 5) == "██▌"
    assert bar_text(1, 80, 1) == "▏"
    assert bar_text(0, 10, 5) == ""
    assert bar_text(3, 0, 5) == ""


def test_text_has_title_labels_values_and_proportional_bars() -> None:
    chart = BarChart(DATA, title="Invoiced by manager", max_label_width=16)
    lines = chart.render_text(60).plain.splitlines()
    assert lines[0] == "Invoiced by manager"
    rows = lines[1:]
    assert len(rows) == 4
    assert all(len(row) == 60 for row in rows)
    assert rows[0].startswith("Manager #1 ")
    assert rows[0].rstrip().endswith("1,200")
    assert rows[1].rstrip().endswith("300.50")
    assert rows[2].startswith("A very long com…")
    assert rows[3].rstrip().endswith("-150")
    full = [row.count("█") for row in rows]
    assert full[0] > full[2] > full[1] > full[3] > 0


def test_empty_chart_says_so() -> None:
    assert BarChart(title="Leads").render_text(40).plain == "Leads\nNo data"


class ChartApp(App[None]):
    def compose(self) -> ComposeResult:
        yield BarChart(DATA, title="Invoiced by manager")


async def test_mounted_chart_fits_80_columns_and_updates() -> None:
    app = ChartApp()
    async with app.run_test(size=(80, 24)) as pilot:
        chart = app.query_one(BarChart)
        assert chart.size.height == 5
        text = chart.render_text(chart.size.width).plain
        assert "Manager #1" in text and "1,200" in text
        chart.set_data([("Spain", 3), ("France", 1)], title="Leads by country")
        await pilot.pause()
        assert chart.size.height == 3
        assert chart.render_text(chart.size.width).plain.startswith("Leads by country\nSpain")
