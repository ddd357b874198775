"""Mail tried as a hostile sender would, against a real Dovecot and aiosmtpd: planted headers,
forged senders, auto-mail, floods, oversized structures, reused ids and two-route copies."""

from __future__ import annotations

import email
import re
from email import policy

import pytest

from crm_tui import paths
from crm_tui.mail.imap import FILED_KEYWORD
from crm_tui.models import FiledMessage, LeadActivity
from crm_tui.services import mail_sync as ingest
from crm_tui.services import mailing
from tests.fixtures.mail import dovecot_server, smtp_server  # noqa: F401
from tests.integration.mail_helpers import CLIENT, configure, make_lead, raw_mail, send_outbox

pytestmark = pytest.mark.mail

# An RFC 2047 encoded word that decodes to CR LF + a header of the attacker's choosing.
PLANTED_ID = ("<=?utf-8?q?x=0D=0AReply-To:_evil@attacker.example=0D=0AX-Evil:_1?="
              "@customer-a.example>")


def _sync(world) -> ingest.SyncReport:
    return ingest.run_once(mailing.mail_config(), clock=world.clock)


def _incoming(lead_id: int) -> list[LeadActivity]:
    return list(LeadActivity.select().where(LeadActivity.lead == lead_id,
                                            LeadActivity.kind == "email_in")
                .order_by(LeadActivity.id))


def _ledger(uid: str) -> FiledMessage:
    return FiledMessage.get(FiledMessage.uid == int(uid))


def _header_names(raw: bytes) -> list[str]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    return [line.split(":", 1)[0] for line in head.split("\r\n") if line[:1] not in " \t"]


def test_a_planted_message_id_never_becomes_a_header_of_the_next_reply(
        world, mailbox, smtp_server, run_crm, tmp_path) -> None:  # noqa: F811
    configure(world, imap=mailbox, smtp=smtp_server)
    lead_id = make_lead(world)
    hostile = mailbox.append(raw_mail(subject=f"Re: [Lead#{lead_id}] Offer",
                                      body="Looks good.", message_id=PLANTED_ID,
                                      headers={"References": PLANTED_ID}))

    report = _sync(world)

    # Filed (the sender is the lead's own address), but its Message-ID was not kept.
    assert (report.filed, report.unmatched) == (1, 0)
    entry = _ledger(hostile)
    assert entry.outcome == "filed" and entry.key.startswith("sha256:")
    assert "Message-ID is not a valid msg-id; ignored" in _incoming(lead_id)[0].text

    body = tmp_path / "body.txt"
    body.write_text("Thanks\n", encoding="utf-8")
    done = run_crm("lead", "reply", str(lead_id), "--subject", "Re: Offer", "--body-file",
                   str(body))
    assert done.returncode == 0, done.stderr
    assert send_outbox() == 1
    [received] = smtp_server.wait_for(1)
    assert _header_names(received.content) == [
        "Message-ID", "Date", "From", "To", "Cc", "Subject", "X-CRM-Origin", "X-CRM-Lead",
        "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
    assert b"attacker" not in received.content and b"X-Evil" not in received.content
    assert received.message["Reply-To"] is None


def test_a_bad_key_in_the_ledger_still_never_reaches_a_header(world, smtp_server) -> None:  # noqa: F811,E501
    """A row written before the msg-id rule (or by hand) is checked again when replying."""
    configure(world, smtp=smtp_server)
    lead_id = make_lead(world)
    for key in ("good-1@customer-a.example", PLANTED_ID.strip("<>"), "a b@c.example"):
        FiledMessage.create(key=key, folder="INBOX", uidvalidity=1, uid=None, lead=lead_id,
                            outcome="filed", created=world.clock.now())

    mailing.reply(world.session("admin"), lead_id, subject="Re: x", body="y")
    assert send_outbox() == 1

    [received] = smtp_server.wait_for(1)
    message = email.message_from_bytes(received.content, policy=policy.default)
    # The newest row that is a msg-id is the one threaded under; the others are skipped.
    assert message["In-Reply-To"] == "<good-1@customer-a.example>"
    assert message["References"] == "<good-1@customer-a.example>"
    assert "Reply-To" not in _header_names(received.content)


def test_a_customer_reply_with_a_valid_id_threads_the_answer(world, mailbox, smtp_server) -> None:  # noqa: F811,E501
    configure(world, imap=mailbox, smtp=smtp_server)
    lead_id = make_lead(world)
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] Question",
                            message_id="<q-1.abc@customer-a.example>"))
    assert _sync(world).filed == 1
    mailing.reply(world.session("admin"), lead_id, subject="Re: Question", body="Answer")
    assert send_outbox() == 1
    [received] = smtp_server.wait_for(1)
    assert received.message["In-Reply-To"] == "<q-1.abc@customer-a.example>"


