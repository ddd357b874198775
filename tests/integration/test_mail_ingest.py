"""The mailbox ingest against a real Dovecot: routing, exactly-once filing, safety rules."""

from __future__ import annotations

import re
import threading

import pytest

from crm_tui import paths
from crm_tui.mail.imap import FILED_KEYWORD
from crm_tui.models import Attachment, FiledMessage, LeadActivity
from crm_tui.services import mail_filing, mailing
from crm_tui.services import mail_sync as ingest
from crm_tui.services.records import get_kind
from tests.fixtures.mail import dovecot_server, smtp_server  # noqa: F401
from tests.integration.mail_helpers import CLIENT, configure, make_lead, raw_mail, send_outbox

pytestmark = pytest.mark.mail


def _sync(world, **kwargs) -> ingest.SyncReport:
    return ingest.run_once(mailing.mail_config(), clock=world.clock, **kwargs)


def _incoming(lead_id: int) -> list[LeadActivity]:
    return list(LeadActivity.select().where(LeadActivity.lead == lead_id,
                                            LeadActivity.kind == "email_in")
                .order_by(LeadActivity.id))


def _files_of(entry: LeadActivity) -> list[Attachment]:
    return list(Attachment.select().where(Attachment.owner_kind == "lead_activity",
                                          Attachment.owner_id == entry.id))


def test_customer_reply_all_is_filed_with_its_attachment(world, mailbox, smtp_server) -> None:  # noqa: F811,E501
    configure(world, imap=mailbox, smtp=smtp_server)
    lead_id = make_lead(world)
    sent = mailing.reply(world.session("admin"), lead_id, subject="Offer", body="Here.")
    assert send_outbox() == 1
    [ours] = smtp_server.wait_for(1)
    # The reference mailbox gets its CC copy of our own mail, then the customer's reply-all.
    own_uid = mailbox.append(ours.content)
    reply_uid = mailbox.append(raw_mail(
        subject=f"Re: [Lead#{lead_id}] Offer", body="Thanks! Signed form attached.",
        headers={"In-Reply-To": f"<{sent.message_id}>", "References": f"<{sent.message_id}>"},
        attachments=[("signed form.pdf", b"%PDF-1.4 signed")]))

    report = _sync(world)

    assert (report.filed, report.auto, report.unmatched, report.quarantined) == (1, 1, 0, 0)
    [entry] = _incoming(lead_id)
    assert entry.author == CLIENT
    assert "Thanks! Signed form attached." in entry.text
    assert f"Subject: Re: [Lead#{lead_id}] Offer" in entry.text
    [att] = _files_of(entry)
    assert att.original_name == "signed form.pdf"
    assert (paths.files_dir() / att.stored_name).read_bytes() == b"%PDF-1.4 signed"
    shown = get_kind("lead").get(world.session("admin"), lead_id)["activity"]
    assert shown[0]["kind"] == "email_in" and shown[0]["attachments"][0]["name"] == (
        "signed form.pdf")
    flags = mailbox.flags()
    assert {"\\Seen", FILED_KEYWORD} <= flags[reply_uid]
    # The CRM's own copy is never filed, and not marked read either.
    assert "\\Seen" not in flags[own_uid] and FILED_KEYWORD not in flags[own_uid]

    again = _sync(world)
    assert (again.filed, again.duplicates, again.examined) == (0, 0, 0)
    assert len(_incoming(lead_id)) == 1

    # The next reply threads under the customer's message.
    customer_id = FiledMessage.get(FiledMessage.uid == int(reply_uid)).key
    mailing.reply(world.session("admin"), lead_id, subject="Re: Offer", body="Thanks")
    assert send_outbox() == 1
    answer = smtp_server.wait_for(2)[1].message
    assert answer["In-Reply-To"] == f"<{customer_id}>"


