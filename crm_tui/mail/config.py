"""The ``mail.*`` settings turned into SMTP/IMAP connection configs and ingest options."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from crm_tui.i18n import N_, Said
from crm_tui.mail.errors import MailError
from crm_tui.mail.imap import ImapConfig
from crm_tui.mail.message import Limits
from crm_tui.mail.smtp import SmtpConfig

DEFAULT_MAX_MESSAGE_BYTES = 10_000_000
DEFAULT_POLL_SECONDS = 60
# Mail filed per sender (and per lead) within an hour; more is kept as unmatched.
DEFAULT_MAX_PER_HOUR = 100
_DEFAULT_LIMITS = Limits()


class MailConfigError(MailError):
    """A ``mail.*`` setting cannot be used; the text names the key and the value."""

    def __init__(self, key: str, value: str, reason: str) -> None:
        self.key = key
        self.value = value
        self.reason = reason
        super().__init__(Said(N_("setting {key}: value {value}: {reason}"),
                              key=key, value=repr(value), reason=reason))


@dataclass(frozen=True)
class MailConfig:
    """Everything the mail faces need from the settings.

    ``smtp`` is None when ``mail.smtp_host`` is empty and ``imap`` None when
    ``mail.imap_host`` is empty (that part of mail is then switched off).
    """

    smtp: SmtpConfig | None = None
    imap: ImapConfig | None = None
    reference_address: str = ""
    from_address: str = ""
    unmatched_folder: str = ""
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES
    poll_seconds: int = DEFAULT_POLL_SECONDS
    limits: Limits = _DEFAULT_LIMITS
    """How much of a message is read (``mail.max_parts`` …); ``max_bytes`` is
    ``max_message_bytes``."""
    max_per_hour: int = DEFAULT_MAX_PER_HOUR
    """Mail filed per sender and per lead within an hour (0: no limit)."""
    create_leads: bool = False
    """``mail.create_leads``: mail from an unknown sender that names no lead makes a lead."""
    lead_owner: str = ""
    """``mail.lead_owner``: the login that owns leads made from mail ("" for nobody)."""


def _int(values: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    text = (values.get(key) or "").strip()
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise MailConfigError(key, text, Said(N_("must be a whole number from {low} to {high}"),
                                               low=low, high=high))
    return int(text)


def _security(values: Mapping[str, str], key: str, default: str) -> str:
    text = (values.get(key) or "").strip() or default
    if text not in ("none", "starttls", "tls"):
        raise MailConfigError(key, text, Said(N_("must be none, starttls or tls")))
    return text


def _line(values: Mapping[str, str], key: str) -> str:
    text = (values.get(key) or "").strip()
    # Settings are checked when set, but a value written straight into the database must
    # still not smuggle a line break into an SMTP/IMAP command.
    if any(ch in text for ch in "\r\n\x00"):
        raise MailConfigError(key, text, Said(N_("contains a line break")))
    return text


def from_settings(values: Mapping[str, str]) -> MailConfig:
    """Build a :class:`MailConfig` from ``mail.*`` settings (keys as in the settings table).

    Raises:
        MailConfigError: a value cannot be used (bad port, security mode, line break …).
    """
    smtp = None
    smtp_host = _line(values, "mail.smtp_host")
    if smtp_host:
        smtp = SmtpConfig(
            host=smtp_host,
            port=_int(values, "mail.smtp_port", 25, 1, 65535),
            security=_security(values, "mail.smtp_security", "none"),
            user=_line(values, "mail.smtp_user") or None,
            password=values.get("mail.smtp_password") or None,
        )
    imap = None
    imap_host = _line(values, "mail.imap_host")
    if imap_host:
        imap = ImapConfig(
            host=imap_host,
            port=_int(values, "mail.imap_port", 143, 1, 65535),
            security=_security(values, "mail.imap_security", "none"),
            user=_line(values, "mail.imap_user"),
            password=values.get("mail.imap_password") or "",
            folder=_line(values, "mail.imap_folder") or "INBOX",
        )
    unmatched = _line(values, "mail.unmatched_folder")
    if imap is not None and unmatched and unmatched.strip("/").lower() == imap.folder.lower():
        # Moving unmatched mail into the folder being read would read it again forever.
        raise MailConfigError("mail.unmatched_folder", unmatched,
                              Said(N_("is the folder being read")))
    max_bytes = _int(values, "mail.max_message_bytes", DEFAULT_MAX_MESSAGE_BYTES, 1, 2**40)
    limits = Limits(
        max_bytes=max_bytes,
        max_parts=_int(values, "mail.max_parts", _DEFAULT_LIMITS.max_parts, 1, 1_000_000),
        max_attachments=_int(values, "mail.max_attachments", _DEFAULT_LIMITS.max_attachments,
                             1, 1_000_000),
        max_depth=_int(values, "mail.max_depth", _DEFAULT_LIMITS.max_depth, 1, 200),
        max_header_bytes=_int(values, "mail.max_header_bytes",
                              _DEFAULT_LIMITS.max_header_bytes, 1024, 2**30),
        max_subject_chars=_int(values, "mail.max_subject_chars",
                               _DEFAULT_LIMITS.max_subject_chars, 80, 1_000_000),
    )
    return MailConfig(
        smtp=smtp,
        imap=imap,
        reference_address=_line(values, "mail.reference_address").lower(),
        from_address=_line(values, "mail.from_address"),
        unmatched_folder=unmatched,
        max_message_bytes=max_bytes,
        poll_seconds=_int(values, "mail.poll_seconds", DEFAULT_POLL_SECONDS, 1, 86_400),
        limits=limits,
        max_per_hour=_int(values, "mail.max_per_hour", DEFAULT_MAX_PER_HOUR, 0, 1_000_000),
        create_leads=(values.get("mail.create_leads") or "").strip() in ("1", "true", "yes", "on"),
        lead_owner=_line(values, "mail.lead_owner"),
    )
