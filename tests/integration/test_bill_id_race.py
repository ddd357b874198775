"""Two processes issuing Submitted invoices at once get distinct consecutive bill IDs, and
the hash chain they build together holds."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from crm_tui.models import Invoice
from crm_tui.services import invoice_issue
from crm_tui.services.records import get_kind

PER_PROCESS = 200

# Each process opens the database itself, waits for the start signal (so both really run
# at once), creates its invoices through the services and prints the ids it got.
OPERATOR = r"""
import os, sys, time
from pathlib import Path
from crm_tui.models import User
from crm_tui.services import invoice_issue, invoices
from crm_tui.services.context import Session
from crm_tui.services.database import open_and_prepare
from crm_tui.services.records import get_kind

target, company, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
open_and_prepare(target)
session = Session(User.get(User.login == "admin"))
kind = get_kind("invoice")
deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
made = []
# The PDFs are not what is raced here; they are made by a batch afterwards.
with invoices.deferred_pdfs():
    for n in range(count):
        draft = kind.create(session, {
            "company": company, "lines": [{"description": f"line {n}", "amount": "10"}]})
        invoice_issue.issue(session, draft)
        made.append(draft)
print(" ".join(map(str, made)))
"""


def test_two_processes_get_distinct_consecutive_bill_ids(any_world, any_db, tmp_path):
    admin = any_world.session("admin")
    company = str(any_world.cid("Customer #A"))
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    procs = [
        subprocess.Popen([sys.executable, "-c", OPERATOR, any_db, company, str(PER_PROCESS),
                          str(go)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, env=env)
        for _ in range(2)
    ]
    time.sleep(1.0)  # both have imported and opened the database by now (or soon will)
    go.touch()
    results = [p.communicate(timeout=600) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    made = [list(map(int, out.split())) for out, _ in results]
    assert all(len(ids) == PER_PROCESS for ids in made)

    rows = list(Invoice.select(Invoice.id, Invoice.bill_id, Invoice.bill_number)
                .order_by(Invoice.bill_number).tuples())
    assert len(rows) == 2 * PER_PROCESS
    bill_ids = [bill for _, bill, _ in rows]
    assert len(set(bill_ids)) == len(bill_ids)
    assert bill_ids == [f"15/{n}" for n in range(1000, 1000 + 2 * PER_PROCESS)]
    # The two operators really overlapped: their numbers interleave.
    number_of = {invoice_id: number for invoice_id, _, number in rows}
    first, second = ({number_of[i] for i in ids} for ids in made)
    assert min(first) < max(second) and min(second) < max(first)
    # Every invoice is whole and locked, as an issued invoice must be, and the two
    # issuers' records form one unbroken chain.
    listed = get_kind("invoice").list(admin, {"total_min": "12.10", "total_max": "12.10"})
    assert len(listed) == 2 * PER_PROCESS and all(r["locked"] for r in listed)
    assert all(r["state"] == "issued" for r in listed)
    (chain,) = invoice_issue.verify(admin)
    assert chain.ok and chain.records == 2 * PER_PROCESS
