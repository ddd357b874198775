"""The leads part of the statistics screen: channel, conversion, country, user, top sales
and new leads per week, over all visible leads or a saved search (counted by the database)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select

from crm_tui import formatting
from crm_tui.i18n import _, ngettext
from crm_tui.services import lead_stats, saved_searches
from crm_tui.services.context import Session
from screens.service_calls import run_service
from widgets.bar_chart import BarChart, Number

ALL_LEADS = "__all__"
"""The filter choice meaning "every lead I may see"."""


def money(value: Number) -> str:
    """An amount in the user's language (babel): en 1,234.56, es 1.234,56."""
    return formatting.amount_text(value)


def conversion_text(stats: lead_stats.LeadStatistics) -> str:
    """The summary line: how many leads, and the conversion rate."""
    conversion = stats.conversion
    leads = ngettext("{count} lead", "{count} leads", stats.total).format(
        count=formatting.count_text(stats.total))
    if conversion.rate is None:
        return _("{leads} · conversion: nothing closed yet").format(leads=leads)
    return _("{leads} · conversion {rate}% ({won} won of {closed} closed)").format(
        leads=leads, rate=formatting.number_text(conversion.rate),
        won=formatting.count_text(conversion.won), closed=formatting.count_text(conversion.closed))


class LeadStatisticsSection(Vertical):
    """Lead statistics as bar charts, over the visible leads or one saved search."""

    DEFAULT_CSS = """
    LeadStatisticsSection {
        height: auto;
        margin-top: 1;
        & > #lead-stats-title {
            text-style: bold underline;
        }
        & > #lead-stats-filter {
            width: 100%;
            margin: 0 0 1 0;
        }
        & > #lead-stats-summary {
            margin-bottom: 1;
        }
        & > BarChart {
            margin-bottom: 1;
            padding: 0;
        }
    }
    """

    def __init__(self, session: Session, *, filters: dict[str, str] | None = None,
                 name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the section for `session`; `filters` narrow the leads counted."""
        super().__init__(name=name, id=id, classes=classes)
        self.session = session
        self.filters = dict(filters or {})
        self.stats: lead_stats.LeadStatistics | None = None

    def compose(self) -> ComposeResult:
        """Title, filter choice, summary line and the charts (empty until counted)."""
        yield Label(_("Leads"), id="lead-stats-title")
        yield Select([(_("All leads I may see"), ALL_LEADS)], value=ALL_LEADS, compact=True,
                     allow_blank=False, id="lead-stats-filter")
        yield Label(_("Counting…"), id="lead-stats-summary", markup=False)
        yield BarChart(title=_("By channel"), empty_text=_("Counting…"), id="lead-by-channel",
                       value_format=formatting.value_text)
        yield BarChart(title=_("By country"), empty_text=_("Counting…"), id="lead-by-country",
                       value_format=formatting.value_text)
        yield BarChart(title=_("Per user"), empty_text=_("Counting…"), id="lead-per-user",
                       value_format=formatting.value_text)
        yield BarChart(title=_("Top 10 estimated sales"), value_format=money,
                       empty_text=_("Counting…"), id="lead-top-sales")
        yield BarChart(title=_("New leads per week"), empty_text=_("Counting…"),
                       id="lead-per-week", value_format=formatting.value_text)

    def on_mount(self) -> None:
        """Count, and offer the user's saved searches as filters."""
        self.refresh_stats()
        run_service(self, saved_searches.names, self.session, done=self._got_searches,
                    group="lead_stats.searches")

    def _got_searches(self, names: list[str]) -> None:
        select = self.query_one("#lead-stats-filter", Select)
        select.set_options([(_("All leads I may see"), ALL_LEADS), *((n, n) for n in names)])
        select.value = ALL_LEADS

    @on(Select.Changed, "#lead-stats-filter")
    def _filter_chosen(self, event: Select.Changed) -> None:
        event.stop()
        if event.value in (ALL_LEADS, Select.NULL):
            if self.filters:
                self.filters = {}
                self.refresh_stats()
            return
        run_service(self, saved_searches.load, self.session, str(event.value),
                    done=self._use_filters, group="lead_stats.filter")

    def _use_filters(self, filters: dict[str, str]) -> None:
        self.filters = filters
        self.refresh_stats()

    def refresh_stats(self) -> None:
        """Count again (on a thread)."""
        run_service(self, lead_stats.summary, self.session, self.filters, done=self._show,
                    group="lead_stats", exclusive=True)

    def _show(self, stats: lead_stats.LeadStatistics) -> None:
        self.stats = stats
        self.query_one("#lead-stats-summary", Label).update(conversion_text(stats))
        for chart_id, groups in (("#lead-by-channel", stats.by_channel),
                                 ("#lead-by-country", stats.by_country),
                                 ("#lead-per-user", stats.per_user)):
            chart = self.query_one(chart_id, BarChart)
            chart.empty_text = _("No leads")
            chart.set_data([(g.label, g.count) for g in groups])
        top = self.query_one("#lead-top-sales", BarChart)
        top.empty_text = _("No leads")
        top.set_data([(t.full_name, t.estimated_sale) for t in stats.top_sales])
        weeks = self.query_one("#lead-per-week", BarChart)
        weeks.empty_text = _("No weeks")
        weeks.set_data([(f"{day:%Y-%m-%d}", count) for day, count in stats.new_per_week])