def test_duplicate_delivery_is_filed_once(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    raw = raw_mail(subject=f"[Lead#{lead_id}] Question", body="Twice delivered")
    first, second = mailbox.append(raw), mailbox.append(raw)
    # Without a Message-ID the raw bytes are the key.
    bare = raw_mail(subject=f"[Lead#{lead_id}] No id", message_id=None)
    mailbox.append(bare)
    mailbox.append(bare)

    report = _sync(world)

    assert (report.filed, report.duplicates) == (2, 2)
    assert len(_incoming(lead_id)) == 2
    assert FiledMessage.select().count() == 2
    assert all(FILED_KEYWORD in f for f in mailbox.flags().values())
    # Delivered a third time later: still once.
    mailbox.append(raw)
    later = _sync(world)
    assert (later.filed, later.duplicates) == (0, 1)
    assert len(_incoming(lead_id)) == 2
    assert first != second


def test_commit_without_flag_is_completed_not_refiled(world, mailbox) -> None:
    """A run killed after its commit but before flagging: the next run only flags."""
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    uids = [mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] n{n}")) for n in range(3)]
    config = mailing.mail_config()
    from crm_tui.mail.imap import open_mailbox
    from crm_tui.mail.message import parse_message

    with open_mailbox(config.imap) as box:  # what run_once does, up to the commit
        validity = box.uidvalidity()
        mails = [mail_filing.IncomingMail(parse_message(raw, max_bytes=10**6), validity, int(uid))
                 for uid, raw in box.fetch_raw(uids)]
    results = mail_filing.file_incoming(mails, present_uids=[int(u) for u in uids])
    assert [r.outcome for r in results] == ["filed"] * 3
    assert not any(FILED_KEYWORD in f for f in mailbox.flags().values())

    report = _sync(world)

    assert (report.filed, report.duplicates, report.examined) == (0, 0, 0)
    assert len(_incoming(lead_id)) == 3
    assert all({"\\Seen", FILED_KEYWORD} <= f for f in mailbox.flags().values())


def test_two_syncs_at_once_file_each_message_once(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.max_per_hour": "0"})
    lead_id = make_lead(world)
    for n in range(150):
        mailbox.append(raw_mail(subject=f"Re: [Lead#{lead_id}] message {n}", body=f"body {n}"))
    config = mailing.mail_config()
    reports: list[ingest.SyncReport] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        from crm_tui.db import database

        try:
            with database.connection_context():
                start.wait()
                reports.append(ingest.run_once(config, clock=world.clock))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors
    assert sum(r.filed for r in reports) == 150
    assert len(_incoming(lead_id)) == 150
    assert FiledMessage.select().count() == 150
    texts = sorted(e.text.rsplit("body ", 1)[1] for e in _incoming(lead_id))
    assert texts == sorted(str(n) for n in range(150))
    assert all(FILED_KEYWORD in f for f in mailbox.flags().values())


def test_unknown_lead_and_no_token_are_left_and_reported(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    unknown = mailbox.append(raw_mail(subject="Re: [Lead#99999] Hello"))
    no_token = mailbox.append(raw_mail(subject="Hello there"))
    not_digits = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}a] Hello"))
    stranger = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] Spam",
                                       sender="stranger@evil.example"))

    report = _sync(world)

    assert (report.filed, report.unmatched) == (0, 4)
    text = "\n".join(report.details())
    assert "lead 99999, which does not exist" in text
    assert "no [Lead#] token" in text
    assert "stranger@evil.example is not its address" in text
    assert _incoming(lead_id) == []
    flags = mailbox.flags()
    for uid in (unknown, no_token, not_digits, stranger):
        assert "\\Seen" not in flags[uid] and FILED_KEYWORD not in flags[uid]
    # Seen once, reported once: the next pass does not download them again.
    assert _sync(world).examined == 0


def test_unmatched_folder_receives_unmatched_mail(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.unmatched_folder": "CRM/Unmatched"})
    lead_id = make_lead(world)
    mailbox.append(raw_mail(subject="Who is this for?"))
    filed = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] For the lead"))

    report = _sync(world)

    assert (report.filed, report.unmatched) == (1, 1)
    assert mailbox.uids() == [filed]
    assert len(mailbox.uids("CRM.Unmatched")) == 1


