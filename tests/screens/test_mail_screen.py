"""Screen 9 (mail) driven by keys: read, assign to a picked lead, make a lead, discard,
replay; the status line's new-mail count and the lead list's marker."""

from __future__ import annotations

from crm_tui.mail import quarantine
from crm_tui.mail.message import parse_message
from crm_tui.models import FiledMessage, Lead, LeadActivity
from crm_tui.services import mail_filing
from crm_tui.services.lead_rows import NEW_MAIL_MARK
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, footer_keys, press, settle, type_text


def _raw(subject: str, sender: str, body: str = "Hello there.") -> bytes:
    return (f"From: Pat Stranger <{sender}>\r\nTo: crm@crm.example\r\nSubject: {subject}\r\n"
            f"Message-ID: <{abs(hash((subject, sender)))}@elsewhere.example>\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n\r\n" + body + "\r\n").encode()


def _arrives(world, subject: str, sender: str, body: str = "Hello there.") -> str:
    """File one incoming message as the ingest does; returns its outcome."""
    raw = _raw(subject, sender, body)
    mail = mail_filing.IncomingMail(parse_message(raw), raw=raw)
    [result] = mail_filing.file_incoming([mail], clock=world.clock)
    return result.outcome


def _sales(world) -> None:
    get_kind("user").create(world.session("admin"), {
        "login": "sales1", "real_name": "Sales One", "profiles": "Sales",
        "company": str(world.cid("My company")), "password": "sales1-pw"})


def _email_in(lead_id: int) -> list[LeadActivity]:
    return list(LeadActivity.select().where(LeadActivity.lead == lead_id,
                                            LeadActivity.kind == "email_in"))


async def test_assign_new_lead_and_discard_by_keys(world):
    _sales(world)
    lead_id = get_kind("lead").create(world.session("admin"), {
        "full_name": "Zelda Target", "email": "zelda@target.example", "owner": "sales1"})
    for subject, sender in (("Price list?", "one@elsewhere.example"),
                            ("Second question", "two@elsewhere.example"),
                            ("Buy cheap pills", "spam@junk.example")):
        assert _arrives(world, subject, sender) == "unmatched"
    ids = {m.subject: m.id for m in FiledMessage.select()}

    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        assert type(app.screen).__name__ == "MailScreen"
        assert "3 unmatched" in str(app.screen.query_one("#top-title").content)
        # Newest first: the cursor is on the spam; enter reads it.
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "MailTextModal"
        assert "Buy cheap pills" in app.screen.title_text
        assert app.screen.reason.startswith("no [Lead#] token")
        await press(pilot, "escape")

        await press(pilot, "d")
        assert type(app.screen).__name__ == "ConfirmModal"
        await press(pilot, "y")
        assert FiledMessage.get_by_id(ids["Buy cheap pills"]).outcome == "discarded"
        assert app.said(f"Mail {ids['Buy cheap pills']} discarded")

        # Now on "Second question": A, type part of the lead's name, pick it.
        await press(pilot, "A")
        assert type(app.screen).__name__ == "LeadPickModal"
        await type_text(pilot, "zelda")
        await press(pilot, "down", "enter")
        assert type(app.screen).__name__ == "MailScreen"
        [entry] = _email_in(lead_id)
        assert "Hello there." in entry.text and "Second question" in entry.text
        assert app.said(f"Mail {ids['Second question']} filed on lead {lead_id}")

        # n: the last one becomes a lead of its sender.
        await press(pilot, "n")
        [made] = Lead.select().where(Lead.email == "one@elsewhere.example")
        assert made.full_name == "Pat Stranger" and made.owner.login == "admin"
        assert len(_email_in(made.id)) == 1
        assert "0 unmatched" in str(app.screen.query_one("#top-title").content)
        keys = footer_keys(app)
        assert keys["A"] is False and keys["n"] is False  # no row under the cursor: grey
        assert not app.said("", "error")


async def test_replay_a_quarantined_copy_by_keys(world):
    lead_id = get_kind("lead").create(world.session("admin"), {
        "full_name": "Carla", "email": "carla@customer.example"})
    quarantine.quarantine(_raw(f"[Lead#{lead_id}] kept", "carla@customer.example",
                               "Kept for replay."), 7, 42, "could not be parsed: boom")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        await press(pilot, "right_square_bracket")
        keys = footer_keys(app)
        assert keys["R"] is True and keys["A"] is False
        await press(pilot, "R")
        assert app.said(f"Quarantined 7-42: filed on lead {lead_id}")
        [entry] = _email_in(lead_id)
        assert "Kept for replay." in entry.text
        assert quarantine.kept() == []
        assert "0 quarantined" in str(app.screen.query_one("#top-title").content)


async def test_who_sees_what_on_the_mail_screen(world):
    _sales(world)
    _arrives(world, "Hello?", "one@elsewhere.example")
    quarantine.quarantine(_raw("kept", "x@elsewhere.example"), 7, 43, "could not be parsed")
    app = app_for(world, "user1")  # no lead bits: nothing to see, no keys
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        assert "0 unmatched, 0 quarantined" in str(app.screen.query_one("#top-title").content)
        keys = footer_keys(app)
        assert all(k not in keys for k in ("A", "n", "d", "R"))
        await press(pilot, "A", "d")
        assert FiledMessage.get(FiledMessage.subject == "Hello?").outcome == "unmatched"
    app = app_for(world, "sales1")  # handles unmatched mail; no discard (LM), no replay
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        assert "1 unmatched, 0 quarantined" in str(app.screen.query_one("#top-title").content)
        keys = footer_keys(app)
        assert keys["A"] is True and keys["n"] is True
        # d is greyed (pressed, it says why: tests/screens/test_refusals.py); no replay.
        assert keys["d"] is False and "R" not in keys


async def test_new_mail_marker_and_status_count_for_the_owner(world):
    _sales(world)
    lead_id = get_kind("lead").create(world.session("admin"), {
        "full_name": "Owned Lead", "email": "owned@customer.example", "owner": "sales1"})
    assert _arrives(world, f"[Lead#{lead_id}] news", "owned@customer.example") == "filed"
    app = app_for(world, "sales1")
    async with app.run_test(size=SIZE) as pilot:
        app.refresh_mail_status()
        await settle(pilot)
        assert "new mail on 1 lead" in app.status_text
        await press(pilot, "5")
        table = app.screen.table
        row = table.get_row(table.cursor_index)
        assert row is not None and row[1][0] == NEW_MAIL_MARK + "Owned Lead"
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "LeadDetailScreen"
        await press(pilot, "q")
        await settle(pilot)
        assert "new mail" not in app.status_text
        row = table.get_row(table.cursor_index)
        assert row is not None and row[1][0] == "Owned Lead"
