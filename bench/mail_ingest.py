"""`crm --sync` over a mail backlog against the standard parser alone, in the same run.

Starts a throwaway Dovecot (the test fixture's set-up), fills INBOX with N messages for one
lead (every tenth with a small attachment), then times, each as a fresh process:

- ``sync``: ``crm --sync`` filing every message on the lead (sizes, download, parse with
  ``policy.default``, routing, activity and ledger rows, attachment files, flags);
- ``standard``: a process that logs in with imap-tools, bulk-fetches the same mailbox
  (``UID FETCH 1:* BODY.PEEK[]``, the command imap-tools' ``fetch(bulk=True)`` sends) and
  parses each message with ``email.message_from_bytes(raw, policy=policy.default)``: the
  cost of the standard parser itself.

The CRM parses with the same parser and ``policy.default``'s settings, but its policy's
header factory remembers the header objects it made (``crm_tui.mail.message.POLICY``): the
parser asks for each part's Content-Type several times. The standard process uses
``policy.default`` as shipped.

Prints each time, the ratio sync / standard and whether the goal (<= 1.5x) is met. The
hourly limit per sender is switched off (``mail.max_per_hour`` 0): the backlog comes from
one customer. Run it once or twice, not in a loop: the machine is shared.

    python bench/mail_ingest.py [--messages 2000] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL = 1.5

# The baseline process: imap-tools' connection, one bulk FETCH, the standard parser.
STANDARD = """
import sys
from email import message_from_bytes, policy
from imap_tools import MailBoxUnencrypted

host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
count = 0
with MailBoxUnencrypted(host, port).login(user, password) as box:
    typ, data = box.client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
    for item in data:
        if isinstance(item, tuple):
            message_from_bytes(item[1], policy=policy.default)
            count += 1
print(count)
"""


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


def _env(data: str) -> dict[str, str]:
    return {**os.environ, "CRM_DATA_DIR": data, "PYTHONPATH": str(ROOT)}


def _time_sync(data: str, expected: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "crm_tui", "--sync"], capture_output=True,
                          text=True, env=_env(data), timeout=1800)
    elapsed = time.perf_counter() - start
    summary = done.stdout.splitlines()[0] if done.stdout else ""
    if done.returncode != 0 or f"filed {expected}," not in summary:
        raise SystemExit(f"crm --sync did not file everything (exit {done.returncode}): "
                         f"{summary or done.stderr.strip()}")
    return elapsed


def _time_standard(server, data: str, expected: int) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", STANDARD, server.host, str(server.port),
                           server.user, server.password], capture_output=True, text=True,
                          env=_env(data), timeout=1800)
    elapsed = time.perf_counter() - start
    if done.returncode != 0 or done.stdout.strip() != str(expected):
        raise SystemExit(f"the standard fetch failed: {done.stdout.strip()} {done.stderr}")
    return elapsed


def bench_mailbox(admin, server) -> int:
    """Point the CRM at the bench's Dovecot (no hourly limit: the backlog comes from one
    customer) and make the lead its mail is for; returns the lead's id."""
    from crm_tui.services import settings
    from crm_tui.services.records import get_kind
    from tests.integration.mail_helpers import CLIENT

    for key, value in {"mail.imap_host": server.host, "mail.imap_port": str(server.port),
                       "mail.imap_security": "none", "mail.imap_user": server.user,
                       "mail.imap_password": server.password,
                       "mail.max_per_hour": "0"}.items():
        settings.set_value(admin, key, value)
    return get_kind("lead").create(admin, {"full_name": "Bench Lead", "email": CLIENT})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as data:
        os.environ["CRM_DATA_DIR"] = data
        from crm_tui.services.database import open_and_prepare
        from crm_tui.services.users import session_for
        from tests.fixtures.mail import start_dovecot
        from tests.integration.mail_helpers import deliver

        open_and_prepare(str(Path(data) / "crm.sqlite3"))
        admin = session_for(None)
        server = start_dovecot()
        try:
            lead_id = bench_mailbox(admin, server)
            deliver(server, _messages(args.messages, lead_id))
            # Warm-up: Dovecot indexes the new maildir once.
            _time_standard(server, data, args.messages)

            sync_times, standard_times = [], []
            for round_no in range(args.rounds):
                order = ("standard", "sync") if round_no % 2 == 0 else ("sync", "standard")
                for what in order:
                    _reset_flags(server)
                    if what == "sync":
                        _reset_database()
                        elapsed = _time_sync(data, args.messages)
                        sync_times.append(elapsed)
                    else:
                        elapsed = _time_standard(server, data, args.messages)
                        standard_times.append(elapsed)
                    print(f"round {round_no + 1} {what:8} {elapsed:6.3f} s "
                          f"({args.messages / elapsed:,.0f} msg/s)")
        finally:
            server.stop()

    sync, standard = statistics.median(sync_times), statistics.median(standard_times)
    ratio = sync / standard
    n = args.messages
    print(f"standard (imap-tools bulk fetch + policy.default parse): {standard:.3f} s "
          f"({n / standard:,.0f} msg/s)")
    print(f"crm --sync (filed):                                      {sync:.3f} s "
          f"({n / sync:,.0f} msg/s)")
    print(f"ratio sync/standard: {ratio:.2f}x (goal <= {GOAL}x): "
          f"{'met' if ratio <= GOAL else 'not met'}")


if __name__ == "__main__":
    main()