def test_sender_rules_contacts_users_and_header_routing(world, mailbox) -> None:
    configure(world, imap=mailbox)
    admin = world.session("admin")
    lead_id = make_lead(world)
    get_kind("contact").create(admin, {"full_name": "Pat Partner", "email": "Pat@Customer-A.example",
                                       "company": str(world.cid("Customer #A"))})
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] from a contact",
                            sender="pat@customer-a.example"))
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] from a user", sender="user1@example.com"))
    # No token in the subject: the X-CRM-Lead header routes it (the lead's own address).
    mailbox.append(raw_mail(subject="edited subject", headers={"X-CRM-Lead": str(lead_id)}))
    # A contact of another company is not allowed to write into this lead.
    get_kind("contact").create(admin, {"full_name": "Bob B", "email": "bob@customer-b.example",
                                       "company": str(world.cid("Customer #B"))})
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] nosy", sender="bob@customer-b.example"))

    report = _sync(world)

    assert (report.filed, report.unmatched) == (3, 1)
    assert sorted(e.author for e in _incoming(lead_id)) == sorted(
        ["pat@customer-a.example", "user1@example.com", CLIENT])


def test_auto_replies_bounces_and_own_copies_are_never_filed(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    subject = f"Re: [Lead#{lead_id}] Offer"
    mailbox.append(raw_mail(subject="Out of office: " + subject,
                            headers={"Auto-Submitted": "auto-replied"}))
    mailbox.append(raw_mail(subject=subject, headers={"Precedence": "bulk"}))
    mailbox.append(raw_mail(subject="Undeliverable: " + subject,
                            sender="MAILER-DAEMON@mx.example"))
    mailbox.append(raw_mail(subject=subject, headers={"X-Auto-Response-Suppress": "All"}))
    mailbox.append(raw_mail(subject=subject, headers={"X-CRM-Origin": "crm_tui"}))

    report = _sync(world)

    assert (report.filed, report.auto, report.unmatched) == (0, 5, 0)
    assert _incoming(lead_id) == []
    assert all("\\Seen" not in f for f in mailbox.flags().values())


def test_rfc2047_subject_and_latin1_body_are_decoded(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    encoded = f"=?iso-8859-1?q?AW=3A_=5BLead#{lead_id}=5D_Gr=FC=DFe_aus_M=FCnchen?="
    mailbox.append(raw_mail(subject=encoded, body="Schöne Grüße, Jürgen".encode("latin-1"),
                            charset="iso-8859-1"))

    assert _sync(world).filed == 1
    [entry] = _incoming(lead_id)
    assert f"Subject: AW: [Lead#{lead_id}] Grüße aus München" in entry.text
    assert entry.text.endswith("Schöne Grüße, Jürgen")


def test_hostile_attachment_name_is_stored_under_a_safe_name(world, mailbox, tmp_path) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] files",
                            attachments=[("../../etc/passwd", b"root:x:0:0"),
                                         # quoted-pairs: the name is ..\..\boot.ini
                                         ("..\\\\..\\\\boot.ini", b"[boot]")]))

    assert _sync(world).filed == 1
    [entry] = _incoming(lead_id)
    stored = _files_of(entry)
    assert sorted(a.original_name for a in stored) == ["boot.ini", "passwd"]
    files = paths.files_dir()
    for att in stored:
        assert re.fullmatch(r"[0-9a-f]{32}(\.[a-z0-9]+)?", att.stored_name)
        assert (files / att.stored_name).resolve().parent == files.resolve()
    assert sorted(p.read_bytes() for p in files.iterdir()) == [b"[boot]", b"root:x:0:0"]
    assert not (paths.data_dir().parent / "etc").exists()


def test_huge_message_is_not_downloaded_and_filed_as_a_note(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.max_message_bytes": "20000"})
    lead_id = make_lead(world)
    big = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] big scan",
                                  attachments=[("scan.tif", b"\x00" * 50_000)]))
    small = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] small"))

    report = _sync(world)

    assert report.filed == 2
    assert "over the size limit" in "\n".join(report.details())
    entries = _incoming(lead_id)
    [note] = [e for e in entries if "big scan" in e.text]
    assert "over the size limit; it was not downloaded" in note.text
    assert _files_of(note) == []
    flags = mailbox.flags()
    assert "\\Seen" not in flags[big]  # a person still has to read it
    assert FILED_KEYWORD in flags[small]
    assert _sync(world).examined == 0


