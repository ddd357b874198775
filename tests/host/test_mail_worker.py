"""Only the mail worker talks to the mail servers: the app shows the worker's last sync
and `s` asks it for one; `crm --sync --watch` answers a request without waiting out its
IDLE, and records each pass."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest

from crm_tui.models import MailWorkerState
from crm_tui.services import mail_worker, settings
from tests.fixtures.mail import dovecot_server, free_port  # noqa: F401
from tests.integration.mail_helpers import configure
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle
from widgets.top_bar import TopBar


def status_line(app) -> str:
    """The top bar's whole status (at 80 columns its last parts may be left out of view,
    kept in the tooltip)."""
    return app.screen.query_one(TopBar).status


async def test_s_asks_the_worker_and_never_syncs_itself(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(1.2)  # the first read of the worker's status
        await settle(pilot)
        assert "mail: not synced" in status_line(app)
        await press(pilot, "s")
        row = MailWorkerState.get_by_id(mail_worker.ROW)
        assert row.requested_by == "user1"
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        assert now - dt.timedelta(seconds=30) < row.requested_at <= now
        assert row.started_at is None  # nothing ran: the app asks, the worker syncs
        assert mail_worker.requested()
        assert "sync asked" in status_line(app)
        assert app.said("Asked the mail worker to sync now")


async def test_status_line_shows_the_workers_last_sync(world):
    finished = dt.datetime(2026, 1, 15, 9, 12)
    mail_worker.record_pass(finished - dt.timedelta(seconds=3), finished, True,
                            "3 filed, 1 unmatched, 0 errors")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.pause(1.2)
        await settle(pilot)
        line = status_line(app)
        assert "mail: synced 2026-01-15 09:12 UTC" in line
        assert "3 filed, 1 unmatched, 0 errors" in line
    mail_worker.record_pass(finished, finished, False, "IMAP server imap.example unreachable")
    assert mail_worker.status().text().startswith("mail: failed 2026-01-15 09:12 UTC · IMAP")


def test_a_pass_answers_the_request(world):
    asked = mail_worker.request_sync(world.session("admin"))
    assert asked.pending and mail_worker.requested()
    later = asked.requested_at + dt.timedelta(seconds=1)
    mail_worker.record_pass(later, later, True, "0 filed, 0 errors")
    assert not mail_worker.requested() and not mail_worker.status().pending


@pytest.mark.mail
async def test_watching_worker_runs_when_s_is_pressed(world, mailbox, data_dir):
    configure(world, imap=mailbox)  # poll_seconds stays 60: only a request wakes it sooner
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"}
    worker = subprocess.Popen([sys.executable, "-m", "crm_tui", "--sync", "--watch"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while mail_worker.status().finished_at is None:
            assert worker.poll() is None, worker.stderr.read()
            assert time.monotonic() < deadline, "the worker recorded no first pass"
            time.sleep(0.2)
        first = mail_worker.status().started_at
        time.sleep(1)
        assert mail_worker.status().started_at == first  # IDLE: nothing new, no pass

        # No new mail for the IDLE to report: only the request makes the worker look.
        app = app_for(world, "user1")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "s")
            seen = []
            for _ in range(150):
                await pilot.pause(0.2)
                seen.append(status_line(app))
                if "mail: synced" in seen[-1] and "sync asked" not in seen[-1]:
                    break
            assert "mail: synced" in seen[-1] and "sync asked" not in seen[-1], seen[-3:]
            assert app.said("The mail worker synced: 0 filed, 0 errors")
        assert mail_worker.status().started_at > first
        assert not mail_worker.requested()
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def test_one_pass_records_its_failure_for_the_status_line(world, run_crm):
    admin = world.session("admin")
    for key, value in {"mail.imap_host": "127.0.0.1", "mail.imap_port": str(free_port()),
                       "mail.imap_user": "nobody", "mail.imap_password": "x"}.items():
        settings.set_value(admin, key, value)
    done = run_crm("--sync")
    assert done.returncode == 4, done.stderr
    status = mail_worker.status()
    assert status.ok is False and status.finished_at is not None
    assert status.text().startswith("mail: failed ")
