"""The filing ledger records each message's folder: the same UIDVALIDITY and UID in another
folder is another message. Also the migration that added the folder to older databases."""

from __future__ import annotations

import pytest

from crm_tui import db, schema
from crm_tui.mail.message import parse_message
from crm_tui.models import FiledMessage, LeadActivity
from crm_tui.services import mail_filing
from tests.integration.mail_helpers import make_lead, raw_mail


def _mail(lead_id: int, subject: str, folder: str, uid: int = 1, validity: int = 7):
    parsed = parse_message(raw_mail(subject=f"[Lead#{lead_id}] {subject}"), max_bytes=10**6)
    return mail_filing.IncomingMail(parsed, validity, uid, folder=folder)


def test_the_same_place_in_another_folder_is_another_message(any_world) -> None:
    lead_id = make_lead(any_world)
    [first] = mail_filing.file_incoming([_mail(lead_id, "in Leads", "Leads")], present_uids=[1])
    assert first.outcome == "filed"
    assert mail_filing.known_locations(7, [1], folder="Leads") == {1: "filed"}
    # Another folder with the same UIDVALIDITY: its UID 1 is not known...
    assert mail_filing.known_locations(7, [1], folder="Archive") == {}
    # ... and its message is filed, not taken for the one already handled.
    [second] = mail_filing.file_incoming([_mail(lead_id, "in Archive", "Archive")],
                                     present_uids=[1])
    assert second.outcome == "filed"
    assert sorted((r.folder, r.uid) for r in FiledMessage.select()) == [("Archive", 1),
                                                                         ("Leads", 1)]
    assert LeadActivity.select().where(LeadActivity.kind == "email_in").count() == 2


def test_the_same_message_found_in_another_folder_is_not_filed_again(any_world) -> None:
    lead_id = make_lead(any_world)
    mail = _mail(lead_id, "copied", "Leads")
    mail_filing.file_incoming([mail], present_uids=[1])
    copy = mail_filing.IncomingMail(mail.parsed, 7, 1, folder="Archive")
    [result] = mail_filing.file_incoming([copy], present_uids=[1])
    assert (result.outcome, result.action) == ("duplicate", "flag")
    assert LeadActivity.select().where(LeadActivity.kind == "email_in").count() == 1


def test_inbox_is_one_folder_whatever_its_case(crm_db, world) -> None:
    lead_id = make_lead(world)
    mail_filing.file_incoming([_mail(lead_id, "inbox", "inbox")], present_uids=[1])
    assert FiledMessage.get().folder == "INBOX"
    assert mail_filing.known_locations(7, [1], folder="Inbox") == {1: "filed"}


@pytest.mark.parametrize(("configured", "expected"), [
    (None, "INBOX"), ("Leads/Incoming", "Leads/Incoming"), ("inbox", "INBOX"),
])
def test_upgrading_gives_existing_rows_the_configured_folder(sqlite_url, configured,
                                                             expected) -> None:
    from playhouse.migrations import Runner

    database = db.open_database(sqlite_url)
    try:
        runner = Runner(database, directory=str(schema.MIGRATIONS_DIR),
                        table_name="schema_migration")
        runner.up("0005_lead_statistics_indexes")  # the database before the folder
        assert "0006_filed_message_folder" in schema.pending_migrations()
        if configured is not None:
            database.execute_sql("UPDATE setting SET value = ? WHERE key = ?",
                                 (configured, "mail.imap_folder"))
        database.execute_sql(
            "INSERT INTO filed_message (key, uidvalidity, uid, outcome, reason, created) "
            "VALUES ('old@example.org', 7, 3, 'filed', '', '2025-01-01 00:00:00')")

        schema.upgrade()

        assert schema.pending_migrations() == []
        assert database.execute_sql(
            "SELECT key, folder, uidvalidity, uid FROM filed_message").fetchall() == [
            ("old@example.org", expected, 7, 3)]
        indexes = {row[1] for row in database.execute_sql("PRAGMA index_list(filed_message)")}
        assert "filed_message_folder_uidvalidity_uid" in indexes
        assert "filedmessage_uidvalidity_uid" not in indexes
    finally:
        db.close_database()


def _raw_mail(lead_id: int | None, subject: str, uid: int, *, message_id: str = "auto",
              sender: str | None = None):
    kwargs = {"sender": sender} if sender else {}
    text = f"[Lead#{lead_id}] {subject}" if lead_id else subject
    parsed = parse_message(raw_mail(subject=text, message_id=message_id, **kwargs),
                           max_bytes=10**6)
    return mail_filing.IncomingMail(parsed, 7, uid, folder="INBOX")


