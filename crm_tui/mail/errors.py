"""Exceptions of the mail layer, each carrying one clear line for the operator."""

from __future__ import annotations

from crm_tui.i18n import N_

MESSAGES: tuple[str, ...] = (
    N_("setting {key}: value {value}: {reason}"),
    N_("must be a whole number from {low} to {high}"),
    N_("must be none, starttls or tls"),
    N_("contains a line break"),
    N_("is the folder being read"),
    N_("not set: there is no mailbox to read"),
    N_("the {name} header would hold a line break"),
    N_("not a list of message ids: {value}"),
    N_("IMAP server {where} unreachable: {reason}"),
    N_("IMAP server {where} refused the login of {user}"),
    N_("IMAP server {where} dropped the connection at login: {reason}"),
    N_("IMAP server {where} refused {command}: {answer}"),
    N_("IMAP server {where}: STARTTLS failed: {reason}"),
    N_("IMAP server {where} dropped the connection at login"),
    N_("IMAP folder {folder} not found on {where}"),
    N_("IMAP server {where} dropped the connection: {reason}"),
    N_("IMAP server {where} dropped the connection ({action}): {reason}"),
    N_("IMAP server {where} refused to {action}: {reason}"),
    N_("not sent: the SMTP server {where} does not offer SMTPUTF8, which the address "
       "{addresses} (non-ASCII) needs"),
    N_("SMTP server {where} unreachable: {reason}"),
    N_("SMTP server {where} does not offer STARTTLS"),
    N_("SMTP server {where}: TLS failed: {reason}"),
    N_("SMTP server {where} refused the login of {user}"),
    N_("SMTP server {where} offers no login (AUTH)"),
    N_("SMTP user and password must be ASCII for smtplib login"),
    N_("SMTP server {where} failed during login: {reason}"),
    N_("SMTP server refused every recipient: {recipients}"),
    N_("SMTP server refused the sender {sender}: {reply}"),
    N_("SMTP server refused the message: {reply}"),
    N_("SMTP server cannot take this message: {reason}"),
    N_("the message cannot be sent as built: {reason}"),
    N_("SMTP server {where} dropped the connection: {reason}"),
    # The limits a message may break (the parser's reasons, as stored and printed).
    N_("its subject is {n} characters, over the limit of {limit}"),
    N_("its MIME parts nest deeper than the limit of {limit}"),
    N_("it has more than {limit} attachments, the limit"),
    N_("it is {size} bytes, over the limit of {limit}"),
    N_("its header is {n} bytes, over the limit of {limit}"),
    N_("it has {n} MIME parts, over the limit of {limit}"),
    N_("its MIME parts nest {n} deep, over the limit of {limit}"),
)
"""The mail layer's messages (English message ids). They are raised, logged and stored in
English (the worker's pass result is read by every operator); a face shows them with
`i18n.said(text, MESSAGES)`, which reads them back in the reader's language."""


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
