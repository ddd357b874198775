"""The outbox: replies queued with their activity entry, sent by the mail worker against a real
SMTP listener (aiosmtpd), retried with backoff, claimed once by parallel workers."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import time

import pytest

from crm_tui.errors import Conflict, NotFound
from crm_tui.models import OutboxMail, SentMail
from crm_tui.services import mailing, outbox
from crm_tui.services.context import FrozenClock
from crm_tui.services.records import get_kind
from tests.fixtures.mail import free_port, smtp_server  # noqa: F401
from tests.integration.mail_helpers import CLIENT, REFERENCE, configure, make_lead
from tests.unit.lead_world import grant_lead_bits

pytestmark = pytest.mark.mail

LATER = dt.datetime(2026, 6, 1, 12, 0)


class _Closed:
    """An SMTP address where nothing listens (a port just found free)."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()


def _timeline_mail(session, lead_id: int) -> dict:
    [entry] = [e for e in get_kind("lead").get(session, lead_id)["activity"]
               if e["kind"] == "email_out"]
    return entry["mail"]


def test_reply_is_queued_with_its_entry_then_sent_once(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    grant_lead_bits(world)
    lead_id = make_lead(world)
    user1 = world.session("user1")

    result = mailing.reply(user1, lead_id, subject="Offer", body="Here it is.")

    # Queued, not sent: the command never talks to SMTP; the Message-ID routes answers already.
    time.sleep(0.2)
    assert smtp_server.messages == []
    assert result.status == "queued"
    row = OutboxMail.get_by_id(result.mail_id)
    assert (row.status, row.attempts, row.activity_id) == ("queued", 0, result.activity_id)
    assert SentMail.get(SentMail.message_id == result.message_id).lead_id == lead_id
    assert _timeline_mail(user1, lead_id)["status"] == "queued"

    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER))

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    [received] = smtp_server.wait_for(1)
    assert sorted(received.rcpt_tos) == sorted([CLIENT, REFERENCE])
    assert received.message["Message-ID"].strip("<>") == result.message_id
    assert "Here it is." in received.message.get_payload()
    row = OutboxMail.get_by_id(result.mail_id)
    assert row.status == "sent" and row.sent == LATER and row.attempts == 1
    assert row.answer.startswith("250 ")
    mail = _timeline_mail(user1, lead_id)
    assert mail["status"] == "sent" and mail["answer"].startswith("250 ")

    # A second pass finds nothing due: sent exactly once.
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER)).sent == 0
    time.sleep(0.2)
    assert len(smtp_server.messages) == 1


def test_smtp_down_retries_with_backoff_then_sends_once(world, smtp_server) -> None:  # noqa: F811
    closed = _Closed()
    configure(world, smtp=closed)
    admin = world.session("admin")
    lead_id = make_lead(world)
    result = mailing.forward(admin, lead_id, "boss@example.org")
    at = LATER

    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at))

    assert (report.sent, report.retrying) == (0, 1)
    row = OutboxMail.get_by_id(result.mail_id)
    assert row.status == "queued" and row.attempts == 1
    assert row.next_attempt == at + dt.timedelta(minutes=1)
    assert f"{closed.port}" in row.answer and "unreachable" in row.answer
    assert _timeline_mail(admin, lead_id)["answer"] == row.answer
    # Not due before its time.
    assert not outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at)).changed
    # The second failure waits 5 minutes.
    at += dt.timedelta(minutes=1)
    outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at))
    row = OutboxMail.get_by_id(result.mail_id)
    assert row.attempts == 2 and row.next_attempt == at + dt.timedelta(minutes=5)

    configure(world, smtp=smtp_server)
    at += dt.timedelta(minutes=5)
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at)).sent == 1
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["boss@example.org"]
    assert OutboxMail.get_by_id(result.mail_id).status == "sent"
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at)).sent == 0


def test_after_the_last_attempt_the_mail_fails_with_the_answer(world) -> None:
    configure(world, smtp=_Closed())
    admin = world.session("admin")
    lead_id = make_lead(world)
    result = mailing.reply(admin, lead_id, subject="x", body="y")
    at = LATER
    for _ in range(outbox.MAX_ATTEMPTS):
        outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at))
        at += dt.timedelta(hours=2)
    row = OutboxMail.get_by_id(result.mail_id)
    assert (row.status, row.attempts) == ("failed", outbox.MAX_ATTEMPTS)
    assert "unreachable" in row.answer
    assert _timeline_mail(admin, lead_id)["status"] == "failed"
    # Failed stays failed until someone retries it.
    assert not outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(at)).changed
    assert outbox.retry(admin, result.mail_id)["status"] == "queued"
    assert OutboxMail.get_by_id(result.mail_id).attempts == 0


