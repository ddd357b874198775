"""Time a large lead import against raw sqlite3 executemany; cancel one; save beside one.

Usage: python bench/import_leads.py [--rows N]   (default 1,000,000 leads)

Three runs, each into a fresh, fully migrated database file (same tables, indexes, pragmas):

1. cancelled: `imports.run` of the file with a progress line, cancelled once half of the
   rows are checked: the database must hold no lead and no import batch afterwards.
2. the import: `imports.run` of the file (decode, check every row by the lead rules and the
   duplicate rule, write the leads, their history rows and search index in one transaction),
   showing progress. When its write begins, another operator's `crm add company` starts in
   a separate process: it must wait for the import's transaction and succeed, never fail
   with "database is locked".
3. the baseline: sqlite3's executemany of the already prepared tuples of the same lead rows
   (the lead table alone) in one transaction.

The ratio is baseline time / import time, both measured in this run (1.0 = as fast as the
raw insert of the leads alone).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from import_companies import fresh_database  # noqa: E402 - bench/ is the script's directory

NOW = dt.datetime(2026, 1, 15, 9, 30)
COLUMNS = ("full_name", "email", "company_name", "country", "position", "phone", "language",
           "owner", "estimated_sale", "status", "channel", "description")


def build_rows(count: int) -> list[tuple]:
    """Deterministic leads, each distinct by the duplicate rule (email, company + name)."""
    countries = ("Spain", "France", "Portugal", "Italy")
    return [(f"Lead {n:07d}", f"lead{n}@company{n % 5000}.example.com",
             f"Company {n % 5000:04d}", countries[n % 4], "Buyer", f"+34 600 {n:07d}", "en",
             "admin", f"{n % 1000}.50", n % 4, ("web", "fair", "mail")[n % 3],
             "Imported for the benchmark") for n in range(1, count + 1)]


def build_csv(rows: list[tuple]) -> bytes:
    """The rows as a file with a header line."""
    from crm_tui import csvio

    out = io.StringIO(newline="")
    csvio.write_table(COLUMNS, rows, out)
    return out.getvalue().encode("utf-8")


class Progress:
    """A progress line on stderr, rewritten at most every half second; may cancel."""

    def __init__(self, label: str, cancel_at: float | None = None) -> None:
        self.label, self.cancel_at = label, cancel_at
        self.shown = 0.0
        self.fraction = 0.0
        self.on_write = None
        self.reports = 0

    def __call__(self, done: int, total: int) -> None:
        self.reports += 1
        self.fraction = done / total if total else 0.0
        if self.on_write is not None and self.fraction > 0.5:
            # The import writes (the second half of its work), inside its transaction.
            self.on_write()
            self.on_write = None
        now = time.monotonic()
        if now - self.shown >= 0.5 or done == total:
            self.shown = now
            sys.stderr.write(f"\r{self.label}: {self.fraction:6.1%}")
            sys.stderr.flush()

    def cancelled(self) -> bool:
        return self.cancel_at is not None and self.fraction >= self.cancel_at

    def end(self) -> None:
        sys.stderr.write("\n")


def _session():
    from crm_tui.models import User
    from crm_tui.services.context import FrozenClock, Session

    return Session(User.get(User.login == "admin"), FrozenClock(NOW), face="import")


def run_cancelled(folder: str, data: bytes) -> tuple[float, float, int, int]:
    """Cancel an import when half its rows are checked: (seconds, fraction reached, leads
    stored, batches stored) — the last two must be 0."""
    from crm_tui import db
    from crm_tui.models import ImportBatch, Lead
    from crm_tui.services import imports

    fresh_database(folder, "cancelled.sqlite3")
    progress = Progress("cancelled import", cancel_at=0.25)
    started = time.perf_counter()
    try:
        imports.run(_session(), "leads", data, dry_run=False, progress=progress,
                    cancelled=progress.cancelled)
    except imports.ImportCancelled:
        pass
    else:
        raise AssertionError("the import was not cancelled")
    elapsed = time.perf_counter() - started
    progress.end()
    stored = Lead.select().count(), ImportBatch.select().count()
    db.close_database()
    return elapsed, progress.fraction, *stored


def run_import(folder: str, data: bytes, rows: int) -> dict:
    """The timed import, with another operator's save started when its write begins."""
    from crm_tui import db
    from crm_tui.models import Company, Lead
    from crm_tui.services import imports

    path = fresh_database(folder, "import.sqlite3")
    progress = Progress("import")
    other: dict = {}

    def start_other() -> None:
        other["started"] = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "crm_tui", "--db", path, "add", "company",
             "name=Saved by another operator"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        def wait() -> None:
            other["out"], other["err"] = process.communicate(timeout=3600)
            other["done"] = time.perf_counter()

        other["process"], other["waiter"] = process, threading.Thread(target=wait)
        other["waiter"].start()

    progress.on_write = start_other
    started = time.perf_counter()
    report = imports.run(_session(), "leads", data, dry_run=False, progress=progress)
    finished = time.perf_counter()
    progress.end()
    assert report.created == rows, report.summary()
    other["waiter"].join()
    assert Lead.select().count() == rows
    saved = Company.select().where(Company.name == "Saved by another operator").exists()
    db.close_database()
    return {
        "seconds": finished - started, "reports": progress.reports,
        "other_rc": other["process"].returncode, "other_err": other["err"].strip(),
        "other_saved": saved, "other_started": other["started"] - started,
        "other_done": other["done"] - started, "import_done": finished - started,
    }


