"""Printing records: JSON for scripts, aligned text for people."""

from __future__ import annotations

import json
import re
import sys
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
