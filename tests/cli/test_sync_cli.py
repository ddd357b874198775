"""`crm --sync [--watch]` as a real subprocess against a real Dovecot."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crm_tui.mail.imap import FILED_KEYWORD
from crm_tui.models import FiledMessage, LeadActivity
from crm_tui.services.records import get_kind
from tests.fixtures.mail import dovecot_server, free_port  # noqa: F401
from tests.integration.mail_helpers import configure, deliver, make_lead, raw_mail

pytestmark = pytest.mark.mail


def _crm(data_dir: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "crm_tui", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _filed(lead_id: int) -> int:
    return (LeadActivity.select().where(LeadActivity.lead == lead_id,
                                        LeadActivity.kind == "email_in").count())


def test_sync_prints_a_summary_and_exits_0(world, mailbox, run_crm) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    mailbox.append(raw_mail(subject=f"Re: [Lead#{lead_id}] Offer", body="Yes please"))
    mailbox.append(raw_mail(subject="Hello, who are you?"))

    done = run_crm("--sync")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == ("sync: filed 1, duplicates 0, unmatched 1, auto 0, quarantined 0, "
                        "errors 0")
    assert "unmatched: no [Lead#] token" in lines[1]
    assert _filed(lead_id) == 1
    again = run_crm("--sync")
    assert again.returncode == 0 and again.stdout.startswith("sync: filed 0, duplicates 0")


def test_sync_exit_codes(world, run_crm) -> None:
    # No mail server: the contract duties still run (a contract's draft falls due).
    contract = get_kind("contract").create(world.session("admin"), {
        "name": "Support", "company": str(world.cid("Customer #A")),
        "billing_period": "monthly", "billing_lines": [{"description": "Support",
                                                       "amount": "100"}]})
    not_set = run_crm("--sync")
    assert not_set.returncode == 0, not_set.stderr
    assert "contract duties only" in not_set.stdout
    drafts = json.loads(run_crm("list", "invoice", "--json").stdout)
    assert drafts and {(d["state"], d["bill_id"], tuple(d["contracts"])) for d in drafts} == {
        ("draft", None, (contract,))}
    # Each period once: a second pass makes none again.
    assert run_crm("--sync").returncode == 0
    assert len(json.loads(run_crm("list", "invoice", "--json").stdout)) == len(drafts)

    port = free_port()
    configure(world, **{"mail.imap_host": "127.0.0.1", "mail.imap_port": str(port),
                        "mail.imap_security": "none"})
    down = run_crm("--sync")
    assert down.returncode == 4
    assert f"127.0.0.1:{port}" in down.stderr and down.stderr.count("\n") == 1
    assert "Traceback" not in down.stderr
    assert run_crm("--sync", "list", "lead").returncode == 2
    assert run_crm("--watch").returncode == 2


def test_wrong_password_is_exit_4(world, mailbox, run_crm) -> None:
    configure(world, imap=mailbox, **{"mail.imap_password": "wrong"})
    done = run_crm("--sync")
    assert done.returncode == 4 and "refused the login" in done.stderr


def test_sync_never_loads_textual(world, mailbox, data_dir) -> None:
    configure(world, imap=mailbox)
    code = ("import sys, runpy; sys.argv = ['crm', '--sync']\n"
            "try:\n    runpy.run_module('crm_tui', run_name='__main__')\n"
            "except SystemExit as e:\n    code = e.code\n"
            "print('TEXTUAL' if any(m.startswith('textual') for m in sys.modules) else 'CLEAN',"
            " code)")
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.stdout.splitlines()[-1] == "CLEAN 0", done.stdout + done.stderr


def test_killed_sync_then_rerun_files_each_message_once(world, mailbox, data_dir) -> None:
    # A backlog from one customer: the hourly limit per sender is not what is tested.
    configure(world, imap=mailbox, **{"mail.max_per_hour": "0"})
    lead_id = make_lead(world)
    total = 1500
    deliver(mailbox, [raw_mail(subject=f"[Lead#{lead_id}] n{n}", body=f"number {n}")
                      for n in range(total)])

    proc = _crm(data_dir, "--sync")
    deadline = time.monotonic() + 60
    while FiledMessage.select().count() == 0 and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)  # no chance to clean up: the worst case
    proc.communicate(timeout=30)
    at_kill = FiledMessage.select().count()
    assert 0 < at_kill < total, "the sync must be killed part-way for this test to mean anything"

    rerun = _crm(data_dir, "--sync")
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, err
    assert _filed(lead_id) == total
    assert FiledMessage.select().count() == total
    numbers = sorted(int(e.text.rsplit("number ", 1)[1]) for e in LeadActivity.select().where(
        LeadActivity.kind == "email_in"))
    assert numbers == list(range(total))
    flags = mailbox.flags()
    assert len(flags) == total and all(FILED_KEYWORD in f for f in flags.values())
    # No attachment file was left behind by the killed run.
    assert not list((data_dir / "pending").glob("*.list"))


def test_sigterm_stops_a_single_pass_between_batches(world, mailbox, data_dir) -> None:
    # A backlog from one customer: the hourly limit per sender is not what is tested.
    configure(world, imap=mailbox, **{"mail.max_per_hour": "0"})
    lead_id = make_lead(world)
    total = 1500
    deliver(mailbox, [raw_mail(subject=f"[Lead#{lead_id}] n{n}") for n in range(total)])

    proc = _crm(data_dir, "--sync")
    deadline = time.monotonic() + 60
    while FiledMessage.select().count() == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)

    assert proc.returncode == 0, err
    assert "stopped before the end" in out, out
    stopped_at = _filed(lead_id)
    assert 0 < stopped_at < total
    # Everything filed was also flagged: the stop came between batches.
    assert sum(FILED_KEYWORD in f for f in mailbox.flags().values()) == stopped_at
    rerun = _crm(data_dir, "--sync")
    rerun.communicate(timeout=120)
    assert rerun.returncode == 0 and _filed(lead_id) == total


def test_two_sync_processes_at_once_file_once(world, mailbox, data_dir) -> None:
    # A backlog from one customer: the hourly limit per sender is not what is tested.
    configure(world, imap=mailbox, **{"mail.max_per_hour": "0"})
    lead_id = make_lead(world)
    total = 400
    deliver(mailbox, [raw_mail(subject=f"Re: [Lead#{lead_id}] m{n}",
                               attachments=[("a.txt", b"x")] if n % 50 == 0 else [])
                      for n in range(total)])

    procs = [_crm(data_dir, "--sync") for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]

    assert [p.returncode for p in procs] == [0, 0], outputs
    filed = [int(out.split("filed ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(filed) == total
    assert _filed(lead_id) == total
    files = data_dir / "files"
    assert len(list(files.iterdir())) == total // 50  # no orphan or doubled attachment


def test_watch_files_new_mail_and_stops_cleanly_on_sigterm(world, mailbox, data_dir) -> None:
    configure(world, imap=mailbox, **{"mail.poll_seconds": "30"})
    lead_id = make_lead(world)
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] before"))

    proc = _crm(data_dir, "--sync", "--watch")
    try:
        assert proc.stdout.readline().startswith("sync: watching INBOX on 127.0.0.1:")
        assert "filed 1," in proc.stdout.readline()
        # Delivered while it waits in IDLE: filed without waiting for the poll interval.
        mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] during"))
        assert "filed 1," in proc.stdout.readline()
        assert _filed(lead_id) == 2
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.strip().endswith("in total: filed 2, duplicates 0, unmatched 0, auto 0, "
                                "quarantined 0, errors 0")
    assert "Traceback" not in err


def test_sigint_during_watch_also_stops(world, mailbox, data_dir) -> None:
    configure(world, imap=mailbox)
    proc = _crm(data_dir, "--sync", "--watch")
    try:
        assert proc.stdout.readline().startswith("sync: watching")
        time.sleep(0.5)  # into the IDLE wait
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "sync: stopped" in out and "Traceback" not in err


def test_the_pass_result_kept_for_status_lines_stays_english(world, run_crm) -> None:
    # Every operator's status line reads the stored result, whatever the worker's language;
    # the worker's own output speaks its language.
    from crm_tui.models import MailWorkerState

    done = run_crm("--lang", "es", "--sync")
    assert done.returncode == 0, done.stderr
    assert "no hay servidor de correo configurado" in done.stdout
    [row] = MailWorkerState.select()
    assert row.result == "outbox: sent 0, retrying 0, failed 0"