def test_cancel_retry_and_hidden_rows(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    grant_lead_bits(world)
    admin = world.session("admin")
    lead_id = make_lead(world)  # Customer #A: user1 may modify, user2 sees nothing
    first = mailing.reply(admin, lead_id, subject="one", body="1")
    second = mailing.reply(admin, lead_id, subject="two", body="2")

    # user2 may not see the lead: its mail answers like mail that does not exist.
    user2 = world.session("user2")
    assert outbox.list_mail(user2) == []
    for mail_id in (first.mail_id, 9999):
        with pytest.raises(NotFound) as missing:
            outbox.cancel(user2, mail_id)
        assert str(missing.value) == f"outbox mail {mail_id} does not exist"
        with pytest.raises(NotFound):
            outbox.retry(user2, mail_id)
    assert [r["id"] for r in outbox.list_mail(world.session("user1"))] == [second.mail_id,
                                                                            first.mail_id]

    assert outbox.cancel(world.session("user1"), first.mail_id)["status"] == "cancelled"
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER)).sent == 1
    [received] = smtp_server.wait_for(1)
    assert received.message["Message-ID"].strip("<>") == second.message_id
    with pytest.raises(Conflict, match="already sent"):
        outbox.cancel(admin, second.mail_id)
    with pytest.raises(Conflict, match="already sent"):
        outbox.retry(admin, second.mail_id)

    # A cancelled mail goes out once retried.
    outbox.retry(admin, first.mail_id)
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER)).sent == 1
    assert len(smtp_server.wait_for(2)) == 2
    assert OutboxMail.get_by_id(first.mail_id).status == "sent"


# -- the real commands ------------------------------------------------------------------------


def test_cli_reply_with_smtp_down_is_queued_then_sync_sends_it_once(
    world, smtp_server, run_crm  # noqa: F811
) -> None:
    grant_lead_bits(world)
    configure(world, smtp=_Closed())
    lead_id = make_lead(world)

    done = run_crm("--user", "user1", "lead", "reply", str(lead_id), "--subject", "Offer",
                   "--body-file", "-", input="Dear Carla\n")

    assert done.returncode == 0, done.stderr
    assert "queued as outbox mail" in done.stderr
    message_id = done.stdout.strip().strip("<>")
    listed = json.loads(run_crm("--user", "user1", "outbox", "list", "--json").stdout)
    assert [(r["status"], r["message_id"]) for r in listed] == [("queued", message_id)]

    # The worker with SMTP still down: exit 0, the mail waits and says why.
    down = run_crm("--sync")
    assert down.returncode == 0, down.stderr
    assert "outbox: sent 0, retrying 1, failed 0" in down.stdout
    [row] = json.loads(run_crm("--user", "user1", "outbox", "list", "--json").stdout)
    assert row["status"] == "queued" and "unreachable" in row["answer"]

    # SMTP up; `outbox retry` makes it due now (the backoff would wait a minute).
    configure(world, smtp=smtp_server)
    retried = run_crm("--user", "user1", "outbox", "retry", str(row["id"]))
    assert retried.returncode == 0 and "queued" in retried.stdout
    up = run_crm("--sync")
    assert up.returncode == 0, up.stderr
    assert "outbox: sent 1" in up.stdout
    assert run_crm("--sync").stdout.strip() == ""  # nothing left to do, nothing printed
    [received] = smtp_server.wait_for(1)
    assert received.message["Message-ID"].strip("<>") == message_id
    time.sleep(0.2)
    assert len(smtp_server.messages) == 1

    cancelled = run_crm("--user", "user1", "outbox", "cancel", str(row["id"]))
    assert cancelled.returncode == 1 and "cannot be cancelled" in cancelled.stderr
    hidden = run_crm("--user", "user2", "outbox", "cancel", str(row["id"]))
    missing = run_crm("--user", "user2", "outbox", "cancel", "9999")
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace(str(row["id"]), "N") == missing.stderr.replace("9999", "N")


def test_parallel_workers_send_each_mail_once(any_world, any_db, smtp_server,  # noqa: F811
                                              data_dir) -> None:
    """Three `crm --sync` processes at once, on each backend: every mail goes out once."""
    world = any_world
    configure(world, smtp=smtp_server)
    admin = world.session("admin")
    lead_id = make_lead(world)
    ids = [mailing.reply(admin, lead_id, subject=f"n{i}", body=str(i)).message_id
           for i in range(12)]
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-m", "crm_tui", "--db", any_db, "--sync"],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs

    received = smtp_server.wait_for(len(ids))
    time.sleep(0.3)
    got = [m.message["Message-ID"].strip("<>") for m in smtp_server.messages]
    assert sorted(got) == sorted(ids)  # each once, none twice
    assert OutboxMail.select().where(OutboxMail.status == "sent").count() == len(ids)
    assert len(received) == len(ids)



def test_watch_sends_mail_queued_while_it_runs(world, smtp_server, data_dir) -> None:  # noqa: F811,E501
    """`crm --sync --watch` (the worker the app relies on), with only SMTP set: a reply queued
    while it waits asks for a pass, and goes out in seconds, not at the next poll."""
    import signal

    from crm_tui.services import mail_worker

    configure(world, smtp=smtp_server, **{"mail.poll_seconds": "300"})
    lead_id = make_lead(world)
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "crm_tui", "--sync", "--watch"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)
        result = mailing.reply(world.session("admin"), lead_id, subject="Later", body="x")
        assert mail_worker.status().pending
        [received] = smtp_server.wait_for(1, timeout=10)
        assert received.message["Message-ID"].strip("<>") == result.message_id
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "outbox: sent 1, retrying 0, failed 0" in out
    assert OutboxMail.get_by_id(result.mail_id).status == "sent"
    assert len(smtp_server.messages) == 1