def test_malformed_message_is_filed_with_what_decodes(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    broken = (f"From: {CLIENT}\r\nSubject: [Lead#{lead_id}] broken\r\nMessage-ID: <b@x>\r\n"
              'Content-Type: multipart/mixed; boundary="missing"\r\n\r\n'
              "no boundary ever comes \xff\xfe here\r\n").encode("latin-1")
    mailbox.append(broken)
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] fine"))

    report = _sync(world)

    assert (report.filed, report.quarantined) == (2, 0)
    [entry] = [e for e in _incoming(lead_id) if "broken" in e.text]
    assert "no boundary ever comes" in entry.text


def test_unprocessable_message_is_quarantined_and_kept_unread(world, mailbox) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    with_file = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] with file",
                                        attachments=[("a.txt", b"data")]))
    plain = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] plain"))
    files = paths.files_dir()
    files.rmdir()
    files.write_text("not a directory")  # attachments cannot be written now
    try:
        report = _sync(world)
    finally:
        files.unlink()

    assert (report.filed, report.quarantined) == (1, 1)
    [kept] = list(paths.quarantine_dir().glob("*.eml"))
    assert b"with file" in kept.read_bytes()
    flags = mailbox.flags()
    assert "\\Seen" not in flags[with_file] and FILED_KEYWORD not in flags[with_file]
    assert FILED_KEYWORD in flags[plain]
    assert [e.text.split("\n")[1] for e in _incoming(lead_id)] == [
        f"Subject: [Lead#{lead_id}] plain"]

    # Once the cause is gone, the next pass files it.
    retry = _sync(world)
    assert (retry.filed, retry.quarantined) == (1, 0)
    assert len(_incoming(lead_id)) == 2


def test_changed_uidvalidity_refiles_nothing_and_skips_nothing(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.imap_folder": "Leads"})
    lead_id = make_lead(world)
    raws = [raw_mail(subject=f"[Lead#{lead_id}] before {n}") for n in range(3)]
    unmatched = raw_mail(subject="no token here")
    for raw in [*raws, unmatched]:
        mailbox.append(raw, folder="Leads")
    first = _sync(world)
    assert (first.filed, first.unmatched) == (3, 1)

    # The server rebuilds the folder: new UIDVALIDITY, flags and keywords gone.
    with mailbox.imap() as client:
        client.delete('"Leads"')
    for raw in [*raws, unmatched]:
        mailbox.append(raw, folder="Leads")
    mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] after"), folder="Leads")

    second = _sync(world)

    assert (second.filed, second.duplicates, second.unmatched) == (1, 3, 1)
    assert len(_incoming(lead_id)) == 4
    third = _sync(world)
    assert third.examined == 0


def test_a_pass_of_many_batches_files_and_flags_everything_once(world, mailbox,
                                                                monkeypatch) -> None:
    """Each batch is read while the server still flags the previous one and prepares the
    next: every filed message ends flagged, every other one untouched."""
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    filed = [mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] n{n}",
                                     attachments=[(f"f{n}.txt", b"%d" % n)] if n % 4 else []))
             for n in range(11)]
    # Its file is written ahead like the others, and removed once the batch is filed.
    stranger = mailbox.append(raw_mail(subject="nobody's", attachments=[("s.txt", b"s")]))
    filed.append(mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] last")))
    monkeypatch.setattr(ingest, "CHUNK", 4)
    progress: list[int] = []

    report = _sync(world, progress=lambda r: progress.append(r.examined))

    assert (report.filed, report.unmatched, report.errors) == (12, 1, 0)
    assert progress == [4, 8, 12, 13]
    flags = mailbox.flags()
    assert all({"\\Seen", FILED_KEYWORD} <= flags[uid] for uid in filed)
    assert FILED_KEYWORD not in flags[stranger]
    entries = _incoming(lead_id)
    assert len(entries) == 12
    assert sorted(a.original_name for e in entries for a in _files_of(e)) == sorted(
        f"f{n}.txt" for n in range(11) if n % 4)
    assert sorted(p.name for p in paths.files_dir().iterdir()) == sorted(
        a.stored_name for a in Attachment.select())

    # A flag someone removed: the ledger knows the message, so it is flagged again only.
    with mailbox.imap() as client:
        client.select("INBOX")
        client.uid("STORE", filed[0], "-FLAGS.SILENT", f"(\\Seen {FILED_KEYWORD})")
    again = _sync(world)
    assert (again.filed, again.duplicates, again.examined) == (0, 0, 0)
    assert FILED_KEYWORD in mailbox.flags()[filed[0]]
    assert len(_incoming(lead_id)) == 12


