"""Personal data: `crm privacy export` hands over everything held about a contact or lead,
`crm privacy erase` anonymises it (keeping what the business must keep), and a person who
opted out of mail is never mailed, whichever way the mail was queued."""

from __future__ import annotations

import datetime as dt
import json
import stat
from decimal import Decimal
from pathlib import Path

import pytest

from crm_tui.errors import NotFound, ValidationFailed
from crm_tui.models import Attachment, FiledMessage, History, Lead, LeadActivity, OutboxMail
from crm_tui.services import attachments, history, mailing, outbox, privacy
from crm_tui.services.context import FrozenClock
from crm_tui.services.leads import add_note
from crm_tui.services.records import get_kind
from tests.fixtures.mail import smtp_server  # noqa: F401
from tests.integration.mail_helpers import CLIENT, configure, make_lead
from tests.unit.lead_world import grant_lead_bits

LATER = dt.datetime(2026, 6, 1, 12, 0)


def _lead_with_a_past(world) -> int:
    grant_lead_bits(world)
    lead_id = make_lead(world, "Marta Núñez", "Marta.Nunez@customer-a.example")
    user1 = world.session("user1")
    get_kind("lead").update(user1, lead_id, {"phone": "+34 600 111 222", "position": "CTO"})
    add_note(user1, lead_id, "Marta prefers calls after 5pm")
    attachments.add(user1, "lead", lead_id, "passport.pdf", b"passport scan")
    return lead_id


def test_export_writes_fields_timeline_history_and_files(any_world, tmp_path: Path) -> None:
    lead_id = _lead_with_a_past(any_world)
    target = tmp_path / "marta"

    path = privacy.export(any_world.session("user1"), "lead", lead_id, target)

    data = json.loads(path.read_text())
    assert data["record"]["full_name"] == "Marta Núñez"
    assert data["record"]["phone"] == "+34 600 111 222"
    assert any("after 5pm" in e["text"] for e in data["activity"])
    assert {"phone", "position"} <= {k for e in data["history"] for k in e["changes"]}
    [attached] = data["attachments"]
    assert (target / attached["file"]).read_bytes() == b"passport scan"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.stat().st_mode) == 0o700
    # An existing directory is never written into.
    with pytest.raises(ValidationFailed, match="exists already"):
        privacy.export(any_world.session("user1"), "lead", lead_id, target)


def test_export_of_a_hidden_record_reads_as_a_missing_one(any_world, tmp_path: Path) -> None:
    contact_id = get_kind("contact").create(any_world.session("admin"), {
        "full_name": "Ana Ruiz", "email": "ana@b.example",
        "company": str(any_world.cid("Customer #B"))})
    user2 = any_world.session("user2")
    with pytest.raises(NotFound) as hidden:
        privacy.export(user2, "contact", contact_id, tmp_path / "a")
    with pytest.raises(NotFound) as missing:
        privacy.export(user2, "contact", 999999, tmp_path / "b")
    assert str(hidden.value).replace(str(contact_id), "N") == \
        str(missing.value).replace("999999", "N")
    assert not (tmp_path / "a").exists()


def test_erase_anonymises_the_person_and_keeps_the_business_record(any_world) -> None:
    lead_id = _lead_with_a_past(any_world)
    user1 = any_world.session("user1")
    get_kind("lead").update(user1, lead_id, {"estimated_sale": "1200.50"})
    stored = Attachment.get(Attachment.owner_kind == "lead", Attachment.owner_id == lead_id)
    file_path = attachments.path_of(stored.stored_name)
    assert file_path.exists()

    counts = privacy.erase(user1, "lead", lead_id)

    lead = Lead.get_by_id(lead_id)
    assert lead.full_name == f"{privacy.ERASED} lead {lead_id}"
    assert (lead.email, lead.email_key, lead.phone, lead.position) == ("", "", "", "")
    assert lead.mail_opt_out is True
    # The business facts stay: the amount, the company, the status.
    assert lead.estimated_sale == Decimal("1200.50")
    assert lead.company_id == any_world.cid("Customer #A")
    texts = [e.text for e in LeadActivity.select().where(LeadActivity.lead == lead_id)]
    assert not any("5pm" in t for t in texts)
    assert not Attachment.select().where(Attachment.owner_kind == "lead",
                                         Attachment.owner_id == lead_id).exists()
    assert not file_path.exists()
    # History keeps who changed what, not the values.
    dumped = json.dumps([e["changes"] for e in history.of_record(user1, "lead", lead_id)],
                        ensure_ascii=False)
    assert "Marta" not in dumped and "600 111" not in dumped and "CTO" not in dumped
    assert history.of_record(user1, "lead", lead_id)[-1]["action"] == "erase"
    assert counts["attachments"] == 1 and counts["history"] >= 2
    # Search no longer finds the name.
    assert get_kind("lead").list(user1, {"q": "marta"}) == []


