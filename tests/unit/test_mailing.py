"""The mailing service without servers: settings, templates, routing rules, the filing ledger,
and staged attachment files — on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import peewee
import pytest

from crm_tui import paths
from crm_tui.errors import ValidationFailed
from crm_tui.mail.config import MailConfigError, from_settings
from crm_tui.mail.message import parse_message
from crm_tui.models import Attachment, FiledMessage, LeadActivity, SentMail
from crm_tui.services import mail_filing, mailing, staged_files
from crm_tui.services.records import get_kind
from tests.integration.mail_helpers import CLIENT, make_lead, raw_mail


def _parsed(**kwargs):
    return parse_message(raw_mail(**kwargs), max_bytes=1_000_000)


def _mail(uid: int | None = None, validity: int = 7, **kwargs) -> mail_filing.IncomingMail:
    return mail_filing.IncomingMail(_parsed(**kwargs), validity if uid else None, uid)


# -- settings -----------------------------------------------------------------------------------


def test_config_from_settings() -> None:
    config = from_settings({
        "mail.smtp_host": "smtp.example", "mail.smtp_port": "587",
        "mail.smtp_security": "starttls", "mail.smtp_user": "me",
        "mail.imap_host": "imap.example", "mail.imap_port": "993", "mail.imap_security": "tls",
        "mail.imap_folder": "Leads", "mail.reference_address": "CRM@Example.org",
        "mail.max_message_bytes": "5000", "mail.poll_seconds": "30",
    })
    assert (config.smtp.host, config.smtp.port, config.smtp.security) == (
        "smtp.example", 587, "starttls")
    assert config.smtp.user == "me" and config.smtp.password is None
    assert (config.imap.host, config.imap.port, config.imap.folder) == ("imap.example", 993,
                                                                        "Leads")
    assert config.reference_address == "crm@example.org"
    assert (config.max_message_bytes, config.poll_seconds) == (5000, 30)
    empty = from_settings({})
    assert empty.smtp is None and empty.imap is None and empty.poll_seconds == 60


@pytest.mark.parametrize("values, key", [
    ({"mail.imap_host": "h", "mail.imap_port": "99999"}, "mail.imap_port"),
    ({"mail.smtp_host": "h", "mail.smtp_security": "ssl"}, "mail.smtp_security"),
    ({"mail.imap_host": "h\r\nA LOGOUT"}, "mail.imap_host"),
    ({"mail.imap_host": "h", "mail.unmatched_folder": "inbox"}, "mail.unmatched_folder"),
    ({"mail.poll_seconds": "0"}, "mail.poll_seconds"),
])
def test_unusable_settings_name_the_key(values, key) -> None:
    with pytest.raises(MailConfigError) as info:
        from_settings(values)
    assert info.value.key == key and key in str(info.value)


def test_mail_config_reports_a_bad_setting_as_validation(admin) -> None:
    from crm_tui.models import Setting

    Setting.update(value="abc").where(Setting.key == "mail.imap_port").execute()
    mailing.settings.set_value(admin, "mail.imap_host", "imap.example")
    with pytest.raises(ValidationFailed, match="mail.imap_port"):
        mailing.mail_config()


# -- templates ----------------------------------------------------------------------------------


def test_templates_follow_language_and_company_visibility(world) -> None:
    from tests.unit.lead_world import grant_lead_bits

    grant_lead_bits(world)
    admin = world.session("admin")
    kind = get_kind("mail-template")
    kind.create(admin, {"name": "Hi", "language": "es", "subject": "Hola _DEST_NAME_",
                        "body": "De _SRC_NAME_ (_SRC_EMAIL_) para _DEST_EMAIL_"})
    kind.create(admin, {"name": "Hi", "language": "en", "subject": "Hello", "body": "x"})
    kind.create(admin, {"name": "B only", "language": "es", "subject": "s", "body": "b",
                        "company": str(world.cid("Customer #B"))})
    lead_id = make_lead(world, "Ana López", "ana@example.es", language="es_ES")
    user1 = world.session("user1")

    listed = mailing.templates_for_lead(user1, lead_id)
    assert [(t["name"], t["language"]) for t in listed] == [("Hi", "es"), ("Hi", "en")]
    assert [t["in_lead_language"] for t in listed] == [True, False]
    config = from_settings({"mail.from_address": "sales@crm.example"})
    subject, body = mailing.render_template(user1, lead_id, "Hi", config)
    assert subject == "Hola Ana López"
    assert body == "De User #1 (sales@crm.example) para ana@example.es"
    with pytest.raises(ValidationFailed, match="no such mail template"):
        mailing.render_template(user1, lead_id, "B only", config)
    assert mailing.render_template(admin, lead_id, "B only", config) == ("s", "b")


def test_template_with_an_unknown_macro_is_refused(world) -> None:
    admin = world.session("admin")
    get_kind("mail-template").create(admin, {"name": "Bad", "language": "en",
                                             "subject": "x", "body": "Hi _DEST_NAM_"})
    lead_id = make_lead(world)
    with pytest.raises(ValidationFailed, match="_DEST_NAM_"):
        mailing.render_template(admin, lead_id, "Bad", from_settings({}))


def test_lead_summary_lists_the_filled_fields(world) -> None:
    admin = world.session("admin")
    lead_id = make_lead(world)
    text = mailing.lead_summary(get_kind("lead").get(admin, lead_id), "Customer #A")
    assert text.startswith(f"Lead #{lead_id}\nStatus: New\n")
    assert "Full name: Carla Client" in text and f"Email: {CLIENT}" in text
    assert "Managing company: Customer #A" in text and "Country" not in text


# -- routing ------------------------------------------------------------------------------------


def test_routing_order_and_sender_rules(any_world) -> None:
    world = any_world
    lead_a = make_lead(world)
    lead_b = make_lead(world, "Bea Other", "bea@other.example", company="Customer #B")
    SentMail.create(lead=lead_b, message_id="sent-1@crm.example",
                    recipients="bea@other.example,partner@p.example", created=world.clock.now())

    # 1. a reply to mail the CRM sent wins over the subject token
    found = mail_filing.route(_parsed(subject=f"Re: [Lead#{lead_a}]", sender="partner@p.example",
                                      headers={"In-Reply-To": "<sent-1@crm.example>"}))
    assert (found.lead_id, found.via) == (lead_b, "reply to mail the CRM sent")
    # ... but knowing a Message-ID is not enough: the sender rule holds on that route too
    stranger = mail_filing.route(_parsed(subject="Re: offer", sender="x@y.example",
                                         headers={"In-Reply-To": "<sent-1@crm.example>"}))
    assert stranger.lead_id is None
    assert stranger.reason == (f"reply to mail the CRM sent names lead {lead_b}, but the "
                               "sender x@y.example is not its address, a contact of its "
                               "company, a CRM user or a recipient of its mail")
    # 2. the token, from the lead's own address (any case)
    assert mail_filing.route(_parsed(subject=f"AW: Re: [lead#{lead_a}] x",
                                 sender=CLIENT.upper())).lead_id == lead_a
    # a recipient of mail the CRM sent for that lead may write into it
    assert mail_filing.route(_parsed(subject=f"[Lead#{lead_b}]",
                                 sender="partner@p.example")).lead_id == lead_b
    # but not into another lead
    refused = mail_filing.route(_parsed(subject=f"[Lead#{lead_a}]", sender="partner@p.example"))
    assert refused.lead_id is None and "partner@p.example is not its address" in refused.reason
    # 3. the header when the subject lost the token
    assert mail_filing.route(_parsed(subject="changed", headers={"X-CRM-Lead": str(lead_a)})
                         ).lead_id == lead_a
    # a rejected token does not stop the header from being tried
    both = mail_filing.route(_parsed(subject=f"[Lead#{lead_b}]",
                                 headers={"X-CRM-Lead": str(lead_a)}))
    assert both.lead_id == lead_a and both.via == "X-CRM-Lead header"
    # digits only, existing leads only
    for subject in (f"[Lead#{lead_a}x]", f"[Lead# {lead_a}]", "[Lead#-1]", "[Lead#0]"):
        assert mail_filing.route(_parsed(subject=subject)).lead_id is None
    missing = mail_filing.route(_parsed(subject="[Lead#424242]"))
    assert "lead 424242, which does not exist" in missing.reason
    stranger = mail_filing.route(_parsed(subject="no token", sender="s@x.example",
                                     headers={"X-CRM-Lead": f"{lead_a}; DROP"}))
    assert stranger.lead_id is None


# -- filing ---------------------------------------------------------------------------------------


def test_file_incoming_records_the_ledger_with_the_activity(any_world) -> None:
    world = any_world
    lead_id = make_lead(world)
    mails = [
        _mail(1, subject=f"[Lead#{lead_id}] one", attachments=[("a.txt", b"A")]),
        _mail(2, subject="nobody's"),
        _mail(3, subject=f"[Lead#{lead_id}] auto", headers={"Auto-Submitted": "auto-replied"}),
    ]
    mails.append(mail_filing.IncomingMail(mails[0].parsed, 7, 4))  # delivered twice

    results = mail_filing.file_incoming(mails, present_uids=[1, 2, 3, 4], clock=world.clock)

    assert [(r.outcome, r.action) for r in results] == [
        ("filed", "flag"), ("unmatched", "unmatched"), ("auto", "leave"), ("duplicate", "flag")]
    ledger = {row.uid: row for row in FiledMessage.select()}
    assert sorted(ledger) == [1, 2, 3]
    assert ledger[1].activity_id == results[0].activity_id and ledger[1].lead_id == lead_id
    assert ledger[2].outcome == "unmatched" and "no [Lead#] token" in ledger[2].reason
    entry = LeadActivity.get_by_id(results[0].activity_id)
    assert (entry.kind, entry.author, entry.created) == ("email_in", CLIENT, world.clock.now())
    [att] = Attachment.select().where(Attachment.owner_id == entry.id,
                                      Attachment.owner_kind == "lead_activity")
    assert (paths.files_dir() / att.stored_name).read_bytes() == b"A"

    # The same place again (a second sync that listed it too): nothing new.
    again = mail_filing.file_incoming(mails[:1], present_uids=[1], clock=world.clock)
    assert (again[0].outcome, again[0].reason) == ("duplicate", "already handled")
    assert LeadActivity.select().where(LeadActivity.kind == "email_in").count() == 1


def test_unmatched_mail_seen_again_elsewhere_is_routed_again(any_world) -> None:
    world = any_world
    mail = _mail(5, subject="[Lead#1000] early bird")
    [first] = mail_filing.file_incoming([mail], present_uids=[5])
    assert first.outcome == "unmatched"
    # Someone creates the lead (id 1000 cannot be forced portably: use the header of a
    # real lead instead) and moves the message back: it arrives with a new UID.
    lead_id = make_lead(world)
    moved_back = mail_filing.IncomingMail(mail.parsed, 7, 9)
    moved_back.parsed.x_crm_lead = lead_id
    [second] = mail_filing.file_incoming([moved_back], present_uids=[9])
    assert second.outcome == "filed" and second.lead_id == lead_id
    row = FiledMessage.get()
    assert (row.uid, row.outcome, row.lead_id) == (9, "filed", lead_id)
    assert FiledMessage.select().count() == 1


def test_concurrent_filing_of_one_message_files_it_once(any_world) -> None:
    """Two processes at the same moment: the unique key lets exactly one win."""
    from crm_tui.db import database

    world = any_world
    lead_id = make_lead(world)
    mail = _mail(1, subject=f"[Lead#{lead_id}] race")
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        with database.connection_context():
            barrier.wait()
            try:
                [result] = mail_filing.file_incoming([mail], present_uids=[1])
            except peewee.IntegrityError:
                # What ingest does: file again, one by one; the ledger now answers.
                [result] = mail_filing.file_incoming([mail], present_uids=[1])
            outcomes.append(result.outcome)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["duplicate", "filed"]
    assert LeadActivity.select().where(LeadActivity.kind == "email_in").count() == 1


def test_overlong_message_id_is_no_id_and_the_content_is_the_key(crm_db) -> None:
    parsed = _parsed(subject="x", message_id="<" + "a" * 400 + "@example.org>")
    assert parsed.message_id is None
    key = mail_filing.ledger_key(parsed)
    assert key == "sha256:" + parsed.digest and len(key) == 71


def test_headers_only_mail_becomes_a_note(world) -> None:
    lead_id = make_lead(world)
    mail = _mail(3, subject=f"[Lead#{lead_id}] huge")
    mail.headers_only, mail.size = True, 12_345_678
    [result] = mail_filing.file_incoming([mail], present_uids=[3])
    assert (result.outcome, result.action) == ("oversized", "leave")
    text = LeadActivity.get_by_id(result.activity_id).text
    assert "12345678 bytes, over the size limit; it was not downloaded" in text


# -- staged attachment files -------------------------------------------------------------------


def test_rolled_back_filing_leaves_no_file(world) -> None:
    lead_id = make_lead(world)
    good = _mail(1, subject=f"[Lead#{lead_id}] ok", attachments=[("a.bin", b"1")])
    bad = _mail(2, subject=f"[Lead#{lead_id}] bad", attachments=[("b.bin", b"2")])
    # Writing the second file fails half-way, after the first one was written and its rows
    # inserted: the transaction rolls back and both files go.
    bad.parsed.attachments[0].data = None
    with pytest.raises(TypeError):
        mail_filing.file_incoming([good, bad], present_uids=[1, 2])
    assert list(paths.files_dir().iterdir()) == []
    assert Attachment.select().count() == 0 and FiledMessage.select().count() == 0
    assert list((paths.data_dir() / "pending").glob("*.list")) == []


def test_sweep_removes_files_of_a_killed_process(world) -> None:
    lead_id = make_lead(world)
    staged = staged_files.StagedFiles()
    orphan = staged.write(b"orphan", "o.txt")
    kept = staged.write(b"kept", "k.txt")
    Attachment.create(owner_kind="lead", owner_id=lead_id, original_name="k.txt",
                      stored_name=kept, size=4, created=world.clock.now())
    # While the writer lives (its journal locked), a sweep touches nothing.
    assert staged_files.sweep_pending() == 0
    assert (paths.files_dir() / orphan).exists()
    staged._journal.close()  # the process dies: the lock goes, the journal stays

    assert staged_files.sweep_pending() == 1
    assert not (paths.files_dir() / orphan).exists()
    assert (paths.files_dir() / kept).read_bytes() == b"kept"
    assert list((paths.data_dir() / "pending").glob("*.list")) == []
