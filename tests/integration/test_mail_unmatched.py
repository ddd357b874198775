"""Unmatched and quarantined mail in the CRM, against a real Dovecot, on both backends:
listed with the reason, assigned or made a lead exactly once, discarded, replayed; leads made
from unknown senders (`mail.create_leads`); the owner's unseen-mail marker."""

from __future__ import annotations

import pytest

from crm_tui import i18n, paths
from crm_tui.cli import mail as mail_cli
from crm_tui.errors import Conflict, NotFound, PermissionDenied
from crm_tui.mail.imap import FILED_KEYWORD
from crm_tui.models import Attachment, FiledMessage, History, Lead, LeadActivity
from crm_tui.services import leads, mail_seen, mail_unmatched, mailing
from crm_tui.services import mail_sync as ingest
from crm_tui.services.records import get_kind
from tests.fixtures.mail import dovecot_server  # noqa: F401
from tests.integration.mail_helpers import CLIENT, configure, make_lead, raw_mail

pytestmark = pytest.mark.mail

STRANGER = "someone@elsewhere.example"


def _sync(world) -> ingest.SyncReport:
    return ingest.run_once(mailing.mail_config(), clock=world.clock)


def _add_sales(world) -> None:
    """sales1 (CR CW LR LW) and boss1 (Sales manager, with LM), both of My company."""
    admin = world.session("admin")
    for login, profile in (("sales1", "Sales"), ("boss1", "Sales manager")):
        world.users[login] = get_kind("user").create(admin, {
            "login": login, "real_name": login, "profiles": profile,
            "company": str(world.cid("My company")), "email": f"{login}@example.com",
            "password": f"{login}-pw"})


def _own_lead(world, login: str = "sales1", email: str = CLIENT) -> int:
    """A lead owned by `login`, without a managing company."""
    return get_kind("lead").create(world.session("admin"), {
        "full_name": "Owned Lead", "email": email, "owner": login})


def _incoming(lead_id: int) -> list[LeadActivity]:
    return list(LeadActivity.select().where(LeadActivity.lead == lead_id,
                                            LeadActivity.kind == "email_in")
                .order_by(LeadActivity.id))


def _stranger_mail(subject: str = "Do you sell widgets?", **kwargs) -> bytes:
    kwargs.setdefault("body", "Please send a price list.")
    return raw_mail(subject=subject, sender=STRANGER, **kwargs)


