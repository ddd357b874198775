"""The worker's contract duties against a real SMTP listener (aiosmtpd), on both backends:
expiry reminders reach the contract's manager once per threshold, and parallel `crm --sync`
processes make each recurring draft and each reminder once."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time

import pytest

from crm_tui.errors import NotFound
from crm_tui.models import ContractBillingRun, ContractReminder, Invoice, OutboxMail
from crm_tui.services import contract_billing, contract_reminders, mailing, outbox, settings
from crm_tui.services.context import FrozenClock
from crm_tui.services.records import get_kind
from tests.fixtures.mail import smtp_server  # noqa: F401
from tests.integration.mail_helpers import SENDER, configure

pytestmark = pytest.mark.mail


def at(day: dt.date) -> FrozenClock:
    return FrozenClock(dt.datetime.combine(day, dt.time(7, 0)))


def _send(day: dt.date) -> outbox.OutboxReport:
    return outbox.send_due(mailing.mail_config().smtp, clock=at(day))


def test_reminders_reach_the_manager_once_per_threshold(any_world, smtp_server):  # noqa: F811
    configure(any_world, smtp=smtp_server, **{"contract.reminder_days": "30,7"})
    admin = any_world.session("admin")
    start = dt.date(2026, 1, 15)
    end = start + dt.timedelta(days=20)
    contracts = get_kind("contract")
    managed = contracts.create(admin, {"name": "Support A", "contract_number": "21/1001",
                                       "company": str(any_world.cid("Customer #A")),
                                       "date_end": end.isoformat(), "manager": "manager1"})
    # No contract manager: the company's manager (User #1 manages Customer #A) is reminded.
    contracts.create(admin, {"name": "Plain A", "company": str(any_world.cid("Customer #A")),
                             "date_end": end.isoformat()})
    contracts.create(admin, {"name": "Far", "company": str(any_world.cid("Customer #A")),
                             "date_end": (start + dt.timedelta(days=90)).isoformat()})
    contracts.create(admin, {"name": "Inactive", "company": str(any_world.cid("Customer #A")),
                             "date_end": end.isoformat(), "status": "0",
                             "manager": "manager1"})

    report = contract_reminders.send_due_reminders(SENDER, at(start))
    assert report.queued == 2
    assert _send(start).sent == 2
    received = smtp_server.wait_for(2)
    by_rcpt = {m.rcpt_tos[0]: m.message for m in received}
    assert set(by_rcpt) == {"manager1@example.com", "user1@example.com"}
    mail = by_rcpt["manager1@example.com"]
    assert mail["Subject"] == f"Contract Support A ends on {end.isoformat()}"
    assert mail["Auto-Submitted"] == "auto-generated"
    body = mail.get_payload(decode=True).decode()
    assert "Support A (21/1001) with Customer #A" in body and "in 20 days." in body
    assert OutboxMail.get(OutboxMail.recipients == "manager1@example.com").lead_id is None

    # Again, and on later days before the next threshold: nothing more.
    for day in (start, start + dt.timedelta(days=5)):
        assert contract_reminders.send_due_reminders(SENDER, at(day)).queued == 0
    # Seven days left: the second threshold, once.
    seven = end - dt.timedelta(days=7)
    assert contract_reminders.send_due_reminders(SENDER, at(seven)).queued == 2
    assert contract_reminders.send_due_reminders(SENDER, at(seven)).queued == 0
    assert _send(seven).sent == 2
    smtp_server.wait_for(4)
    time.sleep(0.2)
    assert len(smtp_server.messages) == 4
    # A renewal moves the end date: its thresholds remind again.
    contracts.update(admin, managed, {"date_end": (seven + dt.timedelta(days=25)).isoformat()})
    assert contract_reminders.send_due_reminders(SENDER, at(seven)).queued == 1
    rows = ContractReminder.select().where(ContractReminder.contract == managed)
    assert sorted((r.days, r.date_end) for r in rows) == [
        (7, end), (30, end), (30, seven + dt.timedelta(days=25))]


def test_a_late_start_sends_one_mail_for_every_threshold_reached(any_world):
    configure(any_world, **{"contract.reminder_days": "7,30"})
    admin = any_world.session("admin")
    today = dt.date(2026, 1, 15)
    cid = get_kind("contract").create(admin, {
        "name": "Late", "company": str(any_world.cid("Customer #B")),
        "date_end": (today + dt.timedelta(days=3)).isoformat()})
    assert contract_reminders.send_due_reminders(SENDER, at(today)).queued == 1
    assert OutboxMail.select().count() == 1
    assert sorted(r.days for r in ContractReminder.select().where(
        ContractReminder.contract == cid)) == [7, 30]
    # The outbox shows the CRM's own notices to superadmins only, who may cancel them.
    [listed] = outbox.list_mail(admin)
    assert listed["lead"] is None and listed["recipients"] == ["manager1@example.com"]
    assert outbox.list_mail(any_world.session("manager1")) == []
    with pytest.raises(NotFound):
        outbox.cancel(any_world.session("manager1"), listed["id"])
    assert outbox.cancel(admin, listed["id"])["status"] == "cancelled"
    # Without a sender or without thresholds nothing is queued.
    settings.set_value(admin, "contract.reminder_days", "")
    assert contract_reminders.send_due_reminders(SENDER, at(today)).queued == 0


def test_parallel_workers_make_each_draft_and_reminder_once(
        any_world, any_db, smtp_server, data_dir):  # noqa: F811
    """Three `crm --sync` processes at once (the real clock), then one more pass."""
    configure(any_world, smtp=smtp_server, **{"contract.reminder_days": "30,7"})
    admin = any_world.session("admin")
    today = dt.datetime.now(dt.UTC).date()
    cid = get_kind("contract").create(admin, {
        "name": "Monthly", "company": str(any_world.cid("Customer #A")),
        "manager": "user1", "billing_period": "monthly",
        "billing_start": contract_billing.add_months(today, -2).isoformat(),
        "date_end": (today + dt.timedelta(days=5)).isoformat(),
        "billing_lines": [{"description": "Support", "amount": "100"}]})
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}

    def sync(count: int) -> None:
        procs = [subprocess.Popen([sys.executable, "-m", "crm_tui", "--db", any_db, "--sync"],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True) for _ in range(count)]
        outputs = [p.communicate(timeout=120) for p in procs]
        assert all(p.returncode == 0 for p in procs), outputs

    sync(3)
    sync(1)
    runs = ContractBillingRun.select().where(ContractBillingRun.contract == cid)
    assert runs.count() == 3  # two months ago, last month, this month
    assert Invoice.select().where(Invoice.id.in_(runs.select(ContractBillingRun.invoice)),
                                  Invoice.bill_id.is_null()).count() == 3
    [received] = smtp_server.wait_for(1)
    time.sleep(0.3)
    assert len(smtp_server.messages) == 1
    assert received.rcpt_tos == ["user1@example.com"]
    assert ContractReminder.select().count() == 2  # both thresholds, one mail


def test_each_reminder_speaks_its_recipient_s_language(any_world):
    from crm_tui import i18n
    from crm_tui.models import User

    configure(any_world, **{"contract.reminder_days": "30"})
    User.update(language="es_ES").where(User.login == "manager1").execute()
    User.update(language="en").where(User.login == "user1").execute()
    admin = any_world.session("admin")
    today = dt.date(2026, 1, 15)
    end = today + dt.timedelta(days=1)
    contracts = get_kind("contract")
    for name, manager in (("Spanish", "manager1"), ("English", "user1")):
        contracts.create(admin, {"name": name, "company": str(any_world.cid("Customer #A")),
                                 "date_end": end.isoformat(), "manager": manager})
    # The worker's own language is neither recipient's concern.
    i18n.set_language("es")
    try:
        assert contract_reminders.send_due_reminders(SENDER, at(today)).queued == 2
    finally:
        i18n.set_language("en")
    import email

    mails = {m.recipients: email.message_from_bytes(bytes(m.message))
             for m in OutboxMail.select()}
    spanish, english = mails["manager1@example.com"], mails["user1@example.com"]
    assert spanish["Subject"] == f"El contrato Spanish vence el {end.isoformat()}"
    body = spanish.get_payload(decode=True).decode()
    assert "con Customer #A vence el" in body and "dentro de 1 día." in body
    assert "Renuévelo o déjelo vencer" in body
    assert english["Subject"] == f"Contract English ends on {end.isoformat()}"
    body = english.get_payload(decode=True).decode()
    assert "with Customer #A ends on" in body and "in 1 day." in body
