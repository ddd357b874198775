"""Reading an import file: bytes to named columns of cell texts (encoding, delimiter, header).

The CSV work itself is `crm_tui.csvio`'s; this module decides which columns a kind's file
may have, and reports a file that cannot be read as the import's problems.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from crm_tui import csvio
from crm_tui.errors import Problem, ValidationFailed
from crm_tui.i18n import _, said
from crm_tui.i18n import kind_name as i18n_kind_name
from crm_tui.models import CustomField
from crm_tui.services.imports.layouts import (
    ID_COLUMN,
    REASON_COLUMN,
    Layout,
    custom_column_names,
    custom_fields,
)


@dataclass
class Reading:
    """A file read into columns, and how it was read."""

    columns: csvio.CsvColumns
    #: True when the file has a header line (read by column name), False when positional.
    header: bool
    #: The kind's custom fields by type id (None: untyped), as `custom_fields` gives them.
    custom: dict[int | None, list[CustomField]]
    #: The columns holding custom values: names, or "column N" in a positional file.
    custom_columns: list[str]
    encoding: str
    delimiter: str
    #: Data rows read (lines left out not counted).
    rows: int
    #: The columns the file has (a file with a header may leave some out).
    present: set[str]
    #: The `id` cells of the rows left out → their line: a reference to one of them names
    #: that row, not a stored record.
    left_out_ids: dict[str, int]


def read(layout: Layout, kind_name: str, data: bytes,
         left_out: Collection[int] = ()) -> Reading:
    """Read `data` as a file of `layout`, without the data lines in `left_out`.

    Raises:
        ValidationFailed: the encoding, delimiter, quoting or header line is wrong.
    """
    custom = custom_fields(layout)
    custom_names = custom_column_names(layout, custom)
    known = ([c.name for c in layout.columns] + list(layout.derived) + custom_names
             + [ID_COLUMN] + list(layout.dates) + [REASON_COLUMN])
    try:
        table = csvio.read_table(data, known)
        left_out_ids = _ids_on(table, left_out) if left_out else {}
        if left_out:
            table = csvio.without_lines(table, left_out)
        header = table.header is not None
        if header:
            custom_columns = custom_names
            # The id column links rows of the same file and names the record an update
            # changes; the dates an export carries are the database's to keep.
            fixed = [c.name for c in layout.columns] + [ID_COLUMN, *layout.derived,
                                                        *layout.dates]
            columns = csvio.read_columns(table, fixed, custom_names, [REASON_COLUMN])
            named = {name.strip().casefold() for name in table.header or ()}
            present = {name for name in [*fixed, *custom_names] if name.casefold() in named}
        else:
            # Custom values follow the fixed columns; a cell that fits no custom field of
            # its row is reported by its position in the line.
            width = max((len(group) for group in custom.values()), default=0)
            first = len(layout.fixed) + 1
            custom_columns = [f"column {n}" for n in range(first, first + width)]
            columns = csvio.read_columns(table, [c.name for c in layout.fixed],
                                         custom_columns)
            present = {c.name for c in layout.fixed} | set(custom_columns)
    except csvio.CsvFormatError as exc:
        raise ValidationFailed(format_problems(kind_name, exc)) from None
    return Reading(columns, header, custom, custom_columns, table.encoding, table.delimiter,
                   len(table.lines), present, left_out_ids)


def _ids_on(table: csvio.CsvTable, lines: Collection[int]) -> dict[str, int]:
    """The `id` cells of the records on `lines` → their line (rows left out of an import)."""
    names = [name.strip().casefold() for name in table.header or ()]
    if ID_COLUMN not in names:
        return {}
    cells = table.by_position[names.index(ID_COLUMN)]
    return {cells[n].strip(): line for n, line in enumerate(table.lines)
            if line in lines and cells[n].strip()}


def file_record(kind: str) -> str:
    """How a problem of the file as a whole names its record ("companies file")."""
    return _("{kind} file").format(kind=i18n_kind_name(kind))


def format_problems(kind: str, exc: csvio.CsvFormatError) -> list[Problem]:
    """A file-level CSV problem (encoding, delimiter, quotes, header) as Problems."""
    record = file_record(kind)
    if exc.problems:
        return [Problem(record, p.column or "header", p.value, said(p.reason), p.line)
                for p in exc.problems]
    return [Problem(record, "file", "", said(exc.message))]
