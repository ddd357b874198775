"""Mailbox ingest throughput against a bare imap-tools fetch of the same mailbox.

Starts a throwaway Dovecot (the test fixture's set-up), fills INBOX with N messages for one
lead (every tenth with a small attachment), then, in the same run, times:

- ``imap-tools``: ``MailBox.fetch(mark_seen=False, bulk=True)`` over every message, reading
  subject and text (what PERF.md's "bulk fetch" row measures);
- ``ingest``: ``crm_tui.mail.ingest.run_once`` filing every message on the lead
  (sizes, download, parse, routing, activity + ledger rows, attachments, flags);
- ``read``: the ingest's own download and parse alone (``fetch_raw`` + ``parse_message``),
  to show how much of the ingest is reading mail and how much is filing it.

Each round resets the mailbox flags, the database and the stored files, and alternates the
order. Prints medians and the ratio imap-tools time / ingest time (goal: >= 0.8), both of
the medians and as the median of each round's own ratio (a round's fetch and ingest run
side by side, so that one suffers least from a busy machine). It also prints what creating
one file costs in the data directory: the ingest stores each attachment as a file, and on
some file systems (a busy /tmp) that alone costs as much as filing the message.

    python bench/mail_ingest.py [--messages 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _messages(count: int, lead_id: int) -> list[bytes]:
    from tests.integration.mail_helpers import raw_mail

    out = []
    for n in range(count):
        attachments = [(f"note-{n}.txt", b"attachment body " * 20)] if n % 10 == 0 else []
        out.append(raw_mail(subject=f"Re: [Lead#{lead_id}] message {n}",
                            body=f"Hello,\n\nthis is message {n}.\n\nRegards\n" * 3,
                            attachments=attachments))
    return out


def _reset_flags(server) -> None:
    with server.imap() as client:
        client.select("INBOX")
        client.store("1:*", "-FLAGS.SILENT", "(\\Seen $CrmFiled)")


def _reset_database() -> None:
    from crm_tui import paths
    from crm_tui.db import write_transaction
    from crm_tui.models import Attachment, FiledMessage, LeadActivity

    with write_transaction():
        FiledMessage.delete().execute()
        Attachment.delete().where(Attachment.owner_kind == "lead_activity").execute()
        LeadActivity.delete().where(LeadActivity.kind == "email_in").execute()
    for path in paths.files_dir().iterdir():
        path.unlink()


def _file_creation_ms(directory: Path, count: int = 200) -> float:
    """Milliseconds to create (and fill) one small file in ``directory``."""
    probe = directory / "probe"
    probe.mkdir()
    start = time.perf_counter()
    for n in range(count):
        (probe / f"{n}.txt").write_bytes(b"attachment body " * 20)
    elapsed = time.perf_counter() - start
    for path in probe.iterdir():
        path.unlink()
    probe.rmdir()
    return elapsed / count * 1000


def _time_imap_tools(server) -> tuple[float, int]:
    from imap_tools import MailBoxUnencrypted

    start = time.perf_counter()
    count = 0
    with MailBoxUnencrypted(server.host, server.port).login(server.user, server.password) as box:
        for msg in box.fetch(mark_seen=False, bulk=True):
            _ = msg.subject, msg.text
            count += 1
    return time.perf_counter() - start, count


def _time_read(config) -> tuple[float, int]:
    from crm_tui.mail.imap import open_mailbox
    from crm_tui.mail.message import parse_message

    start = time.perf_counter()
    count = 0
    with open_mailbox(config.imap) as box:
        for _uid, raw in box.fetch_raw(box.list_uids(), chunk=100):
            parse_message(raw, max_bytes=config.max_message_bytes)
            count += 1
    return time.perf_counter() - start, count


def _time_ingest(config) -> tuple[float, int]:
    from crm_tui.mail import ingest

    start = time.perf_counter()
    report = ingest.run_once(config)
    elapsed = time.perf_counter() - start
    if report.quarantined or report.errors or report.unmatched:
        raise SystemExit(f"ingest did not file everything: {report.summary()}")
    return elapsed, report.filed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as data:
        os.environ["CRM_DATA_DIR"] = data
        from crm_tui.services import mailing, settings
        from crm_tui.services.database import open_and_prepare
        from crm_tui.services.records import get_kind
        from crm_tui.services.users import session_for
        from tests.fixtures.mail import start_dovecot
        from tests.integration.mail_helpers import CLIENT, deliver

        open_and_prepare(str(Path(data) / "crm.sqlite3"))
        admin = session_for(None)
        server = start_dovecot()
        try:
            for key, value in {"mail.imap_host": server.host,
                               "mail.imap_port": str(server.port),
                               "mail.imap_security": "none", "mail.imap_user": server.user,
                               "mail.imap_password": server.password}.items():
                settings.set_value(admin, key, value)
            lead_id = get_kind("lead").create(admin, {"full_name": "Bench Lead",
                                                      "email": CLIENT})
            deliver(server, _messages(args.messages, lead_id))
            config = mailing.mail_config()
            create_ms = _file_creation_ms(Path(data))
            # Warm-up: Dovecot indexes the new maildir once.
            _time_imap_tools(server)

            fetch_times, read_times, ingest_times = [], [], []
            for round_no in range(args.rounds):
                order = ("fetch", "read", "ingest")
                order = order if round_no % 2 == 0 else order[::-1]
                for what in order:
                    _reset_flags(server)
                    if what == "fetch":
                        elapsed, count = _time_imap_tools(server)
                        fetch_times.append(elapsed)
                    elif what == "read":
                        elapsed, count = _time_read(config)
                        read_times.append(elapsed)
                    else:
                        _reset_database()
                        elapsed, count = _time_ingest(config)
                        ingest_times.append(elapsed)
                    assert count == args.messages, (what, count)
                    print(f"round {round_no + 1} {what:7} {elapsed:6.3f} s "
                          f"({count / elapsed:,.0f} msg/s)")
        finally:
            server.stop()

    fetch, ingest_time = statistics.median(fetch_times), statistics.median(ingest_times)
    read = statistics.median(read_times)
    per_round = statistics.median(f / i for f, i in zip(fetch_times, ingest_times, strict=True))
    n = args.messages
    files = sum(1 for k in range(n) if k % 10 == 0)
    print(f"imap-tools bulk fetch: {fetch:.3f} s ({n / fetch:,.0f} msg/s)")
    print(f"crm read (no filing):  {read:.3f} s ({n / read:,.0f} msg/s)")
    print(f"crm ingest (filed):    {ingest_time:.3f} s ({n / ingest_time:,.0f} msg/s)")
    print(f"filing share of the ingest: {(ingest_time - read) / ingest_time:.0%}")
    print(f"creating a file in the data dir: {create_ms:.3f} ms "
          f"({files} attachment files: ~{files * create_ms / 1000:.3f} s of the ingest)")
    print(f"ratio fetch/ingest: {fetch / ingest_time:.2f}x of the medians, "
          f"{per_round:.2f}x per round (goal >= 0.8x)")


if __name__ == "__main__":
    main()