def test_erase_needs_the_right_to_modify(any_world) -> None:
    contact_id = get_kind("contact").create(any_world.session("admin"), {
        "full_name": "Ana Ruiz", "email": "ana@b.example",
        "company": str(any_world.cid("Customer #B"))})
    # User #2 cannot see Customer #B's contacts: the same answer as a missing one.
    with pytest.raises(NotFound):
        privacy.erase(any_world.session("user2"), "contact", contact_id)
    privacy.erase(any_world.session("manager1"), "contact", contact_id)
    row = History.select().where(History.kind == "contact", History.record_id == contact_id,
                                 History.action == "erase")
    assert row.exists()
    assert get_kind("contact").get(any_world.session("admin"), contact_id)["email"] == ""


@pytest.mark.mail
def test_opted_out_person_is_never_mailed(world, smtp_server) -> None:  # noqa: F811
    configure(world, smtp=smtp_server)
    grant_lead_bits(world)
    lead_id = make_lead(world)
    user1 = world.session("user1")

    # Queued before the opt-out: the worker does not send it, and says why.
    queued = mailing.reply(user1, lead_id, subject="Offer", body="Here it is.")
    get_kind("lead").update(user1, lead_id, {"mail_opt_out": "yes"})
    report = outbox.send_due(mailing.mail_config().smtp, clock=FrozenClock(LATER))
    assert (report.sent, report.failed) == (0, 1)
    row = OutboxMail.get_by_id(queued.mail_id)
    assert row.status == "failed" and "opted out of mail" in row.answer
    assert smtp_server.messages == []

    # After the opt-out a reply is refused at once, naming the address, and nothing is queued.
    with pytest.raises(ValidationFailed, match="has opted out of mail") as refused:
        mailing.reply(user1, lead_id, subject="Again", body="Hello?")
    assert CLIENT in str(refused.value)
    assert OutboxMail.select().count() == 1

    # A contact's opt-out counts for the same address on a lead too.
    get_kind("lead").update(user1, lead_id, {"mail_opt_out": "no"})
    get_kind("contact").create(world.session("admin"), {
        "full_name": "Carla Client", "email": CLIENT.upper(),
        "company": str(world.cid("Customer #A")), "mail_opt_out": "yes"})
    with pytest.raises(ValidationFailed, match="has opted out of mail"):
        mailing.reply(user1, lead_id, subject="Again", body="Hello?")


def test_cli_export_and_erase(crm_db, run_crm, tmp_path: Path) -> None:
    added = run_crm("add", "lead", "full_name=Jörg Weiß", "email=jorg@example.de",
                    "phone=+49 30 1234", db=crm_db)
    assert added.returncode == 0, added.stderr
    lead_id = added.stdout.strip()
    target = tmp_path / "out"

    exported = run_crm("privacy", "export", "lead", lead_id, "--out", str(target), db=crm_db)
    assert exported.returncode == 0, exported.stderr
    assert json.loads((target / "data.json").read_text())["record"]["full_name"] == "Jörg Weiß"

    # Without --yes and without a terminal to ask on, nothing is erased.
    asked = run_crm("privacy", "erase", "lead", lead_id, db=crm_db, input="")
    assert asked.returncode != 0
    shown = json.loads(run_crm("show", "lead", lead_id, "--json", db=crm_db).stdout)
    assert shown["full_name"] == "Jörg Weiß"

    erased = run_crm("privacy", "erase", "lead", lead_id, "--yes", db=crm_db)
    assert erased.returncode == 0, erased.stderr
    shown = json.loads(run_crm("show", "lead", lead_id, "--json", db=crm_db).stdout)
    assert shown["full_name"].startswith(privacy.ERASED)
    assert shown["phone"] == "" and shown["mail_opt_out"] is True

    missing = run_crm("privacy", "erase", "lead", "999999", "--yes", db=crm_db)
    assert (missing.returncode, missing.stderr.strip()) == (
        1, "crm: error: lead 999999 does not exist")


def test_erase_forgets_received_mail_senders(world) -> None:
    grant_lead_bits(world)
    lead_id = make_lead(world)
    FiledMessage.create(key="k1", lead=lead_id, outcome="filed", sender=CLIENT,
                        created=LATER, reason="")
    privacy.erase(world.session("user1"), "lead", lead_id)
    assert FiledMessage.get(FiledMessage.key == "k1").sender == ""


def test_mail_filed_nowhere_from_the_address_is_exported_and_erased(world, tmp_path) -> None:
    grant_lead_bits(world)
    lead_id = make_lead(world)
    FiledMessage.create(key="u1", lead=None, outcome="unmatched", sender=CLIENT.upper(),
                        subject="My passport number", raw=b"From: x\r\n\r\nsecret",
                        reason="no lead token", created=LATER)
    FiledMessage.create(key="u2", lead=None, outcome="unmatched", sender="other@example.com",
                        subject="Someone else", raw=b"...", created=LATER)
    path = privacy.export(world.session("user1"), "lead", lead_id, tmp_path / "out")
    held = json.loads(path.read_text())["mail_unmatched"]
    assert [m["subject"] for m in held] == ["My passport number"]

    privacy.erase(world.session("user1"), "lead", lead_id)
    erased = FiledMessage.get(FiledMessage.key == "u1")
    assert (erased.sender, erased.subject, erased.raw) == ("", "", None)
    assert FiledMessage.get(FiledMessage.key == "u2").raw == b"..."
