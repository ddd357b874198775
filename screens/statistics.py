"""Screen 7: company statistics drawn as bar charts (the database does the counting)."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import ContentSwitcher, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui import formatting
from crm_tui.i18n import N_, _
from crm_tui.services import stats
from crm_tui.services.context import Session
from screens.crm_screen import CrmScreen
from widgets.bar_chart import BarChart, Number

LEADS = "leads"
"""The option that shows the leads' statistics."""


def _lead_section() -> Any:
    """The leads' statistics section, when that screen part is installed."""
    try:
        from screens.lead_statistics import LeadStatisticsSection
    except ImportError:
        return None
    return LeadStatisticsSection


def money(value: Number) -> str:
    """An amount in the user's language (babel): en 1,234.56, es 1.234,56."""
    return formatting.amount_text(value)


class StatisticsScreen(CrmScreen):
    """Pick a statistic on the left; its bars show on the right."""

    SCREEN_TITLE = N_("7 Statistics")
    AUTO_FOCUS = "#charts"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_stats", "Refresh", id="stats.refresh",
                tooltip="Count again"),
    ]
    """`r` recounts."""

    DEFAULT_CSS = """
    StatisticsScreen {
        & #stats {
            height: 1fr;
        }
        & #charts {
            width: 28;
            height: 1fr;
            border: none;
            border-right: vkey $panel-lighten-1;
        }
        & #panes {
            width: 1fr;
            height: 1fr;
        }
        & #chart-pane, & #lead-pane {
            width: 1fr;
            height: 1fr;
            padding: 1 1;
        }
        & #chart-note {
            color: $text-muted;
            padding: 1 1 0 1;
        }
    }
    """

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the screen; the figures are read once it is mounted."""
        super().__init__(session, **kwargs)
        self.charts: dict[str, stats.Chart] = {}
        self.selected = stats.CHARTS[0][0]

    def compose_body(self) -> ComposeResult:
        """The list of statistics and the chart (or the leads' charts)."""
        options: list[Option | None] = [Option(_(title), id=key) for key, title, *_rest in stats.CHARTS]
        if _lead_section() is not None:
            options += [None, Option(_("Leads"), id=LEADS)]
        with Horizontal(id="stats"):
            yield OptionList(*options, id="charts")
            with ContentSwitcher(initial="chart-pane", id="panes"):
                with VerticalScroll(id="chart-pane"):
                    yield BarChart(title=_(stats.CHARTS[0][1]), empty_text=_("Counting…"),
                                   id="chart", value_format=formatting.value_text)
                    yield Label(_("Only the companies you may see are counted."),
                                id="chart-note")
                yield VerticalScroll(id="lead-pane")

    def on_mount(self) -> None:
        """Count."""
        self.action_refresh_stats()

    def _loaded(self, charts: list[stats.Chart]) -> None:
        self.charts = {chart.key: chart for chart in charts}
        self._draw()

    @on(OptionList.OptionHighlighted, "#charts")
    def _chart_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id is None:
            return
        panes = self.query_one("#panes", ContentSwitcher)
        if event.option.id == LEADS:
            self._show_leads()
            panes.current = "lead-pane"
            return
        panes.current = "chart-pane"
        self.selected = event.option.id
        self._draw()

    def _show_leads(self) -> None:
        pane = self.query_one("#lead-pane", VerticalScroll)
        section = _lead_section()
        if section is not None and not pane.children:
            # Built on first view: the lead counts run only when someone looks at them.
            pane.mount(section(self.session))

    def action_refresh_stats(self) -> None:
        """Read every statistic again (on a thread)."""
        self.call_service(stats.company_statistics, self.session, done=self._loaded,
                          group="stats", exclusive=True)
        for section in self.query("#lead-pane > *"):
            refresh = getattr(section, "refresh_stats", None)
            if refresh is not None:
                refresh()

    def _draw(self) -> None:
        chart_widget = self.query_one("#chart", BarChart)
        chart = self.charts.get(self.selected)
        title = _(next(title for key, title, *_rest in stats.CHARTS if key == self.selected))
        if chart is None:
            chart_widget.empty_text = _("Counting…")
            chart_widget.set_data([], title=title)
            return
        chart_widget.empty_text = chart.note or _("Nothing to count")
        chart_widget.value_format = money if chart.money else formatting.value_text
        chart_widget.set_data(chart.bars, title=chart.title)
