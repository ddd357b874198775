"""The refused rows of an import as a CSV file with a reason column, to fix and import again.

The rows keep their cells as the file had them. A file with a header line gives its header
and a ``reject_reason`` column, which an import ignores. A positional file (no header) gets
a header naming its columns, so the reason column can follow them: the custom cells are
named by the custom fields of the row's type, as the import read them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TextIO

from crm_tui import csvio
from crm_tui.errors import Problem
from crm_tui.services.imports.layouts import (
    ID_COLUMN,
    LAYOUTS,
    REASON_COLUMN,
    Layout,
    custom_column_names,
    custom_fields,
)


def write_rejects(kind: str, data: bytes, refused: Sequence[Problem], out: TextIO) -> int:
    """Write the rows of `data` that `refused` names (by line) with their reasons to `out`
    (opened with ``newline=""``); returns how many rows. Only the header line when none."""
    layout = LAYOUTS[kind]
    custom = custom_fields(layout)
    names = custom_column_names(layout, custom)
    known = ([c.name for c in layout.columns] + list(layout.derived) + names + [ID_COLUMN]
             + list(layout.dates) + [REASON_COLUMN])
    table = csvio.read_table(data, known)
    reasons: dict[int, list[str]] = {}
    for problem in refused:
        if problem.line is not None:
            reasons.setdefault(problem.line, []).append(
                str(dataclasses.replace(problem, line=None)))
    rows = [row for row in table.rows if row.line in reasons]
    if table.header is not None:
        header = [name for name in table.header if name.strip().casefold() != REASON_COLUMN]
        keep = [n for n, name in enumerate(table.header)
                if name.strip().casefold() != REASON_COLUMN]
        cells = [[row.cells[n] if n < len(row.cells) else "" for n in keep]
                 + row.cells[len(table.header):] for row in rows]
    else:
        header, cells = _named(layout, custom, names, [row.cells for row in rows])
    width = max([len(header)] + [len(row) for row in cells])
    header = header + [""] * (width - len(header)) + [REASON_COLUMN]
    body = [row + [""] * (width - len(row)) + ["; ".join(reasons[source.line])]
            for row, source in zip(cells, rows, strict=True)]
    csvio.write_table(header, body, out)
    return len(body)


def _named(layout: Layout, custom: dict, names: list[str],
           rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    """Positional rows under a header: the fixed columns, then each row's custom cells under
    the names of its type's custom fields (what the import read them as)."""
    fixed = [c.name for c in layout.fixed]
    type_at = next((n for n, c in enumerate(layout.fixed)
                    if c.field == layout.custom_type_field), None) \
        if layout.custom_type_field else None
    placed: list[dict[str, str]] = []
    extra = 0
    for row in rows:
        type_text = row[type_at].strip() if type_at is not None and type_at < len(row) else ""
        key = int(type_text) if type_at is not None and type_text.isdigit() else None
        fields = custom.get(key, [])
        tail = row[len(fixed):]
        values = {f.name: text for f, text in zip(fields, tail, strict=False)}
        # Cells no custom field of the row takes stay at the end, unnamed.
        extra = max(extra, len(tail) - len(fields))
        values[""] = tail[len(fields):]
        placed.append(values)
    used = [name for name in names if any(name in values for values in placed)]
    header = fixed + used
    out = []
    for row, values in zip(rows, placed, strict=True):
        cells = (row[:len(fixed)] + [""] * (len(fixed) - len(row))
                 + [values.get(name, "") for name in used])
        cells += values[""] + [""] * (extra - len(values[""]))
        out.append(cells)
    return header + [""] * extra, out
