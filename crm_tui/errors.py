"""Domain errors, at the bottom of the layers: every face maps them to one clear line."""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui.i18n import _


class CrmError(Exception):
    """Base of every error a user may see; its str() is one clear line."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: which record, field and value, and why."""

    record: str
    field: str
    value: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = _("line {line}: ").format(line=self.line) if self.line is not None else ""
        return where + _("{record}: field {field}: value {value!r}: {reason}").format(
            record=self.record, field=self.field, value=shorten(self.value), reason=self.reason)


#: How many characters of a value an error line shows.
SHOWN_VALUE_LENGTH = 160


def shorten(text: str, limit: int = SHOWN_VALUE_LENGTH) -> str:
    """A long value cut to `limit` characters with an ellipsis (error lines stay one line)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


class ValidationFailed(CrmError):
    """The input was rejected; nothing was written. Carries every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))

    @classmethod
    def one(cls, record: str, field: str, value: object, reason: str) -> ValidationFailed:
        """A rejection with a single problem."""
        return cls([Problem(record, field, "" if value is None else str(value), reason)])


class NotFound(CrmError):
    """The record does not exist."""


class PermissionDenied(CrmError):
    """The acting user may not do this (also: unknown user, wrong password)."""


class Conflict(CrmError):
    """The change clashes with the current state (e.g. a duplicate or a locked invoice)."""


class ServerUnreachable(CrmError):
    """A server (database, IMAP, SMTP) could not be reached."""


def error_text(error: BaseException) -> str:
    """One clear line for any error a service call raised (domain or not)."""
    if isinstance(error, CrmError):
        return str(error)
    text = str(error).strip()
    first = text.splitlines()[0] if text else ""
    name = type(error).__name__
    if name in ("OperationalError", "InterfaceError", "DatabaseError"):
        return _("database error: {reason}").format(reason=first or name)
    if first:
        return _("unexpected {name}: {reason}").format(name=name, reason=first)
    return _("unexpected {name}").format(name=name)
