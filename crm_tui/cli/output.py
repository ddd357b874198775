"""Printing records: JSON for scripts, aligned text for people."""

from __future__ import annotations

import itertools
import json
import re
import sys
import textwrap
from collections.abc import Iterable
from typing import Any

from crm_tui.services.values import render_text


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
        sys.stdout.write("(none)\n")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in first]
    widths = [min(40, max(len(c), *(len(r[i]) for r in cells))) for i, c in enumerate(columns)]
    sys.stdout.write("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))
                     .rstrip() + "\n")
    while cells:
        # A later page with wider cells widens its columns from there on (never cuts them).
        widths = [min(40, max(w, *(len(r[i]) for r in cells))) for i, w in enumerate(widths)]
        sys.stdout.write("".join(
            "  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() + "\n"
            for row in cells))
        cells = [[_cell(row.get(c)) for c in columns]
                 for row in itertools.islice(iterator, page)]


def print_table(rows: list[dict], columns: list[str]) -> None:
    """Write rows as an aligned text table with the given columns."""
    if not rows:
        sys.stdout.write("(none)\n")
        return
    cells = [[_cell(row.get(c)) for c in columns] for row in rows]
    widths = [min(40, max(len(c), *(len(r[i]) for r in cells))) for i, c in enumerate(columns)]
    out = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    for row in cells:
        out.append("  ".join(v[:w].ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
    sys.stdout.write("\n".join(out) + "\n")


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
