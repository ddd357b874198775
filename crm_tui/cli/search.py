"""`crm search saved list|run NAME`: the acting user's saved lead searches."""

from __future__ import annotations

import click

from crm_tui.cli.output import print_json, print_table
from crm_tui.cli.records import TABLE_COLUMNS
from crm_tui.cli.state import CliState, pass_state


@click.group("search")
def search_group() -> None:
    """Saved searches."""


@search_group.group("saved")
def saved_group() -> None:
    """The acting user's saved lead searches ("custom searches")."""


@saved_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def list_command(state: CliState, as_json) -> None:
    """The names of your saved searches, with their filters."""
    from crm_tui.services import saved_searches

    session = state.session()
    rows = [{"name": name, "filters": saved_searches.load(session, name)}
            for name in saved_searches.names(session)]
    if as_json:
        print_json(rows)
        return
    print_table([{"name": r["name"], "filters": " ".join(f"{k}={v}" for k, v in
                                                         r["filters"].items())}
                 for r in rows], ["name", "filters"])


@saved_group.command("run")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def run_command(state: CliState, name, as_json) -> None:
    """The leads one of your saved searches selects."""
    from crm_tui.services import saved_searches
    from crm_tui.services.records import get_kind

    session = state.session()
    rows = get_kind("lead").list(session, saved_searches.load(session, name))
    if as_json:
        print_json(rows)
    else:
        print_table(rows, TABLE_COLUMNS["lead"])
