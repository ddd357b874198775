"""`crm mail unmatched|quarantine` as a real process against a real Dovecot: the reasons,
--json, exit codes and one-line refusals."""

from __future__ import annotations

import json

import pytest

from crm_tui.models import LeadActivity
from crm_tui.services.records import get_kind
from tests.fixtures.mail import dovecot_server  # noqa: F401
from tests.integration.mail_helpers import configure, raw_mail

pytestmark = pytest.mark.mail


def _sales(world) -> None:
    get_kind("user").create(world.session("admin"), {
        "login": "sales1", "real_name": "Sales One", "profiles": "Sales",
        "company": str(world.cid("My company")), "password": "sales1-pw"})


def test_unmatched_commands(world, mailbox, run_crm) -> None:
    _sales(world)
    configure(world, imap=mailbox, **{"mail.max_parts": "20"})
    lead_id = get_kind("lead").create(world.session("admin"), {
        "full_name": "Owned", "email": "owned@customer.example", "owner": "sales1"})
    mailbox.append(raw_mail(subject="Where is my order?", sender="who@elsewhere.example",
                            body="Order 77 never came."))
    assert run_crm("--sync").returncode == 0

    listed = run_crm("--user", "sales1", "mail", "unmatched", "list")
    assert listed.returncode == 0, listed.stderr
    header, line = listed.stdout.splitlines()
    assert header.split() == ["ID", "ARRIVED", "SENDER", "SUBJECT", "REASON"]
    assert line.endswith("no [Lead#] token, X-CRM-Lead header or reply to mail the CRM sent")
    [row] = json.loads(run_crm("--user", "sales1", "mail", "unmatched", "list", "--json").stdout)
    assert row["subject"] == "Where is my order?" and row["sender"] == "who@elsewhere.example"
    shown = run_crm("--user", "sales1", "mail", "unmatched", "show", str(row["id"]))
    assert shown.returncode == 0 and "Order 77 never came." in shown.stdout
    shown_json = json.loads(run_crm("--user", "sales1", "mail", "unmatched", "show",
                                    str(row["id"]), "--json").stdout)
    assert shown_json["reason"] == row["reason"] and "Order 77" in shown_json["text"]

    denied = run_crm("--user", "user1", "mail", "unmatched", "list")
    assert denied.returncode == 3 and denied.stderr.count("\n") == 1
    hidden = run_crm("--user", "sales1", "mail", "unmatched", "assign", str(row["id"]), "99999")
    assert hidden.returncode == 1
    assert hidden.stderr.strip() == "crm: error: lead 99999 does not exist"
    bad = run_crm("--user", "sales1", "mail", "unmatched", "assign", "x1", str(lead_id))
    assert bad.returncode == 1 and "must be a number" in bad.stderr

    done = run_crm("--user", "sales1", "mail", "unmatched", "assign", str(row["id"]),
                   str(lead_id))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"mail {row['id']}: filed on lead {lead_id}"
    twice = run_crm("--user", "sales1", "mail", "unmatched", "assign", str(row["id"]),
                    str(lead_id))
    assert twice.returncode == 1
    assert twice.stderr.strip() == (f"crm: error: unmatched mail {row['id']} was already "
                                    "filed (assigned by sales1)")
    assert LeadActivity.select().where(LeadActivity.lead == lead_id,
                                       LeadActivity.kind == "email_in").count() == 1
    assert run_crm("--sync").stdout.startswith("sync: filed 0")
    assert run_crm("--user", "sales1", "mail", "unmatched", "list").stdout == "(none)\n"


def test_quarantine_commands(world, mailbox, run_crm) -> None:
    configure(world, imap=mailbox, **{"mail.max_parts": "20"})
    parts = "".join("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(30))
    mailbox.append((f"From: who@elsewhere.example\r\nSubject: many\r\nMIME-Version: 1.0\r\n"
                    f"Content-Type: multipart/mixed; boundary=b\r\n\r\n{parts}--b--\r\n")
                   .encode())
    assert "quarantined 1" in run_crm("--sync").stdout

    listed = run_crm("mail", "quarantine", "list")
    assert listed.returncode == 0
    assert listed.stdout.splitlines()[1].endswith(
        "not read: it has 30 MIME parts, over the limit of 20")
    [kept] = json.loads(run_crm("mail", "quarantine", "list", "--json").stdout)
    assert run_crm("mail", "quarantine", "replay").returncode == 2
    assert run_crm("--user", "user1", "mail", "quarantine", "list").returncode == 3
    still = run_crm("mail", "quarantine", "replay", "--all")
    assert still.returncode == 1 and "still over a limit" in still.stderr
    configure(world, **{"mail.max_parts": "100"})
    done = run_crm("mail", "quarantine", "replay", kept["id"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"quarantined mail {kept['id']}: unmatched: no [Lead#] token")
    assert run_crm("mail", "quarantine", "list").stdout == "(none)\n"
    gone = run_crm("mail", "quarantine", "replay", kept["id"])
    assert gone.returncode == 1
    assert gone.stderr.strip() == f"crm: error: quarantined mail {kept['id']} does not exist"


def test_three_processes_assigning_at_once_file_the_message_once(any_world, any_db,
                                                                  data_dir) -> None:
    """On each backend: one assign wins, the others are told it was already filed."""
    import os
    import subprocess
    import sys

    from crm_tui.mail.message import parse_message
    from crm_tui.services import mail_filing

    lead_id = get_kind("lead").create(any_world.session("admin"), {
        "full_name": "Target", "email": "target@customer.example"})
    raw = (b"From: who@elsewhere.example\r\nSubject: race\r\n"
           b"Message-ID: <race@elsewhere.example>\r\n\r\nOne body.\r\n")
    [done] = mail_filing.file_incoming([mail_filing.IncomingMail(parse_message(raw), raw=raw)])
    assert done.outcome == "unmatched"
    mail_id = mail_filing.FiledMessage.get(
        mail_filing.FiledMessage.key == "race@elsewhere.example").id
    env = {**os.environ, "CRM_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-m", "crm_tui", "--db", any_db, "mail",
                               "unmatched", "assign", str(mail_id), str(lead_id)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    outputs = [(p.wait(timeout=120), *p.communicate()) for p in procs]

    assert sorted(code for code, _out, _err in outputs) == [0, 1, 1], outputs
    assert all("was already filed (assigned by admin)" in err
               for code, _out, err in outputs if code == 1), outputs
    assert LeadActivity.select().where(LeadActivity.lead == lead_id,
                                       LeadActivity.kind == "email_in").count() == 1
