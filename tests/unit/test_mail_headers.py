"""Header values at the CRM's boundary: the msg-id grammar, flat single-line fields, a
sending policy that cannot write a line break into a header, and strict senders."""

from __future__ import annotations

import pytest

from crm_tui.mail import headers
from crm_tui.mail.message import Limits, content_digest, parse_message
from crm_tui.mail.outgoing import build_message

ENCODED_CRLF = "=?utf-8?q?x=0D=0AReply-To:_evil@attacker.example?=@b.example"


@pytest.mark.parametrize("text", [
    "abc@example.org", "CAF+x=y.1@mail.example.de", "a.b!#$%&'*+-/=?^_`{|}~@h",
    "x@[127.0.0.1]", "1234.5678@[mail server]".replace(" ", "-"),
])
def test_msg_ids_by_the_grammar(text: str) -> None:
    assert headers.is_msg_id(text)


@pytest.mark.parametrize("text", [
    "", "no-at-sign", "a b@c", "a@b c", "a\r\nReply-To: x@y@z", "a@b\x00", "@b", "a@",
    "a..b@c", ".a@c", "a@b.", ENCODED_CRLF, "=?utf-8?q?abc?=@host", "a@" + "b" * 250,
    "ä@b.example", "a@b@c", "<a@b>",
])
def test_anything_else_is_no_msg_id(text: str) -> None:
    assert not headers.is_msg_id(text)


def test_msg_ids_are_found_in_order_without_repeats_or_junk() -> None:
    values = ["<a@b> <bad id@x> <c@d>", f"<{ENCODED_CRLF}> <a@b>", "plain@words <e@f>"]
    assert headers.msg_ids(values) == ["a@b", "c@d", "e@f"]


def test_one_line_flattens_and_bounds() -> None:
    assert headers.one_line("a\r\nReply-To: x\t\x1b[31m  b\u2028c", 100) == (
        "a Reply-To: x [31m b c")
    assert headers.one_line("x" * 50, 10) == "x" * 10
    assert headers.one_line(None, 5) == ""


def _built(**changes):
    values = {"from_addr": "s@crm.example", "to": ["c@d.example"], "subject": "x",
              "body": "y", "lead_id": 1, "domain": "crm.example"}
    values.update(changes)
    return build_message(**values)


@pytest.mark.parametrize("changes", [
    {"in_reply_to": ENCODED_CRLF},
    {"references": ["good@x.example", ENCODED_CRLF]},
    {"subject": "=?utf-8?q?Hi=0D=0ABcc:_all@example.org?="},  # decoded by the registry
])
def test_no_value_becomes_a_header_line_of_its_own(changes) -> None:
    with pytest.raises(ValueError):
        _built(**changes)


def test_the_policy_refuses_any_header_split_by_a_line_break() -> None:
    message, _ = _built()
    # Even set past build_message, an encoded CR LF is refused when the mail is written.
    message["X-Note"] = "=?utf-8?q?a=0D=0AReply-To:_evil@attacker.example?="
    with pytest.raises(headers.HeaderInjection):
        message.as_bytes()
    with pytest.raises(headers.HeaderInjection):
        message["In-Reply-To"] = f"<{ENCODED_CRLF}>"


def test_long_threads_and_unicode_subjects_are_folded_not_refused() -> None:
    message, _ = _built(subject="Grüße aus Köln " * 10, in_reply_to="q@x.example",
                        references=[f"r{n}@x.example" for n in range(40)])
    raw = message.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(line[:1] in b" \t" or b":" in line for line in head.split(b"\r\n"))
    assert b"In-Reply-To: <q@x.example>" in head


@pytest.mark.parametrize(("from_header", "problem"), [
    ("a@x.example, b@y.example", "holds 2 addresses, not one"),
    ('"boss@bank.example" <evil@x.example>', "display name holds another address"),
    ("Group: a@x.example, b@y.example;", "holds 2 addresses, not one"),
    ("Undisclosed:;", "holds 0 addresses"),
    ("Name <a@b.example> trailing", "is not a valid address"),
    ("<<<>>>", "is not a valid address"),
    ("a " * 600 + "<x@y.example>", "over the limit of 998"),
])
def test_a_from_that_is_not_one_mailbox_is_no_sender(from_header, problem) -> None:
    parsed = parse_message(f"From: {from_header}\r\nSubject: s\r\n\r\nb".encode(),
                           max_bytes=10**6)
    assert parsed.from_address == ""
    assert problem in parsed.sender_problem


def test_two_from_headers_are_no_sender() -> None:
    parsed = parse_message(b"From: a@x.example\r\nFrom: b@y.example\r\n\r\nb", max_bytes=10**6)
    assert parsed.sender_problem == "the From header appears 2 times"


@pytest.mark.parametrize(("from_header", "address", "name"), [
    ("Carla <Carla@Customer.example>", "carla@customer.example", "Carla"),
    ('"carla@customer.example" <carla@customer.example>', "carla@customer.example",
     "carla@customer.example"),
    ("=?utf-8?q?J=C3=B6rg?= <j@x.de>", "j@x.de", "Jörg"),
    ("jörg@bücher.example", "jörg@bücher.example", ""),
])
def test_a_plain_from_is_the_sender(from_header, address, name) -> None:
    parsed = parse_message(f"From: {from_header}\r\n\r\nb".encode(), max_bytes=10**6)
    assert (parsed.from_address, parsed.from_name, parsed.sender_problem) == (
        address, name, None)


def test_the_content_digest_ignores_trace_headers_and_line_ends() -> None:
    raw = b"From: a@x.example\r\nSubject: s\r\n\r\nbody\r\n"
    traced = (b"Received: from a\r\n by b; now\r\nDelivered-To: x@y\r\nReturn-Path: <a@x>\r\n"
              + raw.replace(b"\r\n", b"\n"))
    assert content_digest(traced) == content_digest(raw)
    assert content_digest(raw.replace(b"body", b"Body")) != content_digest(raw)
    assert content_digest(raw.replace(b"Subject: s", b"Subject: t")) != content_digest(raw)


def test_structure_limits_are_counted_on_the_bytes() -> None:
    limits = Limits(max_parts=3, max_depth=2, max_header_bytes=2048)
    part = b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    head = b"From: a@x.example\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
    assert parse_message(head + part * 3 + b"--B--\r\n", limits=limits).over_limit is None
    over = parse_message(head + part * 4 + b"--B--\r\n", limits=limits)
    assert over.over_limit == "it has 4 MIME parts, over the limit of 3"
    assert over.text == "" and over.attachments == [] and over.from_address == "a@x.example"
    # A body that only mentions a boundary declares none.
    mention = b"From: a@x.example\r\n\r\nboundary=B\r\n" + part * 9
    assert parse_message(mention, limits=limits).over_limit is None
    big_head = b"X-Pad: " + b"p" * 3000 + b"\r\n" + head
    assert "header is 3" in parse_message(big_head, limits=limits).over_limit
