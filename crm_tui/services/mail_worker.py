"""The mail worker's last pass and the operators' "sync now" requests.

Only the mail worker (`crm --sync --watch`, run by the account that holds the secrets)
talks to the mail servers. It records each pass in one row; an operator's app shows that
row on its status line and, on `s`, stamps a request the worker's loop polls for.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from crm_tui.db import write_transaction
from crm_tui.i18n import _
from crm_tui.models import MailWorkerState
from crm_tui.services.context import Clock, Session

ROW = 1
"""The id of the one state row (made by migration 0014)."""
_RESULT_LENGTH = 500


@dataclass(frozen=True)
class WorkerStatus:
    """The worker's last pass as the apps show it."""

    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    ok: bool | None = None
    result: str = ""
    requested_at: dt.datetime | None = None
    requested_by: str = ""

    @property
    def pending(self) -> bool:
        """Whether a request waits for the worker's next pass."""
        return self.requested_at is not None and (
            self.started_at is None or self.requested_at > self.started_at)

    def text(self) -> str:
        """A status line: when the worker last synced, and how it went."""
        if self.finished_at is None:
            line = _("mail: not synced")  # the worker has not run yet
        else:
            line = (_("mail: synced {at} UTC") if self.ok else _("mail: failed {at} UTC")).format(
                at=f"{self.finished_at:%Y-%m-%d %H:%M}")
            if self.result:
                # Stored English; a known mail message is read in this user's language.
                from crm_tui.services.mail_sync import readable

                line += f" · {readable(self.result)[:60]}"
        if self.pending:
            line += _(" · sync asked {at}").format(at=f"{self.requested_at:%H:%M}")
        return line


def _row() -> MailWorkerState:
    row = MailWorkerState.get_or_none(MailWorkerState.id == ROW)
    if row is None:
        # A database restored from before the row existed: made on first use.
        with write_transaction():
            row = MailWorkerState.get_or_none(MailWorkerState.id == ROW)
            if row is None:
                row = MailWorkerState.create(id=ROW)
    return row


def status() -> WorkerStatus:
    """The worker's last pass and any pending request (anyone may read it)."""
    row = _row()
    return WorkerStatus(row.started_at, row.finished_at, row.ok, row.result, row.requested_at,
                        row.requested_by)


def request_sync(session: Session) -> WorkerStatus:
    """Ask the worker to sync now (any signed-in user may ask; it only asks)."""
    _row()
    # The worker compares this with the start of its passes: both on the real clock (a
    # session's clock may be frozen for a demo or a test).
    with write_transaction():
        MailWorkerState.update(requested_at=Clock().now(),
                               requested_by=session.login).where(
            MailWorkerState.id == ROW).execute()
    return status()


def requested() -> bool:
    """The worker's cheap poll: is a request newer than the start of its last pass?"""
    row = (MailWorkerState.select(MailWorkerState.requested_at, MailWorkerState.started_at)
           .where(MailWorkerState.id == ROW).tuples().first())
    if row is None or row[0] is None:
        return False
    return row[1] is None or row[0] > row[1]


def record_pass(started: dt.datetime, finished: dt.datetime, ok: bool, result: str) -> None:
    """The worker ended a pass: record when and how (requests it answered are done)."""
    _row()
    with write_transaction():
        MailWorkerState.update(started_at=started, finished_at=finished, ok=ok,
                               result=result.replace("\n", " ")[:_RESULT_LENGTH]).where(
            MailWorkerState.id == ROW).execute()
