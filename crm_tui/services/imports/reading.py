"""Reading an import file: bytes to named columns of cell texts (encoding, delimiter, header).

The CSV work itself is `crm_tui.csvio`'s; this module decides which columns a kind's file
may have, and reports a file that cannot be read as the import's problems.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from crm_tui import csvio
from crm_tui.errors import Problem, ValidationFailed
from crm_tui.models import CustomField
from crm_tui.services.imports.layouts import (
    ID_COLUMN,
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


def read(layout: Layout, kind_name: str, data: bytes,
         left_out: Collection[int] = ()) -> Reading:
    """Read `data` as a file of `layout`, without the data lines in `left_out`.

    Raises:
        ValidationFailed: the encoding, delimiter, quoting or header line is wrong.
    """
    custom = custom_fields(layout)
    custom_names = custom_column_names(layout, custom)
    known = ([c.name for c in layout.columns] + list(layout.derived) + custom_names
             + [ID_COLUMN])
    try:
        table = csvio.read_table(data, known)
        if left_out:
            table = csvio.without_lines(table, left_out)
        header = table.header is not None
        if header:
            custom_columns = custom_names
            fixed = [c.name for c in layout.columns]
            if layout.self_ref:
                fixed.append(ID_COLUMN)
            ignored = list(layout.derived) + ([] if layout.self_ref else [ID_COLUMN])
            columns = csvio.read_columns(table, fixed, custom_names, ignored)
        else:
            # Custom values follow the fixed columns; a cell that fits no custom field of
            # its row is reported by its position in the line.
            width = max((len(group) for group in custom.values()), default=0)
            first = len(layout.fixed) + 1
            custom_columns = [f"column {n}" for n in range(first, first + width)]
            columns = csvio.read_columns(table, [c.name for c in layout.fixed],
                                         custom_columns)
    except csvio.CsvFormatError as exc:
        raise ValidationFailed(format_problems(kind_name, exc)) from None
    return Reading(columns, header, custom, custom_columns, table.encoding, table.delimiter,
                   len(table.lines))


def format_problems(kind: str, exc: csvio.CsvFormatError) -> list[Problem]:
    """A file-level CSV problem (encoding, delimiter, quotes, header) as Problems."""
    record = f"{kind} file"
    if exc.problems:
        return [Problem(record, p.column or "header", p.value, p.reason, p.line)
                for p in exc.problems]
    return [Problem(record, "file", "", str(exc))]