@pytest.mark.parametrize(("sender", "reason"), [
    (f"{CLIENT}, other@evil.example", "the From header holds 2 addresses, not one"),
    (f'"{CLIENT}" <boss@evil.example>', "the From display name holds another address"),
    ("Undisclosed:;", "the From header holds 0 addresses"),
    ("not an address", "the From header is not a valid address"),
])
def test_a_from_that_is_not_one_plain_mailbox_is_an_unknown_sender(world, mailbox, sender,
                                                                    reason) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    raw = raw_mail(subject=f"[Lead#{lead_id}] hi").replace(
        f"From: Carla Client <{CLIENT}>".encode(), f"From: {sender}".encode())
    uid = mailbox.append(raw)

    report = _sync(world)

    assert (report.filed, report.unmatched) == (0, 1)
    assert _incoming(lead_id) == []
    entry = _ledger(uid)
    assert entry.outcome == "unmatched" and entry.reason.startswith("unknown sender: ")
    assert reason in entry.reason
    assert any(reason in line for line in report.details())
    assert FILED_KEYWORD not in mailbox.flags()[uid]


def test_a_stranger_who_knows_a_message_id_cannot_file_into_a_lead(world, mailbox,
                                                                   smtp_server) -> None:  # noqa: F811
    configure(world, imap=mailbox, smtp=smtp_server)
    lead_id = make_lead(world)
    sent = mailing.reply(world.session("admin"), lead_id, subject="Offer", body="Here.")
    stranger = mailbox.append(raw_mail(
        subject="Re: Offer", sender="stranger@evil.example",
        headers={"In-Reply-To": f"<{sent.message_id}>", "X-CRM-Lead": str(lead_id)}))
    customer = mailbox.append(raw_mail(
        subject="Re: Offer", headers={"In-Reply-To": f"<{sent.message_id}>"}))

    report = _sync(world)

    assert (report.filed, report.unmatched) == (1, 1)
    [entry] = _incoming(lead_id)
    assert entry.author == CLIENT
    assert _ledger(customer).outcome == "filed"
    refused = _ledger(stranger)
    assert refused.outcome == "unmatched"
    assert "sender stranger@evil.example is not its address" in refused.reason


@pytest.mark.parametrize(("header", "reason"), [
    ("X-Autoreply: yes", "X-Autoreply"),
    ("X-Autorespond: Out of office", "X-Autorespond"),
    ("List-Id: <announce.lists.example>", "list mail (List-Id)"),
    ("List-Unsubscribe: <mailto:leave@lists.example>", "list mail (List-Unsubscribe)"),
    ("Precedence: list", "Precedence: list"),
])
def test_auto_replies_and_list_mail_are_never_filed(world, mailbox, header, reason) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    name, value = header.split(": ", 1)
    uid = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] away", headers={name: value}))

    report = _sync(world)

    assert (report.filed, report.auto) == (0, 1)
    assert _ledger(uid).reason == reason and _incoming(lead_id) == []


def test_a_flood_from_one_sender_is_throttled_and_kept_as_unmatched(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.max_per_hour": "3"})
    lead_id = make_lead(world)
    uids = [mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] n{n}")) for n in range(5)]

    report = _sync(world)

    assert (report.filed, report.unmatched) == (3, 2)
    assert len(_incoming(lead_id)) == 3
    throttled = [_ledger(u) for u in uids[3:]]
    assert all(e.outcome == "unmatched" for e in throttled)
    assert throttled[0].reason == f"throttled: {CLIENT} sent more than 3 mails within an hour"
    flags = mailbox.flags()
    assert all(FILED_KEYWORD not in flags[u] for u in uids[3:])


def _many_parts(lead_id: int, count: int) -> bytes:
    boundary = "part-boundary"
    head = (f"From: Carla Client <{CLIENT}>\r\nSubject: [Lead#{lead_id}] many parts\r\n"
            "Message-ID: <many@customer-a.example>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n')
    part = f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    return (head + part * count + f"--{boundary}--\r\n").encode()


def test_ten_thousand_parts_are_filed_as_a_note_with_a_raw_copy(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    raw = _many_parts(lead_id, 10_000)
    big = mailbox.append(raw)
    after = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] next one", body="Still here"))

    report = _sync(world)

    assert (report.filed, report.quarantined, report.errors) == (2, 1, 0)
    note, following = _incoming(lead_id)
    assert f"This message ({len(raw)} bytes) was not read: it has 10000 MIME parts, over " \
           "the limit of 500." in note.text
    [copy] = re.findall(r"kept for replay as (\S+)\.$", note.text)
    assert (paths.quarantine_dir() / copy).read_bytes() == raw
    assert "Still here" in following.text
    assert _ledger(big).outcome == "oversized" and _ledger(after).outcome == "filed"


def test_limits_on_nesting_attachments_and_subject_come_from_the_settings(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.max_depth": "3", "mail.max_attachments": "2",
                                      "mail.max_subject_chars": "80"})
    lead_id = make_lead(world)
    nested = "".join(f"--b{n}\r\nContent-Type: multipart/mixed; boundary=b{n + 1}\r\n\r\n"
                     for n in range(5))
    deep = mailbox.append(
        (f"From: {CLIENT}\r\nSubject: [Lead#{lead_id}] deep\r\nMIME-Version: 1.0\r\n"
         f"Content-Type: multipart/mixed; boundary=b0\r\n\r\n{nested}").encode())
    files = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] files",
                                    attachments=[(f"f{n}.txt", b"x") for n in range(3)]))
    long = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] " + "long " * 30))

    report = _sync(world)

    assert (report.filed, report.quarantined) == (3, 3)
    notes = {e.text.split("\n", 2)[1]: e.text for e in _incoming(lead_id)}
    assert "its MIME parts nest 6 deep, over the limit of 3" in notes[
        f"Subject: [Lead#{lead_id}] deep"]
    assert "it has more than 2 attachments, the limit" in notes[
        f"Subject: [Lead#{lead_id}] files"]
    [long_note] = [t for t in notes.values() if "long long" in t]
    assert f"its subject is {len(f'[Lead#{lead_id}] ' + 'long ' * 30) - 1} characters, over " \
           "the limit of 80" in long_note
    assert {_ledger(u).outcome for u in (deep, files, long)} == {"oversized"}


