"""SMTP sending and IMAP reading against real servers (aiosmtpd and a throwaway Dovecot)."""

from __future__ import annotations

import email
import re
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from crm_tui.mail.errors import MailAuthFailed, MailServerUnreachable
from crm_tui.mail.imap import FILED_KEYWORD, ImapConfig, open_mailbox
from crm_tui.mail.message import parse_message
from crm_tui.mail.outgoing import build_message
from crm_tui.mail.smtp import SmtpConfig, send
from crm_tui.mail.tokens import find_lead_token, subject_with_token
from tests.fixtures.mail import dovecot_server, free_port, smtp_server  # noqa: F401

pytestmark = pytest.mark.mail


def _raw(n: int, *, message_id: bool = True) -> bytes:
    head = f"From: Client {n} <client{n}@example.org>\r\nTo: sales@crm.example\r\n"
    head += f"Subject: Re: [Lead#{n}] Question {n}\r\n"
    if message_id:
        head += f"Message-ID: <msg-{n}@example.org>\r\n"
    return (head + "Content-Type: text/plain; charset=utf-8\r\n\r\n").encode() + (
        f"Grüße Nummer {n}\r\n".encode()
    )


@pytest.fixture
def mailbox_server(dovecot_server):  # noqa: F811 - the imported fixture, used by name
    dovecot_server.clear()
    yield dovecot_server
    dovecot_server.clear()


def _imap_config(server, **changes) -> ImapConfig:
    values = dict(
        host=server.host,
        port=server.port,
        security="none",
        user=server.user,
        password=server.password,
        folder="INBOX",
        timeout=10,
    )
    values.update(changes)
    return ImapConfig(**values)


# -- SMTP ---------------------------------------------------------------------------------


def test_send_reaches_the_listener_with_token_cc_and_origin(smtp_server) -> None:  # noqa: F811
    message, message_id = build_message(
        from_addr="Sales <sales@crm.example>",
        to=["Jörg Müller <joerg@example.de>"],
        cc=["reference@crm.example"],
        subject=subject_with_token(42, "Re: Ihr Angebot – Grüße"),
        body="Hallo Jörg,\nanbei das Angebot.\n",
        attachments=[("Angebot.pdf", b"%PDF-1.4 test", "application/pdf")],
        lead_id=42,
        domain="crm.example",
    )
    config = SmtpConfig(host=smtp_server.host, port=smtp_server.port, security="none", timeout=10)
    refused = send(config, message)
    assert refused == {}
    [received] = smtp_server.wait_for(1)
    assert received.mail_from == "sales@crm.example"
    assert sorted(received.rcpt_tos) == ["joerg@example.de", "reference@crm.example"]
    wire = email.message_from_bytes(received.content)
    assert wire["X-CRM-Origin"] == "crm_tui"
    assert wire["X-CRM-Lead"] == "42"
    assert "reference@crm.example" in wire["Cc"]
    parsed = parse_message(received.content, max_bytes=1_000_000)
    assert parsed.subject == "[Lead#42] Re: Ihr Angebot – Grüße"
    assert find_lead_token(wire["Subject"]) == 42  # still findable in the encoded header
    assert parsed.message_id == message_id
    assert parsed.cc == ["reference@crm.example"]
    assert parsed.is_own and parsed.auto_generated
    assert parsed.text == "Hallo Jörg,\nanbei das Angebot."
    assert parsed.attachments[0].data == b"%PDF-1.4 test"


def test_smtp_unreachable_port_raises_one_line_error() -> None:
    port = free_port()
    config = SmtpConfig(host="127.0.0.1", port=port, security="none", timeout=3)
    message, _ = build_message(
        from_addr="a@crm.example",
        to=["b@example.org"],
        subject="s",
        body="b",
        lead_id=None,
        domain="crm.example",
    )
    with pytest.raises(MailServerUnreachable) as info:
        send(config, message)
    text = str(info.value)
    assert f"127.0.0.1:{port}" in text and "\n" not in text


def test_starttls_required_but_not_offered_is_unreachable(smtp_server) -> None:  # noqa: F811
    config = SmtpConfig(host=smtp_server.host, port=smtp_server.port, security="starttls")
    message, _ = build_message(
        from_addr="a@crm.example",
        to=["b@example.org"],
        subject="s",
        body="b",
        lead_id=None,
        domain="crm.example",
    )
    with pytest.raises(MailServerUnreachable, match="STARTTLS"):
        send(config, message)
    assert smtp_server.messages == []  # never fell back to plain text


# -- IMAP ---------------------------------------------------------------------------------


