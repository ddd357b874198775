"""The outbox: outgoing mail queued with its activity entry, sent by the mail worker.

:func:`queue` is called inside the transaction that logs a mail on its lead;
:func:`send_due` is the worker's part (``crm --sync``, ``--watch``, the TUI's job): it claims
one due row at a time, sends it over SMTP and records the server's answer. The user's
commands (:func:`list_mail`, :func:`retry`, :func:`cancel`) check access like every service.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import peewee

from crm_tui import acl, db
from crm_tui.db import write_transaction
from crm_tui.errors import Conflict, NotFound
from crm_tui.i18n import N_, Said, _, said
from crm_tui.mail.errors import MESSAGES, MailError, MailRejected
from crm_tui.mail.smtp import SmtpConfig, send_bytes
from crm_tui.models import Lead, OutboxMail
from crm_tui.services import privacy
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

#: Minutes to wait after the 1st, 2nd, ... failed attempt; after the last, the mail fails.
BACKOFF_MINUTES = (1, 5, 15, 60)
MAX_ATTEMPTS = len(BACKOFF_MINUTES) + 1
#: How long a claim lasts. The claim is committed before the SMTP conversation and the
#: result recorded after it, so a worker killed in between leaves the row ``sending``; once
#: the lease has run out another worker takes it again. The mail may then go out twice (the
#: server may have accepted it just before the crash): at least once, never lost.
LEASE = dt.timedelta(minutes=10)
#: Statuses a user may still change; ``sent`` is final.
WAITING = ("queued", "sending")


@dataclass
class OutboxReport:
    """What one worker pass did with the outbox."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether the pass tried any mail."""
        return bool(self.sent or self.retrying or self.failed)

    def summary(self) -> str:
        """One line: the counts."""
        return _("outbox: sent {sent}, retrying {retrying}, failed {failed}").format(
            sent=self.sent, retrying=self.retrying, failed=self.failed)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def queue(
    *,
    lead_id: int | None,
    activity_id: int | None,
    message_id: str,
    sender: str,
    recipients: list[str],
    subject: str,
    data: bytes,
    author: str,
    now: dt.datetime,
) -> OutboxMail:
    """Put a built mail in the outbox; call it inside the transaction that logs the mail.
    A mail of no lead (a contract reminder) has neither `lead_id` nor `activity_id`."""
    return OutboxMail.create(
        lead=lead_id, activity=activity_id, message_id=message_id, sender=sender,
        recipients=",".join(recipients), subject=subject, message=data, status="queued",
        attempts=0, next_attempt=now, author=author, created=now,
    )


# -- the worker ---------------------------------------------------------------------------------


def send_due(
    config: SmtpConfig | None,
    *,
    clock=None,
    limit: int = 200,
    cancelled: Callable[[], bool] | None = None,
) -> OutboxReport:
    """Send the mail that is due, one claimed row at a time (at most ``limit``).

    Nothing is touched when no SMTP server is configured. A server that cannot be reached
    (or a temporary refusal, 4xx) puts the mail back with a growing delay
    (:data:`BACKOFF_MINUTES`); a permanent refusal (5xx), or the last attempt failing,
    marks it ``failed``. Each row keeps the server's last answer.
    """
    report = OutboxReport()
    if config is None:
        return report
    now = clock.now if clock is not None else _utcnow
    for _attempt in range(limit):
        if cancelled is not None and cancelled():
            break
        row = _claim(now())
        if row is None:
            break
        # Whoever opted out after the mail was queued is still not mailed.
        opted_out = privacy.opted_out(_recipients(row))
        if opted_out:
            answer = Said(N_("not sent: {addresses} opted out of mail"),
                          addresses=", ".join(opted_out))
            _record(row, "failed", answer, now())
            report.failed += 1
            report.lines.append(_line(row, "failed", answer))
            continue
        try:
            refused, answer = send_bytes(config, row.sender, _recipients(row), bytes(row.message))
        except MailError as exc:
            _failed(row, exc, now(), report)
            continue
        if refused:
            answer += "; refused: " + ", ".join(
                f"{addr} ({code} {_text(text)})" for addr, (code, text) in sorted(refused.items()))
        _record(row, "sent", answer, now(), sent=True)
        report.sent += 1
    return report