def test_unmatched_mail_is_listed_and_assigned_exactly_once(any_world, mailbox, capsys) -> None:
    world = any_world
    _add_sales(world)
    configure(world, imap=mailbox)
    lead_id = _own_lead(world)
    uid = mailbox.append(_stranger_mail(attachments=[("list.pdf", b"%PDF-1.4 prices")]))
    assert _sync(world).unmatched == 1

    sales = world.session("sales1")
    [row] = mail_unmatched.list_unmatched(sales)
    assert (row["sender"], row["subject"]) == (STRANGER, "Do you sell widgets?")
    assert row["reason"] == "no [Lead#] token, X-CRM-Lead header or reply to mail the CRM sent"
    assert row["size"] > 0
    # Stored and given (--json) in English; the faces show it in the reader's language.
    with i18n.in_language("es"):
        assert mail_unmatched.list_unmatched(sales)[0]["reason"] == row["reason"]
        assert mail_unmatched.readable_reason(row["reason"]) == (
            "sin marca [Lead#], cabecera X-CRM-Lead ni respuesta a un correo enviado por el CRM")
        mail_cli._table_with_reason([row], mail_cli.UNMATCHED_COLUMNS)
    assert "sin marca [Lead#]" in capsys.readouterr().out
    shown = mail_unmatched.show(sales, row["id"])
    assert "Please send a price list." in shown["text"]
    assert shown["attachments"] == [{"name": "list.pdf", "size": len(b"%PDF-1.4 prices")}]

    done = mail_unmatched.assign(world.session("admin"), row["id"], lead_id)

    [entry] = _incoming(lead_id)
    assert done == {"id": row["id"], "lead": lead_id, "activity": entry.id, "status": "filed"}
    assert entry.author == STRANGER and "Please send a price list." in entry.text
    [att] = Attachment.select().where(Attachment.owner_kind == "lead_activity",
                                      Attachment.owner_id == entry.id)
    assert (paths.files_dir() / att.stored_name).read_bytes() == b"%PDF-1.4 prices"
    ledger = FiledMessage.get_by_id(row["id"])
    assert (ledger.outcome, ledger.lead_id, ledger.raw) == ("filed", lead_id, None)
    assert mail_unmatched.list_unmatched(sales) == []
    with pytest.raises(Conflict, match=rf"unmatched mail {row['id']} was already filed "
                                       r"\(assigned by admin\)"):
        mail_unmatched.assign(sales, row["id"], lead_id)

    # The mailbox catches up on the next pass: the copy is flagged, never filed again.
    again = _sync(world)
    assert (again.filed, again.unmatched) == (0, 0)
    assert FILED_KEYWORD in mailbox.flags()[uid]
    mailbox.append(_stranger_mail(attachments=[("list.pdf", b"%PDF-1.4 prices")],
                                  message_id=f"<{ledger.key}>"))
    assert _sync(world).duplicates == 1
    assert len(_incoming(lead_id)) == 1

    # Mail filed on sales1's lead by someone else is new to sales1 until he opens it.
    assert mail_seen.unseen_count(sales) == 1
    assert mail_seen.unseen_of(sales, [lead_id, lead_id + 1000]) == {lead_id: 1}
    leads.activity(world.session("admin"), lead_id)
    assert mail_seen.unseen_count(sales) == 1
    leads.detail(sales, lead_id)
    assert mail_seen.unseen_count(sales) == 0


def test_who_may_handle_unmatched_mail_and_what_refusals_say(any_world, mailbox) -> None:
    world = any_world
    _add_sales(world)
    configure(world, imap=mailbox)
    seen_only = make_lead(world)  # Customer #A: sales1 sees it but may not change it
    hidden = get_kind("lead").create(world.session("admin"), {
        "full_name": "Hidden", "email": "h@hidden.example",
        "company": str(world.cid("My company"))})  # a root company: admin's only
    mailbox.append(_stranger_mail(subject=f"[Lead#{hidden}] guessing"))
    mailbox.append(_stranger_mail(subject=f"[Lead#{seen_only}] guessing too"))
    assert _sync(world).unmatched == 2

    with pytest.raises(PermissionDenied):
        mail_unmatched.list_unmatched(world.session("user1"))  # no lead bits
    assert mail_unmatched.count_unmatched(world.session("user1")) == 0
    sales = world.session("sales1")
    rows = {r["subject"]: r for r in mail_unmatched.list_unmatched(sales)}
    hidden_row = rows[f"[Lead#{hidden}] guessing"]
    seen_row = rows[f"[Lead#{seen_only}] guessing too"]
    # A lead sales1 may not see reads like one that does not exist; the admin reads why.
    assert hidden_row["reason"] == f"subject token names lead {hidden}, which does not exist"
    assert seen_row["reason"].startswith(
        f"subject token names lead {seen_only}, but the sender {STRANGER} is not")
    [admin_row] = [r for r in mail_unmatched.list_unmatched(world.session("admin"))
                   if r["id"] == hidden_row["id"]]
    assert "but the sender" in admin_row["reason"]

    with pytest.raises(NotFound) as hidden_error:
        mail_unmatched.assign(sales, hidden_row["id"], hidden)
    with pytest.raises(NotFound) as missing_error:
        mail_unmatched.assign(sales, hidden_row["id"], 999_999)
    assert str(hidden_error.value).replace(str(hidden), "N") == (
        str(missing_error.value).replace("999999", "N")) == "lead N does not exist"
    with pytest.raises(PermissionDenied):
        mail_unmatched.assign(sales, seen_row["id"], seen_only)
    with pytest.raises(NotFound, match="unmatched mail 424242 does not exist"):
        mail_unmatched.assign(sales, 424242, seen_only)
    with pytest.raises(PermissionDenied, match="needs LM"):
        mail_unmatched.discard(sales, seen_row["id"])
    with pytest.raises(PermissionDenied):
        mail_unmatched.list_quarantine(sales)
    # Nothing was written by any refusal.
    assert len(mail_unmatched.list_unmatched(sales)) == 2
    assert _incoming(hidden) == [] and _incoming(seen_only) == []


