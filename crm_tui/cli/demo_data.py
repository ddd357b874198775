"""`crm demo-data`: fill a database with deterministic demo records."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import PermissionDenied
from crm_tui.i18n import _


@click.command("demo-data")
@click.option("--companies", type=click.IntRange(min=0), default=200, show_default=True)
@click.option("--contacts", type=click.IntRange(min=0), default=600, show_default=True)
@click.option("--contracts", type=click.IntRange(min=0), default=150, show_default=True)
@click.option("--invoices", type=click.IntRange(min=0), default=300, show_default=True)
@click.option("--leads", type=click.IntRange(min=0, max=5_000_000), default=2000,
              show_default=True)
@click.option("--seed", type=int, default=1, show_default=True,
              help="The same seed gives the same data.")
@pass_state
def demo_data_command(state: CliState, companies, contacts, contracts, invoices, leads,
                      seed) -> None:
    """Fill the database with demo companies, contacts, contracts, invoices and leads."""
    from crm_tui.demo import DemoSizes, generate

    session = state.session()
    if not session.user.superadmin:
        raise PermissionDenied(_("{login} may not fill the database with demo data")
                               .format(login=session.login))
    counts = generate(DemoSizes(companies, contacts, contracts, invoices, leads, seed),
                      progress=lambda what: click.echo(_("creating {what}…").format(what=what),
                                                       err=True))
    click.echo(", ".join(f"{n} {what}" for what, n in counts.items()))


COMMANDS = [demo_data_command]