def _recipients(row: OutboxMail) -> list[str]:
    return [r for r in row.recipients.split(",") if r]


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return " ".join(str(value).split())


def _claim(now: dt.datetime) -> OutboxMail | None:
    """Take the next due mail for this worker, committed before any SMTP talk.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED`` lets workers pass each other's claims. SQLite:
    the write lock taken at BEGIN (IMMEDIATE) makes the select-and-mark one step. A row is
    due when queued and its time has come, or ``sending`` with its lease run out.
    """
    with write_transaction():
        query = (OutboxMail.select()
                 .where(OutboxMail.status.in_(WAITING), OutboxMail.next_attempt <= now)
                 .order_by(OutboxMail.next_attempt, OutboxMail.id)
                 .limit(1))
        if db.is_postgres():
            query = query.for_update(skip_locked=True)
        row = query.first()
        if row is None:
            return None
        row.status = "sending"
        row.attempts += 1
        row.next_attempt = now + LEASE
        row.save(only=[OutboxMail.status, OutboxMail.attempts, OutboxMail.next_attempt])
    return row


def _permanent(exc: MailError) -> bool:
    """A refusal that sending again will not change (5xx, or a message that cannot be sent)."""
    if not isinstance(exc, MailRejected):
        return False
    cause = exc.__cause__
    codes = [code for code, _text in getattr(cause, "recipients", {}).values()]
    code = getattr(cause, "smtp_code", None)
    if code is not None:
        codes.append(code)
    return not codes or all(int(c) >= 500 for c in codes)


def _failed(row: OutboxMail, exc: MailError, now: dt.datetime, report: OutboxReport) -> None:
    answer = str(exc)
    if _permanent(exc) or row.attempts >= MAX_ATTEMPTS:
        _record(row, "failed", answer, now)
        report.failed += 1
        report.lines.append(_line(row, "failed", answer))
        return
    delay = dt.timedelta(minutes=BACKOFF_MINUTES[min(row.attempts, len(BACKOFF_MINUTES)) - 1])
    _record(row, "queued", answer, now + delay)
    report.retrying += 1
    report.lines.append(_line(row, "queued", answer))


def _whose(row: OutboxMail) -> str:
    return f" (lead {row.lead_id})" if row.lead_id is not None else ""


_LINES = {
    ("failed", True): N_("mail {id} (lead {lead}) failed: {answer}"),
    ("failed", False): N_("mail {id} failed: {answer}"),
    ("queued", True): N_("mail {id} (lead {lead}) queued again: {answer}"),
    ("queued", False): N_("mail {id} queued again: {answer}"),
}


def _line(row: OutboxMail, outcome: str, answer: str) -> Said:
    """A report line, English as str; `said()` reads it in the reader's language."""
    return Said(_LINES[outcome, row.lead_id is not None], id=row.id, lead=row.lead_id,
                answer=answer)


ANSWERS: tuple[str, ...] = (*MESSAGES, N_("not sent: {addresses} opted out of mail"))
"""The outbox answers the CRM itself writes (the SMTP server's own answers are free text)."""


def answer_text(answer: str | None) -> str:
    """A stored outbox answer (English, or the server's words) in the reader's language."""
    return said(answer or "", ANSWERS)


def _record(row: OutboxMail, status: str, answer: str, when: dt.datetime, *,
            sent: bool = False) -> None:
    """Write the outcome, unless the claim was lost (the lease ran out and another took it)."""
    changes = {OutboxMail.status: status, OutboxMail.answer: answer[:2000]}
    if sent:
        changes[OutboxMail.sent] = when
    else:
        changes[OutboxMail.next_attempt] = when
    with write_transaction():
        (OutboxMail.update(changes)
         .where(OutboxMail.id == row.id, OutboxMail.status == "sending",
                OutboxMail.attempts == row.attempts)
         .execute())


