"""Reading the answers to pipelined IMAP commands straight off the connection.

imaplib reads every answer line by line in Python, matching each against several patterns
and keeping it in per-name lists; for a FETCH of a few hundred messages that costs about
three times what reading the bytes does. The ingest only needs, for each command it sent
ahead, the tagged result and the FETCH literals with their UIDs, so this module reads just
that from imaplib's own buffered socket file (the same buffer imaplib reads from, so the
two never disagree about where an answer starts).
"""

from __future__ import annotations

import imaplib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

# imaplib's own cap on one line: a longer one is not an answer this client can trust.
MAX_LINE = 1_000_000

_LITERAL_RE = re.compile(rb"\{([0-9]{1,12})\}\r?\n\Z")
_FETCH_RE = re.compile(rb"\* [0-9]+ FETCH ", re.IGNORECASE)
_UID_RE = re.compile(rb"\bUID ([0-9]+)", re.IGNORECASE)


@dataclass
class Completion:
    """The tagged result of one command, with the FETCH data read up to it."""

    status: str
    """``OK``, ``NO`` or ``BAD``."""
    text: bytes
    """The result line after the status (the server's words, for an error message)."""
    literals: list[tuple[str, bytes]] = field(default_factory=list)
    """``(uid, literal)`` of each FETCH answer read before the result, in order."""


def read_until(client: Any, tag: bytes, done: dict[bytes, Completion]) -> Completion:
    """Read answers until the tagged result of ``tag``; returns it.

    FETCH answers read on the way are attached to the result that ends them. Results of
    other commands read first (a server may finish pipelined commands in another order)
    are put in ``done`` by tag, and a result already in ``done`` is returned at once.
    Raises ``imaplib.IMAP4.abort`` when the server says BYE, closes the connection or
    sends something that is not an IMAP answer; ``OSError`` as the socket raises it.
    """
    if tag in done:
        return done.pop(tag)
    stream: BinaryIO = client.file
    literals: list[tuple[str, bytes]] = []
    prefix = tag + b" "
    while True:
        text, data = _response(stream)
        if text.startswith(b"* "):
            if data and _FETCH_RE.match(text):
                uid = _UID_RE.search(text)
                if uid is not None:
                    literals.append((uid.group(1).decode("ascii"), data[0]))
            elif text[2:5].upper() == b"BYE":
                raise imaplib.IMAP4.abort(_words(text[2:]))
            continue
        head, _, rest = text.partition(b" ")
        status, _, words = rest.partition(b" ")
        status = status.upper()
        if status not in (b"OK", b"NO", b"BAD") or not head or head.startswith(b"+"):
            raise imaplib.IMAP4.abort(f"unexpected answer: {_words(text)[:200]}")
        result = Completion(status.decode("ascii"), words.rstrip(b"\r\n"), literals)
        if text.startswith(prefix):
            return result
        done[head] = result
        literals = []


def _response(stream: BinaryIO) -> tuple[bytes, list[bytes]]:
    """One whole response: its text (literals left out) and its literals, in order."""
    pieces: list[bytes] = []
    data: list[bytes] = []
    while True:
        line = stream.readline(MAX_LINE + 1)
        if not line:
            raise imaplib.IMAP4.abort("the server closed the connection")
        if len(line) > MAX_LINE:
            raise imaplib.IMAP4.abort(f"an answer line over {MAX_LINE} bytes")
        # Only a line ending in "{n}" announces a literal: most lines are done here.
        match = _LITERAL_RE.search(line) if line.endswith(b"}\r\n") else None
        if match is None:
            pieces.append(line)
            return (line if len(pieces) == 1 else b"".join(pieces)), data
        pieces.append(line[:match.start()])
        size = int(match.group(1))
        literal = stream.read(size)
        if len(literal) != size:
            raise imaplib.IMAP4.abort("the server closed the connection inside a message")
        data.append(literal)


def _words(text: bytes) -> str:
    return " ".join(text.decode("utf-8", "replace").split())


def forget(client: Any, tag: bytes) -> None:
    """Tell imaplib a command it sent is answered (it keeps every unanswered tag)."""
    client.tagged_commands.pop(tag, None)


def pairs(completion: Completion, wanted: set[str]) -> Iterator[tuple[str, bytes]]:
    """The ``(uid, literal)`` pairs of ``completion`` whose UID is in ``wanted``."""
    return ((uid, raw) for uid, raw in completion.literals if uid in wanted)
