"""First paint and page-down of the company list at a million rows against a hundred.

Usage: python bench/list_paging.py [--rows N] [--small N] [--presses K] [--fresh]

Both databases are fully migrated files (same indexes and pragmas); companies are bulk
inserted with sqlite3's executemany and the files are kept in the temp dir for the next
run (`--fresh` rebuilds them). Each list runs in the real app, headless at 80x24, as the
superadmin and as a user with CRM rights on his colleagues' companies (ACL in the query).
Figures are the time from the request until the cursor row is loaded (what a user waits
for before the screen can show it), not counting the terminal's own drawing.
Goal: a million rows within one 16 ms frame of a hundred. This script is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FRAME = 0.016


def schema_tag() -> str:
    """A short tag of the migrations' names: a kept database is reused only by the same
    schema."""
    import hashlib

    names = sorted(path.name for path in (ROOT / "crm_tui" / "migrations").glob("[0-9]*.py"))
    return hashlib.sha1("\n".join(names).encode()).hexdigest()[:8]


def build(path: Path, rows: int, fresh: bool) -> None:
    """A migrated database with `rows` companies under "My company" (kept between runs)."""
    if path.exists() and not fresh:
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    from crm_tui import db
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(path))
    from crm_tui.demo import DemoSizes, generate

    # The demo's users, roles and root; companies come next, in bulk.
    generate(DemoSizes(companies=0, contacts=0, contracts=0, invoices=0, leads=0))
    db.close_database()
    con = sqlite3.connect(path)
    root, = con.execute("SELECT id FROM company WHERE name = 'My company'").fetchone()
    managers = [r for (r,) in con.execute("SELECT id FROM user ORDER BY id")]
    countries = ("Spain", "France", "Germany", "Portugal", "Italy", "Japan")
    with con:
        con.executemany(
            "INSERT INTO company (name, address, fiscal_id, country, website, comments, "
            "role_id, parent_id, manager_id, last_update, payment_conditions) "
            "VALUES (?, '', ?, ?, '', '', ?, ?, ?, '2026-01-15 09:00:00', 30)",
            ((f"Company {n:07d}", f"B{n:08d}", countries[n % 6], 1 + n % 3, root,
              managers[n % len(managers)]) for n in range(rows)))
    con.close()


async def wait_row(table, index: int) -> None:
    """Until the row at `index` is loaded."""
    while table.get_row(index) is None:
        await asyncio.sleep(0.0005)


async def measure(path: Path, login: str, presses: int) -> dict[str, list[float]]:
    """First paints and page-downs of the company list of one database, as `login`."""
    from crm_tui import db
    from crm_tui.app import make_app
    from crm_tui.services.database import open_and_prepare
    from crm_tui.services.rows import RecordRows
    from crm_tui.services.users import session_for

    open_and_prepare(str(path))
    try:
        session = session_for(login)
    except Exception:  # noqa: BLE001 - a user of the demo when the OS login is not linked
        from crm_tui.models import User
        from crm_tui.services.context import Session

        session = Session(User.get(User.login == login))
    figures: dict[str, list[float]] = {"first paint": [], "page down": [], "end": []}
    app = make_app(session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("v")
        screen = app.screen
        table = screen.table
        await wait_row(table, 0)
        for _ in range(3):
            start = time.perf_counter()
            screen.apply_filter("")  # a fresh source, as when a filter is cleared
            await wait_row(table, 0)
            figures["first paint"].append(time.perf_counter() - start)
            await pilot.pause()
        # The exact count follows the first paint; the end is only known once it is in.
        exact = RecordRows(session, "company").exact_count()
        while table.row_count != exact:
            await asyncio.sleep(0.005)
        for _ in range(presses):
            start = time.perf_counter()
            table.action_page_down()
            await wait_row(table, table.cursor_index)
            figures["page down"].append(time.perf_counter() - start)
            await pilot.pause()
        start = time.perf_counter()
        table.action_cursor_end()
        await wait_row(table, table.cursor_index)
        figures["end"].append(time.perf_counter() - start)
    db.close_database()
    return figures


def main() -> None:
    """Build (or reuse) both databases, measure, and print figures and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--presses", type=int, default=4,
                        help="page-downs per list (the small list must still have pages)")
    parser.add_argument("--fresh", action="store_true", help="rebuild the databases")
    args = parser.parse_args()
    work = Path(tempfile.gettempdir()) / "crm_bench"
    work.mkdir(exist_ok=True)
    os.environ.setdefault("CRM_DATA_DIR", str(work))
    tag = schema_tag()
    big = work / f"companies_{args.rows}_{tag}.sqlite3"
    small = work / f"companies_{args.small}_{tag}.sqlite3"
    started = time.perf_counter()
    build(big, args.rows, args.fresh)
    build(small, args.small, args.fresh)
    print(f"databases ready in {time.perf_counter() - started:.1f} s ({work})")
    for login in ("admin", "user1"):
        results = {}
        for label, path in (("big", big), ("small", small)):
            results[label] = asyncio.run(measure(path, login, args.presses))
        print(f"\nas {login}: median ms (max)       {args.small:>10,} rows {args.rows:>12,} rows"
              "   difference")
        for what in ("first paint", "page down", "end"):
            small_ms = statistics.median(results["small"][what]) * 1000
            big_ms = statistics.median(results["big"][what]) * 1000
            big_max = max(results["big"][what]) * 1000
            verdict = "ok" if big_ms - small_ms <= FRAME * 1000 else "over one frame"
            print(f"  {what:<26}{small_ms:>12.1f}{big_ms:>10.1f} ({big_max:.0f})"
                  f"{big_ms - small_ms:>+10.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
