"""`crm setup shared --group GROUP [--data-dir DIR]`: a data dir shared by a group."""

from __future__ import annotations

from pathlib import Path

import click

from crm_tui.cli.state import CliState, pass_state
from crm_tui.i18n import _


@click.group("setup")
def setup_group() -> None:
    """Set crm up on this host (run by an administrator)."""


@setup_group.command("shared")
@click.option("--group", "group", required=True, metavar="GROUP",
              help="The operators' group: its members open the shared data dir.")
@click.option("--data-dir", "data_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Where the shared data dir goes (default: /var/lib/crm_tui).")
@pass_state
def shared_command(state: CliState, group: str, data_dir: Path | None) -> None:
    """Create a setgid 2770 data dir owned by root:GROUP with 0660 files, create or upgrade
    its database, and write the system config (/etc/crm_tui/config.toml, or CRM_CONFIG)."""
    from crm_tui.services.shared_setup import setup_shared

    done = setup_shared(group, data_dir, database=state.db_target)
    click.echo(_("data dir {data_dir} (group {group}, 2770; files 0660)").format(
        data_dir=done.data_dir, group=done.group))
    click.echo(_("database {database}").format(database=done.database)
               + (_(" (applied {count} migrations)").format(count=len(done.migrations))
                  if done.migrations else ""))
    click.echo(_("config {file}: every operator's crm uses this data dir").format(
        file=done.config_file))
