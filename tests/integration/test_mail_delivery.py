"""Delivery of the CRM's mail, against a real aiosmtpd and Dovecot: non-ASCII addresses over
SMTPUTF8 (offered or not) and bounces (RFC 3464 reports) filed on the lead."""

from __future__ import annotations

import datetime as dt
import time
from email import message_from_string, policy

import pytest

from crm_tui.mail.imap import FILED_KEYWORD
from crm_tui.models import FiledMessage, LeadActivity, OutboxMail
from crm_tui.services import mail_bounces, mailing, outbox
from crm_tui.services import mail_sync as ingest
from crm_tui.services.context import FrozenClock
from crm_tui.services.records import get_kind
from tests.fixtures.mail import (  # noqa: F401
    ascii_smtp_server,
    dovecot_server,
    smtp_server,
    smtputf8_server,
)
from tests.integration.mail_helpers import CLIENT, REFERENCE, SENDER, configure, make_lead
from tests.unit.lead_world import grant_lead_bits

pytestmark = pytest.mark.mail

LATER = dt.datetime(2026, 6, 1, 12, 0)
WIDE = "josé.garcía@example.es"  # a non-ASCII local part, as a third of the demo leads have
REJECTED = (f"550 5.1.1 <{CLIENT}>: Recipient address rejected: User unknown in virtual "
            "mailbox table")


def _timeline(session, lead_id: int) -> list[dict]:
    return get_kind("lead").get(session, lead_id)["activity"]


def _outgoing(session, lead_id: int) -> dict:
    [entry] = [e for e in _timeline(session, lead_id) if e["kind"] == "email_out"]
    return entry["mail"]


# -- SMTPUTF8 ------------------------------------------------------------------------------------


def test_a_non_ascii_address_goes_out_over_smtputf8(world, smtputf8_server) -> None:  # noqa: F811
    configure(world, smtp=smtputf8_server)
    admin = world.session("admin")
    lead_id = make_lead(world, "José García", WIDE)

    result = mailing.reply(admin, lead_id, subject="Oferta", body="Hola José")
    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER))

    assert (report.sent, report.failed) == (1, 0)
    [received] = smtputf8_server.wait_for(1)
    assert "SMTPUTF8" in received.mail_options
    assert sorted(received.rcpt_tos) == sorted([WIDE, REFERENCE])
    # RFC 6532: the header is UTF-8 text (the bytes parser would keep it as surrogates).
    message = message_from_string(received.content.decode("utf-8"), policy=policy.default)
    assert [a.addr_spec for a in message["To"].addresses] == [WIDE]
    assert message["Message-ID"].strip("<>") == result.message_id
    assert "Hola José".encode() in received.content
    assert OutboxMail.get_by_id(result.mail_id).status == "sent"
    assert _outgoing(admin, lead_id)["status"] == "sent"


def test_without_smtputf8_the_mail_fails_once_with_the_reason_on_the_timeline(
        world, ascii_smtp_server) -> None:  # noqa: F811
    configure(world, smtp=ascii_smtp_server)
    admin = world.session("admin")
    wide_lead = make_lead(world, "José García", WIDE)
    plain_lead = make_lead(world)
    wide = mailing.reply(admin, wide_lead, subject="Oferta", body="Hola")
    plain = mailing.reply(admin, plain_lead, subject="Offer", body="Hello")

    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER))

    # The ASCII mail goes out; the other fails at once: retrying cannot help.
    assert (report.sent, report.retrying, report.failed) == (1, 0, 1)
    [received] = ascii_smtp_server.wait_for(1)
    assert received.message["Message-ID"].strip("<>") == plain.message_id
    assert received.mail_options == []
    row = OutboxMail.get_by_id(wide.mail_id)
    reason = (f"not sent: the SMTP server {ascii_smtp_server.host}:{ascii_smtp_server.port} does not offer "
              f"SMTPUTF8, which the address {WIDE} (non-ASCII) needs")
    assert (row.status, row.attempts, row.answer) == ("failed", 1, reason)
    assert _outgoing(admin, wide_lead) == {"id": wide.mail_id, "status": "failed",
                                           "answer": reason, "attempts": 1}
    assert any(reason in line for line in report.lines)
    # No retry loop: a day later nothing is tried again.
    later = outbox.send_due(mailing.mail_config().smtp,
                            clock=FrozenClock(LATER + dt.timedelta(days=1)))
    assert not later.changed
    time.sleep(0.2)
    assert len(ascii_smtp_server.messages) == 1


# -- bounces -------------------------------------------------------------------------------------


