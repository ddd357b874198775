"""Parsing incoming mail: decoding, dedup keys, hostile names, auto-mail, size limits."""

from __future__ import annotations

import base64

import pytest

from crm_tui.mail.message import content_digest, parse_message, safe_stored_name
from crm_tui.mail.outgoing import build_message

LIMIT = 1_000_000


def _latin1_mail() -> bytes:
    head = (
        "From: =?iso-8859-1?q?J=F6rg_M=FCller?= <Joerg.Mueller@Example.DE>\r\n"
        'To: "Sales" <Sales@crm.example>, other@crm.example\r\n'
        "Cc: Boss <boss@example.de>\r\n"
        "Subject: =?iso-8859-1?q?AW=3A_=5BLead=2342=5D_Gr=FC=DFe_aus_K=F6ln?=\r\n"
        "Message-ID: <CAF123@mail.example.de>\r\n"
        "In-Reply-To: <sent-1@crm.example>\r\n"
        "References: <first@crm.example>\r\n <sent-1@crm.example>\r\n"
        "Date: Tue, 01 Oct 2024 10:00:00 +0200\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=iso-8859-1\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return head.encode("ascii") + "Grüße aus Köln, Jörg\r\n".encode("latin-1")


def test_latin1_body_and_rfc2047_subject_decoded() -> None:
    msg = parse_message(_latin1_mail(), max_bytes=LIMIT)
    assert msg.subject == "AW: [Lead#42] Grüße aus Köln"
    assert msg.text == "Grüße aus Köln, Jörg"
    assert msg.from_address == "joerg.mueller@example.de"
    assert msg.from_name == "Jörg Müller"
    assert msg.to == ["sales@crm.example", "other@crm.example"]
    assert msg.cc == ["boss@example.de"]
    assert msg.message_id == "CAF123@mail.example.de"
    assert msg.dedup_key == "CAF123@mail.example.de"
    assert msg.in_reply_to == ["sent-1@crm.example"]
    assert msg.references == ["first@crm.example", "sent-1@crm.example"]
    assert msg.thread_ids == ["sent-1@crm.example", "first@crm.example"]
    assert msg.date is not None and msg.date.utcoffset().total_seconds() == 0
    assert msg.date.hour == 8
    assert msg.auto_generated is None and not msg.is_own and not msg.oversized


def test_missing_message_id_uses_a_stable_content_hash() -> None:
    raw = b"From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n"
    first = parse_message(raw, max_bytes=LIMIT)
    second = parse_message(raw, max_bytes=LIMIT)
    assert first.message_id is None
    assert first.dedup_key == "sha256:" + content_digest(raw)
    assert first.dedup_key == second.dedup_key
    other = parse_message(raw + b"more\r\n", max_bytes=LIMIT)
    assert other.dedup_key != first.dedup_key


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\x00\xff\xfe garbage without headers",
        b"Subject: =?utf-8?b?!!!?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all",
        b"Content-Type: multipart/mixed; boundary=X\r\n\r\n--X\r\nContent-Type: text/plain\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n@@@not base64@@@\r\n",  # unterminated
        b"Content-Type: text/plain; charset=no-such-charset\r\n\r\n\xe9t\xe9",
        b'Content-Type: text/plain; charset="utf-8\r\n\r\n\xff\xfe broken utf-8',
        b"From: <<<>>>\r\nTo: ,,,@,\r\nDate: yesterday-ish\r\nMessage-ID: <>\r\n\r\nx",
        b"Content-Type: multipart/mixed; boundary=A\r\n\r\n"
        + b"--A\r\nContent-Type: multipart/mixed; boundary=A\r\n\r\n" * 60,
    ],
)
def test_malformed_mime_still_parses(raw: bytes) -> None:
    msg = parse_message(raw, max_bytes=LIMIT)
    assert msg.dedup_key
    assert isinstance(msg.text, str)


def test_broken_multipart_keeps_readable_text() -> None:
    raw = b"Subject: x\r\nContent-Type: multipart/mixed\r\n\r\nhello there"
    msg = parse_message(raw, max_bytes=LIMIT)
    assert msg.text == "hello there"
    assert msg.notes


def test_unknown_charset_falls_back_without_raising() -> None:
    raw = b"Content-Type: text/plain; charset=x-bogus\r\n\r\ncaf\xe9"
    assert parse_message(raw, max_bytes=LIMIT).text == "café"


def test_html_only_body_is_converted_to_text() -> None:
    raw = (
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><head><style>p{}</style><title>t</title></head><body>"
        b"<p>Hello&nbsp;<b>World</b> &amp; co</p><script>alert(1)</script>"
        b"<ul><li>one</li><li>two</li></ul></body></html>"
    )
    text = parse_message(raw, max_bytes=LIMIT).text
    assert "Hello World & co" in text
    assert "- one\n- two" in text
    assert "alert" not in text and "<" not in text