def test_a_server_refusing_the_keyword_still_gets_seen_and_nothing_is_refiled(world) -> None:
    """A server that takes no custom keyword (here: Dovecot with keywords of at most three
    characters) refuses the pipelined STORE of $CrmFiled: \\Seen is set instead, no error
    is reported, and the ledger keeps the next pass from filing anything again."""
    from tests.fixtures.mail import start_dovecot

    server = start_dovecot("mail_max_keyword_length = 3")
    try:
        configure(world, imap=server)
        lead_id = make_lead(world)
        uids = [server.append(raw_mail(subject=f"[Lead#{lead_id}] n{n}")) for n in range(3)]
        with server.imap() as client:
            client.select("INBOX")
            typ, _data = client.uid("STORE", uids[0], "+FLAGS.SILENT", f"({FILED_KEYWORD})")
        assert typ == "NO"  # the server really refuses the keyword

        report = _sync(world)

        assert (report.filed, report.errors) == (3, 0), report.details()
        flags = server.flags()
        assert all(flags[uid] == {"\\Seen"} for uid in uids)
        again = _sync(world)
        assert (again.filed, again.examined, again.errors) == (0, 0, 0), again.details()
        assert len(_incoming(lead_id)) == 3
    finally:
        server.stop()


def _uidvalidity(mailbox, folder: str) -> int:
    with mailbox.imap() as client:
        typ, data = client.status(f'"{folder}"', "(UIDVALIDITY)")
    return int(re.search(rb"UIDVALIDITY (\d+)", data[0]).group(1))


def _set_uidvalidity(mailbox, folder: str, value: int) -> None:
    """Give ``folder`` this UIDVALIDITY (doveadm: IMAP has no command for it)."""
    import shutil
    import subprocess

    doveadm = shutil.which("doveadm")
    if doveadm is None:
        pytest.skip("doveadm is not installed")
    done = subprocess.run(
        [doveadm, "-c", str(mailbox.root / "dovecot.conf"), "mailbox", "update", "-u",
         mailbox.user, "--uid-validity", str(value), folder],
        capture_output=True, text=True, timeout=30)
    if done.returncode != 0 or _uidvalidity(mailbox, folder) != value:
        pytest.skip(f"doveadm could not set UIDVALIDITY: {done.stderr.strip()}")


def test_another_folder_with_the_same_uidvalidity_is_read_afresh(world, mailbox) -> None:
    configure(world, imap=mailbox, **{"mail.imap_folder": "Leads"})
    lead_id = make_lead(world)
    first = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] kept in Leads"), folder="Leads")
    assert _sync(world).filed == 1
    other = mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] kept in Archive"),
                           folder="Archive")
    assert other == first  # the same UID ...
    _set_uidvalidity(mailbox, "Archive", _uidvalidity(mailbox, "Leads"))  # ... and UIDVALIDITY

    configure(world, **{"mail.imap_folder": "Archive"})
    report = _sync(world)

    assert (report.filed, report.duplicates) == (1, 0)
    assert [e.text.split("\n")[1] for e in _incoming(lead_id)] == [
        f"Subject: [Lead#{lead_id}] kept in Leads", f"Subject: [Lead#{lead_id}] kept in Archive"]
    assert FILED_KEYWORD in mailbox.flags("Archive")[other]
    assert _sync(world).examined == 0


def test_cancel_stops_between_batches(world, mailbox, monkeypatch) -> None:
    configure(world, imap=mailbox)
    lead_id = make_lead(world)
    for n in range(12):
        mailbox.append(raw_mail(subject=f"[Lead#{lead_id}] {n}"))
    monkeypatch.setattr(ingest, "CHUNK", 5)
    seen: list[int] = []

    report = _sync(world, progress=lambda r: seen.append(r.filed), cancelled=lambda: bool(seen))

    assert report.cancelled and report.filed == 5 and seen == [5]
    assert sum(FILED_KEYWORD in f for f in mailbox.flags().values()) == 5
    rest = _sync(world)
    assert rest.filed == 7 and len(_incoming(lead_id)) == 12