def _postfix_bounce(original: bytes, *, shape: str = "message/rfc822", recipient: str = CLIENT,
                    action: str = "failed", diagnostic: str = REJECTED) -> bytes:
    """A bounce as Postfix writes it (RFC 3464), returning ``original`` whole or its header."""
    boundary = "3F2A1C0123.1768467600/mx.crm.example"
    if shape == "text/rfc822-headers":
        returned = original.split(b"\r\n\r\n", 1)[0] + b"\r\n"
        description = "Undelivered Message Headers"
    else:
        returned = original
        description = "Undelivered Message"
    folded = diagnostic.replace(" rejected: ", "\r\n    rejected: ")
    head = (
        "Return-Path: <>\r\n"
        "Received: by mx.crm.example (Postfix)\r\n\tid 3F2A1C0123; Thu, 15 Jan 2026 10:00:05 "
        "+0100 (CET)\r\n"
        "Date: Thu, 15 Jan 2026 10:00:05 +0100 (CET)\r\n"
        "From: MAILER-DAEMON@mx.crm.example (Mail Delivery System)\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"To: {SENDER}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        f'\tboundary="{boundary}"\r\n'
        "Content-Transfer-Encoding: 8bit\r\n"
        "Message-Id: <20260115090005.3F2A1C0123@mx.crm.example>\r\n"
        "\r\n"
        "This is a MIME-encapsulated message.\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Notification\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n"
        "\r\n"
        "This is the mail system at host mx.crm.example.\r\n"
        "\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients. It's attached below.\r\n"
        "\r\n"
        "                   The mail system\r\n"
        "\r\n"
        f"<{recipient}>: host mx.customer-a.example[203.0.113.5] said:\r\n"
        f"    {folded} (in reply to RCPT TO command)\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Description: Delivery report\r\n"
        "Content-Type: message/delivery-status\r\n"
        "\r\n"
        "Reporting-MTA: dns; mx.crm.example\r\n"
        "X-Postfix-Queue-ID: 3F2A1C0123\r\n"
        f"X-Postfix-Sender: rfc822; {SENDER}\r\n"
        "Arrival-Date: Thu, 15 Jan 2026 10:00:00 +0100 (CET)\r\n"
        "\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Original-Recipient: rfc822;{recipient}\r\n"
        f"Action: {action}\r\n"
        "Status: 5.1.1\r\n"
        "Remote-MTA: dns; mx.customer-a.example\r\n"
        f"Diagnostic-Code: smtp; {folded}\r\n"
        "\r\n"
        f"--{boundary}\r\n"
        f"Content-Description: {description}\r\n"
        f"Content-Type: {shape}\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    )
    return head.encode() + returned + f"\r\n--{boundary}--\r\n".encode()


def _sent_mail(world, smtp_server, lead_id: int):  # noqa: F811
    """Reply to the lead as its owner's colleague and send it; (result, bytes as sent)."""
    result = mailing.reply(world.session("user1"), lead_id, subject="Offer", body="Here.")
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER)).sent == 1
    [received] = smtp_server.wait_for(1)
    return result, received.content


@pytest.mark.parametrize("shape", ["message/rfc822", "text/rfc822-headers"])
def test_a_bounce_of_crm_mail_is_filed_as_delivery_failed_and_fails_the_outbox_mail(
        world, mailbox, smtp_server, shape) -> None:  # noqa: F811
    configure(world, imap=mailbox, smtp=smtp_server)
    grant_lead_bits(world)
    lead_id = make_lead(world)  # Customer #A: user1 works on it, user2 sees nothing
    result, sent = _sent_mail(world, smtp_server, lead_id)
    mailbox.deliver_lda(_postfix_bounce(sent, shape=shape))
    [uid] = mailbox.uids()

    report = ingest.run_once(mailing.mail_config(), clock=world.clock)

    assert (report.filed, report.auto, report.unmatched) == (1, 0, 0)
    line = f"delivery failed to {CLIENT}: {REJECTED}"
    user1 = world.session("user1")
    [bounce] = [e for e in _timeline(user1, lead_id) if e["kind"] == "email_in"]
    assert line in bounce["text"].splitlines()
    assert bounce["text"].startswith("From: mailer-daemon@mx.crm.example\n")
    row = OutboxMail.get_by_id(result.mail_id)
    assert (row.status, row.answer) == ("failed", line)
    assert _outgoing(user1, lead_id)["status"] == "failed"
    entry = FiledMessage.get(FiledMessage.uid == int(uid))
    assert (entry.outcome, entry.lead_id, entry.reason) == ("filed", lead_id,
                                                            mail_bounces.VIA)
    assert FILED_KEYWORD in mailbox.flags()[uid]
    # Filed once: the next pass finds nothing new.
    assert not ingest.run_once(mailing.mail_config(), clock=world.clock).changed


@pytest.mark.parametrize(("change", "why"), [
    ({"original": "other"}, "reports on mail the CRM did not send"),
    ({"recipient": "someone@elsewhere.example"}, "names no recipient of the mail"),
    ({"action": "delayed"}, "a delay warning, not a failure"),
])
def test_a_report_that_is_not_a_failure_of_crm_mail_is_never_filed(
        world, mailbox, smtp_server, change, why) -> None:  # noqa: F811
    configure(world, imap=mailbox, smtp=smtp_server)
    grant_lead_bits(world)
    lead_id = make_lead(world)
    result, sent = _sent_mail(world, smtp_server, lead_id)
    if change.pop("original", None):
        sent = sent.replace(result.message_id.encode(), b"not-ours.1@crm.example")
    mailbox.deliver_lda(_postfix_bounce(sent, **change))

    report = ingest.run_once(mailing.mail_config(), clock=world.clock)

    assert (report.filed, report.auto) == (0, 1), why
    assert not LeadActivity.select().where(LeadActivity.lead == lead_id,
                                           LeadActivity.kind == "email_in").exists()
    assert OutboxMail.get_by_id(result.mail_id).status == "sent"