def run_raw(folder: str, rows: list[tuple]) -> float:
    """Seconds for raw sqlite3 executemany of the same leads into a fresh file."""
    from crm_tui import db
    from crm_tui.models import User

    path = fresh_database(folder, "raw.sqlite3")
    admin_id = User.get(User.login == "admin").id
    db.close_database()
    stamp = NOW.isoformat(" ")
    prepared = [(n, r[0], r[1], r[1].lower(), r[2], r[3], r[4], r[5], r[6], admin_id, r[8],
                 r[9], r[10], r[11], stamp, stamp) for n, r in enumerate(rows, 1)]
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma, value in db.SQLITE_PRAGMAS.items():
        connection.execute(f"PRAGMA {pragma}={value}")
    # The page cache the import's write has (crm_tui.db.bulk_cache), the same for both.
    connection.execute(f"PRAGMA cache_size=-{db.BULK_CACHE_KIB}")
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        'INSERT INTO "lead" ("id", "full_name", "email", "email_key", "company_name", '
        '"country", "position", "phone", "language", "owner_id", "estimated_sale", "status", '
        '"channel", "description", "created", "updated") '
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", prepared)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        os.environ["CRM_DATA_DIR"] = folder
        rows = build_rows(args.rows)
        data = build_csv(rows)
        print(f"file: {args.rows:,} leads, {len(data) / 1e6:.1f} MB")
        seconds, reached, leads, batches = run_cancelled(folder, data)
        ok = leads == 0 and batches == 0
        print(f"cancelled at {reached:.0%} of the work after {seconds:.2f} s: {leads} leads, "
              f"{batches} batches stored ({'ok' if ok else 'FAILED: something was written'})")
        found = run_import(folder, data, args.rows)
        raw = run_raw(folder, rows)
        ratio = raw / found["seconds"]
        print(f"import: {found['seconds']:.2f} s ({args.rows / found['seconds']:,.0f} rows/s), "
              f"{found['reports']} progress reports; raw sqlite3 executemany of the lead rows "
              f"{raw:.2f} s ({args.rows / raw:,.0f} rows/s); ratio {ratio:.2f}")
        took = found["other_done"] - found["other_started"]
        locked = "locked" in found["other_err"]
        ok = found["other_rc"] == 0 and found["other_saved"] and not locked
        print(f"another operator's save: started {found['other_started']:.2f} s into the "
              f"import (as its write began), took {took:.2f} s (the import returned at "
              f"{found['import_done']:.2f} s): "
              f"{'saved' if ok else 'FAILED: ' + (found['other_err'] or 'not saved')}")


if __name__ == "__main__":
    main()
