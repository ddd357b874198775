"""Parse raw incoming mail with the email package (``policy.default``) into a small, safe
:class:`ParsedMessage`, within the limits of :class:`Limits`."""

from __future__ import annotations

import functools
import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.errors import HeaderMissingRequiredValue, InvalidHeaderDefect
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

from crm_tui.mail import headers
from crm_tui.mail.dsn import DeliveryReport, delivery_report
from crm_tui.mail.html_text import html_to_text
from crm_tui.mail.rawbytes import content_digest, header_block, structure_over_limit
from crm_tui.mail.tokens import decode_bytes, decode_header_value, detect_charset, undo_surrogates

# Single-line fields copied from a message are flattened and kept to these lengths.
MAX_NAME_CHARS = 200
MAX_ADDRESS_CHARS = 254  # RFC 5321's limit on a path
MAX_FILENAME_CHARS = 255
MAX_CONTENT_TYPE_CHARS = 100
# A From longer than a header line may be (RFC 5322: 998 characters) is no sender; the
# email package's address parser also takes quadratic time on long junk.
MAX_FROM_CHARS = 998

_DIGITS_RE = re.compile(r"[0-9]{1,12}")
# Body text keeps newlines and tabs; other control characters (ESC above all) would reach
# the terminal through the TUI and `crm show`.
_BODY_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TRAILING_SPACE_RE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_SAFE_EXT_RE = re.compile(r"[a-z0-9]{1,10}")
# Something shaped like an address inside a display name ("ceo@bank.example" <x@evil>).
_ADDRESS_LIKE_RE = re.compile(r"[^\s<>()\"',;:\[\]]+@[^\s<>()\"',;:\[\]]+\.[^\s<>()\"',;:\[\]]+")
_ADDRESS_JUNK_RE = re.compile(r"[\s\x00-\x1f\x7f<>()\[\],;:\"\\]")

_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster"}


@dataclass(frozen=True)
class Limits:
    """How much of a message the ingest reads (settings ``mail.max_*``).

    Over ``max_bytes`` the body is not downloaded; over any of the others the message is
    not read past its header: it is filed as a note naming the size and the limit, and
    its raw copy is kept for replay.
    """

    max_bytes: int = 10_000_000
    max_parts: int = 500
    max_attachments: int = 100
    max_depth: int = 20
    max_header_bytes: int = 256 * 1024
    max_subject_chars: int = 2000


@dataclass
class IncomingAttachment:
    """One attachment of an incoming message.

    ``filename`` is the sender's display name, decoded; it may be hostile
    (``../../etc/passwd``) and is only ever stored as data - files are written under
    :func:`safe_stored_name`. ``data`` is empty and ``dropped`` is True when the attachment
    was over the size limit; ``size`` is always the decoded size.
    """

    filename: str
    content_type: str
    data: bytes
    size: int
    dropped: bool = False


@dataclass
class ParsedMessage:
    """What the ingest needs from one raw message, decoded to Unicode.

    ``message_id`` has no angle brackets and is set only when it matches the msg-id
    grammar; ``digest`` is a hash of the content without trace headers, and ``dedup_key``
    the Message-ID or ``sha256:`` + digest when there is none. ``from_address`` is the one
    mailbox of a strictly parsed From, lower-case, or "" with ``sender_problem`` saying
    why there is none. ``date`` is UTC. ``auto_generated`` names why the message must never
    be filed or answered; ``over_limit`` which limit of :class:`Limits` it broke (the
    message was then read no further than its header). ``notes`` lists what could not be
    decoded or was dropped, for the activity entry and the sync report. ``bounce`` is what a
    delivery status notification (RFC 3464) says failed, None for any other message.
    """

    message_id: str | None
    dedup_key: str
    digest: str = ""
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    sender_problem: str | None = None
    raw_to: list[str] = field(default_factory=list, repr=False)
    raw_cc: list[str] = field(default_factory=list, repr=False)
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    x_crm_lead: int | None = None
    is_own: bool = False
    auto_generated: str | None = None
    date: datetime | None = None
    text: str = ""
    attachments: list[IncomingAttachment] = field(default_factory=list)
    size: int = 0
    oversized: bool = False
    over_limit: str | None = None
    notes: list[str] = field(default_factory=list)
    bounce: DeliveryReport | None = None

    @property
    def to(self) -> list[str]:
        """The To addresses, lower-case, without repeats."""
        return _recipients(self.raw_to)

    @property
    def cc(self) -> list[str]:
        """The Cc addresses, lower-case, without repeats."""
        return _recipients(self.raw_cc)

    @property
    def thread_ids(self) -> list[str]:
        """In-Reply-To then References ids, without repeats: what to match sent mail against."""
        return list(dict.fromkeys([*self.in_reply_to, *reversed(self.references)]))


