"""Contracts list first paint at 1M contracts against the same at 100, in one run.

Usage: python bench/contracts_list.py [--big 1000000] [--small 100] [--runs 3]
                                      [--keep DIR]

Two migrated SQLite databases get 100 and 1M contracts (raw executemany, 1,000 customer
companies). For each, the real screen 3 (`screens.contracts.ContractsScreen`) is mounted
headless at 80x24 as a fresh app, acting as a user who sees every contract, and timed from
the app's start to the first frame that shows contract rows (the count and the first page,
each read on a thread). The figure is the median of several runs; the goal is a first
paint at 1M within 2x of the one at 100 (the list never reads more than a page).

The service path alone (`RecordRows.count()` + the first page) is printed too, so the
cost of the database and of Textual can be told apart. `--keep DIR` reuses the databases
between runs (building 1M rows takes a while).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

COMPANIES = 1000


def build(path: Path, contracts: int) -> None:
    """A migrated database with `contracts` contracts over COMPANIES companies."""
    if path.exists():
        return
    from crm_tui import db
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(path))
    db.close_database()
    con = sqlite3.connect(path)
    with con:
        con.execute("INSERT INTO company (name, address, fiscal_id, country, website, comments,"
                    " parent_id, manager_id) VALUES ('My company', '', '', '', '', '', NULL, 1)")
        con.executemany(
            "INSERT INTO company (name, address, fiscal_id, country, website, comments, "
            "parent_id, manager_id) VALUES (?, '', '', 'Spain', '', '', 1, 1)",
            ((f"Customer {n:04d}",) for n in range(COMPANIES)))
        start = dt.date(2024, 1, 1)
        con.executemany(
            "INSERT INTO contract (name, contract_number, description, date_begin, date_end, "
            "company_id, private, status, contract_type_id, created, updated) "
            "VALUES (?, ?, '', ?, ?, ?, 0, 1, ?, '2026-01-15 09:30:00', '2026-01-15 09:30:00')",
            ((f"Contract {n:07d}", f"C-{n}", (start + dt.timedelta(days=n % 700)).isoformat(),
              (start + dt.timedelta(days=n % 700 + 365)).isoformat(), 2 + n % COMPANIES,
              1 + n % 2) for n in range(contracts)))
        # A Standard user (CR+CW) who manages every customer: sees them all through the
        # company rules, not as a superadmin.
        con.execute("INSERT INTO user (login, real_name, email, phone, employee_number, "
                    "language, password_hash, enabled, superadmin) "
                    "VALUES ('manager', '', '', '', '', 'en', '', 1, 0)")
        con.execute("INSERT INTO user_profile (user_id, profile_id) SELECT u.id, p.id "
                    "FROM user u, profile p WHERE u.login = 'manager' "
                    "AND p.name = 'Standard user'")
        con.execute("UPDATE company SET manager_id = (SELECT id FROM user "
                    "WHERE login = 'manager') WHERE parent_id IS NOT NULL")
        con.execute("ANALYZE")
    con.close()


async def first_paint(target: Path) -> float:
    """Seconds from a fresh app's start to the first frame with contract rows."""
    from textual.app import App

    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.database import open_and_prepare
    from screens.contracts import ContractsScreen
    from widgets.lazy_table import LazyTable

    open_and_prepare(str(target))
    session = Session(User.get(User.login == "admin"))

    class Harness(App[None]):
        def on_mount(self) -> None:
            self.push_screen(ContractsScreen(session))

    start = time.perf_counter()
    app = Harness()
    async with app.run_test(size=(80, 24)) as pilot:
        while True:
            tables = list(app.screen.query("#records").results(LazyTable))
            if tables and tables[0].get_row(0) is not None:
                await pilot.pause()  # the frame with the rows
                break
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - start
    return elapsed


def service_path(target: Path, login: str = "admin") -> float:
    """Seconds for what the first paint reads: the count and the first page."""
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.database import open_and_prepare
    from crm_tui.services.rows import RecordRows
    from screens.contracts import COLUMNS

    open_and_prepare(str(target))
    session = Session(User.get(User.login == login))
    start = time.perf_counter()
    rows = RecordRows(session, "contract", {}, COLUMNS)
    rows.count()
    assert rows.page(0, 40)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["CRM_DATA_DIR"] = str(folder)
        small, big = folder / f"contracts-{args.small}.sqlite3", folder / f"contracts-{args.big}.sqlite3"
        for path, count in ((small, args.small), (big, args.big)):
            if not path.exists():
                print(f"building {count:,} contracts…", file=sys.stderr)
                started = time.perf_counter()
                build(path, count)
                print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr)

        results = {}
        for label, path in (("small", small), ("big", big)):
            paints = [asyncio.run(first_paint(path)) for _ in range(args.runs)]
            reads = [service_path(path) for _ in range(args.runs)]
            managed = [service_path(path, "manager") for _ in range(args.runs)]
            results[label] = (statistics.median(paints), statistics.median(reads),
                              statistics.median(managed))

    (paint_s, read_s, user_s), (paint_b, read_b, user_b) = results["small"], results["big"]
    print(f"first paint, {args.small:,} contracts:   {paint_s * 1000:7.0f} ms "
          f"(count + first page {read_s * 1000:.1f} ms; as a manager {user_s * 1000:.1f} ms)")
    print(f"first paint, {args.big:,} contracts: {paint_b * 1000:7.0f} ms "
          f"(count + first page {read_b * 1000:.1f} ms; as a manager {user_b * 1000:.1f} ms)")
    ratio = paint_b / paint_s
    print(f"ratio big / small: {ratio:.2f}x  (goal <= 2x: {'met' if ratio <= 2 else 'NOT met'})")


if __name__ == "__main__":
    main()