def test_a_claim_left_by_a_crashed_worker_is_taken_again_after_its_lease(world, smtp_server) -> None:  # noqa: F811,E501
    configure(world, smtp=smtp_server)
    lead_id = make_lead(world)
    result = mailing.reply(world.session("admin"), lead_id, subject="x", body="y")
    claimed = outbox._claim(LATER)  # a worker claims it, then dies before it sends
    assert claimed.id == result.mail_id
    assert OutboxMail.get_by_id(result.mail_id).status == "sending"

    during = LATER + outbox.LEASE - dt.timedelta(seconds=1)
    assert not outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(during)).changed
    with pytest.raises(Conflict, match="being sent"):
        outbox.cancel(world.session("admin"), result.mail_id)
    after = LATER + outbox.LEASE
    assert outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(after)).sent == 1
    row = OutboxMail.get_by_id(result.mail_id)
    assert (row.status, row.attempts) == ("sent", 2)
    assert len(smtp_server.wait_for(1)) == 1


@pytest.fixture
def refusing_smtp():
    """A real aiosmtpd listener that refuses every recipient with 550 (a permanent answer)."""
    from aiosmtpd.controller import Controller

    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, options):  # noqa: N802
            return f"550 5.1.1 <{address}>: mailbox unknown"

    controller = Controller(Refuse(), hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


def test_a_permanent_refusal_fails_at_once_with_the_servers_answer(world, refusing_smtp) -> None:
    configure(world, **{"mail.smtp_host": "127.0.0.1", "mail.smtp_port": str(refusing_smtp.port),
                        "mail.smtp_security": "none"})
    admin = world.session("admin")
    lead_id = make_lead(world)
    result = mailing.reply(admin, lead_id, subject="x", body="y")

    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER))

    assert (report.sent, report.retrying, report.failed) == (0, 0, 1)
    row = OutboxMail.get_by_id(result.mail_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert f"{CLIENT} (550 5.1.1 <{CLIENT}>: mailbox unknown)" in row.answer
    mail = _timeline_mail(admin, lead_id)
    assert mail["status"] == "failed" and "550 5.1.1" in mail["answer"]


def test_a_mail_error_reads_in_spanish_while_the_stored_answer_stays_english(
    world, run_crm
) -> None:
    # The outbox answer and the worker's pass result are stored once for every operator:
    # English. Each face reads a known mail message in its own reader's language.
    grant_lead_bits(world)
    closed = _Closed()
    configure(world, smtp=closed)
    lead_id = make_lead(world)
    done = run_crm("--user", "user1", "lead", "reply", str(lead_id), "--subject", "Offer",
                   "--body-file", "-", input="Dear Carla\n")
    assert done.returncode == 0, done.stderr

    down = run_crm("--lang", "es", "--sync")
    assert down.returncode == 0, down.stderr
    assert (f"(lead {lead_id}) de nuevo en cola: servidor SMTP 127.0.0.1:{closed.port} "
            "inalcanzable:") in down.stdout
    assert "unreachable" not in down.stdout
    [row] = json.loads(run_crm("--user", "user1", "outbox", "list", "--json").stdout)
    assert row["answer"].startswith(f"SMTP server 127.0.0.1:{closed.port} unreachable: ")
    assert OutboxMail.get_by_id(row["id"]).answer == row["answer"]

    listed = run_crm("--lang", "es", "--user", "user1", "outbox", "list")
    assert listed.returncode == 0, listed.stderr
    # The table shortens a long cell; its start is enough to tell the language.
    assert f"servidor SMTP 127.0.0.1:{closed.port} inalcanza" in listed.stdout
    assert "SMTP server" not in listed.stdout
    english = run_crm("--lang", "en", "--user", "user1", "outbox", "list")
    assert f"SMTP server 127.0.0.1:{closed.port} unreacha" in english.stdout


def test_the_status_line_reads_a_failed_pass_in_the_readers_language(world, run_crm) -> None:
    from crm_tui.i18n import in_language
    from crm_tui.services import mail_worker

    closed = _Closed()
    imap = type("Imap", (), {"host": "127.0.0.1", "port": closed.port, "user": "u",
                             "password": "p"})
    configure(world, imap=imap)
    failed = run_crm("--lang", "es", "--sync")
    assert failed.returncode == 4
    assert f"servidor IMAP 127.0.0.1:{closed.port} inalcanzable:" in failed.stderr

    status = mail_worker.status()
    assert status.ok is False
    assert status.result.startswith(f"IMAP server 127.0.0.1:{closed.port} unreachable: ")
    with in_language("es"):
        line = status.text()
    assert "servidor IMAP 127.0.0.1" in line and "inalcanzable" in line, line
    assert f"IMAP server 127.0.0.1:{closed.port} unreachable" in status.text()
