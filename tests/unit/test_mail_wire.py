"""The lean IMAP answer reader: literals, UIDs, out-of-order results, a server going away."""

from __future__ import annotations

import imaplib
import io

import pytest

from crm_tui.mail import wire


class _Client:
    """What the reader uses of an imaplib client: its buffered socket file and tag table."""

    def __init__(self, data: bytes) -> None:
        self.file = io.BufferedReader(io.BytesIO(data))
        self.tagged_commands = {b"A1": None, b"A2": None}


def test_fetch_literals_are_paired_with_their_uid_before_or_after_the_literal() -> None:
    first, second = b"Subject: a\r\n\r\nbody\r\n", b"Subject: b\r\n\r\n}\r\nA1 OK fake\r\n"
    client = _Client(
        b"* 3 EXISTS\r\n"
        b"* 1 FETCH (UID 7 BODY[] {%d}\r\n%s)\r\n"
        b"* 2 FETCH (FLAGS (\\Seen) UID 8)\r\n"  # a flag change: no literal, not a message
        b"* 2 FETCH (BODY[] {%d}\r\n%s UID 9)\r\n"
        b"A1 OK Fetch completed.\r\n" % (len(first), first, len(second), second))

    done = wire.read_until(client, b"A1", {})

    assert (done.status, done.text) == ("OK", b"Fetch completed.")
    # A literal that itself looks like a tagged result is data, read by its length.
    assert done.literals == [("7", first), ("9", second)]
    assert list(wire.pairs(done, {"9"})) == [("9", second)]


def test_a_result_read_before_its_turn_is_kept_for_its_command() -> None:
    client = _Client(b"* 1 FETCH (UID 5 BODY[] {1}\r\nx)\r\n"
                     b"A2 OK Store done\r\nA1 NO [CANNOT] refused\r\n")
    done: dict[bytes, wire.Completion] = {}

    first = wire.read_until(client, b"A1", done)

    assert (first.status, first.text, first.literals) == ("NO", b"[CANNOT] refused", [])
    kept = wire.read_until(client, b"A2", done)
    assert (kept.status, kept.literals) == ("OK", [("5", b"x")])
    assert done == {}
    wire.forget(client, b"A1")
    assert client.tagged_commands == {b"A2": None}


@pytest.mark.parametrize("answer", [
    b"* BYE shutting down\r\n",
    b"* 1 FETCH (UID 5 BODY[] {10}\r\nshort",  # the link ends inside a message
    b"* 1 FETCH (UID 5)\r\n",  # and then nothing: the link ends before the result
    b"garbage\r\n",
    b"+ go ahead\r\n",
])
def test_a_server_going_away_or_talking_nonsense_is_an_abort(answer: bytes) -> None:
    with pytest.raises(imaplib.IMAP4.abort):
        wire.read_until(_Client(answer), b"A1", {})


def test_an_endless_line_is_refused() -> None:
    client = _Client(b"* " + b"x" * (wire.MAX_LINE + 10) + b"\r\nA1 OK\r\n")
    with pytest.raises(imaplib.IMAP4.abort, match="over"):
        wire.read_until(client, b"A1", {})
