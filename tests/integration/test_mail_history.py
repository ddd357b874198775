"""Mail fetched from a real Dovecot and filed by the sync: every row it writes in the CRM
tables has its lead's history row, in the same transaction, naming the mail worker (both
backends; tests/unit/history_audit.py)."""

from __future__ import annotations

import pytest

from crm_tui.models import History, Lead
from crm_tui.services import mail_sync as ingest
from crm_tui.services import mailing
from tests.fixtures.mail import dovecot_server  # noqa: F401
from tests.integration.mail_helpers import configure, make_lead, raw_mail
from tests.unit import history_audit

pytestmark = pytest.mark.mail


def test_a_sync_files_mail_with_its_history(any_world, mailbox) -> None:
    world = any_world
    configure(world, imap=mailbox, **{"mail.create_leads": "yes", "mail.lead_owner": "user1"})
    lead = make_lead(world)
    mailbox.append(raw_mail(subject=f"[Lead#{lead}] the signed offer",
                            attachments=[("signed.pdf", b"%PDF-1.4 signed")]))
    mailbox.append(raw_mail(subject="Do you sell widgets?", sender="new@elsewhere.example"))

    def sync() -> None:
        ingest.run_once(mailing.mail_config(), clock=world.clock)

    gaps = history_audit.audited(world.session("admin"), sync, login="mail", face="mail")
    assert gaps == []
    filed = History.select().where(History.kind == "lead", History.record_id == lead,
                                   History.action == "change").get()
    assert "the signed offer" in filed.change_data["activity"][1]
    assert filed.change_data["files"] == [None, ["signed.pdf"]]
    assert Lead.select().where(Lead.email == "new@elsewhere.example").exists()
