"""Exceptions of the mail layer, each carrying one clear line for the operator."""

from __future__ import annotations


class MailError(Exception):
    """Base class of every mail-layer failure; ``str(exc)`` is one line fit for stderr."""


class MailServerUnreachable(MailError):
    """The SMTP or IMAP server could not be reached or used (CLI exit status 4)."""


class MailAuthFailed(MailServerUnreachable):
    """The server was reached but refused the configured login.

    A subclass of :class:`MailServerUnreachable` because, for the operator, the outcome is
    the same (the mailbox cannot be used, exit status 4); callers that care can tell it apart.
    """


class MailRejected(MailError):
    """The server refused this particular message or command (e.g. a recipient)."""
