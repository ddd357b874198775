"""The command line's exit codes, and the one mapping from domain errors to them."""

from __future__ import annotations

from enum import IntEnum

from crm_tui.errors import (
    Conflict,
    CrmError,
    NotFound,
    PermissionDenied,
    ServerUnreachable,
    ValidationFailed,
)
from crm_tui.i18n import _


class ExitCode(IntEnum):
    """Exit status of `crm` (DESIGN.md: scripts rely on these numbers)."""

    OK = 0
    REJECTED = 1
    USAGE = 2
    DENIED = 3
    UNREACHABLE = 4


def exit_code_for(error: CrmError) -> ExitCode:
    """The exit code for a domain error."""
    if isinstance(error, PermissionDenied):
        return ExitCode.DENIED
    if isinstance(error, ServerUnreachable):
        return ExitCode.UNREACHABLE
    if isinstance(error, ValidationFailed | NotFound | Conflict):
        return ExitCode.REJECTED
    return ExitCode.REJECTED


def error_lines(error: CrmError) -> list[str]:
    """One clear line per problem, for stderr."""
    from crm_tui.cli.output import visible

    if isinstance(error, ValidationFailed) and error.problems:
        return [visible(_("crm: error: {message}").format(message=problem))
                for problem in error.problems]
    return [visible(_("crm: error: {message}").format(message=error))]
