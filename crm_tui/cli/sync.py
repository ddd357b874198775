"""`crm --sync [--watch]`: the headless mail worker (contract duties, outbox and ingest), one
pass or until stopped."""

from __future__ import annotations

import contextlib
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import click

from crm_tui.cli.exit_codes import ExitCode
from crm_tui.cli.state import CliState
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import SOURCE_LANGUAGE, _, in_language, said, said_error
from crm_tui.mail.errors import MESSAGES

#: While the outbox-only loop waits, how often it asks whether a pass was requested.
WAKE_CHECK_SECONDS = 2.0


def run_sync(state: CliState, *, watch: bool = False) -> int:
    """Run the mail worker as a system action and return the exit code.

    Each pass first sends the outbox's due mail (one ``outbox:`` line when it tried any;
    an SMTP server that is down only delays the mail), then reads the mailbox. Without
    ``mail.imap_host``, only the outbox is worked; without any mail server, only the contract
    duties (recurring drafts, reminders queued for later). One pass prints a summary line
    (then one line per unmatched, auto or quarantined message) and returns 0; 4 when the
    IMAP server cannot be reached or refuses the login.
    With ``watch``, passes repeat (IMAP IDLE, or polling with backoff) until SIGTERM or
    SIGINT, which stop it between batches of messages; it then prints the totals and
    returns 0. The signals stop a single pass the same way (what was filed stays filed).
    """
    from crm_tui.mail.config import MailConfigError
    from crm_tui.mail.errors import MailError, MailServerUnreachable
    from crm_tui.services import mail_sync as ingest
    from crm_tui.services import mailing, outbox

    state.open()

    def load_config():
        return mailing.mail_config()

    started = _now()

    def send(config, stamp: bool = False) -> str:
        _duties(config, stamp)
        report = outbox.send_due(config.smtp, cancelled=stop)
        _print_outbox(report, stamp)
        # The result kept for every operator's status line is stored text: English, like
        # the mail sync's status_text, whoever runs the worker.
        with in_language(SOURCE_LANGUAGE):
            return report.summary()

    try:
        config = load_config()
        stop = ingest.StopFlag()
        with _stopping_on_signals(stop):
            if config.imap is None:
                if config.smtp is None:
                    # No mail server at all: recurring drafts and reminders (queued for the
                    # day one is set) still fall due.
                    click.echo(_("sync: no mail server is set (mail.imap_host, "
                                 "mail.smtp_host): contract duties only"))
                return _outbox_only(load_config, send, stop, watch)
            if not watch:
                _duties(config)
                sent = outbox.send_due(config.smtp, cancelled=stop)
                report = ingest.run_once(config, cancelled=stop)
                _record(report.started or started, True, report.status_text())
                _print_report(report)
                _print_outbox(sent)
                if report.cancelled:
                    click.echo(_("sync: stopped before the end; the next pass goes on"))
                return int(ExitCode.OK)
            click.echo(_("sync: watching {folder} on {where}").format(
                folder=config.imap.folder, where=config.imap.where))

            def on_report(report) -> None:
                _record(report.started or _now(), True, report.status_text())
                if report.changed:
                    _print_report(report, stamp=True)

            def on_error(exc: Exception) -> None:
                _record(_now(), False, str(exc))
                click.echo(_("crm: warning: {message}; retrying").format(
                    message=said_error(exc, MESSAGES)), err=True)

            totals = ingest.watch(load_config, stop, on_report=on_report, on_error=on_error,
                                  wake=_requested,
                                  each_pass=lambda config: send(config, stamp=True))
            click.echo(_("sync: stopped; in total: {summary}").format(summary=totals.summary()))
            return int(ExitCode.OK)
    except MailConfigError as exc:
        _record(started, False, str(exc))
        raise ValidationFailed.one(_("setting {key}").format(key=exc.key), "value", exc.value,
                                   said(exc.reason)) from None
    except MailServerUnreachable as exc:
        # Stored English (every operator's status line reads it), printed in this user's.
        _record(started, False, str(exc))
        click.echo(_("crm: error: {message}").format(message=said_error(exc, MESSAGES)),
                   err=True)
        return int(ExitCode.UNREACHABLE)
    except MailError as exc:  # the server refused a command: nothing more this pass
        _record(started, False, str(exc))
        click.echo(_("crm: error: {message}").format(message=said_error(exc, MESSAGES)),
                   err=True)
        return int(ExitCode.REJECTED)


def _duties(config, stamp: bool = False) -> None:
    """Recurring drafts and contract reminders, before the outbox is sent (a reminder queued
    now goes out in this pass); a line when they did anything."""
    from crm_tui.services import worker_duties

    report = worker_duties.run(config.from_address or config.reference_address)
    if report.changed:
        prefix = f"sync {datetime.now().strftime('%H:%M:%S')}: " if stamp else ""
        click.echo(prefix + report.summary())
        for line in report.lines:
            click.echo("  " + line)


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _record(started: datetime, ok: bool, text: str) -> None:
    """The last pass, for the operators' status lines (a failure here changes no outcome)."""
    from crm_tui.services import mail_worker

    try:
        mail_worker.record_pass(started, _now(), ok, text)
    except Exception as exc:  # noqa: BLE001 - the sync's own result is what counts
        click.echo(_("crm: warning: the last sync could not be recorded: {reason}").format(
            reason=exc), err=True)


def _requested() -> bool:
    """Whether an operator pressed `s` since the last pass (one cheap read)."""
    from crm_tui.services import mail_worker

    try:
        return mail_worker.requested()
    except Exception:  # noqa: BLE001 - the database is back soon; the next poll sees it
        return False

def _outbox_only(load_config, send, stop, watch: bool) -> int:
    """No mailbox to read: send the outbox once, or every poll interval (sooner when a reply
    was queued or `s` pressed) until stopped."""
    while True:
        started = _now()
        config = load_config()
        _record(started, True, send(config, stamp=watch))
        if not watch:
            return int(ExitCode.OK)
        end = time.monotonic() + config.poll_seconds
        while (left := end - time.monotonic()) > 0 and not _requested():
            if stop.sleep(min(left, WAKE_CHECK_SECONDS)):
                return int(ExitCode.OK)
        if stop():
            return int(ExitCode.OK)


def _print_outbox(report, stamp: bool = False) -> None:
    from crm_tui.services.outbox import ANSWERS

    if not report.changed:
        return
    prefix = f"sync {datetime.now().strftime('%H:%M:%S')}: " if stamp else ""
    click.echo(prefix + report.summary())
    for line in report.lines:
        click.echo("  " + said(line, ANSWERS))


def _print_report(report, stamp: bool = False) -> None:
    prefix = f"sync {datetime.now().strftime('%H:%M:%S')}: " if stamp else "sync: "
    click.echo(prefix + report.summary())
    from crm_tui.services.mail_sync import readable

    for line in report.details():
        click.echo("  " + readable(line))


@contextlib.contextmanager
def _stopping_on_signals(stop) -> Iterator[None]:
    """SIGTERM and SIGINT ask ``stop`` to end the sync between batches of messages."""

    def request_stop(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        stop.request()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
