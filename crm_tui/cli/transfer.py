"""`crm import` and `crm export`: CSV files in and out, through the same services as the TUI."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile

import click

from crm_tui.cli.records import parse_assignments
from crm_tui.cli.state import CliState, pass_state
from crm_tui.errors import ValidationFailed

IMPORT_KINDS = ("companies", "contacts", "contracts", "leads")
EXPORT_KINDS = ("companies", "contacts", "contracts", "leads", "invoices")


@click.command("import")
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@pass_state
def import_command(state: CliState, kind: str, file: str, dry_run: bool) -> None:
    """Import KIND from a CSV FILE (`-`: standard input); all rows or none.

    A file with a header line (an export) is read by column name; a file without one is
    read in the manual's column order. Every problem is listed on stderr with its line.
    """
    from crm_tui.services import imports

    data = _read_input(file)
    session = state.session()
    report = imports.run(session, kind, data, dry_run=dry_run)
    for warning in report.problems:
        click.echo(f"crm: warning: {warning}", err=True)
    if dry_run:
        for line, label in report.preview:
            click.echo(f"line {line}: would create {label}")
    click.echo(report.summary())


def _read_input(file: str) -> bytes:
    """The bytes of FILE or of standard input.

    Raises:
        ValidationFailed: the file cannot be read.
    """
    if file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(file, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise ValidationFailed.one("import", "FILE", file,
                                   error.strerror or str(error)) from None


@click.command("export")
@click.argument("kind", type=click.Choice(EXPORT_KINDS))
@click.option("-o", "--output", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True),
              default="-", help="Write to FILE instead of standard output.")
@click.option("--filter", "filters", multiple=True, metavar="FIELD=VALUE",
              help="Narrow the rows (text fields match a part, others exactly).")
@pass_state
def export_command(state: CliState, kind: str, output: str, filters: tuple[str, ...]) -> None:
    """Export the KIND records you may see as CSV (UTF-8, with a header line)."""
    from crm_tui.services import exports

    wanted = parse_assignments(filters)
    session = state.session()
    if output == "-":
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            count = exports.write(session, kind, stream, wanted)
        finally:
            stream.flush()
            stream.detach()
    else:
        count = _export_to_file(session, kind, output, wanted)
    click.echo(f"{kind}: {count} rows exported", err=True)


def _export_to_file(session, kind: str, path: str, filters: dict[str, str]) -> int:
    """Write through a temporary file and rename it: a failed export leaves no half file."""
    from crm_tui.services import exports

    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temp = tempfile.mkstemp(prefix=".crm-export-", suffix=".csv", dir=folder)
    except OSError as error:
        raise ValidationFailed.one("export", "-o", path, error.strerror or str(error)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            count = exports.write(session, kind, out, filters)
        # mkstemp makes the file private; give it the mode a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    return count


COMMANDS = [import_command, export_command]
