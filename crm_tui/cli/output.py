"""Printing records: JSON for scripts, aligned text for people."""

from __future__ import annotations

import itertools
import json
import re
import sys
import textwrap
from collections.abc import Iterable
from typing import Any

from crm_tui.i18n import _
from crm_tui.services.values import render_text


def cell_len(text: str) -> int:
    """The terminal cells `text` takes (a wide character counts two)."""
    # rich is imported for text tables only: `--json` and JSON Lines do not need it.
    from rich.cells import cell_len as cells

    return cells(text)


def print_json(data: Any) -> None:
    """Write data as JSON on stdout (UTF-8, not ASCII-escaped); indented for a terminal only.

    Scripts get compact JSON: it is what they parse, and json's C encoder only runs
    without indentation (several times faster on long lists).
    """
    indent = 2 if sys.stdout.isatty() else None
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str)
    # json escapes C0 controls itself; DEL and C1 (which terminals obey) are escaped here.
    sys.stdout.write(_RAW_JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))
    sys.stdout.write("\n")


def _escaped(text: str) -> str:
    """JSON text with DEL and C1 controls escaped, as `print_json` writes them."""
    return _RAW_JSON_CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def print_json_stream(rows: Iterable[Any]) -> None:
    """Write rows as one JSON array, row by row as they come (what `print_json` would write
    for the whole list, in constant memory)."""
    write = sys.stdout.write
    if sys.stdout.isatty():
        first = True
        for row in rows:
            write(("[\n" if first else ",\n") + _escaped(textwrap.indent(
                json.dumps(row, ensure_ascii=False, indent=2, default=str), "  ")))
            first = False
        write("[]\n" if first else "\n]\n")
        return
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode

    def dumps(row: Any) -> str:
        return _escaped(encode(row))
    write("[")
    first = True
    for row in rows:
        write(dumps(row) if first else ", " + dumps(row))
        first = False
    write("]\n")


def print_jsonl(rows: Iterable[Any]) -> None:
    """Write each row as one line of JSON (JSON Lines), as it comes."""
    encode = json.JSONEncoder(ensure_ascii=False, default=str).encode
    write = sys.stdout.write
    for row in rows:
        write(_escaped(encode(row)) + "\n")


def print_table_pages(rows: Iterable[dict], columns: list[str], page: int = 500) -> None:
    """Write rows as an aligned table a page at a time: the widths come from the first page,
    widened by later ones as needed (a list of one page prints as `print_table` does)."""
    iterator = iter(rows)
    first = list(itertools.islice(iterator, page))
    if not first:
        sys.stdout.write(_("(none)") + "\n")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in first]
    widths = _widths([cell_len(c) for c in columns], cells)
    sys.stdout.write(_line([c.upper() for c in columns], widths))
    while cells:
        # A later page with wider cells widens its columns from there on (never cuts them).
        widths = _widths(widths, cells)
        sys.stdout.write("".join(_line(row, widths) for row in cells))
        cells = [[_cell(row.get(c)) for c in columns]
                 for row in itertools.islice(iterator, page)]


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Write rows as an aligned text table with the given columns."""
    if not rows:
        sys.stdout.write(_("(none)") + "\n")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = _widths([cell_len(c) for c in columns], cells)
    sys.stdout.write(_line([c.upper() for c in columns], widths)
                     + "".join(_line(row, widths) for row in cells))


#: The widest a table column grows, in terminal cells; a longer value ends in "…".
MAX_COLUMN_WIDTH = 40


def _widths(widths: list[int], cells: list[list[str]]) -> list[int]:
    """Column widths in terminal cells (a wide character counts two), at most
    `MAX_COLUMN_WIDTH`, at least what they were."""
    return [min(MAX_COLUMN_WIDTH, max(w, *(cell_len(r[i]) for r in cells)))
            for i, w in enumerate(widths)]


def _line(values: list[str], widths: list[int]) -> str:
    return "  ".join(fit(v, w) for v, w in zip(values, widths, strict=True)).rstrip() + "\n"


def fit(text: str, width: int) -> str:
    """`text` in exactly `width` terminal cells: padded, or cut with "…" by display width."""
    from rich.cells import set_cell_size

    length = cell_len(text)
    if length > width:
        # set_cell_size pads with a space where a wide character would be split in half.
        return set_cell_size(text, width - 1) + "…"
    return text + " " * (width - length)


def print_record(row: dict) -> None:
    """Write one record as `field: value` lines."""
    width = max(len(k) for k in row) if row else 0
    for key, value in row.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                sys.stdout.write(f"{(key + '.' + sub).ljust(width)}  {_cell(subvalue)}\n")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            sys.stdout.write(f"{key}:\n")
            for item in value:
                sys.stdout.write("  - " + "; ".join(f"{k}={_cell(v)}" for k, v in item.items())
                                 + "\n")
        else:
            sys.stdout.write(f"{key.ljust(width)}  {_cell(value)}\n")


#: Characters a terminal would obey rather than print: C0, DEL and C1.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RAW_JSON_CONTROL = re.compile(r"[\x7f-\x9f]")


def visible(text: str) -> str:
    """Text safe for a terminal: line breaks become spaces, other controls `\\xNN`."""
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _cell(value: Any) -> str:
    return visible(render_text(value))