def test_plain_preferred_over_html_and_control_chars_stripped() -> None:
    raw = (
        b"Content-Type: multipart/alternative; boundary=B\r\n\r\n"
        b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain \x1b[2Jtext\r\n"
        b"--B\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html text</p>\r\n--B--\r\n"
    )
    assert parse_message(raw, max_bytes=LIMIT).text == "plain [2Jtext"


def _with_attachment(name_header: str, data: bytes, ctype: str = "application/pdf") -> bytes:
    return (
        b"From: a@example.org\r\nSubject: files\r\nMessage-ID: <att@example.org>\r\n"
        b"Content-Type: multipart/mixed; boundary=Z\r\n\r\n"
        b"--Z\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--Z\r\nContent-Type: " + ctype.encode() + b"\r\n"
        b"Content-Disposition: attachment; " + name_header.encode() + b"\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(data) + b"--Z--\r\n"
    )


def test_hostile_attachment_name_is_data_only() -> None:
    msg = parse_message(_with_attachment('filename="../../etc/passwd"', b"root:x"), max_bytes=LIMIT)
    [att] = msg.attachments
    assert att.filename == "../../etc/passwd"
    assert att.data == b"root:x" and att.size == 6 and not att.dropped
    assert msg.text == "see attached"
    stored = safe_stored_name(att.filename)
    assert "/" not in stored and "\\" not in stored and ".." not in stored
    assert len(stored) == 32 and stored.isalnum()


@pytest.mark.parametrize(
    ("original", "suffix"),
    [
        ("report.PDF", ".pdf"),
        ("archive.tar.gz", ".gz"),
        ("..\\..\\windows\\win.ini", ".ini"),
        ("/etc/passwd", ""),
        ("evil.p/h\\p", ""),
        ("name.with space", ""),
        ("x.verylongextension", ""),
        ("...", ""),
        ("", ""),
        ("C:evil.exe", ".exe"),
    ],
)
def test_safe_stored_name(original: str, suffix: str) -> None:
    name = safe_stored_name(original)
    assert name[:32].isalnum() and len(name[:32]) == 32
    assert name[32:] == suffix
    assert safe_stored_name(original) != name  # generated, never derived


def test_rfc2231_attachment_name_decoded() -> None:
    raw = _with_attachment("filename*=utf-8''Angebot%20Stra%C3%9Fe.pdf", b"%PDF")
    assert parse_message(raw, max_bytes=LIMIT).attachments[0].filename == "Angebot Straße.pdf"


def test_oversized_attachment_dropped_with_note() -> None:
    # An attachment over the limit always makes the message over it too (transfer
    # encodings only add bytes); the message is still parsed, its text kept, the data not.
    big = b"x" * 5000
    raw = _with_attachment('filename="big.bin"', big, "application/octet-stream")
    msg = parse_message(raw, max_bytes=4000)
    [att] = msg.attachments
    assert msg.oversized
    assert att.dropped and att.data == b"" and att.size == 5000
    assert att.filename == "big.bin"
    assert any("big.bin" in note and "over the limit" in note for note in msg.notes)
    assert msg.text == "see attached"
    assert msg.message_id == "att@example.org"


def test_message_within_limit_keeps_attachment_data() -> None:
    data = b"y" * 3000
    raw = _with_attachment('filename="a.bin"', data, "application/octet-stream")
    ok = parse_message(raw, max_bytes=len(raw))
    assert not ok.oversized and ok.notes == []
    assert ok.attachments[0].data == data and not ok.attachments[0].dropped


def test_oversized_message_drops_all_attachment_data() -> None:
    raw = _with_attachment('filename="small.txt"', b"tiny", "text/plain")
    msg = parse_message(raw, max_bytes=100)
    assert msg.oversized
    assert msg.attachments[0].dropped and msg.attachments[0].size == 4
    assert any("message is" in note and "over the limit" in note for note in msg.notes)
    assert any("small.txt" in note for note in msg.notes)


BASE = b"From: someone@example.org\r\nSubject: hi\r\nMessage-ID: <m@x>\r\n"


@pytest.mark.parametrize(
    ("extra", "reason_part"),
    [
        (b"Auto-Submitted: auto-replied\r\n", "Auto-Submitted"),
        (b"Auto-Submitted: auto-generated; owner=x\r\n", "Auto-Submitted"),
        (b"Precedence: bulk\r\n", "Precedence"),
        (b"Precedence: junk\r\n", "Precedence"),
        (b"Precedence: list\r\n", "Precedence"),
        (b"Precedence: auto_reply\r\n", "Precedence"),
        (b"Return-Path: <>\r\n", "Return-Path"),
        (b"X-Auto-Response-Suppress: All\r\n", "X-Auto-Response-Suppress"),
        (b"X-CRM-Origin: crm_tui\r\n", "own"),
    ],
)
def test_auto_generated_detection(extra: bytes, reason_part: str) -> None:
    msg = parse_message(BASE + extra + b"\r\nbody", max_bytes=LIMIT)
    assert msg.auto_generated is not None
    assert reason_part in msg.auto_generated


@pytest.mark.parametrize("sender", [b"MAILER-DAEMON@mx.example.org", b"postmaster@example.org"])
def test_daemon_senders_are_auto_generated(sender: bytes) -> None:
    raw = b"From: Mail Delivery System <" + sender + b">\r\nSubject: Undelivered\r\n\r\nx"
    assert parse_message(raw, max_bytes=LIMIT).auto_generated


@pytest.mark.parametrize(
    "extra",
    [b"", b"Auto-Submitted: no\r\n", b"Precedence: normal\r\n", b"Return-Path: <a@b.org>\r\n"],
)
def test_human_mail_is_not_auto_generated(extra: bytes) -> None:
    assert parse_message(BASE + extra + b"\r\nbody", max_bytes=LIMIT).auto_generated is None


def test_crm_headers_read_back_from_a_built_message() -> None:
    msg, message_id = build_message(
        from_addr="CRM <crm@crm.example>",
        to=["Jörg <joerg@example.de>"],
        cc=["ref@crm.example"],
        subject="[Lead#42] Grüße",
        body="Hallo Jörg",
        attachments=[("/home/op/Angebot Straße.pdf", b"%PDF-1.4", "application/pdf")],
        lead_id=42,
        domain="crm.example",
    )
    parsed = parse_message(msg.as_bytes(), max_bytes=LIMIT)
    assert parsed.message_id == message_id and message_id.endswith("@crm.example")
    assert parsed.subject == "[Lead#42] Grüße"
    assert parsed.x_crm_lead == 42 and parsed.is_own
    assert parsed.text == "Hallo Jörg"
    assert parsed.attachments[0].filename == "Angebot Straße.pdf"
    assert parsed.attachments[0].data == b"%PDF-1.4"
    assert "Auto-Submitted" not in msg
    assert msg["Date"].endswith("+0000")


@pytest.mark.parametrize("value", [b"12a", b"-1", b"0", b"99999999999999", b""])
def test_bad_x_crm_lead_is_ignored(value: bytes) -> None:
    raw = b"X-CRM-Lead: " + value + b"\r\nSubject: s\r\n\r\nb"
    assert parse_message(raw, max_bytes=LIMIT).x_crm_lead is None


@pytest.mark.parametrize(
    "field",
    ["subject", "from_addr", "to", "cc", "attachment"],
)
def test_build_message_rejects_line_breaks(field: str) -> None:
    kwargs = dict(
        from_addr="crm@crm.example",
        to=["a@example.org"],
        cc=[],
        subject="s",
        body="b",
        attachments=[],
        lead_id=1,
        domain="crm.example",
    )
    evil = "x@example.org\r\nBcc: victim@example.org"
    if field == "subject":
        kwargs["subject"] = "hello\r\nBcc: victim@example.org"
    elif field == "from_addr":
        kwargs["from_addr"] = evil
    elif field in ("to", "cc"):
        kwargs[field] = [evil]
    else:
        kwargs["attachments"] = [("a\nb.pdf", b"x", "application/pdf")]
    with pytest.raises(ValueError):
        build_message(**kwargs)


@pytest.mark.parametrize("address", ["a@x.org, b@y.org", "not an address", "a@b@c.org", ""])
def test_build_message_rejects_anything_but_one_mailbox(address: str) -> None:
    with pytest.raises(ValueError):
        build_message(
            from_addr="crm@crm.example",
            to=[address],
            subject="s",
            body="b",
            lead_id=None,
            domain="crm.example",
        )


def test_hostile_headers_cost_no_more_than_their_length() -> None:
    import time

    many = b"".join(b"X-H%d:" % n + b" " * 20 + b"v\r\n" for n in range(40))
    for raw in [many + b"Bad line\r\n\r\nbody",
                b"Content-Type: text/plain" + b" " * 50_000 + b"X\r\n\r\nbody",
                b"From: " + b"a " * 30_000 + b"<x\r\n\r\nb",
                b"Subject: " + b" \t" * 50_000 + b"\r\n\r\nb"]:
        start = time.perf_counter()
        parse_message(raw, max_bytes=LIMIT)
        assert time.perf_counter() - start < 2.0
