"""Parse raw incoming mail into a small, safe :class:`ParsedMessage`."""

from __future__ import annotations

import functools
import hashlib
import mimetypes
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from email.policy import compat32
from email.utils import getaddresses, parsedate_to_datetime
from html import unescape
from html.parser import HTMLParser

from crm_tui.mail.mime import Part, read_tree
from crm_tui.mail.tokens import decode_bytes, decode_header_value, undo_surrogates

# A Message-ID longer than this is not something a mail client produced; storing it would
# only bloat the index, so such mail is de-duplicated by content hash instead.
MAX_MESSAGE_ID_CHARS = 500
# References can grow without bound in long threads; the newest ids (at the end) are the ones
# that point at mail the CRM sent, so only that tail is kept.
MAX_REFERENCES = 100
# MIME nesting beyond this is an attack or a broken generator, not correspondence.
MAX_DEPTH = 40
# Attachment display names are data only, but still shown in lists: keep them sane.
MAX_FILENAME_CHARS = 255

_MSGID_RE = re.compile(r"<([^<>\s]+)>")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_BARE_ID_JUNK_RE = re.compile(r"[\s<>\x00-\x1f\x7f]")
_ADDR_JUNK_RE = re.compile(r"[\s\x00-\x1f\x7f<>]")
_DIGITS_RE = re.compile(r"[0-9]{1,12}")
# Body text keeps newlines and tabs; other control characters (ESC above all) would reach
# the terminal through the TUI and `crm show`.
_BODY_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
# White space (str.isspace, as rstrip sees it) at the end of each line.
_TRAILING_SPACE_RE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_SAFE_EXT_RE = re.compile(r"[a-z0-9]{1,10}")

# The plain address forms (see _plain_addresses): atoms as the email package's parser reads
# them (no specials, no white space), a display name of atoms or one simple quoted string.
_ATOM = r'[^\s()<>@,:;."\[\]\\]+'
_NAME_ATOM = r'[^\s()<>@,:;"\[\]\\]+'
_ADDR = rf"{_ATOM}(?:\.{_ATOM})*@{_ATOM}(?:\.{_ATOM})*"
_MAILBOX_RE = re.compile(
    rf'[ \t]*(?:(?:({_ADDR})|(?:({_NAME_ATOM}(?:[ \t]+{_NAME_ATOM})*)'
    rf'|"([^"\\\r\n,@<>()\[\]:;]*)")?[ \t]*<({_ADDR})>)[ \t]*)?'
)

_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}
_DATE_RE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?([0-9]{1,2}) (" + "|".join(_MONTHS) + r") "
    r"([1-9][0-9]{3}) ([0-9]{2}):([0-9]{2})(?::([0-9]{2}))? ([+-][0-9]{4})"
    r"(?: \([A-Za-z0-9 +-]*\))?"
)

