"""`crm stats companies|leads`: the statistics screens' figures, for scripts and people."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import click

from crm_tui.cli.output import fit, print_json, visible
from crm_tui.cli.records import parse_assignments
from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.command("stats")
@click.argument("what", type=click.Choice(("companies", "leads")))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="Leads only: the statistics of the leads this filter selects.")
@pass_state
def stats_command(state: CliState, what, as_json, filters) -> None:
    """Company or lead statistics over what the acting user may see."""
    if what == "companies":
        if filters:
            raise click.UsageError(_("company statistics take no --filter"))
        from crm_tui.services.stats import company_statistics

        charts = [_plain(dataclasses.asdict(c)) for c in company_statistics(state.session())]
        for chart in charts:
            chart["bars"] = [{"label": label, "value": value} for label, value in chart["bars"]]
        data: Any = charts
    else:
        from crm_tui.services.lead_stats import summary

        data = _plain(dataclasses.asdict(summary(state.session(), parse_assignments(filters))))
    if as_json:
        print_json(data)
    elif what == "companies":
        _print_charts(data)
    else:
        _print_leads(data)


def _plain(value: Any) -> Any:
    """Dataclass fields as JSON-ready values (Decimal as text, dates in ISO 8601)."""
    from crm_tui.services.values import render

    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return render(value)


def _print_charts(charts: list[dict]) -> None:
    from crm_tui.formatting import value_text

    for chart in charts:
        click.echo(visible(chart["title"]))
        if not chart["bars"]:
            # An invoiced-amount chart says why it is empty for a user without an invoice bit.
            click.echo("  " + (chart.get("note") or _("(none)")))
        for bar in chart["bars"]:
            value = bar["value"]
            click.echo(visible(f"  {fit(str(bar['label']), 40)}  "
                               f"{value_text(value if isinstance(value, int) else Decimal(value))}"))


def _print_leads(data: dict) -> None:
    from crm_tui.formatting import amount_text, count_text

    click.echo(_("Leads: {total}").format(total=count_text(data["total"])))
    conversion = data["conversion"]
    click.echo(_("Conversion: {won} won of {closed} closed").format(
        won=count_text(conversion["won"]), closed=count_text(conversion["closed"])))
    for key, title in (("by_channel", _("By channel")), ("by_country", _("By country")),
                       ("per_user", _("Per user"))):
        click.echo(title)
        for group in data[key] or []:
            click.echo(visible(f"  {fit(group['label'], 40)}  {count_text(group['count']):>7}  "
                               f"{amount_text(group['total']):>16}"))
    click.echo(_("Top estimated sales"))
    for lead in data["top_sales"] or []:
        click.echo(visible(f"  #{lead['id']:<8} {fit(lead['full_name'], 40)}  "
                           f"{amount_text(lead['estimated_sale']):>16}"))
    click.echo(_("New leads per week"))
    for week, count in data["new_per_week"] or []:
        click.echo(f"  {week}  {count_text(count)}")