def test_a_reused_message_id_is_unmatched_and_blocks_nothing(any_world) -> None:
    lead_id = make_lead(any_world)
    first = _raw_mail(lead_id, "first", 1, message_id="<same@customer-a.example>")
    other = _raw_mail(lead_id, "other", 2, message_id="<same@customer-a.example>")
    [filed] = mail_filing.file_incoming([first], present_uids=[1, 2])
    [reused] = mail_filing.file_incoming([other], present_uids=[1, 2])
    assert filed.outcome == "filed"
    assert (reused.outcome, reused.action, reused.reason) == (
        "unmatched", "unmatched", mail_filing.REUSED_ID)
    assert FiledMessage.get(FiledMessage.uid == 2).key == "sha256:" + other.parsed.digest
    # The same content again under that id is the filed message, not another reuse.
    [again] = mail_filing.file_incoming([_raw_mail(lead_id, "first", 3,
                                         message_id="<same@customer-a.example>")],
                                        present_uids=[1, 2, 3])
    assert again.outcome == "duplicate"


def test_an_unmatched_id_never_blocks_a_later_copy_with_the_token(any_world) -> None:
    lead_id = make_lead(any_world)
    bare = _raw_mail(None, "Question", 1, message_id="<q@customer-a.example>")
    twin = mail_filing.IncomingMail(bare.parsed, 7, 2, folder="INBOX")
    results = mail_filing.file_incoming([bare, twin], present_uids=[1, 2])
    assert [(r.outcome, r.action) for r in results] == [("unmatched", "unmatched"),
                                                        ("duplicate", "unmatched")]
    later = _raw_mail(lead_id, "Question", 3, message_id="<q@customer-a.example>")
    [filed] = mail_filing.file_incoming([later], present_uids=[1, 2, 3])
    assert (filed.outcome, filed.action, filed.lead_id) == ("filed", "flag", lead_id)
    assert LeadActivity.select().where(LeadActivity.kind == "email_in").count() == 1


def test_the_hourly_limit_counts_filed_mail_by_sender_and_by_lead(any_world) -> None:
    lead_id = make_lead(any_world)
    mails = [_raw_mail(lead_id, f"n{n}", n) for n in range(1, 4)]
    results = mail_filing.file_incoming(mails, present_uids=[1, 2, 3], max_per_hour=2,
                                        clock=any_world.clock)
    assert [r.outcome for r in results] == ["filed", "filed", "unmatched"]
    assert results[2].reason.startswith("throttled: ")
    # Counted from the ledger in a later batch too.
    [later] = mail_filing.file_incoming([_raw_mail(lead_id, "n4", 4)], present_uids=[4],
                                        max_per_hour=2, clock=any_world.clock)
    assert later.outcome == "unmatched" and "sent more than 2 mails" in later.reason
    assert FiledMessage.get(FiledMessage.uid == 1).sender == "client@customer-a.example"
    # No limit: filed.
    [free] = mail_filing.file_incoming([_raw_mail(lead_id, "n5", 5)], present_uids=[5],
                                       max_per_hour=0, clock=any_world.clock)
    assert free.outcome == "filed"


def test_the_hour_is_counted_by_arrival_so_a_backlog_is_not_a_flood(any_world) -> None:
    import datetime as dt

    lead_id = make_lead(any_world)
    start = dt.datetime(2026, 1, 15, 8, 0)
    mails = [_raw_mail(lead_id, f"n{n}", n) for n in range(1, 5)]
    # A backlog read at once: two an hour and a half apart, then two within ten minutes.
    for mail, minutes in zip(mails, (0, 90, 180, 190), strict=True):
        mail.arrived = start + dt.timedelta(minutes=minutes)
    results = mail_filing.file_incoming(mails, present_uids=[1, 2, 3, 4], max_per_hour=1,
                                        clock=any_world.clock)
    assert [r.outcome for r in results] == ["filed", "filed", "filed", "unmatched"]
    assert FiledMessage.get(FiledMessage.uid == 3).arrived == start + dt.timedelta(hours=3)
    # A later batch counts what the ledger holds within the hour before each arrival.
    late = _raw_mail(lead_id, "n5", 5)
    late.arrived = start + dt.timedelta(minutes=200)
    [result] = mail_filing.file_incoming([late], present_uids=[5], max_per_hour=1,
                                         clock=any_world.clock)
    assert result.outcome == "unmatched" and "within an hour" in result.reason
