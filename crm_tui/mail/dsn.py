"""Read a delivery status notification (RFC 3464 bounce) with the email package."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser

from crm_tui.mail import headers
from crm_tui.mail.tokens import undo_surrogates

# A report names few recipients; a hostile one naming thousands is read no further.
MAX_RECIPIENTS = 50
MAX_REASON_CHARS = 300
_TYPE_RE = re.compile(r"[A-Za-z0-9-]{1,40}")  # a diagnostic type: smtp, X-Postfix ...
_ADDRESS_RE = re.compile(r"[^\s<>()\[\],;:\"\\]+@[^\s<>()\[\],;:\"\\]+")


@dataclass(frozen=True)
class DeliveryReport:
    """What a bounce says: the Message-ID of the mail that was not delivered (None when the
    report does not carry it) and, for each recipient whose Action is ``failed``, the
    address (lower case) and the reason (the Diagnostic-Code, else the Status)."""

    original_id: str | None
    failures: list[tuple[str, str]] = field(default_factory=list)


def delivery_report(msg: Message) -> DeliveryReport | None:
    """The report of a ``multipart/report; report-type=delivery-status`` message, or None
    (another kind of message, or a report of no failed recipient)."""
    if msg.get_content_type() != "multipart/report" or not msg.is_multipart():
        return None
    if str(msg.get_param("report-type", "")).strip().lower() != "delivery-status":
        return None
    failures: list[tuple[str, str]] = []
    original_id = None
    for part in msg.get_payload():
        ctype = part.get_content_type()
        if ctype in ("message/delivery-status", "message/global-delivery-status"):
            failures += _failures(part)
        elif original_id is None and ctype in ("message/rfc822", "message/global"):
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                original_id = _message_id(inner[0])
        elif original_id is None and ctype in ("text/rfc822-headers",
                                               "message/global-headers"):
            data = part.get_payload(decode=True) or b""
            original_id = _message_id(BytesHeaderParser(policy=part.policy).parsebytes(data))
    if not failures:
        return None
    return DeliveryReport(original_id, list(dict.fromkeys(failures))[:MAX_RECIPIENTS])


def _blocks(part: Message) -> list[Message]:
    """The header blocks of a delivery-status part: the per-message one, then one per
    recipient."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status":
        return payload if isinstance(payload, list) else []
    # message/global-delivery-status (RFC 6533, UTF-8 fields): the parser reads it as one
    # message (the first block its header, the rest its body); read it block by block.
    if isinstance(payload, list):
        data = b"".join(sub.as_bytes() for sub in payload)
    else:
        data = part.get_payload(decode=True) or b""
    return [message_from_bytes(block, policy=part.policy)
            for block in re.split(rb"\r?\n[ \t]*\r?\n", data)[:MAX_RECIPIENTS + 1]
            if block.strip()]


def _failures(part: Message) -> list[tuple[str, str]]:
    """(address, reason) of each per-recipient block whose Action is failed."""
    blocks = _blocks(part)
    found = []
    # The first block holds the per-message fields; the others one recipient each.
    for block in blocks[1:MAX_RECIPIENTS + 1]:
        fields = {str(k).lower(): undo_surrogates(str(v))
                  for k, v in reversed(list(block.raw_items()))}
        if fields.get("action", "").strip().lower() != "failed":
            continue
        address = _address(fields.get("final-recipient") or fields.get("original-recipient"))
        if not address:
            continue
        reason = _reason(fields.get("diagnostic-code", "")) or headers.one_line(
            fields.get("status", ""), 40) or "no reason given"
        found.append((address, reason))
    return found


def _address(value: str | None) -> str:
    """The address of an ``rfc822; addr`` (or ``utf-8; addr``) field, lower case, or ""."""
    text = headers.one_line(value, 400)
    _kind, _, address = text.rpartition(";")
    match = _ADDRESS_RE.fullmatch(address.strip().strip("<>"))
    return match.group(0).lower()[:254] if match else ""


def _reason(value: str) -> str:
    """A Diagnostic-Code without its type (``smtp; 550 ...``), on one bounded line."""
    text = headers.one_line(value, MAX_REASON_CHARS + 20)
    kind, sep, rest = text.partition(";")
    if sep and _TYPE_RE.fullmatch(kind.strip()):
        text = rest.strip()
    return text[:MAX_REASON_CHARS].rstrip()


def _message_id(original: Message) -> str | None:
    values = [str(v) for k, v in original.raw_items() if str(k).lower() == "message-id"]
    ids = headers.msg_ids(values[:1])
    return ids[0] if ids else None