def test_new_lead_and_discard(any_world, mailbox) -> None:
    world = any_world
    _add_sales(world)
    configure(world, imap=mailbox)
    mailbox.append(_stranger_mail())
    mailbox.append(raw_mail(subject="Spam, really", sender="spam@junk.example",
                            message_id="<spam-1@junk.example>"))
    assert _sync(world).unmatched == 2
    rows = {r["sender"]: r for r in mail_unmatched.list_unmatched(world.session("sales1"))}

    done = mail_unmatched.new_lead(world.session("sales1"), rows[STRANGER]["id"])

    lead = Lead.get_by_id(done["lead"])
    assert (lead.email, lead.full_name, lead.owner.login, lead.channel) == (
        STRANGER, "Carla Client", "sales1", "email")
    [entry] = _incoming(lead.id)
    assert entry.id == done["activity"] and "Please send a price list." in entry.text
    with pytest.raises(Conflict, match="already filed"):
        mail_unmatched.new_lead(world.session("sales1"), rows[STRANGER]["id"])
    assert Lead.select().where(Lead.email == STRANGER).count() == 1

    spam = rows["spam@junk.example"]["id"]
    assert mail_unmatched.discard(world.session("boss1"), spam) == {"id": spam,
                                                                    "status": "discarded"}
    assert [r["id"] for r in mail_unmatched.list_unmatched(world.session("admin"))] == []
    with pytest.raises(Conflict, match="was discarded"):
        mail_unmatched.assign(world.session("admin"), spam, lead.id)
    assert FiledMessage.get_by_id(spam).raw is None
    # A discarded Message-ID blocks nothing: the sender writes again with a lead's token.
    spam_lead = _own_lead(world, email="spam@junk.example")
    mailbox.append(raw_mail(subject=f"[Lead#{spam_lead}] Spam, really", sender="spam@junk.example",
                            message_id="<spam-1@junk.example>"))
    assert _sync(world).filed == 1
    assert len(_incoming(spam_lead)) == 1


def test_create_leads_makes_one_lead_per_unknown_sender(any_world, mailbox) -> None:
    world = any_world
    _add_sales(world)
    configure(world, imap=mailbox, **{"mail.create_leads": "yes", "mail.lead_owner": "sales1"})
    known = _own_lead(world)  # CLIENT is a lead's address: known, stays unmatched
    first = mailbox.append(_stranger_mail())
    mailbox.append(raw_mail(subject="No token here", sender=CLIENT))
    mailbox.append(raw_mail(subject="Out of office", sender="away@elsewhere.example",
                            headers={"Auto-Submitted": "auto-replied"}))

    report = _sync(world)

    assert (report.filed, report.unmatched, report.auto) == (1, 1, 1)
    [lead] = Lead.select().where(Lead.email == STRANGER)
    assert (lead.full_name, lead.owner.login, lead.company_id, lead.channel) == (
        "Carla Client", "sales1", None, "email")
    [entry] = _incoming(lead.id)
    assert "Please send a price list." in entry.text
    created, filed = History.select().where(History.kind == "lead",
                                            History.record_id == lead.id).order_by(History.id)
    assert (created.action, created.face, created.login) == ("create", "mail", "mail")
    assert (filed.action, filed.face, filed.login) == ("change", "mail", "mail")
    assert "Do you sell widgets?" in filed.change_data["activity"][1]
    assert FILED_KEYWORD in mailbox.flags()[first]
    assert _incoming(known) == []
    assert Lead.select().where(Lead.email == "away@elsewhere.example").count() == 0
    assert mail_seen.unseen_count(world.session("sales1")) == 1

    # Filed once: a second pass and a second copy make nothing new; a second message from
    # the now known sender is unmatched (it names no lead), not a second lead.
    assert _sync(world).filed == 0
    mailbox.append(_stranger_mail(message_id="<{}>".format(FiledMessage.get(
        FiledMessage.lead == lead.id).key)))
    mailbox.append(_stranger_mail(subject="Another question"))
    again = _sync(world)
    assert (again.filed, again.duplicates, again.unmatched) == (0, 1, 1)
    assert Lead.select().where(Lead.email == STRANGER).count() == 1


