"""Parsing field values from text (command line, forms, CSV) and rendering them for output."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

import peewee

from crm_tui.i18n import _
from crm_tui.models.base import column_refusal

TRUE_WORDS = {"1", "true", "yes", "y", "on", "si", "sí", "x"}
FALSE_WORDS = {"0", "false", "no", "n", "off", ""}
# The manuals write "no date" as MySQL's zero date.
NO_DATE = {"", "0000-00-00", "0000-00-00 00:00:00"}
_EMAIL = re.compile(r"^[^@\s<>,;\"']+@[^@\s<>,;\"']+\.[^@\s<>,;\"']+$")


class BadValue(ValueError):
    """A value that does not parse; the message is the reason, in a few words."""


# Control characters are refused in every field: C0 other than TAB (LF and CR only where
# a field may hold several lines), DEL and C1. They rewrite terminals (ESC), truncate C
# strings (NUL) and break CSV and mail headers.
_CONTROL_SINGLE_LINE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_CONTROL_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_LINE_BREAK = re.compile(r"[\n\r]")


def _refuse_controls(text: str, single_line: bool) -> None:
    found = (_CONTROL_SINGLE_LINE if single_line else _CONTROL_MULTI_LINE).search(text)
    if found is None:
        return
    if single_line and _LINE_BREAK.match(found.group()):
        raise BadValue(_("line breaks are not allowed here"))
    raise BadValue(_("control character U+{code:04X} is not allowed").format(code=ord(found.group())))


def collapse_spaces(text: str) -> str:
    """A single line as people mean it: trimmed, each run of white space one space."""
    return " ".join(text.split())


def parse_text(raw: object, max_length: int | None = None, single_line: bool = True) -> str:
    """Text from outside, checked and normalised.

    Control characters are refused everywhere; single-line text is trimmed and its inner
    white space collapsed (so `Acme ` and `Acme` are one name); multi-line text is kept as
    written.
    """
    text = "" if raw is None else str(raw)
    _refuse_controls(text, single_line)
    if single_line:
        text = collapse_spaces(text)
    if max_length is not None and len(text) > max_length:
        raise BadValue(_("longer than {max_length} characters").format(max_length=max_length))
    return text


def name_key(text: str) -> str:
    """How unique names compare: Unicode-normalised (NFKC), case-folded, spaces collapsed."""
    return collapse_spaces(unicodedata.normalize("NFKC", text)).casefold()


def parse_secret(raw: object, max_length: int = 200) -> str:
    """A password or token: kept exactly as typed (spaces count), but one line, no controls."""
    text = "" if raw is None else str(raw)
    _refuse_controls(text, single_line=True)
    if len(text) > max_length:
        raise BadValue(_("longer than {max_length} characters").format(max_length=max_length))
    return text


def parse_texts(texts: Sequence[str], max_length: int | None = None,
                single_line: bool = True) -> list[str] | None:
    """`parse_text` of many texts at once (an import's column): the normalised texts, or
    None when one of them is refused (`parse_text` of each then says which and why)."""
    joined = "".join(texts)
    if (_CONTROL_SINGLE_LINE if single_line else _CONTROL_MULTI_LINE).search(joined):
        return None
    if single_line:
        texts = [collapse_spaces(text) for text in texts]
    if max_length is not None and max(map(len, texts), default=0) > max_length:
        return None
    return list(texts)


def check_fits(column: peewee.Field, value: object) -> None:
    """Refuse a parsed value its model column cannot hold: too long, too many digits or
    decimals, out of range (the limits are the model's, see `column_refusal`).

    Raises:
        BadValue: saying which limit, e.g. "longer than 500 characters".
    """
    reason = column_refusal(column, value)
    if reason is not None:
        raise BadValue(reason)


def parse_int(raw: object) -> int | None:
    """A whole number, or None for an empty value."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise BadValue(_("not a whole number"))
    if isinstance(raw, int):
        return raw
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text):
        raise BadValue(_("not a whole number"))
    return int(text)


def parse_decimal(raw: object, places: int = 2) -> Decimal | None:
    """A decimal number such as 2400 or 2400.50, or None for an empty value. Never a float."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, float):
        raw = repr(raw)
    text = str(raw).strip()
    if not re.fullmatch(r"[+-]?(\d{1,14}(\.\d*)?|\.\d+)", text):
        if re.fullmatch(r"[+-]?\d+(\.\d*)?", text):
            # No column holds more (money is NUMERIC(16, 2)); a longer number is a typo.
            raise BadValue(_("too large: at most 14 digits before the decimal point"))
        raise BadValue(_("not a number (use digits and a dot, e.g. 2400.50)"))
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the regex already guards
        raise BadValue(_("not a number")) from exc
    if value.as_tuple().exponent < -places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise BadValue(_("more than {places} decimal places").format(places=places))
    return value


def parse_date(raw: object) -> dt.date | None:
    """An ISO date (YYYY-MM-DD; DD/MM/YYYY accepted too), or None for empty / zero dates."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    text = str(raw).strip()
    if text in NO_DATE:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise BadValue(_("not a date (use YYYY-MM-DD)"))


def parse_datetime(raw: object) -> dt.datetime | None:
    """An ISO date and time, stored as naive UTC; None for empty / zero dates."""
    if raw is None:
        return None
    if isinstance(raw, dt.datetime):
        value = raw
    else:
        text = str(raw).strip()
        if text in NO_DATE:
            return None
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise BadValue(_("not a date and time (use YYYY-MM-DD HH:MM:SS)")) from exc
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def parse_bool(raw: object) -> bool:
    """Yes/no in the usual spellings (1/0, true/false, yes/no)."""
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise BadValue(_("not a yes/no value (use 1 or 0)"))


def parse_email(raw: object, required: bool = False, max_length: int = 200) -> str:
    """An email address (lightly checked), or "" when empty and not required."""
    text = parse_text(raw, max_length).strip()
    if not text:
        if required:
            raise BadValue(_("required"))
        return ""
    if not _EMAIL.match(text):
        raise BadValue(_("not an email address"))
    return text


def parse_list(raw: object) -> list[str]:
    """A comma-separated list (or a JSON list) of names or ids."""
    if raw is None:
        return []
    if isinstance(raw, list | tuple):
        return [str(x).strip() for x in raw if str(x).strip()]
    return [part.strip() for part in str(raw).split(",") if part.strip()]


def money(value: object) -> Decimal | None:
    """A stored amount as a Decimal with two places (SQLite drops trailing zeros)."""
    if value is None or value == "":
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"))


def render(value: object) -> object:
    """A value as it appears in --json output: Decimal as a string, dates in ISO 8601."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def render_text(value: object) -> str:
    """A value as plain text for tables and CSV cells."""
    value = render(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        # A nested record (an outgoing mail's state) reads as its fields, never a Python dict.
        return " ".join(f"{k}={render_text(v)}" for k, v in value.items() if v not in (None, ""))
    return str(value)
