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
from crm_tui.i18n import _

IMPORT_KINDS = ("companies", "contacts", "contracts", "leads")
EXPORT_KINDS = ("companies", "contacts", "contracts", "leads", "invoices")


class ImportGroup(click.Group):
    """`crm import KIND FILE` imports; `crm import undo BATCH` and `crm import list` manage
    the batches. A first word that names a kind runs the import itself."""

    def resolve_command(self, ctx: click.Context, args: list[str]):
        if args and args[0] in IMPORT_KINDS:
            args = ["file", *args]
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        formatter.write_usage("crm import", "KIND FILE [--dry-run] [--on-duplicate "
                              "skip|update|create] [--rejects FILE] | undo BATCH | "
                              "list [--json]")


@click.group("import", cls=ImportGroup)
def import_command() -> None:
    """Import KIND (companies, contacts, contracts, leads) from a CSV FILE, all rows or
    none; take an import back with `undo BATCH`; `list` shows the batches."""


@import_command.command("file", hidden=True)
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("file", metavar="FILE", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--on-duplicate", type=click.Choice(("skip", "update", "create")),
              default="create", show_default=True,
              help="A row like a stored record or an earlier row (the kind's duplicate rule): "
                   "create it anyway (warned), skip it (warned, left out), or update the "
                   "stored record with the row's values (a row of an export of this "
                   "database: the record of its id).")
@click.option("--rejects", metavar="FILE", type=click.Path(dir_okay=False),
              help="Import the good rows and write the refused ones to FILE with a "
                   "reject_reason column, ready to fix and import again (exit 0 even when "
                   "rows were refused). Without it a file with any bad row writes nothing.")
@pass_state
def import_file_command(state: CliState, kind: str, file: str, dry_run: bool,
                        on_duplicate: str, rejects: str | None) -> None:
    """Import KIND from a CSV FILE (`-`: standard input); all rows or none.

    A file with a header line (an export) is read by column name; a file without one is
    read in the manual's column order. Every problem is listed on stderr with its line.
    With --rejects FILE the good rows are imported and the refused ones written to FILE.
    """
    from crm_tui.services import imports

    data = _read_input(file)
    if rejects is not None:
        # Checked first: rows refused once the good ones are written must not be lost.
        folder = os.path.dirname(os.path.abspath(rejects))
        if not os.path.isdir(folder) or not os.access(folder, os.W_OK):
            raise ValidationFailed.one("import", "--rejects", rejects,
                                       "cannot write a file there")
    session = state.session()
    name = "(standard input)" if file == "-" else os.path.abspath(file)
    report = imports.run(session, kind, data, dry_run=dry_run, file_name=name,
                         on_duplicate=on_duplicate, keep_going=rejects is not None)
    for warning in report.problems:
        click.echo(_("crm: warning: {message}").format(message=warning), err=True)
    if rejects is not None:
        for problem in report.refused:
            click.echo(_("crm: refused: {problem}").format(problem=problem), err=True)
        count = _write_rejects(kind, data, report.refused, rejects)
        click.echo(_("crm: {count} rows refused, written to {path}").format(count=count,
                                                                             path=rejects),
                   err=True)
    if dry_run:
        for line, label in report.preview:
            click.echo(_("line {line}: would create {label}").format(line=line, label=label))
        for update in report.updates:
            if update.changes:
                fields = ", ".join(sorted(update.changes))
                click.echo(_("line {line}: would update {described}: {fields}").format(
                    line=update.line, described=update.described, fields=fields))
            else:
                click.echo(_("line {line}: {described} unchanged").format(
                    line=update.line, described=update.described))
    click.echo(report.summary())


@import_command.command("undo")
@click.argument("batch")
@pass_state
def import_undo_command(state: CliState, batch: str) -> None:
    """Take back import BATCH: delete what it created and restore what it updated, unless
    some of it was used or changed since."""
    from crm_tui.services.import_batches import take_back

    removed, restored = take_back(state.session(), batch)
    restored_text = _(", {restored} records restored").format(restored=restored) if restored \
        else ""
    click.echo(_("batch {batch}: {removed} records removed").format(batch=batch, removed=removed)
               + restored_text, err=True)


@import_command.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def import_list_command(state: CliState, as_json: bool) -> None:
    """The import batches you ran (a superadmin: everyone's), newest first."""
    from crm_tui.cli.output import print_json, print_table
    from crm_tui.services.import_batches import listing

    rows = listing(state.session())
    if as_json:
        print_json(rows)
    else:
        print_table(rows, ["batch", "kind", "user", "at", "created", "updated", "undone", "file"])


def _write_rejects(kind: str, data: bytes, refused, path: str) -> int:
    """Write the refused rows to `path` (through a temporary file, as an export)."""
    from crm_tui.services import imports

    return _through_temporary(path, "--rejects",
                              lambda out: imports.write_rejects(kind, data, refused, out))


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
    progress = _progress(kind) if sys.stderr.isatty() else None
    if output == "-":
        stream = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            count = exports.write(session, kind, stream, wanted, progress)
        finally:
            stream.flush()
            stream.detach()
    else:
        count = _export_to_file(session, kind, output, wanted, progress)
    if progress is not None:
        sys.stderr.write("\r\033[K")
    click.echo(_("{kind}: {count} rows exported").format(kind=kind, count=count), err=True)


def _progress(kind: str):
    """A progress line on the terminal's stderr, rewritten at most a few times a second."""
    import time

    last = [0.0]

    def show(count: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2:
            last[0] = now
            sys.stderr.write(f"\r{kind}: {count} rows…")
            sys.stderr.flush()
    return show


def _export_to_file(session, kind: str, path: str, filters: dict[str, str],
                    progress=None) -> int:
    """Write through a temporary file and rename it: a failed export leaves no half file."""
    from crm_tui.services import exports

    return _through_temporary(
        path, "-o", lambda out: exports.write(session, kind, out, filters, progress))


def _through_temporary(path: str, option: str, write) -> int:
    """`write(out)` into a temporary file next to `path`, then renamed to it."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        handle, temp = tempfile.mkstemp(prefix=".crm-export-", suffix=".csv", dir=folder)
    except OSError as error:
        raise ValidationFailed.one("export" if option == "-o" else "import", option, path,
                                   error.strerror or str(error)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            count = write(out)
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
