"""Leads made from mail of unknown senders (`mail.create_leads`), filed in the same
transaction as the lead (both backends)."""

from __future__ import annotations

from crm_tui.mail.message import parse_message
from crm_tui.models import FiledMessage, Lead, LeadActivity
from crm_tui.services import mail_filing, mail_leads


def _mail(n: int, sender: str, subject: str = "A question") -> mail_filing.IncomingMail:
    raw = (f"From: \"Ann Other\" <{sender}>\r\nSubject: {subject} {n}\r\n"
           f"Message-ID: <q{n}@elsewhere.example>\r\n\r\nBody {n}.\r\n").encode()
    return mail_filing.IncomingMail(parse_message(raw), raw=raw)


def test_two_mails_of_one_stranger_in_one_batch_make_one_lead(any_world) -> None:
    new_lead = mail_leads.creator("", any_world.clock)
    results = mail_filing.file_incoming(
        [_mail(1, "ann@elsewhere.example"), _mail(2, "ann@elsewhere.example"),
         _mail(3, "user1@example.com")],  # a CRM user's address: known, no lead
        clock=any_world.clock, new_lead=new_lead)

    assert [r.outcome for r in results] == ["filed", "unmatched", "unmatched"]
    [lead] = Lead.select().where(Lead.email == "ann@elsewhere.example")
    assert (lead.full_name, lead.owner_id, lead.company_id) == ("Ann Other", None, None)
    assert results[0].lead_id == lead.id and results[0].reason == mail_filing.NEW_LEAD_VIA
    kinds = sorted(e.kind for e in LeadActivity.select().where(LeadActivity.lead == lead.id))
    assert kinds == ["created", "email_in", "note"]
    assert FiledMessage.get(FiledMessage.key == "q1@elsewhere.example").outcome == "filed"
    assert Lead.select().count() == 1


def test_an_unknown_owner_login_leaves_the_lead_without_owner(any_world) -> None:
    new_lead = mail_leads.creator("no-such-login", any_world.clock)
    [done] = mail_filing.file_incoming([_mail(4, "bob@elsewhere.example")],
                                       clock=any_world.clock, new_lead=new_lead)
    assert done.outcome == "filed"
    assert Lead.get_by_id(done.lead_id).owner_id is None