_AUTO_PRECEDENCE = {"bulk", "junk", "list", "auto_reply", "auto-reply"}
_DAEMON_LOCALPARTS = {"mailer-daemon", "postmaster"}


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

    ``message_id`` has no angle brackets; ``dedup_key`` is the Message-ID, or ``sha256:`` +
    hex digest of the raw bytes when there is none. Addresses are lower-case. ``date`` is
    UTC. ``auto_generated`` names why the message must never be filed or answered.
    ``notes`` lists what could not be decoded or was dropped, for the sync report.
    """

    message_id: str | None
    dedup_key: str
    subject: str = ""
    from_address: str = ""
    from_name: str = ""
    raw_to: list[str] = field(default_factory=list, repr=False)
    """The To header values as written; :attr:`to` decodes them when asked."""
    raw_cc: list[str] = field(default_factory=list, repr=False)
    """The Cc header values as written; :attr:`cc` decodes them when asked."""
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
    notes: list[str] = field(default_factory=list)

    # Filing never needs the recipients, and address parsing is the dearest part of reading
    # a header: they are decoded only when asked for.
    @property
    def to(self) -> list[str]:
        """The To addresses, lower-case, without repeats."""
        return _unique(addr for _, addr in _addresses(self.raw_to))

    @property
    def cc(self) -> list[str]:
        """The Cc addresses, lower-case, without repeats."""
        return _unique(addr for _, addr in _addresses(self.raw_cc))

    @property
    def thread_ids(self) -> list[str]:
        """In-Reply-To then References ids, without repeats: what to match sent mail against."""
        seen: dict[str, None] = {}
        for msgid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(msgid, None)
        return list(seen)


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


def parse_message(raw: bytes, *, max_bytes: int) -> ParsedMessage:
    """Parse ``raw`` RFC 5322 bytes into a :class:`ParsedMessage`; never raises on bad mail.

    Malformed MIME yields whatever could be decoded, with notes. When the message is over
    ``max_bytes`` all attachment data is dropped; an attachment over ``max_bytes`` loses its
    data; both set ``oversized`` and add a note. Text is kept either way.
    """
    return _parse(bytes(raw), max_bytes, quick=True)


def _parse(raw: bytes, max_bytes: int, *, quick: bool) -> ParsedMessage:
    """:func:`parse_message`; ``quick=False`` always uses the email package (for tests that
    check the quick reader against it)."""
    if max_bytes <= 0:
        raise ValueError("max_bytes must be positive")
    parsed = ParsedMessage(message_id=None, dedup_key="", size=len(raw))
    if len(raw) > max_bytes:
        parsed.oversized = True
        parsed.notes.append(
            f"message is {len(raw)} bytes, over the limit of {max_bytes}; attachments not kept"
        )
    # Plain mail (most of it) is read by the quick reader, which gives the email package's
    # own results; anything unusual goes to the email package itself.
    msg: Message | Part | None = read_tree(raw) if quick else None
    if msg is None:
        try:
            msg = message_from_bytes(raw, policy=compat32)
        except Exception as exc:  # noqa: BLE001 - RecursionError and friends on hostile input
            parsed.notes.append(
                f"message could not be parsed ({type(exc).__name__}); raw text kept")
            parsed.text = _clean_text(decode_bytes(raw, None))[:max_bytes]
            parsed.dedup_key = _digest_key(raw)
            return parsed
    try:
        _read_headers(msg, parsed)
    except Exception as exc:  # noqa: BLE001 - keep the body even when a header is hopeless
        parsed.notes.append(f"headers only partly decoded ({type(exc).__name__})")
    try:
        _read_body(msg, parsed, max_bytes)
    except Exception as exc:  # noqa: BLE001 - keep the headers even when the body is hopeless
        parsed.notes.append(f"body only partly decoded ({type(exc).__name__})")
        if not parsed.text:
            parsed.text = _clean_text(decode_bytes(raw, None))[:max_bytes]
    if parsed.message_id is None:
        parsed.dedup_key = _digest_key(raw)  # only mail without a usable id needs the hash
    if parsed.notes:
        parsed.notes = list(dict.fromkeys(parsed.notes))  # a broken tree repeats itself
    return parsed


def _digest_key(raw: bytes) -> str:
    return "sha256:" + hashlib.sha256(raw).hexdigest()


# -- headers ------------------------------------------------------------------------------


def _header_map(msg: Message | Part) -> dict[str, list[str]]:
    """Raw header values by lower-case name (raw_items skips compat32's Header wrapping)."""
    if isinstance(msg, Part):
        return msg.header_map()
    headers: dict[str, list[str]] = {}
    for name, value in msg.raw_items():
        headers.setdefault(str(name).strip().lower(), []).append(str(value))
    return headers


def _read_headers(msg: Message | Part, parsed: ParsedMessage) -> None:
    headers = _header_map(msg)

    def first(name: str) -> str | None:
        values = headers.get(name)
        return values[0] if values else None

    msgid = _first_msgid(first("message-id"))
    if msgid is not None:
        parsed.message_id = msgid
        parsed.dedup_key = msgid
    parsed.subject = decode_header_value(first("subject"))
    senders = _addresses(headers.get("from", []))
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    parsed.raw_to = headers.get("to", [])
    parsed.raw_cc = headers.get("cc", [])
    parsed.in_reply_to = _msgids(headers.get("in-reply-to", []))
    parsed.references = _msgids(headers.get("references", []))[-MAX_REFERENCES:]
    lead = (first("x-crm-lead") or "").strip()
    if _DIGITS_RE.fullmatch(lead) and int(lead) > 0:
        parsed.x_crm_lead = int(lead)
    parsed.is_own = "x-crm-origin" in headers
    parsed.date = _parse_date(first("date"))
    parsed.auto_generated = _auto_reason(headers, parsed, msg)


def _first_msgid(value: str | None) -> str | None:
    ids = _msgids([value]) if value else []
    if not ids and value:
        # Some generators omit the brackets; a single bare word is still an id.
        bare = undo_surrogates(value).strip()
        if bare and not _BARE_ID_JUNK_RE.search(bare):
            ids = [bare]
    if not ids or len(ids[0]) > MAX_MESSAGE_ID_CHARS:
        return None
    return ids[0]


def _msgids(values: list[str]) -> list[str]:
    if not values:
        return []
    ids: list[str] = []
    for value in values:
        for msgid in _MSGID_RE.findall(undo_surrogates(value)):
            if len(msgid) <= MAX_MESSAGE_ID_CHARS and not _CONTROL_RE.search(msgid):
                ids.append(msgid)
    return _unique(ids)


def _addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, lower-case address) pairs; entries without a usable address are skipped."""
    result: list[tuple[str, str]] = []
    if not values:
        return result
    cleaned = [undo_surrogates(v).replace("\r", " ").replace("\n", " ") for v in values]
    pairs = _plain_addresses(", ".join(cleaned))
    if pairs is None:
        try:
            pairs = getaddresses(cleaned)
        except Exception:  # noqa: BLE001 - address parsing has had crash bugs on junk
            return result
    for name, addr in pairs:
        addr = addr.strip().lower()
        if "@" not in addr or _ADDR_JUNK_RE.search(addr):
            continue
        result.append((decode_header_value(name), addr))
    return result


def _plain_addresses(text: str) -> list[tuple[str, str]] | None:
    """``getaddresses`` for plain lists (``a@b``, ``Name <a@b>``, ``"Name" <a@b>``), else None.

    The email package's address parser costs more than the rest of a message's parsing;
    this gives its very pairs for the common forms and leaves the rest to it.
    """
    pairs: list[tuple[str, str]] = []
    pos, end = 0, len(text)
    while True:
        match = _MAILBOX_RE.match(text, pos)
        if match is None:
            return None
        bare, phrase, quoted, routed = match.groups()
        if bare or routed:
            name = " ".join(phrase.split()) if phrase else (quoted or "")
            pairs.append((name, bare or routed))
        pos = match.end()
        if pos == end:
            return pairs
        if text[pos] != ",":
            return None
        pos += 1


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    text = undo_surrogates(value).strip()
    when = _plain_date(text)
    if when is None:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if when is None:
        return None
    if when.tzinfo is None:
        # RFC 5322 "-0000" means "no zone information"; treat it as UTC, not local time.
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def _plain_date(text: str) -> datetime | None:
    """``parsedate_to_datetime`` for the RFC 5322 form ``Thu, 15 Jan 2026 10:00:00 +0100``.

    None for any other form (or an impossible date): the email package decides those.
    """
    match = _DATE_RE.fullmatch(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, zone = match.groups()
    try:
        return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute),
                        int(second or 0), tzinfo=_zone(zone))
    except ValueError:
        return None


@functools.lru_cache(maxsize=64)
def _zone(text: str) -> timezone:
    """The fixed offset of ``+hhmm`` / ``-hhmm`` (hours and minutes counted as written)."""
    offset = int(text[1:3]) * 3600 + int(text[3:5]) * 60
    return timezone(timedelta(seconds=-offset if text[0] == "-" else offset))


def _auto_reason(headers: dict[str, list[str]], parsed: ParsedMessage,
                 msg: Message | Part) -> str | None:
    """Why this message is machine-made (never filed, never answered), or None."""
    if parsed.is_own:
        return "own message (X-CRM-Origin)"
    for value in headers.get("auto-submitted", []):
        kind = value.split(";", 1)[0].strip().lower()
        if kind and kind != "no":
            return f"Auto-Submitted: {kind}"
    for value in headers.get("precedence", []):
        kind = value.strip().lower()
        if kind in _AUTO_PRECEDENCE:
            return f"Precedence: {kind}"
    for value in headers.get("return-path", []):
        if value.strip().replace(" ", "") in ("<>", ""):
            return "empty Return-Path (bounce)"
    if parsed.from_address.split("@", 1)[0] in _DAEMON_LOCALPARTS:
        return f"sent by {parsed.from_address}"
    if "x-auto-response-suppress" in headers:
        return "X-Auto-Response-Suppress"
    if msg.get_content_type() == "multipart/report":
        # Delivery and read reports: bounces from servers that set none of the above.
        return "delivery or read report (multipart/report)"
    return None


# -- body and attachments ----------------------------------------------------------------


class _Walker:
    """Collects body text and attachments from a compat32 message tree."""

    def __init__(self, parsed: ParsedMessage, max_bytes: int) -> None:
        self.parsed = parsed
        self.max_bytes = max_bytes
        self.plain: list[str] = []
        self.html: list[str] = []
        self.counter = 0

    def walk(self, part: Message | Part, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            self.parsed.notes.append("MIME nesting too deep; inner parts skipped")
            return
        ctype = part.get_content_type()
        maintype = ctype.split("/", 1)[0]
        if part.is_multipart():
            payload = part.get_payload()
            if maintype == "message":
                # A forwarded or bounced message travels as one .eml attachment, so its own
                # attachments and text are not mistaken for this message's.
                data = b"".join(_as_bytes(sub) for sub in payload)
                name = _decoded_filename(part) or self._fallback_name(
                    ctype, ".eml" if ctype in ("message/rfc822", "message/global") else ".txt"
                )
                self._attach(name, ctype, data)
                return
            for sub in payload:
                if isinstance(sub, (Message, Part)):
                    self.walk(sub, depth + 1)
            return
        disposition = _content_disposition(part)
        filename = _decoded_filename(part)
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            data = b""
        # Only inline, unnamed plain/HTML parts are the body; anything else (named text
        # files, calendars, images …) is an attachment. A multipart part that lost its
        # boundary is kept as raw text rather than dropped.
        is_body = (
            (ctype in ("text/plain", "text/html") or maintype == "multipart")
            and disposition != "attachment"
            and not filename
        )
        if is_body and ctype == "text/html":
            self.html.append(decode_bytes(data, part.get_content_charset()))
        elif is_body:
            if maintype == "multipart":
                self.parsed.notes.append(f"{ctype} without parts; its raw text kept")
            self.plain.append(decode_bytes(data, part.get_content_charset()))
        else:
            self._attach(filename or self._fallback_name(ctype, None), ctype, data)

    def _fallback_name(self, ctype: str, ext: str | None) -> str:
        self.counter += 1
        if ext is None:
            ext = mimetypes.guess_extension(ctype, strict=False) or ".bin"
        return f"attachment-{self.counter}{ext}"

    def _attach(self, name: str, ctype: str, data: bytes) -> None:
        size = len(data)
        name = name[:MAX_FILENAME_CHARS]
        if size > self.max_bytes:
            why = f"it is {size} bytes, over the limit of {self.max_bytes}"
        elif self.parsed.size > self.max_bytes:
            why = "the message is over the size limit"
        else:
            self.parsed.attachments.append(IncomingAttachment(name, ctype, data, size))
            return
        # Name every dropped file in the notes so the activity entry can say what is missing.
        self.parsed.oversized = True
        self.parsed.notes.append(f"attachment {name!r} not kept: {why}")
        self.parsed.attachments.append(IncomingAttachment(name, ctype, b"", size, True))


def _read_body(msg: Message | Part, parsed: ParsedMessage, max_bytes: int) -> None:
    walker = _Walker(parsed, max_bytes)
    walker.walk(msg)
    if walker.plain:
        text = "\n\n".join(t.strip("\r\n") for t in walker.plain)
    elif walker.html:
        text = "\n\n".join(html_to_text(h) for h in walker.html)
    else:
        text = ""
    text = _clean_text(text)
    if len(text) > max_bytes:
        parsed.oversized = True
        parsed.notes.append(f"text cut at {max_bytes} characters")
        text = text[:max_bytes]
    parsed.text = text
    if isinstance(msg, Part):
        return  # the quick reader takes no message with defects
    defects = [type(d).__name__ for part in msg.walk() for d in getattr(part, "defects", [])]
    if defects:
        parsed.notes.append("MIME defects: " + ", ".join(sorted(set(defects))))


def _content_disposition(part: Message | Part) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # noqa: BLE001
        return None


def _decoded_filename(part: Message | Part) -> str:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - broken RFC 2231 parameters
        name = None
    return decode_header_value(name) if name else ""


def _as_bytes(sub: object) -> bytes:
    if not isinstance(sub, Message):
        return b""
    try:
        return sub.as_bytes()
    except Exception:  # noqa: BLE001 - a nested message we cannot re-serialise is dropped
        return b""


def _clean_text(text: str) -> str:
    text = undo_surrogates(text).replace("\r\n", "\n").replace("\r", "\n")
    text = _BODY_CONTROL_RE.sub("", text)
    text = _TRAILING_SPACE_RE.sub("", text)
    return _BLANK_LINES_RE.sub("\n\n", text).strip("\n")


class _HtmlText(HTMLParser):
    """Minimal HTML to text: keeps words and line structure, drops scripts, styles, tags."""

    _BLOCK = {
        "p",
        "div",
        "br",
        "tr",
        "table",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
    }
    _SKIP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        if tag in self._BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_startendtag(self, tag, attrs) -> None:
        if tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in self._SKIP and self.skip:
            self.skip -= 1
        elif tag == "pre" and self.pre:
            self.pre -= 1
        if tag in self._BLOCK and tag not in ("br", "li"):
            self.out.append("\n")

    def handle_data(self, data) -> None:
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Return readable plain text for an HTML mail body; never raises."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but be sure
        return unescape(re.sub(r"<[^>]*>", " ", html))
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()
