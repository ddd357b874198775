"""CSV import of companies, contacts, contracts and leads: read, check each row, write.

One use case for every face: `crm import`, the TUI's import dialog (from a thread worker) and
scripts call `run`. It goes in three steps, a module each:

1. `reading`: the file's bytes become named columns of cell texts (`crm_tui.csvio` decodes,
   finds the delimiter and the header line).
2. `rules`: each row is parsed and checked with the record kind's own fields and rules
   (`crm_tui.services.records`), so an imported row meets exactly the rules of `crm add`;
   a file with any bad row writes nothing.
3. `writing`: every row is written in one write transaction with bulk inserts (`bulk`),
   its import batch and history rows with it (`crm import undo` takes it back).

`updating` finds and changes the stored records rows stand for (`--on-duplicate update`),
`rejects` writes the rows refused with `keep_going` (`--rejects FILE`). `layouts` says what
each kind's file looks like, `cells` and `columns` hold the rows while they are checked,
`report` is what the caller gets back.

Ids that point at rows of the same file: an export of companies (and of contracts) ends with
an ``id`` column holding each row's id in the database it came from. When a file has that
column, an ``id_parent`` (``related_contract``) equal to one of the file's ids points at that
row and is mapped to the id the row gets here, so trees survive the trip into another (e.g.
empty) database; any other value names a record that already exists. Hand-made files and
Pandora/Integria exports have no ``id`` column, so their references always name existing
records. Company references can also travel by name: the ``company`` column of the newer
contract export, and ``company_name`` / ``managing_company`` in contact / lead exports name
the company and, when given, win over the id column (company names are unique).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Collection, Iterator
from typing import Any

from crm_tui.db import database, write_transaction
from crm_tui.errors import PermissionDenied, Problem, ValidationFailed
from crm_tui.i18n import _, ngettext
from crm_tui.models import ImportBatch
from crm_tui.services.context import Session
from crm_tui.services.imports import updating
from crm_tui.services.imports.cells import BAD, OK
from crm_tui.services.imports.layouts import (
    ID_COLUMN,
    KINDS,
    LAYOUTS,
    Column,
    Layout,
    custom_column_names,
    custom_fields,
)
from crm_tui.services.imports.reading import file_record, read
from crm_tui.services.imports.rejects import write_rejects
from crm_tui.services.imports.report import (
    STEP,
    ImportCancelled,
    ImportReport,
    Preview,
    Progress,
)
from crm_tui.services.imports.rules import RowChecker
from crm_tui.services.imports.updating import Update
from crm_tui.services.imports.writing import Writer
from crm_tui.services.records import get_kind

__all__ = [
    "ID_COLUMN",
    "KINDS",
    "LAYOUTS",
    "ON_DUPLICATE",
    "STEP",
    "Column",
    "ImportCancelled",
    "ImportReport",
    "Layout",
    "custom_column_names",
    "custom_fields",
    "run",
    "write_rejects",
]

#: What `run` may do with duplicates.
ON_DUPLICATE = ("create", "skip", "update")


def run(
    session: Session,
    kind: str,
    data: bytes,
    *,
    dry_run: bool,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    file_name: str = "",
    on_duplicate: str = "create",
    keep_going: bool = False,
) -> ImportReport:
    """Import a CSV file of `kind` ("companies", "contacts", "contracts", "leads").

    Every row is parsed and checked first; a file with any bad row writes nothing. Then all
    rows are written in one transaction (unless `dry_run`).

    Args:
        data: The file's bytes (UTF-8 with or without BOM, or Latin-1; ``,`` or ``;``).
        progress: Called now and then with (done, total) units of work (a fraction to show).
        cancelled: Polled now and then; True stops the import and writes nothing.
        file_name: Where the data came from, as the import batch records it.
        on_duplicate: What becomes of a row that resembles a stored record or an earlier
            row by its kind's duplicate rule: "create" (warned, created), "skip" (warned,
            left out: the file is checked once to find them, then imported without them)
            or "update" (the stored record is changed to the row's values, see
            `crm_tui.services.imports.updating`; other rows are created).
        keep_going: Import the good rows and refuse the others (`ImportReport.refused`,
            which `write_rejects` writes out) instead of refusing the whole file. A file
            that cannot be read (encoding, delimiter, header) is still refused whole.

    Raises:
        PermissionDenied: the user may not create such records (or any row of the file).
        ValidationFailed: the file or some rows are bad; lists every problem with its line.
        ImportCancelled: `cancelled` said so.
        Conflict: the database changed meanwhile (a duplicate saved by someone else).
    """
    if kind not in LAYOUTS:
        raise ValidationFailed.one("import", "kind", kind, _("must be one of {choices}").format(choices=", ".join(KINDS)))
    if on_duplicate not in ON_DUPLICATE:
        raise ValidationFailed.one("import", "on_duplicate", on_duplicate,
                                   _("must be one of {choices}").format(
                                       choices=", ".join(ON_DUPLICATE)))
    with _collector_paused():
        if not keep_going:
            return _run(session, kind, data, dry_run, progress, cancelled, file_name,
                        on_duplicate)
        # Each failed attempt writes nothing and names the rows that stopped it; they are
        # left out of the next. A second round is needed only for rows that pointed at a
        # refused row of the file, or broke a rule only once applied (an update).
        refused: dict[int, list[Problem]] = {}
        while True:
            try:
                report = _run(session, kind, data, dry_run, progress, cancelled, file_name,
                              on_duplicate, set(refused), keep_going=True)
            except ValidationFailed as exc:
                lines = {p.line for p in exc.problems}
                if None in lines or lines <= set(refused) or any(
                        p.record == file_record(kind) for p in exc.problems):
                    raise  # the file itself is bad: nothing to leave out
                for problem in exc.problems:
                    refused.setdefault(problem.line, []).append(problem)
                continue
            report.refused = [p for line in sorted(refused) for p in refused[line]]
            report.rows += len(refused)
            return report


def _run(session: Session, kind: str, data: bytes, dry_run: bool,
         progress: Callable[[int, int], None] | None, cancelled: Callable[[], bool] | None,
         file_name: str, on_duplicate: str, refused: Collection[int] = (),
         keep_going: bool = False) -> ImportReport:
    """`run` without the rows on the `refused` lines."""
    if on_duplicate == "update":
        return _import_updating(session, kind, data, dry_run, Progress(progress, cancelled),
                                Progress(None, cancelled), file_name, refused, keep_going)
    if on_duplicate == "create":
        return _import(session, kind, data, dry_run, Progress(progress, cancelled),
                       file_name, refused, keep_going=keep_going)
    found = _import(session, kind, data, True, Progress(None, cancelled), file_name, refused,
                    keep_going=keep_going)
    left_out = {p.line for p in found.problems if p.line is not None}
    report = _import(session, kind, data, dry_run, Progress(progress, cancelled),
                     file_name, left_out | set(refused), keep_going=keep_going)
    report.problems, report.skipped = found.problems, sorted(left_out)
    report.rows = found.rows
    return report


def _import_updating(session: Session, kind_name: str, data: bytes, dry_run: bool,
                     progress: Progress, quiet: Progress, file_name: str,
                     refused: Collection[int] = (), keep_going: bool = False) -> ImportReport:
    """`on_duplicate="update"`: find the rows that update stored records (a first pass),
    create the others, then update, all in one write transaction."""
    layout = LAYOUTS[kind_name]
    found = _import(session, kind_name, data, True, quiet, file_name, refused, match=True,
                    keep_going=keep_going)
    updates: list[Update] = found.updates
    model = get_kind(layout.kind).model
    stands_for = {update.line: (OK, model.get_by_id(update.target)) for update in updates}
    with write_transaction():
        report = _import(session, kind_name, data, dry_run, progress, file_name,
                         {update.line for update in updates} | set(refused), stands_for,
                         keep_going=keep_going)
        report.rows, report.updates = found.rows, updates
        if not updates:
            return report
        ids_by_line = {update.line: update.target for update in updates}
        ids_by_line.update(zip(report.preview.lines if report.ids else (), report.ids,
                               strict=True))
        if dry_run:
            # Made and taken back: the dry run names what each update would change.
            with database.atomic() as trial:
                updating.apply(session, layout, updates, ids_by_line, None)
                trial.rollback()
            return report
        if report.batch is None:
            report.batch = ImportBatch.create(
                kind=layout.kind, login=session.login, at=session.clock.now(),
                file=file_name[-300:], created=0).id
        updating.apply(session, layout, updates, ids_by_line, report.batch)
        changed = sum(1 for update in updates if update.changes)
        if not changed and not report.ids:
            # Every row matched its record as it is: nothing to take back.
            ImportBatch.delete().where(ImportBatch.id == report.batch).execute()
            report.batch = None
        else:
            ImportBatch.update(updated=changed).where(ImportBatch.id == report.batch).execute()
    return report


def _import(session: Session, kind_name: str, data: bytes, dry_run: bool,
            progress: Progress, file_name: str, left_out: Collection[int] = (),
            stands_for: dict[int, tuple[int, Any]] | None = None,
            match: bool = False, keep_going: bool = False) -> ImportReport:
    """One pass over the file: read it, check every row, write them all (unless `dry_run`).

    Args:
        left_out: Lines of the file this pass leaves out.
        stands_for: What a reference to a left-out row means, by its line (OK and the
            record it updates); a reference to any other left-out row is refused.
        match: Find the rows that update stored records (`ImportReport.updates`) and leave
            them out of the checks of new records.
        keep_going: Rows the user may not write are refused like bad rows (ValidationFailed
            naming each), so that `run` can leave them out.
    """
    layout = LAYOUTS[kind_name]
    get_kind(layout.kind).check_write_any(session)
    progress.tick(0)
    reading = read(layout, kind_name, data, left_out)
    rows = reading.rows
    progress.total = rows if dry_run else 2 * rows
    checker = RowChecker(session, layout, reading, progress)
    stands_for = stands_for or {}
    checker.elsewhere = {
        text: stands_for.get(line, (BAD, f"names the row on line {line}, which is left out"))
        for text, line in reading.left_out_ids.items()}
    matcher = updating.Matcher(session, layout, reading) if match else None
    checked = checker.check(reading.columns, matcher)
    del reading.columns  # the checked rows hold every cell now
    problems, denied = checked.problems, checked.denied
    if keep_going:
        problems = problems + denied
        denied = []
    if problems:
        problems.sort(key=lambda p: p.line or 0)
        raise ValidationFailed(problems)
    if denied:
        more = ngettext(" (and {n} more row)", " (and {n} more rows)", len(denied) - 1).format(
            n=len(denied) - 1) if len(denied) > 1 else ""
        raise PermissionDenied(_("line {line}: {reason}{more}").format(line=denied[0].line, reason=denied[0].reason, more=more))
    # From here on every row of the file is good: the batch holds them all.
    batch = checked.batch
    report = ImportReport(
        kind=kind_name, dry_run=dry_run, rows=rows, created=len(checked.good),
        problems=checker.warnings(batch), encoding=reading.encoding,
        delimiter=reading.delimiter, header=reading.header,
        preview=Preview(batch.lines, batch.labels),
    )
    if matcher is not None:
        report.updates = [matcher.updates[position] for position in sorted(matcher.updates)]
    if not dry_run and checked.good:
        writer = Writer(session, layout, progress, file_name)
        report.ids, report.batch = writer.write(batch, checked.order, rows)
    progress.finish()
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while an import holds its rows.

    An import keeps one model object per row alive until the write; with the collector on,
    every few hundred new objects make it walk all of them again, which costs more than the
    import itself on a large file. Nothing here makes reference cycles worth collecting.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