def safe_stored_name(original: str) -> str:
    """Return a generated file name for storing an attachment.

    ``uuid4().hex`` plus, at most, a short lower-case alphanumeric extension taken from
    ``original``; nothing else of the sender's name survives, so no path, dot-dot, drive
    letter or control character can reach the file system.
    """
    base = re.split(r"[\\/]", original or "")[-1]
    ext = ""
    if "." in base.strip("."):
        candidate = base.rsplit(".", 1)[1].strip().lower()
        if _SAFE_EXT_RE.fullmatch(candidate):
            ext = "." + candidate
    return uuid.uuid4().hex + ext


def parse_message(raw: bytes, *, max_bytes: int | None = None,
                  limits: Limits | None = None) -> ParsedMessage:
    """Parse ``raw`` RFC 5322 bytes into a :class:`ParsedMessage`; never raises on bad mail.

    The header size, MIME parts and nesting depth are counted on the raw bytes before the
    parser builds anything, attachments and the subject while reading; over a limit only
    the header is read and ``over_limit`` says which limit. Over ``max_bytes`` all
    attachment data is dropped (an attachment over it loses its data); both set
    ``oversized`` and add a note. Text is kept either way.
    """
    limits = limits or Limits()
    if max_bytes is not None:
        limits = Limits(**{**limits.__dict__, "max_bytes": max_bytes})
    if limits.max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    raw = bytes(raw)
    parsed = ParsedMessage(message_id=None, dedup_key="", size=len(raw))
    parsed.digest = content_digest(raw)
    parsed.over_limit = structure_over_limit(raw, limits)
    if parsed.over_limit is not None:
        head = header_block(raw, limits.max_header_bytes)
        msg = _parse_bytes(head, parsed)
        if msg is not None:
            _read_headers(msg, parsed, limits)
    else:
        if len(raw) > limits.max_bytes:
            parsed.oversized = True
            parsed.notes.append(f"message is {len(raw)} bytes, over the limit of "
                                f"{limits.max_bytes}; attachments not kept")
        msg = _parse_bytes(raw, parsed)
        if msg is None:
            parsed.text = _clean_text(decode_bytes(raw, None))[:limits.max_bytes]
        else:
            _read_headers(msg, parsed, limits)
            if parsed.over_limit is None:
                _read_body(msg, parsed, raw, limits)
                parsed.bounce = _bounce(msg, parsed)
    if parsed.over_limit is not None:
        parsed.text, parsed.attachments = "", []
    parsed.dedup_key = parsed.message_id or "sha256:" + parsed.digest
    if parsed.notes:
        parsed.notes = list(dict.fromkeys(parsed.notes))  # a broken tree repeats itself
    return parsed


_REGISTRY = HeaderRegistry()
# Longer values (rare, and hostile ones among them) are parsed each time: the cache keeps
# at most 4096 values of this size with their parse trees.
_CACHED_VALUE_CHARS = 1000


@functools.lru_cache(maxsize=4096)
def _remembered_header(name: str, value: str):
    return _REGISTRY(name, value)


def _header_object(name: str, value: str):
    """The header object ``policy.default``'s registry makes of ``value``, made once."""
    if len(value) > _CACHED_VALUE_CHARS:
        return _REGISTRY(name, value)
    return _remembered_header(name, value)


#: The policy incoming mail is parsed with: ``policy.default`` whose header factory remembers
#: the header objects it made. The parser itself asks for a part's Content-Type four or five
#: times while reading it, and each time the registry builds a class and parses the value
#: anew: most of the parser's time. Header objects are immutable, so one made for a value
#: serves every later ask (senders and content types also repeat from message to message).
POLICY = policy.default.clone(header_factory=_header_object)


def _header(name: str, raw_value: str):
    """The header object of a raw value, as ``msg[name]`` gives it (remembered)."""
    return POLICY.header_fetch_parse(name, raw_value)


def _raw_header(part: EmailMessage, name: str) -> str | None:
    """The first raw value of header ``name`` of ``part`` (``raw_items``: no parsing)."""
    for key, value in part.raw_items():
        if key.lower() == name:
            return value
    return None


def _mime_header(part: EmailMessage, name: str):
    """Content-Type or Content-Disposition of ``part`` as a header object, or None."""
    value = _raw_header(part, name)
    if value is None:
        return None
    try:
        return _header(name, value)
    except Exception:  # noqa: BLE001 - the header registry has raised on junk before
        return None