def test_list_sizes_fetch_without_seen_then_flag_and_move(mailbox_server) -> None:
    appended = [mailbox_server.append(_raw(n)) for n in (1, 2, 3)]
    with open_mailbox(_imap_config(mailbox_server)) as box:
        validity = box.uidvalidity()
        assert isinstance(validity, int) and validity > 0
        uids = box.list_uids()
        assert uids == appended
        assert box.list_uids(min_uid=int(uids[1])) == uids[1:]
        assert box.list_uids(min_uid=int(uids[-1]) + 1) == []

        sizes = box.sizes(uids)
        assert sizes == {uid: len(_raw(n)) for uid, n in zip(uids, (1, 2, 3), strict=True)}

        fetched = list(box.fetch_raw(uids, chunk=2))  # two FETCH commands
        assert [uid for uid, _ in fetched] == uids
        assert [raw for _, raw in fetched] == [_raw(n) for n in (1, 2, 3)]  # byte-exact
        parsed = parse_message(fetched[1][1], max_bytes=1_000_000)
        assert parsed.subject == "Re: [Lead#2] Question 2" and parsed.text == "Grüße Nummer 2"

        # Reading marked nothing: checked by a separate connection, not the code under test.
        assert all("\\Seen" not in flags for flags in mailbox_server.flags().values())

        box.flag_processed(uids[:2])
        flags = mailbox_server.flags()
        assert {"\\Seen", FILED_KEYWORD} <= flags[uids[0]]
        assert {"\\Seen", FILED_KEYWORD} <= flags[uids[1]]
        assert "\\Seen" not in flags[uids[2]]
        assert box.flags(uids)[uids[0]] >= {"\\Seen", FILED_KEYWORD}

        box.move([uids[2]], "CRM/Unmatched")
        assert box.list_uids() == uids[:2]
        assert box.uidvalidity() == validity
    # Dovecot's maildir uses "." between levels; the setting's "/" was translated.
    assert "CRM.Unmatched" in mailbox_server.folders()
    assert len(mailbox_server.uids("CRM.Unmatched")) == 1
    assert mailbox_server.flags("CRM.Unmatched")  # moved with its flags


def test_unfiled_search_size_search_and_fetch_in_chunks(mailbox_server) -> None:
    uids = [mailbox_server.append(_raw(n)) for n in (1, 2, 3)]
    big = mailbox_server.append(_raw(4) + b"x" * 5000)
    with open_mailbox(_imap_config(mailbox_server)) as box:
        box.flag_processed([uids[0]])
        # Filed mail is left out of the search; mail only read by a person is not.
        mailbox_server_flags = mailbox_server.flags()
        assert FILED_KEYWORD in mailbox_server_flags[uids[0]]
        assert box.list_uids(unfiled=True) == [*uids[1:], big]
        assert box.list_uids(unfiled=True, min_uid=int(uids[2])) == [uids[2], big]
        # The server says which are big, without a FETCH per message.
        assert box.larger_than(1000, [*uids, big]) == {big}
        assert box.larger_than(1000, uids) == set()
        assert box.larger_than(10, []) == set()

        assert box.sizes([big]) == {big: len(_raw(4)) + 5000}
        fetched = list(box.fetch_raw([*uids[1:], big], chunk=2))
        assert fetched == [(uids[1], _raw(2)), (uids[2], _raw(3)), (big, _raw(4) + b"x" * 5000)]
        # With the server's arrival time (INTERNALDATE), in UTC: just now.
        [(uid, raw, arrived)] = box.fetch_dated([uids[1]])
        now = datetime.now(UTC).replace(tzinfo=None)
        assert (uid, raw) == (uids[1], _raw(2))
        assert now - timedelta(minutes=5) < arrived <= now + timedelta(seconds=2)
        [(_uid, head, _arrived)] = box.fetch_dated([uids[1]], headers_only=True)
        assert _raw(2).startswith(head.rstrip(b"\r\n"))
        assert box.list_uids() == [*uids, big]
        assert box.list_uids(unfiled=True) == [*uids[1:], big]
    assert "\\Seen" not in mailbox_server.flags()[uids[2]]


@pytest.mark.parametrize(("uids", "text"), [
    (["1"], "1"), (["1", "2", "3"], "1:3"), (["1", "3", "4", "9"], "1,3:4,9"),
    (["7", "8", "10", "11", "12"], "7:8,10:12"), ([], ""),
])
def test_uid_sets_are_written_as_ranges(uids, text) -> None:
    from crm_tui.mail.imap import uid_set

    assert uid_set(uids) == text


def test_fetch_skips_uids_that_vanished(mailbox_server) -> None:
    uid = mailbox_server.append(_raw(7, message_id=False))
    with open_mailbox(_imap_config(mailbox_server)) as box:
        got = list(box.fetch_raw([uid, str(int(uid) + 100)]))
        assert [u for u, _ in got] == [uid]
        assert box.sizes([str(int(uid) + 100)]) == {}
        assert parse_message(got[0][1], max_bytes=10_000).dedup_key.startswith("sha256:")