def test_a_reused_message_id_with_other_content_is_kept_as_unmatched(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    first = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] first",
                                    message_id="<same@customer-a.example>"))
    assert _sync(world).filed == 1
    second = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] other words",
                                     message_id="<same@customer-a.example>"))

    report = _sync(world)

    assert (report.filed, report.duplicates, report.unmatched) == (0, 0, 1)
    assert len(_incoming(lead_id)) == 1
    reused = _ledger(second)
    assert (reused.outcome, reused.reason) == ("unmatched",
                                               "Message-ID reused with different content")
    assert reused.key.startswith("sha256:") and _ledger(first).outcome == "filed"
    assert FILED_KEYWORD not in mailbox.flags()[second]


def test_a_message_without_id_arriving_by_two_routes_is_filed_once(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    plain = raw_mail(subject=f"[Lead#{lead_id}] no id", message_id=None)
    one = (b"Return-Path: <client@customer-a.example>\r\nDelivered-To: crm@crm.example\r\n"
           b"Received: from mx1.crm.example by imap; Thu, 15 Jan 2026 10:00:01 +0100\r\n"
           + plain)
    two = (b"Received: from mx2.crm.example\r\n\tby imap; Thu, 15 Jan 2026 10:00:09 +0100\r\n"
           b"X-Original-To: sales@crm.example\r\n" + plain.replace(b"\r\n", b"\n"))
    first, second = mailbox.append(one), mailbox.append(two)

    report = _sync(world)

    assert (report.filed, report.duplicates) == (1, 1)
    assert len(_incoming(lead_id)) == 1
    flags = mailbox.flags()
    assert FILED_KEYWORD in flags[first] and FILED_KEYWORD in flags[second]


def test_an_unmatched_message_never_blocks_a_later_copy_that_names_the_lead(world,
                                                                            mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    # Unmatched (no token), then its exact twin: neither is flagged as filed.
    bare = raw_mail(subject="Question about the offer", message_id="<q@customer-a.example>")
    twins = [mailbox.append(bare), mailbox.append(bare)]
    report = _sync(world)
    assert (report.filed, report.unmatched, report.duplicates) == (0, 1, 1)
    assert not any(FILED_KEYWORD in mailbox.flags()[u] for u in twins)
    # The customer sends it again with the token, same Message-ID: it is filed.
    again = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] Question about the offer",
                                    message_id="<q@customer-a.example>"))

    later = _sync(world)

    assert later.filed == 1
    [entry] = _incoming(lead_id)
    assert "Question about the offer" in entry.text
    assert _ledger(again).outcome == "filed"
    assert FILED_KEYWORD in mailbox.flags()[again]
    assert not any(FILED_KEYWORD in mailbox.flags()[u] for u in twins)


def test_8bit_text_without_a_charset_is_read_by_detection_and_says_so(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    text = "Здравствуйте, пришлите, пожалуйста, счёт на оплату по договору."
    raw = raw_mail(subject=f"[Lead#{lead_id}] счёт", body=text.encode("koi8-r")).replace(
        b"Content-Type: text/plain; charset=utf-8", b"Content-Type: text/plain")
    mailbox.append(raw)

    assert _sync(world).filed == 1

    [entry] = _incoming(lead_id)
    assert text in entry.text
    assert "[no charset declared; the text was read as koi8_r (a guess)]" in entry.text
