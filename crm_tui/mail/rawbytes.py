"""Checks made on a message's raw bytes before the parser builds anything: the content
hash without trace headers, and the header size, MIME parts and nesting depth."""

from __future__ import annotations

import hashlib
import re

# The end of the header block, and header fields on the raw bytes (for the checks made
# before the parser builds anything).
_HEADER_END_RE = re.compile(rb"\r?\n\r?\n")
_CONTENT_TYPE_RE = re.compile(rb"(?im)^content-type:[^\n]*(?:\n[ \t][^\n]*)*")
_BOUNDARY_RE = re.compile(rb'(?i)boundary\s*=\s*(?:"([^"\r\n]{1,200})"|([^\s;"]{1,200}))')
_DELIMITER_RE = re.compile(rb"(?m)^--([^\r\n]{1,202}?)[ \t]*\r?$")
# Headers that each hop of a delivery adds or changes: the same message reaching the
# mailbox by two routes differs only in these, so they stay out of its content hash.
_TRACE_FIELD_RE = re.compile(
    rb"(?im)^(?:received|delivered-to|return-path|x-original-to|x-delivered-to|envelope-to"
    rb"|x-envelope-to|x-received|received-spf|authentication-results|arc-[^\s:]*"
    rb"|x-spam-[^\s:]*|x-virus-[^\s:]*|status|x-status|x-keywords|x-uid)[ \t]*:"
    rb".*\n(?:[ \t].*\n)*")


def content_digest(raw: bytes) -> str:
    """SHA-256 (hex) of a message without its trace headers (Received, Delivered-To,
    Return-Path …) and with LF line ends: one message delivered by two routes, or stored
    by two servers, hashes the same."""
    match = _HEADER_END_RE.search(raw)
    head, body = (raw[:match.start()], raw[match.end():]) if match else (raw, b"")
    head = _TRACE_FIELD_RE.sub(b"", head.replace(b"\r\n", b"\n") + b"\n")
    digest = hashlib.sha256(head)
    digest.update(b"\n" + body.replace(b"\r\n", b"\n"))
    return digest.hexdigest()


def header_block(raw: bytes, limit: int) -> bytes:
    """The header block, cut to ``limit`` bytes at a line end."""
    match = _HEADER_END_RE.search(raw, 0, limit + 4)
    if match is not None:
        return raw[:match.end()]
    cut = raw[:limit]
    end = cut.rfind(b"\n")
    return (cut[:end + 1] if end >= 0 else b"") + b"\r\n"


def structure_over_limit(raw: bytes, limits) -> str | None:
    """Which structural limit of ``limits`` (a :class:`~crm_tui.mail.message.Limits`)
    ``raw`` breaks (header bytes, MIME parts, nesting), or None.

    Counted on the bytes: the boundaries the Content-Type fields declare, then the
    delimiter lines of those boundaries, in order (a declaration opens a level inside the
    innermost open one, a closing delimiter ends its level and those inside it).
    """
    match = _HEADER_END_RE.search(raw)
    header_bytes = match.start() if match else len(raw)
    if header_bytes > limits.max_header_bytes:
        return (f"its header is {header_bytes} bytes, over the limit of "
                f"{limits.max_header_bytes}")
    if b"oundary" not in raw and b"OUNDARY" not in raw:
        return None
    events: list[tuple[int, int, bytes]] = []
    declared: set[bytes] = set()
    for field_match in _CONTENT_TYPE_RE.finditer(raw):
        found = _BOUNDARY_RE.search(field_match.group(0))
        if found:
            boundary = (found.group(1) or found.group(2)).strip()
            declared.add(boundary)
            events.append((field_match.start(), 0, boundary))
    if not declared:
        return None
    parts = 0
    for line in _DELIMITER_RE.finditer(raw):
        text = line.group(1).rstrip()
        if text in declared:
            parts += 1
            events.append((line.start(), 1, text))
        elif text.endswith(b"--") and text[:-2] in declared:
            events.append((line.start(), 2, text[:-2]))
    if parts > limits.max_parts:
        return f"it has {parts} MIME parts, over the limit of {limits.max_parts}"
    events.sort()
    stack: list[bytes] = []
    depth = 0
    for _position, kind, boundary in events:
        if kind == 0:
            stack.append(boundary)
            depth = max(depth, len(stack))
        elif kind == 2 and boundary in stack:
            del stack[len(stack) - 1 - stack[::-1].index(boundary):]
    if depth > limits.max_depth:
        return f"its MIME parts nest {depth} deep, over the limit of {limits.max_depth}"
    return None