def test_move_into_existing_folder_and_empty_inputs(mailbox_server) -> None:
    mailbox_server.append(_raw(1), folder="Archive")
    uid = mailbox_server.append(_raw(2))
    with open_mailbox(_imap_config(mailbox_server)) as box:
        box.move([], "Archive")
        box.flag_processed([])
        assert list(box.fetch_raw([])) == []
        box.move([uid], "Archive")
        assert box.list_uids() == []
    assert len(mailbox_server.uids("Archive")) == 2


def test_open_other_folder_and_uidvalidity_differs_per_folder(mailbox_server) -> None:
    mailbox_server.append(_raw(1), folder="Leads")
    with open_mailbox(_imap_config(mailbox_server)) as inbox:
        inbox_validity = inbox.uidvalidity()
    with open_mailbox(_imap_config(mailbox_server, folder="Leads")) as leads:
        assert leads.folder == "Leads"
        assert len(leads.list_uids()) == 1
        leads_validity = leads.uidvalidity()
    # Each folder reports its own UIDVALIDITY, as the server gives it to any client: a
    # ledger keyed on (folder, UIDVALIDITY, UID) relies on both.
    assert leads_validity != inbox_validity
    assert inbox_validity == _status_uidvalidity(mailbox_server, "INBOX")
    assert leads_validity == _status_uidvalidity(mailbox_server, "Leads")


def _status_uidvalidity(server, folder: str) -> int:
    """UIDVALIDITY of ``folder`` asked with a plain STATUS, independently of the code under test."""
    with server.imap() as client:
        typ, data = client.status(folder, "(UIDVALIDITY)")
    assert typ == "OK", (typ, data)
    match = re.search(rb"UIDVALIDITY (\d+)", data[0])
    assert match, data
    return int(match.group(1))


def test_idle_wakes_up_on_new_mail(mailbox_server) -> None:
    with open_mailbox(_imap_config(mailbox_server)) as box:
        assert box.has_idle()
        start = time.monotonic()
        assert box.idle_wait(0.3) is False
        assert time.monotonic() - start < 5
        timer = threading.Timer(0.3, mailbox_server.append, args=(_raw(9),))
        timer.start()
        try:
            assert box.idle_wait(10) is True
        finally:
            timer.join()
        assert len(box.list_uids()) == 1  # the session is usable after IDLE


def test_idle_wait_reports_mail_announced_while_the_client_was_busy(mailbox_server) -> None:
    """Mail that arrives during a pass is announced (EXISTS) in the answer to one of its
    commands; the next wait must return at once, not sleep until the next change."""
    with open_mailbox(_imap_config(mailbox_server)) as box:
        box.idle_wait(0.1)  # whatever the login and SELECT announced
        mailbox_server.append(_raw(10))
        box.noop()  # a command of the pass: its answer carries "* 1 EXISTS"
        start = time.monotonic()
        assert box.idle_wait(5) is True
        assert time.monotonic() - start < 1
        assert box.idle_wait(0.3) is False  # announced once


def test_imap_unreachable_port_raises_one_line_error() -> None:
    port = free_port()
    config = ImapConfig(
        host="127.0.0.1", port=port, security="none", user="u", password="p", timeout=3
    )
    with pytest.raises(MailServerUnreachable) as info:
        with open_mailbox(config):
            pass
    assert f"127.0.0.1:{port}" in str(info.value) and "\n" not in str(info.value)


def test_imap_wrong_password_is_auth_failure(mailbox_server) -> None:
    with pytest.raises(MailAuthFailed):
        with open_mailbox(_imap_config(mailbox_server, password="wrong")):
            pass


def test_imap_missing_folder_is_reported(mailbox_server) -> None:
    with pytest.raises(MailServerUnreachable, match="not found"):
        with open_mailbox(_imap_config(mailbox_server, folder="NoSuchFolder")):
            pass


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_imap_tls_against_a_plain_server_never_falls_back(mailbox_server, security) -> None:
    config = _imap_config(mailbox_server, security=security, timeout=5)
    with pytest.raises(MailServerUnreachable) as info:
        with open_mailbox(config):
            pass
    assert "\n" not in str(info.value)


def test_smtp_tls_against_a_plain_server_is_unreachable(smtp_server) -> None:  # noqa: F811
    config = SmtpConfig(host=smtp_server.host, port=smtp_server.port, security="tls", timeout=5)
    message, _ = build_message(
        from_addr="a@crm.example",
        to=["b@example.org"],
        subject="s",
        body="b",
        lead_id=None,
        domain="crm.example",
    )
    with pytest.raises(MailServerUnreachable):
        send(config, message)
    assert smtp_server.messages == []


# -- the fixtures' own rule: skip locally, fail in CI -------------------------------------


def test_missing_server_skips_locally_but_fails_in_ci(monkeypatch) -> None:
    from tests.fixtures.mail import _unavailable

    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        _unavailable("dovecot is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        _unavailable("dovecot is not installed")