# -- what users see and do -----------------------------------------------------------------------


def _row(item: OutboxMail) -> dict:
    return {
        "id": item.id, "lead": item.lead_id, "activity": item.activity_id,
        "status": item.status, "subject": item.subject,
        "recipients": _recipients(item), "attempts": item.attempts,
        "next_attempt": V.render(item.next_attempt) if item.status in WAITING else "",
        "answer": item.answer, "message_id": item.message_id, "author": item.author,
        "created": V.render(item.created), "sent": V.render(item.sent) if item.sent else "",
    }


def _visible_leads(session: Session) -> peewee.Select:
    return get_kind("lead").query(session).select(Lead.id)


def _visible(session: Session) -> peewee.Expression:
    """Mail of the leads the user may see; the CRM's own notices (no lead: contract
    reminders) only for superadmins."""
    mine = OutboxMail.lead.in_(_visible_leads(session))
    return (mine | OutboxMail.lead.is_null()) if acl.is_admin(session.user) else mine


def list_mail(session: Session, status: str | None = None, limit: int = 500) -> list[dict]:
    """The outbox rows of leads the user may see (and, for superadmins, the CRM's own
    notices), newest first."""
    query = (OutboxMail.select().where(_visible(session))
             .order_by(OutboxMail.id.desc()).limit(limit))
    if status:
        query = query.where(OutboxMail.status == status)
    return [_row(item) for item in query]


def for_activities(activity_ids: list[int]) -> dict[int, dict]:
    """The outbox state of the mail logged by these activity entries (for the timeline)."""
    if not activity_ids:
        return {}
    query = OutboxMail.select().where(OutboxMail.activity.in_(activity_ids))
    return {item.activity_id: {"id": item.id, "status": item.status, "answer": item.answer,
                               "attempts": item.attempts} for item in query}


def _load_for_change(session: Session, mail_id: int) -> OutboxMail:
    """The row, if its lead is visible (a hidden row answers like a missing one), with modify
    access on the lead checked."""
    kind = get_kind("lead")
    item = OutboxMail.get_or_none(OutboxMail.id == mail_id, _visible(session))
    if item is None:
        raise NotFound(_("outbox mail {mail_id} does not exist").format(mail_id=mail_id))
    if item.lead_id is not None:
        kind.check_modify(session, Lead.get_by_id(item.lead_id))
    return item


def retry(session: Session, mail_id: int) -> dict:
    """Send a failed, cancelled or waiting mail at the worker's next pass, with fresh attempts.

    Raises:
        NotFound (also for mail of a lead the user may not see), PermissionDenied (may not
        modify the lead), Conflict (already sent, or being sent right now).
    """
    with write_transaction():
        item = _load_for_change(session, mail_id)
        if item.status == "sent":
            raise Conflict(_("outbox mail {mail_id} was already sent on {sent}").format(mail_id=mail_id, sent=V.render(item.sent)))
        if item.status == "sending" and item.next_attempt > session.clock.now():
            raise Conflict(_("outbox mail {mail_id} is being sent right now").format(mail_id=mail_id))
        item.status, item.attempts, item.next_attempt = "queued", 0, session.clock.now()
        item.save(only=[OutboxMail.status, OutboxMail.attempts, OutboxMail.next_attempt])
    return _row(item)


def cancel(session: Session, mail_id: int) -> dict:
    """Keep a mail that was not sent yet from being sent.

    Raises:
        NotFound, PermissionDenied, Conflict (already sent, or being sent right now).
    """
    with write_transaction():
        item = _load_for_change(session, mail_id)
        if item.status == "sent":
            raise Conflict(_("outbox mail {mail_id} was already sent on {sent} and cannot "
                             "be cancelled").format(mail_id=mail_id, sent=V.render(item.sent)))
        if item.status == "sending" and item.next_attempt > session.clock.now():
            raise Conflict(_("outbox mail {mail_id} is being sent right now").format(mail_id=mail_id))
        item.status = "cancelled"
        item.save(only=[OutboxMail.status])
    return _row(item)