def test_create_leads_is_off_by_default(any_world, mailbox) -> None:
    configure(any_world, imap=mailbox)
    mailbox.append(_stranger_mail())
    assert _sync(any_world).unmatched == 1
    assert Lead.select().where(Lead.email == STRANGER).count() == 0


def _many_parts(subject: str, count: int, sender: str = CLIENT) -> bytes:
    boundary = "part-boundary"
    head = (f"From: Carla Client <{sender}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <many-{count}@customer-a.example>\r\nMIME-Version: 1.0\r\n"
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n')
    part = f"--{boundary}\r\nContent-Type: text/plain\r\n\r\npart text\r\n"
    return (head + part * count + f"--{boundary}--\r\n").encode()


def test_quarantined_copies_are_listed_and_replayed_once(any_world, mailbox) -> None:
    world = any_world
    _add_sales(world)
    configure(world, imap=mailbox, **{"mail.max_parts": "50"})
    lead_id = make_lead(world)
    mailbox.append(_many_parts(f"[Lead#{lead_id}] many parts", 80))
    assert _sync(world).quarantined == 1
    [note] = _incoming(lead_id)
    assert "not read" in note.text

    admin = world.session("admin")
    [kept] = mail_unmatched.list_quarantine(admin)
    assert kept["reason"] == "not read: it has 80 MIME parts, over the limit of 50"
    assert kept["subject"] == f"[Lead#{lead_id}] many parts"
    with pytest.raises(PermissionDenied):
        mail_unmatched.replay(world.session("sales1"), kept["id"])
    with pytest.raises(Conflict, match="still over a limit"):
        mail_unmatched.replay(admin, kept["id"])
    assert len(mail_unmatched.list_quarantine(admin)) == 1

    configure(world, **{"mail.max_parts": "500"})
    done = mail_unmatched.replay(admin, kept["id"])

    assert (done["outcome"], done["lead"]) == ("filed", lead_id)
    note, full = _incoming(lead_id)
    assert full.text.count("part text") == 80
    assert mail_unmatched.list_quarantine(admin) == []
    with pytest.raises(NotFound, match=f"quarantined mail {kept['id']} does not exist"):
        mail_unmatched.replay(admin, kept["id"])
    with pytest.raises(NotFound):
        mail_unmatched.replay(admin, "../../etc/passwd")
    assert _sync(world).filed == 0
    assert len(_incoming(lead_id)) == 2


def test_replay_all_files_unreadable_unmatched_mail_by_the_rules(any_world, mailbox) -> None:
    world = any_world
    configure(world, imap=mailbox, **{"mail.max_parts": "50"})
    lead_id = make_lead(world)
    # Unmatched and over a limit: listed in both places.
    mailbox.append(_many_parts("no token, many parts", 60))
    report = _sync(world)
    assert (report.unmatched, report.quarantined) == (1, 1)
    admin = world.session("admin")
    [row] = mail_unmatched.list_unmatched(admin)
    assert row["reason"].endswith("; not read: it has 60 MIME parts, over the limit of 50")

    configure(world, **{"mail.max_parts": "500"})
    [done] = mail_unmatched.replay_all(admin)
    assert (done["outcome"], done["lead"]) == ("unmatched", None)
    assert mail_unmatched.list_quarantine(admin) == []
    # Still one unmatched message, now read in full; assigning files the whole of it.
    [row] = mail_unmatched.list_unmatched(admin)
    assert "not read" not in row["reason"]
    mail_unmatched.assign(admin, row["id"], lead_id)
    [entry] = _incoming(lead_id)
    assert entry.text.count("part text") == 60
    assert _sync(world).filed == 0