def _content_type(part: EmailMessage, default: str = "text/plain") -> str:
    """``part.get_content_type()``, read from the cached header object."""
    header = _mime_header(part, "content-type")
    ctype = getattr(header, "content_type", "") if header is not None else ""
    if not ctype or "/" not in ctype or getattr(header, "defects", ()):
        # As the email package does: an invalid type counts as the default one.
        return part.get_content_type() if header is not None else default
    return ctype.lower()


def _parse_bytes(raw: bytes, parsed: ParsedMessage) -> EmailMessage | None:
    try:
        return message_from_bytes(raw, policy=POLICY)
    except Exception as exc:  # noqa: BLE001 - RecursionError and friends on hostile input
        parsed.notes.append(f"message could not be parsed ({type(exc).__name__}); raw text kept")
        return None


# -- headers ---------------------------------------------------------------------------------


def _read_headers(msg: EmailMessage, parsed: ParsedMessage, limits: Limits) -> None:
    raw_headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        raw_headers.setdefault(str(name).strip().lower(), []).append(str(value))

    def first(name: str) -> str | None:
        values = raw_headers.get(name)
        return values[0] if values else None

    ids = headers.msg_ids(raw_headers.get("message-id", [])[:1])
    if ids:
        parsed.message_id = ids[0]
    elif "message-id" in raw_headers:
        parsed.notes.append("Message-ID is not a valid msg-id; ignored")
    subject = decode_header_value(first("subject"))
    if len(subject) > limits.max_subject_chars and parsed.over_limit is None:
        parsed.over_limit = (f"its subject is {len(subject)} characters, over the limit of "
                             f"{limits.max_subject_chars}")
    parsed.subject = headers.one_line(subject, limits.max_subject_chars)
    _read_sender(msg, raw_headers, parsed)
    parsed.raw_to = raw_headers.get("to", [])
    parsed.raw_cc = raw_headers.get("cc", [])
    parsed.in_reply_to = headers.msg_ids(raw_headers.get("in-reply-to", []))
    parsed.references = headers.msg_ids(
        raw_headers.get("references", []))[-headers.MAX_REFERENCES:]
    lead = (first("x-crm-lead") or "").strip()
    if _DIGITS_RE.fullmatch(lead) and int(lead) > 0:
        parsed.x_crm_lead = int(lead)
    parsed.is_own = "x-crm-origin" in raw_headers
    parsed.date = _parse_date(first("date"))
    parsed.auto_generated = _auto_reason(raw_headers, parsed, msg)


def _read_sender(msg: EmailMessage, raw_headers: dict[str, list[str]],
                 parsed: ParsedMessage) -> None:
    """The sender: the one mailbox of a strictly parsed From, or a reason why there is none."""
    count = len(raw_headers.get("from", []))
    if count != 1:
        parsed.sender_problem = ("no From header" if count == 0
                                 else f"the From header appears {count} times")
        return
    length = len(raw_headers["from"][0])
    if length > MAX_FROM_CHARS:
        parsed.sender_problem = (f"the From header is {length} characters long, over the "
                                 f"limit of {MAX_FROM_CHARS}")
        return
    try:
        header = _header("from", raw_headers["from"][0])
        mailboxes = [a for group in header.groups for a in group.addresses]
        defects = [d for d in header.defects
                   if isinstance(d, (InvalidHeaderDefect, HeaderMissingRequiredValue))]
    except Exception as exc:  # noqa: BLE001 - the address parser has crashed on junk before
        parsed.sender_problem = f"the From header cannot be parsed ({type(exc).__name__})"
        return
    shown = headers.one_line(undo_surrogates(raw_headers["from"][0]), 120)
    if defects:
        parsed.sender_problem = f"the From header is not a valid address: {shown!r}"
        return
    if len(mailboxes) != 1:
        parsed.sender_problem = (f"the From header holds {len(mailboxes)} addresses, not one: "
                                 f"{shown!r}")
        return
    mailbox = mailboxes[0]
    address = undo_surrogates(mailbox.addr_spec).lower()
    local, _, domain = address.rpartition("@")
    if (not local or not domain or len(address) > MAX_ADDRESS_CHARS
            or _ADDRESS_JUNK_RE.search(domain)):
        parsed.sender_problem = f"the From header is not a valid address: {shown!r}"
        return
    name = headers.one_line(undo_surrogates(mailbox.display_name), MAX_NAME_CHARS)
    others = [a for a in _ADDRESS_LIKE_RE.findall(name) if a.lower() != address]
    if others:
        parsed.sender_problem = (f"the From display name holds another address "
                                 f"({others[0][:80]!r}) than the sender's {address}")
        return
    parsed.from_address, parsed.from_name = address, name


