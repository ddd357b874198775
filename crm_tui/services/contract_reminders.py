"""Contract expiry: the contracts ending soon (for lists, titles and the status line) and
the worker's reminder mails to their managers.

`contract.reminder_days` (e.g. `30,7`) names the thresholds. A contract that ends within a
threshold gets one mail to its manager (the contract's, else its company's) through the
outbox; a row in `contract_reminder` under a unique (contract, threshold, end date) key,
written in the transaction that queues the mail, makes it once per contract and threshold,
whatever number of workers run. A new end date (a renewal) reminds again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import peewee

from crm_tui.db import write_transaction
from crm_tui.errors import ValidationFailed
from crm_tui.i18n import _, in_language, ngettext
from crm_tui.models import Company, Contract, ContractReminder, User
from crm_tui.services import settings
from crm_tui.services import values as V
from crm_tui.services.context import Clock, Session
from crm_tui.services.records import get_kind

#: The window the contracts screen's title and the status line count.
SOON_DAYS = 30



def parse_days(text: str) -> list[int]:
    """`contract.reminder_days` as thresholds, largest first ("30,7" -> [30, 7]).

    Raises:
        V.BadValue: not a comma-separated list of whole numbers from 1 to 3650.
    """
    out: set[int] = set()
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            days = V.parse_int(part)
        except V.BadValue:
            days = None
        if days is None or not 1 <= days <= 3650:
            raise V.BadValue(_("a comma-separated list of days from 1 to 3650, e.g. 30,7"))
        out.add(days)
    return sorted(out, reverse=True)


def _days(raw: str | int) -> int:
    try:
        days = V.parse_int(str(raw).strip())
    except V.BadValue:
        days = None
    if days is None or days < 0:
        raise ValidationFailed.one("contract expiring", "days", str(raw),
                                   _("a number of days, e.g. 30"))
    return days


def _soon(today: dt.date, days: int) -> peewee.Expression:
    return (Contract.status == 1) & Contract.date_end.between(
        today, today + dt.timedelta(days=days))


def expiring(session: Session, days: str | int) -> list[dict[str, Any]]:
    """The active contracts the user may see that end within `days` days from today, soonest
    first, in the --json shape plus `days_left` and `company_name`.

    Raises:
        ValidationFailed: `days` is not a number of days.
    """
    days = _days(days)
    today = session.clock.today()
    kind = get_kind("contract")
    query = (kind.query(session).where(_soon(today, days))
             .order_by(Contract.date_end, Contract.name, Contract.id))
    rows = kind.rows(session, query)
    names = dict(Company.select(Company.id, Company.name)
                 .where(Company.id.in_({r["company"] for r in rows})).tuples()) if rows else {}
    for row in rows:
        end = V.parse_date(row["date_end"])
        row["days_left"] = (end - today).days
        row["company_name"] = names.get(row["company"], "")
    return rows


def expiring_count(session: Session, days: int = SOON_DAYS) -> int:
    """How many active contracts the user may see end within `days` days (one count)."""
    query = get_kind("contract").query(session).where(_soon(session.clock.today(), days))
    return query.count()


def soon_text(session: Session) -> str:
    """The status line's part: "3 contracts end within 30 days" ("" when none)."""
    count = expiring_count(session)
    if not count:
        return ""
    return ngettext("{count} contract ends within {days} days",
                    "{count} contracts end within {days} days", count).format(
                        count=count, days=SOON_DAYS)


# --- the worker's part --------------------------------------------------------------------


@dataclass
class ReminderReport:
    """What one pass of contract reminders did."""

    queued: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the count."""
        return _("contract reminders: {queued} queued").format(queued=self.queued)


def _recipient(contract: Contract) -> User | None:
    manager = contract.manager
    if manager is None:
        manager = contract.company.manager
    return manager if manager is not None and manager.email and manager.enabled else None


def _mail_text(contract: Contract, user: User, today: dt.date) -> tuple[str, str]:
    """The reminder's subject and body in the recipient's language (the catalogs hold it),
    whoever runs the worker."""
    left = (contract.date_end - today).days
    with in_language(user.language):
        subject = _("Contract {name} ends on {end}")
        body = ngettext(
            "The contract {name}{number} with {company} ends on {end}, in {left} day.\n"
            "\nRenew it or let it end: this is a reminder from the CRM.\n",
            "The contract {name}{number} with {company} ends on {end}, in {left} days.\n"
            "\nRenew it or let it end: this is a reminder from the CRM.\n", left)
    values = {"name": contract.name, "end": contract.date_end.isoformat(),
              "number": f" ({contract.contract_number})" if contract.contract_number else "",
              "company": contract.company.name, "left": left}
    # A name is one line in a subject; build_message refuses line breaks anyway.
    one_line = {k: " ".join(str(v).split()) for k, v in values.items()}
    return subject.format(**one_line), body.format(**values)


def send_due_reminders(sender: str, clock: Clock | None = None) -> ReminderReport:
    """Queue a reminder for each active contract that ends within a configured threshold
    and has not had it yet (one mail per contract when several thresholds are reached at
    once; each threshold is recorded). `sender` is the From address (the settings'
    `mail.from_address` or reference address); nothing happens without one."""
    report = ReminderReport()
    try:
        thresholds = parse_days(settings.raw_value("contract.reminder_days", ""))
    except V.BadValue:
        thresholds = []
    if not thresholds or not sender:
        return report
    clock = clock or Clock()
    today = clock.today()
    query = (Contract.select().where(_soon(today, thresholds[0]))
             .order_by(Contract.date_end, Contract.id))
    for contract in query:
        left = (contract.date_end - today).days
        done = {d for (d,) in ContractReminder.select(ContractReminder.days).where(
            ContractReminder.contract == contract.id,
            ContractReminder.date_end == contract.date_end).tuples()}
        reached = [d for d in thresholds if left <= d and d not in done]
        if not reached:
            continue
        user = _recipient(contract)
        if user is None:
            report.lines.append(f"contract {contract.id}: no manager with an email address")
            continue
        if _queue(contract, user, reached, sender, clock):
            report.queued += 1
            report.lines.append(f"contract {contract.id}: reminder to {user.email} "
                                f"({left} days left)")
    return report


def _queue(contract: Contract, user: User, reached: list[int], sender: str,
           clock: Clock) -> bool:
    """The mail and its reminder rows in one transaction; False when another worker was
    first (the unique key refused a row) or the mail cannot be built."""
    from crm_tui.mail.outgoing import build_message
    from crm_tui.services import outbox

    now = clock.now()
    subject, body = _mail_text(contract, user, now.date())
    try:
        message, message_id = build_message(
            from_addr=sender, to=[user.email], subject=subject, body=body, lead_id=None,
            domain=sender.rsplit("@", 1)[-1].strip(">"), date=now.replace(tzinfo=dt.UTC))
    except ValueError:
        return False
    # Written by the CRM, not a person: auto-responders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    try:
        with write_transaction():
            mail = outbox.queue(lead_id=None, activity_id=None, message_id=message_id,
                                sender=sender, recipients=[user.email.lower()],
                                subject=subject, data=message.as_bytes(), author="crm",
                                now=now)
            for days in reached:
                ContractReminder.create(contract=contract.id, days=days,
                                        date_end=contract.date_end, mail=mail.id, created=now)
    except peewee.IntegrityError:
        return False
    return True
