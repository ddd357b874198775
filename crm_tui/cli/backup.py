"""`crm backup FILE` and `crm restore FILE`: the database and files/ as one snapshot."""

from __future__ import annotations

from pathlib import Path

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.command("backup")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@pass_state
def backup_command(state: CliState, file: Path) -> None:
    """Write a consistent snapshot of the database and files/ to FILE (a .tar.gz).

    SQLite is copied with its online backup API, PostgreSQL with pg_dump; writers go on
    meanwhile (attachment writes wait for the moment the snapshot is taken)."""
    from crm_tui import paths
    from crm_tui.services.backup import backup

    report = backup(paths.database_target(state.db_target, state.demo), file)
    click.echo(_("backup {summary}").format(summary=report.summary()))
    for name in report.missing:
        click.echo(_("crm: warning: file {name} is named by a row but missing").format(name=name),
                   err=True)


@click.command("restore")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@pass_state
def restore_command(state: CliState, file: Path) -> None:
    """Bring a backup back into an empty data dir (and, on PostgreSQL, an empty database)."""
    from crm_tui import paths
    from crm_tui.services.backup import restore

    report = restore(paths.database_target(state.db_target, state.demo), file)
    click.echo(_("restored {summary}").format(summary=report.summary()))