def _recipients(values: list[str]) -> list[str]:
    try:
        pairs = getaddresses([undo_surrogates(v) for v in values])
    except Exception:  # noqa: BLE001 - address parsing has had crash bugs on junk
        return []
    found = (addr.strip().lower() for _name, addr in pairs)
    return list(dict.fromkeys(a for a in found if "@" in a and not _ADDRESS_JUNK_RE.search(a)))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = parsedate_to_datetime(undo_surrogates(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC 5322 "-0000" means "no zone information"; treat it as UTC, not local time.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _auto_reason(raw_headers: dict[str, list[str]], parsed: ParsedMessage,
                 msg: EmailMessage) -> str | None:
    """Why this message is machine-made (never filed, never answered), or None."""
    if parsed.is_own:
        return "own message (X-CRM-Origin)"
    for value in raw_headers.get("auto-submitted", []):
        kind = value.split(";", 1)[0].strip().lower()
        if kind and kind != "no":
            return f"Auto-Submitted: {kind[:40]}"
    for value in raw_headers.get("precedence", []):
        kind = value.strip().lower()
        if kind in _AUTO_PRECEDENCE:
            return f"Precedence: {kind}"
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress"):
        if name in raw_headers:
            return {"x-autoreply": "X-Autoreply", "x-autorespond": "X-Autorespond",
                    "x-auto-response-suppress": "X-Auto-Response-Suppress"}[name]
    for name in ("list-id", "list-unsubscribe"):
        if name in raw_headers:
            return f"list mail ({'List-Id' if name == 'list-id' else 'List-Unsubscribe'})"
    for value in raw_headers.get("return-path", []):
        if value.strip().replace(" ", "") in ("<>", ""):
            return "empty Return-Path (bounce)"
    if parsed.from_address.split("@", 1)[0] in _DAEMON_LOCALPARTS:
        return f"sent by {parsed.from_address}"
    if _content_type(msg) == "multipart/report":
        # Delivery and read reports: bounces from servers that set none of the above.
        return "delivery or read report (multipart/report)"
    return None


def _bounce(msg: EmailMessage, parsed: ParsedMessage) -> DeliveryReport | None:
    """The delivery report of a bounce (read whatever its other headers say), or None."""
    if _content_type(msg) != "multipart/report":
        return None
    try:
        return delivery_report(msg)
    except Exception as exc:  # noqa: BLE001 - a broken report is left as an auto message
        parsed.notes.append(f"delivery report could not be read ({type(exc).__name__})")
        return None


# -- body and attachments ----------------------------------------------------------------


class _Walker:
    """Collects body text and attachments from a parsed message tree."""

    def __init__(self, parsed: ParsedMessage, limits: Limits) -> None:
        self.parsed = parsed
        self.limits = limits
        self.plain: list[str] = []
        self.html: list[str] = []
        self.counter = 0
        self.found = 0

    def walk(self, part: EmailMessage, depth: int = 0) -> None:
        if self.parsed.over_limit is not None:
            return
        if depth > self.limits.max_depth:
            self.parsed.over_limit = (f"its MIME parts nest deeper than the limit of "
                                      f"{self.limits.max_depth}")
            return
        # The part's own default type (message/rfc822 inside multipart/digest).
        ctype = _content_type(part, part.get_default_type())
        maintype = ctype.split("/", 1)[0]
        if part.is_multipart():
            payload = part.get_payload()
            if maintype == "message":
                # A forwarded or bounced message travels as one .eml attachment, so its own
                # attachments and text are not mistaken for this message's.
                data = b"".join(_as_bytes(sub) for sub in payload)
                name = _disposition_and_name(part)[1] or self._fallback_name(
                    ctype, ".eml" if ctype in ("message/rfc822", "message/global") else ".txt")
                self._attach(name, ctype, data)
                return
            for sub in payload:
                self.walk(sub, depth + 1)
            return
        disposition, filename = _disposition_and_name(part)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        # Only inline, unnamed plain/HTML parts are the body; anything else (named text
        # files, calendars, images …) is an attachment. A multipart part that lost its
        # boundary is kept as raw text rather than dropped.
        is_body = ((ctype in ("text/plain", "text/html") or maintype == "multipart")
                   and disposition != "attachment" and not filename)
        if is_body:
            text = self._decode(data, _charset(part))
            if ctype == "text/html":
                self.html.append(text)
            else:
                if maintype == "multipart":
                    self.parsed.notes.append(f"{ctype} without parts; its raw text kept")
                self.plain.append(text)
        else:
            self._attach(filename or self._fallback_name(ctype, None), ctype, data)

    def _decode(self, data: bytes, charset: str | None) -> str:
        if charset or data.isascii():
            return decode_bytes(data, str(charset) if charset else None)
        # 8-bit text without a declared charset: guess, and say so.
        guess = detect_charset(data)
        self.parsed.notes.append(f"no charset declared; the text was read as {guess} "
                                 "(a guess)")
        return decode_bytes(data, guess)

    def _fallback_name(self, ctype: str, ext: str | None) -> str:
        self.counter += 1
        if ext is None:
            ext = mimetypes.guess_extension(ctype, strict=False) or ".bin"
        return f"attachment-{self.counter}{ext}"

    def _attach(self, name: str, ctype: str, data: bytes) -> None:
        self.found += 1
        if self.found > self.limits.max_attachments:
            self.parsed.over_limit = (f"it has more than {self.limits.max_attachments} "
                                      f"attachments, the limit")
            return
        size = len(data)
        name = headers.one_line(name, MAX_FILENAME_CHARS) or self._fallback_name(ctype, None)
        ctype = headers.one_line(ctype, MAX_CONTENT_TYPE_CHARS)
        max_bytes = self.limits.max_bytes
        if size > max_bytes:
            why = f"it is {size} bytes, over the limit of {max_bytes}"
        elif self.parsed.size > max_bytes:
            why = "the message is over the size limit"
        else:
            self.parsed.attachments.append(IncomingAttachment(name, ctype, data, size))
            return
        # Name every dropped file in the notes so the activity entry can say what is missing.
        self.parsed.oversized = True
        self.parsed.notes.append(f"attachment {name!r} not kept: {why}")
        self.parsed.attachments.append(IncomingAttachment(name, ctype, b"", size, True))


def _read_body(msg: EmailMessage, parsed: ParsedMessage, raw: bytes, limits: Limits) -> None:
    walker = _Walker(parsed, limits)
    try:
        walker.walk(msg)
    except Exception as exc:  # noqa: BLE001 - keep the headers even when the body is hopeless
        parsed.notes.append(f"body only partly decoded ({type(exc).__name__})")
        if not walker.plain and not walker.html:
            walker.plain.append(decode_bytes(raw, None))
    if walker.plain:
        text = "\n\n".join(t.strip("\r\n") for t in walker.plain)
    elif walker.html:
        text = "\n\n".join(html_to_text(h) for h in walker.html)
    else:
        text = ""
    text = _clean_text(text)
    if len(text) > limits.max_bytes:
        parsed.oversized = True
        parsed.notes.append(f"text cut at {limits.max_bytes} characters")
        text = text[:limits.max_bytes]
    parsed.text = text
    defects = sorted({type(d).__name__ for part in msg.walk() for d in part.defects})
    if defects:
        parsed.notes.append("MIME defects: " + ", ".join(defects))


def _disposition_and_name(part: EmailMessage) -> tuple[str | None, str]:
    """``get_content_disposition()`` and ``get_filename()`` (the Content-Disposition
    ``filename``, else the Content-Type ``name``), decoded, from the cached headers."""
    disposition = _mime_header(part, "content-disposition")
    kind = getattr(disposition, "content_disposition", None) if disposition is not None else None
    name = (getattr(disposition, "params", {}) or {}).get("filename") if disposition else None
    if not name:
        ctype = _mime_header(part, "content-type")
        name = (getattr(ctype, "params", {}) or {}).get("name") if ctype is not None else None
    return kind, decode_header_value(undo_surrogates(str(name))) if name else ""


def _charset(part: EmailMessage) -> str | None:
    header = _mime_header(part, "content-type")
    charset = (getattr(header, "params", {}) or {}).get("charset") if header is not None else None
    return str(charset) if charset else None


def _as_bytes(sub: object) -> bytes:
    try:
        return sub.as_bytes()  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - a nested message we cannot re-serialise is dropped
        return b""


def _clean_text(text: str) -> str:
    text = undo_surrogates(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _BODY_CONTROL_RE.sub("", text)
    text = _TRAILING_SPACE_RE.sub("", text)
    return _BLANK_LINES_RE.sub("\n\n", text).strip("\n")
