"""`crm --sync [--watch]`: headless mailbox ingest, one pass or until stopped."""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from datetime import datetime

import click

from crm_tui.cli.exit_codes import ExitCode
from crm_tui.cli.state import CliState
from crm_tui.errors import ValidationFailed


def run_sync(state: CliState, *, watch: bool = False) -> int:
    """Run the ingest as a system action and return the exit code.

    One pass prints a summary line (then one line per unmatched, auto or quarantined
    message) and returns 0; 4 when the IMAP server cannot be reached or refuses the login.
    With ``watch``, passes repeat (IMAP IDLE, or polling with backoff) until SIGTERM or
    SIGINT, which stop it between batches of messages; it then prints the totals and
    returns 0. The signals stop a single pass the same way (what was filed stays filed).
    """
    from crm_tui.mail.config import MailConfigError
    from crm_tui.mail.errors import MailError, MailServerUnreachable
    from crm_tui.services import mail_sync as ingest
    from crm_tui.services import mailing

    state.open()

    def load_config():
        config = mailing.mail_config()
        if config.imap is None:
            raise ValidationFailed.one("setting mail.imap_host", "value", "",
                                       "not set: there is no mailbox to read")
        return config

    try:
        config = load_config()
        stop = ingest.StopFlag()
        with _stopping_on_signals(stop):
            if not watch:
                report = ingest.run_once(config, cancelled=stop)
                _print_report(report)
                if report.cancelled:
                    click.echo("sync: stopped before the end; the next pass goes on")
                return int(ExitCode.OK)
            click.echo(f"sync: watching {config.imap.folder} on {config.imap.where}")
            totals = ingest.watch(
                load_config,
                stop,
                on_report=lambda report: _print_report(report, stamp=True) if report.changed
                else None,
                on_error=lambda exc: click.echo(f"crm: warning: {exc}; retrying", err=True),
            )
            click.echo(f"sync: stopped; in total: {totals.summary()}")
            return int(ExitCode.OK)
    except MailConfigError as exc:
        raise ValidationFailed.one(f"setting {exc.key}", "value", exc.value, exc.reason) from None
    except MailServerUnreachable as exc:
        click.echo(f"crm: error: {exc}", err=True)
        return int(ExitCode.UNREACHABLE)
    except MailError as exc:  # the server refused a command: nothing more this pass
        click.echo(f"crm: error: {exc}", err=True)
        return int(ExitCode.REJECTED)


def _print_report(report, stamp: bool = False) -> None:
    prefix = f"sync {datetime.now().strftime('%H:%M:%S')}: " if stamp else "sync: "
    click.echo(prefix + report.summary())
    for line in report.details():
        click.echo("  " + line)


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
