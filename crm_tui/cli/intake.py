"""`crm intake`: the HTTP endpoint a web contact form posts new leads to."""

from __future__ import annotations

import click

from crm_tui.cli.state import CliState, pass_state


@click.command("intake")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on.")
@click.option("--owner", default=None, metavar="LOGIN",
              help="Owner of the leads it creates (default: the acting user).")
@click.option("--max-bytes", default=16_384, show_default=True, type=click.IntRange(256),
              help="Largest request body accepted.")
@click.option("--rate", default=10, show_default=True, type=click.IntRange(1),
              help="Posts accepted per client address per --per seconds.")
@click.option("--per", "per_seconds", default=60, show_default=True, type=click.IntRange(1),
              help="Window of the per-address rate limit, in seconds.")
@pass_state
def intake_command(state: CliState, host: str, port: int, owner: str | None, max_bytes: int,
                   rate: int, per_seconds: int) -> None:
    """Serve POST /leads for web forms (token from the setting intake.token).

    Each accepted post becomes a lead owned by --owner, acting as the `crm --user` user.
    """
    from crm_tui.intake import IntakeConfig, serve

    session = state.session()
    session.face = "intake"  # what the history records of leads the web form creates
    config = IntakeConfig.from_settings(session, owner_login=owner, max_bytes=max_bytes,
                                        rate=rate, per_seconds=per_seconds)
    serve(session, config, host=host, port=port)


COMMANDS = [intake_command]
