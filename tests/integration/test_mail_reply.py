"""Replying to and forwarding a lead over a real SMTP listener (aiosmtpd), service and CLI."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

import pytest

from crm_tui import paths
from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.mail.tokens import find_lead_token
from crm_tui.models import Attachment, LeadActivity, OutboxMail, SentMail
from crm_tui.services import mailing
from crm_tui.services.records import get_kind
from tests.fixtures.mail import free_port, smtp_server  # noqa: F401
from tests.integration.mail_helpers import (
    CLIENT,
    REFERENCE,
    SENDER,
    configure,
    make_lead,
    send_outbox,
)
from tests.unit.lead_world import grant_lead_bits

pytestmark = pytest.mark.mail


def _subject(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_reply_arrives_with_token_cc_origin_and_is_logged(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    grant_lead_bits(world)
    lead_id = make_lead(world)
    user1 = world.session("user1")  # manages Customer #A, has LW: may modify the lead

    result = mailing.reply(
        user1, lead_id, subject="Your offer – Grüße", body="Dear Carla,\nhere it is.\n",
        attachments=[mailing.OutgoingFile("offer.pdf", b"%PDF-1.4 offer")],
    )
    assert send_outbox() == 1

    [received] = smtp_server.wait_for(1)
    assert sorted(received.rcpt_tos) == sorted([CLIENT, REFERENCE])
    message = received.message
    assert _subject(message) == f"[Lead#{lead_id}] Your offer – Grüße"
    assert find_lead_token(message["Subject"]) == lead_id
    assert REFERENCE in message["Cc"]
    assert message["X-CRM-Origin"] == "crm_tui"
    assert message["X-CRM-Lead"] == str(lead_id)
    assert SENDER in message["From"] and "User #1" in message["From"]
    assert message["Message-ID"].strip("<>") == result.message_id
    names = [part.get_filename() for part in message.walk() if part.get_filename()]
    assert names == ["offer.pdf"]

    # Logged: one email_out entry with the attachment, and the Message-ID for routing.
    entry = LeadActivity.get(LeadActivity.id == result.activity_id)
    assert (entry.lead_id, entry.kind, entry.author) == (lead_id, "email_out", "user1")
    assert f"Subject: [Lead#{lead_id}] Your offer – Grüße" in entry.text
    assert "here it is." in entry.text
    [att] = Attachment.select().where(Attachment.owner_kind == "lead_activity",
                                      Attachment.owner_id == entry.id)
    assert att.original_name == "offer.pdf"
    assert paths.files_dir().joinpath(att.stored_name).read_bytes() == b"%PDF-1.4 offer"
    sent = SentMail.get(SentMail.message_id == result.message_id)
    assert sent.lead_id == lead_id and CLIENT in sent.recipients
    activity = get_kind("lead").get(user1, lead_id)["activity"]
    assert activity[0]["kind"] == "email_out"
    assert activity[0]["attachments"][0]["name"] == "offer.pdf"


def test_template_in_the_leads_language_with_macros(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    admin = world.session("admin")
    templates = get_kind("mail-template")
    templates.create(admin, {"name": "Offer", "language": "en", "subject": "Our offer",
                             "body": "Dear _DEST_NAME_"})
    templates.create(admin, {"name": "Offer", "language": "de",
                             "subject": "Unser Angebot für _DEST_NAME_",
                             "body": "Hallo _DEST_NAME_ (_DEST_EMAIL_),\n"
                                     "viele Grüße, _SRC_NAME_ <_SRC_EMAIL_>"})
    lead_id = make_lead(world, "Jörg Müller", "joerg@example.de", language="de")

    assert [t["language"] for t in mailing.templates_for_lead(admin, lead_id)][:1] == ["de"]
    mailing.reply(admin, lead_id, template="Offer")
    assert send_outbox() == 1

    [received] = smtp_server.wait_for(1)
    message = received.message
    assert _subject(message) == f"[Lead#{lead_id}] Unser Angebot für Jörg Müller"
    body = message.get_payload(decode=True).decode(message.get_content_charset())
    assert "Hallo Jörg Müller (joerg@example.de)," in body
    assert f"viele Grüße, Administrator <{SENDER}>" in body

    # --subject overrides the template's subject, the template still gives the body.
    mailing.reply(admin, lead_id, template="Offer", subject="Kurz")
    assert send_outbox() == 1
    second = smtp_server.wait_for(2)[1].message
    assert _subject(second) == f"[Lead#{lead_id}] Kurz"

    with pytest.raises(ValidationFailed, match="no such mail template"):
        mailing.reply(admin, lead_id, template="Nope")
    english_only = make_lead(world, "Fr Ançois", "f@example.fr", language="fr")
    templates.create(admin, {"name": "Hello", "language": "en", "subject": "Hi", "body": "x"})
    with pytest.raises(ValidationFailed, match="lead's language 'fr'"):
        mailing.reply(admin, english_only, template="Hello")
    assert send_outbox() == 0
    assert len(smtp_server.messages) == 2


def test_only_users_who_may_modify_the_lead_send(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    lead_id = make_lead(world)
    for login in ("user2", "user1"):  # user2: no bits; user1: no lead bits yet
        # Neither may see the lead: it answers like a lead that does not exist.
        with pytest.raises(NotFound, match=f"^lead {lead_id} does not exist$"):
            mailing.reply(world.session(login), lead_id, subject="x", body="y")
        with pytest.raises(NotFound, match=f"^lead {lead_id} does not exist$"):
            mailing.forward(world.session(login), lead_id, "boss@example.org")
        assert not mailing.can_mail(world.session(login), lead_id)
    assert smtp_server.messages == []
    assert LeadActivity.select().where(LeadActivity.kind == "email_out").count() == 0


def test_forward_sends_the_leads_data_and_remembers_the_recipient(world, smtp_server) -> None:  # noqa: F811,E501
    configure(world, smtp=smtp_server)
    admin = world.session("admin")
    lead_id = make_lead(world)
    get_kind("lead").update(admin, lead_id, {"country": "Spain", "estimated_sale": "1200.50",
                                             "description": "Wants 20 seats"})

    result = mailing.forward(admin, lead_id, "partner@example.org", note="Can you call her?")
    assert send_outbox() == 1

    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["partner@example.org"]
    message = received.message
    assert find_lead_token(message["Subject"]) == lead_id
    body = message.get_payload(decode=True).decode(message.get_content_charset())
    for text in ("Can you call her?", "Carla Client", CLIENT, "Spain", "1200.50",
                 "Wants 20 seats", "Managing company: Customer #A", "Status: New"):
        assert text in body
    entry = LeadActivity.get(LeadActivity.id == result.activity_id)
    assert entry.kind == "email_out" and "Forwarded to partner@example.org" in entry.text
    assert SentMail.get(SentMail.message_id == result.message_id).recipients == (
        "partner@example.org")

    with pytest.raises(ValidationFailed, match="line break"):
        mailing.forward(admin, lead_id, "someone\r\nBcc: victim@example.org")
    assert len(smtp_server.messages) == 1


def test_header_injection_and_missing_settings_are_refused(world, smtp_server) -> None:  # noqa: F811
    admin = world.session("admin")
    lead_id = make_lead(world)
    with pytest.raises(ValidationFailed, match="mail.smtp_host"):
        mailing.reply(admin, lead_id, subject="x", body="y")
    configure(world, smtp=smtp_server, **{"mail.reference_address": ""})
    with pytest.raises(ValidationFailed, match="mail.reference_address"):
        mailing.reply(admin, lead_id, subject="x", body="y")
    configure(world, smtp=smtp_server)
    with pytest.raises(ValidationFailed, match="line break"):
        mailing.reply(admin, lead_id, subject="x\r\nBcc: victim@example.org", body="y")
    no_address = make_lead(world, "No Mail", "")
    with pytest.raises(ValidationFailed, match="no email address"):
        mailing.reply(admin, no_address, subject="x", body="y")
    assert smtp_server.messages == []
    assert SentMail.select().count() == 0


def test_unreachable_smtp_still_queues_and_logs_the_reply(world) -> None:
    admin = world.session("admin")
    lead_id = make_lead(world)
    configure(world, **{"mail.smtp_host": "127.0.0.1", "mail.smtp_port": str(free_port()),
                        "mail.smtp_security": "none"})
    result = mailing.reply(admin, lead_id, subject="x", body="y",
                           attachments=[mailing.OutgoingFile("a.txt", b"a")])
    assert result.status == "queued"
    assert LeadActivity.select().where(LeadActivity.kind == "email_out").count() == 1
    assert len(list(paths.files_dir().iterdir())) == 1
    assert send_outbox() == 0  # the worker keeps it for later
    assert OutboxMail.get_by_id(result.mail_id).status == "queued"


# -- the command line ----------------------------------------------------------------------------


def test_cli_reply_with_template_body_file_and_attachments(world, smtp_server, run_crm,  # noqa: F811
                                                          tmp_path) -> None:
    configure(world, smtp=smtp_server)
    get_kind("mail-template").create(world.session("admin"), {
        "name": "Followup", "language": "en", "subject": "Following up, _DEST_NAME_",
        "body": "Template body"})
    lead_id = make_lead(world)
    body = tmp_path / "body.txt"
    body.write_text("Hi Carla,\nthe price list is attached.\n", encoding="utf-8")
    prices = tmp_path / "prices.csv"
    prices.write_bytes(b"item;price\nseat;60\n")

    done = run_crm("lead", "reply", str(lead_id), "--template", "Followup", "--body-file",
                   str(body), "--attach", str(prices))
    assert done.returncode == 0, done.stderr
    assert "queued as outbox mail" in done.stderr
    worker = run_crm("--sync")
    assert worker.returncode == 0 and "outbox: sent 1" in worker.stdout, worker.stderr
    [received] = smtp_server.wait_for(1)
    message = received.message
    assert done.stdout.strip() == message["Message-ID"]
    assert _subject(message) == f"[Lead#{lead_id}] Following up, Carla Client"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain"
                and not p.get_filename())
    assert "the price list is attached." in text.get_payload(decode=True).decode()
    [csv_part] = [p for p in message.walk() if p.get_filename() == "prices.csv"]
    assert csv_part.get_payload(decode=True) == b"item;price\nseat;60\n"

    shown = run_crm("show", "lead", str(lead_id), "--json")
    assert shown.returncode == 0, shown.stderr
    assert '"email_out"' in shown.stdout and "prices.csv" in shown.stdout

    missing = run_crm("lead", "reply", str(lead_id), "--subject", "x", "--attach",
                      str(tmp_path / "nope.pdf"))
    assert missing.returncode == 1 and "nope.pdf" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_cli_forward_and_exit_codes(world, smtp_server, run_crm) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    lead_id = make_lead(world)
    done = run_crm("lead", "forward", str(lead_id), "--to", "partner@example.org")
    assert done.returncode == 0, done.stderr
    assert send_outbox() == 1
    [received] = smtp_server.wait_for(1)
    assert received.rcpt_tos == ["partner@example.org"]
    assert email.message_from_bytes(received.content)["X-CRM-Lead"] == str(lead_id)

    hidden = run_crm("--user", "user2", "lead", "forward", str(lead_id), "--to", "x@example.org")
    assert hidden.returncode == 1, hidden.stderr
    assert hidden.stderr == f"crm: error: lead {lead_id} does not exist\n"
    missing = run_crm("lead", "forward", "9999", "--to", "x@example.org")
    assert missing.returncode == 1 and "9999" in missing.stderr

    configure(world, **{"mail.smtp_port": str(free_port())})
    down = run_crm("lead", "reply", str(lead_id), "--subject", "hello")
    # SMTP down does not concern the command: the mail is queued for the worker.
    assert down.returncode == 0, down.stderr
    assert down.stderr.count("\n") == 1 and "queued as outbox mail" in down.stderr


# -- the dialogs, driven with keys ------------------------------------------------------------


class _DialogHarness:
    """A bare app showing one mail dialog; keeps what it was dismissed with."""

    @staticmethod
    def make(dialog):
        from textual.app import App

        class Harness(App[None]):
            def __init__(self) -> None:
                super().__init__()
                self.results: list = []

            def on_mount(self) -> None:
                self.push_screen(dialog, self.results.append)

        return Harness()


async def _settle(pilot) -> None:
    import contextlib

    from textual.worker import WorkerCancelled, WorkerFailed

    for _ in range(40):
        # A dialog that closes itself cancels its own workers: that is an end too.
        with contextlib.suppress(WorkerFailed, WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if all(worker.is_finished for worker in pilot.app.workers):
            return


async def test_reply_dialog_applies_a_template_and_sends(world, smtp_server, tmp_path) -> None:  # noqa: F811,E501
    from textual.widgets import Input, Select, TextArea

    from screens.modals.mail_reply import MailReplyModal

    configure(world, smtp=smtp_server)
    admin = world.session("admin")
    get_kind("mail-template").create(admin, {"name": "Welcome", "language": "en",
                                             "subject": "Welcome _DEST_NAME_",
                                             "body": "Hello _DEST_NAME_,\n"})
    lead_id = make_lead(world)
    leaflet = tmp_path / "leaflet.txt"
    leaflet.write_text("our leaflet")
    app = _DialogHarness.make(MailReplyModal(admin, lead_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        dialog = app.screen
        assert CLIENT in str(dialog.query_one("#mail-to").render())
        assert dialog.query_one("#mail-subject", Input).value == f"[Lead#{lead_id}] Customer A Ltd"
        dialog.query_one("#mail-template", Select).value = "Welcome"
        await _settle(pilot)
        assert dialog.query_one("#mail-subject", Input).value == "Welcome Carla Client"
        dialog.query_one("#mail-body", TextArea).focus()
        await pilot.press("end", "ctrl+end", *"See you soon.")
        dialog.query_one("#mail-attach", Input).value = str(leaflet)
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert app.results and app.results[0].subject == f"[Lead#{lead_id}] Welcome Carla Client"
    assert send_outbox() == 1
    [received] = smtp_server.wait_for(1)
    message = received.message
    body = next(p for p in message.walk() if p.get_content_type() == "text/plain"
                and not p.get_filename()).get_payload(decode=True).decode()
    assert "Hello Carla Client," in body and "See you soon." in body
    assert [p.get_filename() for p in message.walk() if p.get_filename()] == ["leaflet.txt"]


async def test_dialog_keeps_the_text_when_sending_fails_and_escape_cancels(world) -> None:
    from textual.widgets import Input, Label, TextArea

    from screens.modals.mail_reply import ForwardLeadModal, MailReplyModal

    admin = world.session("admin")
    lead_id = make_lead(world)  # no SMTP server configured
    app = _DialogHarness.make(MailReplyModal(admin, lead_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        dialog = app.screen
        dialog.query_one("#mail-body", TextArea).text = "Precious words"
        await pilot.press("ctrl+s")
        await _settle(pilot)
        assert app.screen is dialog and app.results == []
        assert "mail.smtp_host" in str(dialog.query_one("#mail-error", Label).render())
        assert dialog.query_one("#mail-body", TextArea).text == "Precious words"
        await pilot.press("escape")
        await _settle(pilot)
        assert app.results == [None]

    # A user who may not modify the lead never gets the dialog.
    app = _DialogHarness.make(ForwardLeadModal(world.session("user2"), lead_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert app.results == [None]
    app = _DialogHarness.make(ForwardLeadModal(admin, lead_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await pilot.press(*"not-an-address", "enter")
        await _settle(pilot)
        assert "not an email address" in str(app.screen.query_one("#mail-error").render())
        assert app.screen.query_one("#mail-to", Input).value == "not-an-address"


async def test_r_on_the_lead_detail_sends_and_shows_it_in_the_timeline(world, smtp_server) -> None:  # noqa: F811,E501
    from textual.widgets import Input, TextArea

    from screens.lead_detail import LeadDetailScreen, render_timeline
    from screens.modals.mail_reply import ForwardLeadModal, MailReplyModal
    from tests.screens.lead_harness import LeadHarness, settle

    configure(world, smtp=smtp_server)
    lead_id = make_lead(world)
    app = LeadHarness(lambda: LeadDetailScreen(world.session("admin"), lead_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, MailReplyModal)
        app.screen.query_one("#mail-subject", Input).value = "Meeting"
        app.screen.query_one("#mail-body", TextArea).text = "Tuesday at ten?"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert ("information", f"Mail queued for {CLIENT}, {REFERENCE}") in app.notes
        newest = app.screen.detail["activity"][0]  # the timeline was read again
        assert newest["kind"] == "email_out" and f"[Lead#{lead_id}] Meeting" in newest["text"]
        assert newest["mail"]["status"] == "queued"
        assert "email out  [queued]" in render_timeline([newest], []).plain
        await pilot.press("f")
        await settle(pilot)
        assert isinstance(app.screen, ForwardLeadModal)
        await pilot.press("escape")
        await settle(pilot)
    assert send_outbox() == 1
    assert len(smtp_server.wait_for(1)) == 1
    # Read again, the timeline shows the mail sent with the server's answer.
    [sent] = [e for e in get_kind("lead").get(world.session("admin"), lead_id)["activity"]
              if e["kind"] == "email_out"]
    assert "email out  [sent] 250 " in render_timeline([sent], []).plain

    # Without the right to modify the lead the keys are greyed and do nothing.
    from tests.unit.lead_world import grant_lead_bits

    grant_lead_bits(world)
    other = make_lead(world, "Bea Other", "bea@other.example", company="Customer #B")
    app = LeadHarness(lambda: LeadDetailScreen(world.session("user1"), other))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.check_action("email_reply", ()) is None
        await pilot.press("r", "f")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
