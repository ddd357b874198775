"""Build the CRM's outgoing mail: headers that let replies find their lead again."""

from __future__ import annotations

import ntpath
import posixpath
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from crm_tui.mail import headers

# The value of the X-CRM-Origin header: ingest recognises (and never files) its own mail.
ORIGIN = "crm_tui"

_LINE_BREAK_RE = re.compile(r"[\r\n\x00]")
_DOMAIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_MIME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
_MAILBOX_RE = re.compile(
    r'(?P<name>[^<>]*?)\s*<(?P<addr>[^<>\s,;"()]+@[^<>\s,;"()]+)>'
    r'|(?P<bare>[^<>\s,;"()]+@[^<>\s,;"()]+)'
)


def build_message(
    *,
    from_addr: str,
    to: Sequence[str],
    cc: Sequence[str] = (),
    subject: str,
    body: str,
    attachments: Sequence[tuple[str, bytes, str]] = (),
    lead_id: int | None,
    domain: str,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    date: datetime | None = None,
) -> tuple[EmailMessage, str]:
    """Return ``(message, message_id)`` ready for :func:`crm_tui.mail.smtp.send`.

    Sets Message-ID (``make_msgid`` on ``domain``; returned without angle brackets, the form
    :class:`~crm_tui.mail.message.ParsedMessage` uses, so replies match it), Date (UTC),
    ``X-CRM-Origin: crm_tui`` and, with ``lead_id``, ``X-CRM-Lead``. No Auto-Submitted
    header: these mails are written by a person and their answers must come back.
    Addresses may be ``addr`` or ``Name <addr>``; Unicode subjects, names and file names are
    encoded per RFC 2047/2231; a mail to or from a non-ASCII local part is written in UTF-8
    (RFC 6532) and goes out only over SMTPUTF8. ``attachments`` are ``(file name, data,
    mime type)``; only the base name of a file name is sent. ``in_reply_to``/``references``
    (ids without brackets) thread the mail.

    Raises ValueError for a CR, LF or NUL in any header value (header injection), an address
    that is not exactly one mailbox, no To recipient, or a bad lead id, domain or mime type.
    """
    for label, value in [("from address", from_addr), ("subject", subject), ("domain", domain)]:
        _single_line(label, value)
    sender = _mailbox(from_addr, "from address")
    recipients = [_mailbox(addr, "To address") for addr in to]
    if not recipients:
        raise ValueError("a message needs at least one To address")
    taken = {r.addr_spec.lower() for r in recipients}
    copies: list[Address] = []
    for addr in cc:
        mailbox = _mailbox(addr, "Cc address")
        # The reference mailbox in CC may also be a To recipient; send it once.
        if mailbox.addr_spec.lower() not in taken:
            taken.add(mailbox.addr_spec.lower())
            copies.append(mailbox)
    msgid_domain = (domain or sender.domain or "").strip()
    if not _DOMAIN_RE.fullmatch(msgid_domain):
        raise ValueError(f"not a usable mail domain: {msgid_domain!r}")
    if lead_id is not None and (
        isinstance(lead_id, bool) or not isinstance(lead_id, int) or lead_id <= 0
    ):
        raise ValueError(f"lead id must be a positive integer, not {lead_id!r}")
    if date is not None and date.tzinfo is None:
        raise ValueError("date must carry a time zone")
    when = (date or datetime.now(UTC)).astimezone(UTC)

    # policy.SMTP: CRLF line ends as sent on the wire, RFC 2047 for non-ASCII headers (no
    # reliance on the server offering SMTPUTF8); headers.SMTP adds msg-id headers that take
    # only msg-ids and refuses any header a line break would split. A non-ASCII local part
    # has no ASCII form at all: such mail is written in UTF-8 and needs SMTPUTF8.
    utf8 = any(not a.username.isascii() for a in (sender, *recipients, *copies))
    msg = EmailMessage(policy=headers.SMTPUTF8 if utf8 else headers.SMTP)
    message_id = make_msgid(domain=msgid_domain)
    msg["Message-ID"] = message_id
    msg["Date"] = format_datetime(when)
    msg["From"] = sender
    msg["To"] = recipients
    if copies:
        msg["Cc"] = copies
    msg["Subject"] = subject
    if in_reply_to:
        msg["In-Reply-To"] = "<" + _msgid(in_reply_to) + ">"
    if references:
        msg["References"] = " ".join("<" + _msgid(ref) + ">" for ref in references)
    msg["X-CRM-Origin"] = ORIGIN
    if lead_id is not None:
        msg["X-CRM-Lead"] = str(lead_id)
    msg.set_content(body.replace("\r\n", "\n").replace("\r", "\n"))
    for name, data, mime_type in attachments:
        _single_line("attachment name", name)
        maintype, subtype = _mime(mime_type)
        # A caller passing a local path must not leak its directories to the recipient.
        base = posixpath.basename(ntpath.basename(name)).strip() or "attachment"
        msg.add_attachment(bytes(data), maintype=maintype, subtype=subtype, filename=base)
    try:
        # Written once here, so that a header the guard refuses fails now, as a ValueError
        # naming it, not halfway through an SMTP conversation.
        msg.as_bytes()
    except headers.HeaderInjection:
        raise
    except (ValueError, TypeError, UnicodeError) as exc:
        raise ValueError(f"the message cannot be written: {exc}") from exc
    return msg, message_id.strip("<>")


def _single_line(label: str, value: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"{label} must be text")
    if _LINE_BREAK_RE.search(value):
        raise ValueError(f"{label} contains a line break")


def _mailbox(value: str, label: str) -> Address:
    """Parse exactly one ``addr`` or ``Name <addr>`` into an Address, or raise ValueError."""
    _single_line(label, value)
    text = value.strip()
    # Strict shape first: parseaddr quietly keeps one of "a@x, b@y" or "<a@x> b@y", and a
    # silently dropped (or smuggled) recipient is worse than a clear rejection.
    shape = _MAILBOX_RE.fullmatch(text)
    if shape is None:
        raise ValueError(f"{label} is not one email address: {value!r}")
    raw_name = (shape.group("name") or "").strip()
    if re.search(r"[,;]", raw_name) and not (raw_name.startswith('"') and raw_name.endswith('"')):
        raise ValueError(f"{label}: quote a display name that has a comma: {value!r}")
    addr = shape.group("addr") or shape.group("bare")
    local, _, host = addr.partition("@")
    if not local or "@" in host or not _DOMAIN_RE.fullmatch(host):
        raise ValueError(f"{label} is not an email address: {value!r}")
    name = parseaddr(text)[0] if raw_name else ""
    if not local.isascii():
        # RFC 6531: a UTF-8 local part, sent only where the server offers SMTPUTF8 (the
        # email package's parser refuses it, so the parts are given as they are).
        if not local.isprintable():
            raise ValueError(f"{label} is not an email address: {value!r}")
        return Address(display_name=name, username=local, domain=host)
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{label} is not an email address: {value!r}") from exc


def _mime(mime_type: str) -> tuple[str, str]:
    _single_line("mime type", mime_type or "")
    maintype, _, subtype = (mime_type or "application/octet-stream").strip().lower().partition("/")
    if not (_MIME_RE.fullmatch(maintype) and _MIME_RE.fullmatch(subtype)):
        raise ValueError(f"not a mime type: {mime_type!r}")
    return maintype, subtype


def _msgid(value: str) -> str:
    _single_line("message id", value)
    bare = value.strip().strip("<>")
    if not headers.is_msg_id(bare):
        raise ValueError(f"not a message id: {value!r}")
    return bare
