"""Delivery of the CRM's mail, against a real aiosmtpd and Dovecot: non-ASCII addresses over
SMTPUTF8 (offered or not) and bounces (RFC 3464 reports) filed on the lead."""

from __future__ import annotations

import datetime as dt
import time
from email import message_from_string, policy

import pytest

from crm_tui.models import OutboxMail
from crm_tui.services import mailing, outbox
from crm_tui.services.context import FrozenClock
from crm_tui.services.records import get_kind
from tests.fixtures.mail import (  # noqa: F401
    ascii_smtp_server,
    smtputf8_server,
)
from tests.integration.mail_helpers import REFERENCE, configure, make_lead

pytestmark = pytest.mark.mail

LATER = dt.datetime(2026, 6, 1, 12, 0)
WIDE = "josé.garcía@example.es"  # a non-ASCII local part, as a third of the demo leads have


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
