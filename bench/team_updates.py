"""A team on one PostgreSQL server: no lost update under concurrent writers, what the row lock
costs, and how fast an open screen shows another process's commit.

Usage: python bench/team_updates.py [--pg URL] [--procs 10] [--companies 50] [--rounds 100]
                                    [--changes 100] [--sqlite-latency]

Without `--pg` a throwaway server is started the way the tests start theirs
(tests/fixtures/postgres.py) and removed at the end. What it measures, each printed with
"met" or "not met":
  - updates: `--procs` processes, each changing its own field (name, address, fiscal id,
    country, website, comments, payment conditions and three custom fields) of the same
    `--companies` companies `--rounds` times through the service layer (`Kind.update`,
    which locks the row). Applied + refused = attempted, with nothing else failing, and 0
    lost: every field ends at its writer's last value and the history holds one change
    per applied update of that field;
  - the same loop with the row lock taken out (`Kind._locked` returning the record as
    read): the throughput with the lock as a ratio of it (reported; the lock is what keeps
    checks and history right, so the goal is that it costs little: ratio >= 0.5);
  - live screens: a headless app with the company list open while another process
    renames a company `--changes` times; the time from that process's commit to the
    list holding the new name (drawn on the next frame): median and max, goal max < 1 s.
This script is not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: The fields the writers change, one each (custom fields are created by the bench).
CUSTOM = ("Bench A", "Bench B", "Bench C")
FIELDS = ("name", "address", "fiscal_id", "country", "website", "comments",
          "payment_conditions", *(f"custom.{name}" for name in CUSTOM))


def value(field: str, proc: int, company: int, rnd: int) -> str:
    """What writer `proc` puts into `field` of company number `company` in round `rnd`."""
    if field == "payment_conditions":
        return str(rnd + 1)
    if field == "name":
        return f"Bench company {company:03d} r{rnd}"
    return f"p{proc} c{company} r{rnd}"


# -- the server and the data ---------------------------------------------------------------


def start_server():
    """A throwaway PostgreSQL server (the tests' helper); returns (server, admin URL)."""
    from tests.fixtures import postgres as pg

    bindir = pg._find_pg_bindir()
    if bindir is None:
        sys.exit("PostgreSQL is not installed (no initdb/pg_ctl); pass --pg URL")
    workdir = Path(tempfile.mkdtemp(prefix="crm-bench-pg-"))
    server = pg._LocalServer(bindir=bindir, workdir=workdir, as_owner=[])
    server.as_owner = pg._owner_prefix(workdir)
    server.init()
    server.start()
    return server, f"postgresql://{pg.PG_SUPERUSER}@127.0.0.1:{server.port}/postgres"


def new_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    import psycopg
    from psycopg import sql

    from tests.fixtures.postgres import _with_dbname

    name = f"crm_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return _with_dbname(server_url, name)


def prepare(url: str, companies: int) -> list[int]:
    """Migrate, create the custom fields and the companies; returns the company ids."""
    from crm_tui import db
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.database import open_and_prepare
    from crm_tui.services.records import get_kind

    open_and_prepare(url)
    admin = Session(User.get(User.login == "admin"))
    for name in CUSTOM:
        get_kind("field").create(admin, {"name": name, "kind": "text", "entity": "company"})
    ids = [get_kind("company").create(admin, {"name": f"Bench company {n:03d}"})
           for n in range(companies)]
    db.close_database()
    return ids


# -- the writers ---------------------------------------------------------------------------


def writer(url: str, proc: int, ids: list[int], rounds: int, locked: bool,
           start: mp.Barrier, results: mp.Queue) -> None:
    """One operator's process: change field FIELDS[proc] of every company, `rounds` times."""
    sys.path.insert(0, str(ROOT))
    from crm_tui import db
    from crm_tui.errors import Conflict, ValidationFailed
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.records import Kind, get_kind

    if not locked:
        # The same loop with the row lock taken out: the record as first read is written.
        Kind._locked = lambda self, obj, session=None: obj
    db.open_database(url)
    session = Session(User.get(User.login == "admin"))
    company = get_kind("company")
    field = FIELDS[proc]
    applied = refused = failed = 0
    errors: list[str] = []
    start.wait()
    began = time.perf_counter()
    for rnd in range(rounds):
        for number, cid in enumerate(ids):
            opened = session.clock.now()
            try:
                company.update(session, cid, {field: value(field, proc, number, rnd)},
                               unchanged_since=opened)
                applied += 1
            except (Conflict, ValidationFailed):
                refused += 1
            except Exception as error:  # noqa: BLE001 - counted and reported, never lost
                failed += 1
                if len(errors) < 3:
                    errors.append(f"{type(error).__name__}: {error}")
    results.put({"proc": proc, "field": field, "applied": applied, "refused": refused,
                 "failed": failed, "errors": errors, "seconds": time.perf_counter() - began})
    db.close_database()


def run_writers(url: str, ids: list[int], procs: int, rounds: int, locked: bool) -> dict:
    """Run the writers at once; returns their counts and the wall-clock time."""
    ctx = mp.get_context("spawn")
    start = ctx.Barrier(procs + 1)
    results: mp.Queue = ctx.Queue()
    workers = [ctx.Process(target=writer, args=(url, p, ids, rounds, locked, start, results))
               for p in range(procs)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    outcome = [results.get() for _ in workers]
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    attempted = procs * len(ids) * rounds
    return {"per_proc": sorted(outcome, key=lambda r: r["proc"]), "seconds": seconds,
            "attempted": attempted,
            "applied": sum(r["applied"] for r in outcome),
            "refused": sum(r["refused"] for r in outcome),
            "failed": sum(r["failed"] for r in outcome)}


def lost_updates(url: str, ids: list[int], run: dict, rounds: int) -> tuple[int, int]:
    """(fields not at their writer's last value, applied updates missing from history)."""
    from crm_tui import db
    from crm_tui.models import History, User
    from crm_tui.services.context import Session
    from crm_tui.services.records import get_kind

    db.open_database(url)
    admin = Session(User.get(User.login == "admin"))
    company = get_kind("company")
    procs = len(run["per_proc"])
    wrong = 0
    for number, cid in enumerate(ids):
        shown = company.get(admin, cid)
        for proc in range(procs):
            field = FIELDS[proc]
            got = (shown.get("custom") or {}).get(field[7:]) if field.startswith("custom.") \
                else shown.get(field)
            if str(got) != value(field, proc, number, rounds - 1):
                wrong += 1
    counted = dict.fromkeys(FIELDS[:procs], 0)
    query = History.select(History.changes).where(
        History.kind == "company", History.action == "change", History.record_id.in_(ids))
    for (changes,) in query.tuples():
        for key in json.loads(changes):
            if key in counted:
                counted[key] += 1
    missing = sum(max(0, r["applied"] - counted[r["field"]]) for r in run["per_proc"])
    db.close_database()
    return wrong, missing


# -- the live screen -----------------------------------------------------------------------


def renamer(url: str, cid: int, conn) -> None:
    """Another operator's process: rename company `cid` on request; answer the commit time."""
    sys.path.insert(0, str(ROOT))
    from crm_tui import db
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.records import get_kind

    db.open_database(url)
    session = Session(User.get(User.login == "admin"))
    company = get_kind("company")
    while True:
        name = conn.recv()
        if name is None:
            break
        company.update(session, cid, {"name": name})
        conn.send(time.time())  # the update's transaction has committed
    db.close_database()


async def live_latency(url: str, changes: int) -> list[float]:
    """Seconds from a commit in another process to the open list holding the new name."""
    from crm_tui import db
    from crm_tui.app import CrmApp
    from crm_tui.models import Company, User
    from crm_tui.services.context import Session
    from screens.record_list import RecordListScreen

    db.open_database(url)
    session = Session(User.get(User.login == "admin"))
    target = Company.select(Company.id).order_by(Company.name).first().id
    ctx = mp.get_context("spawn")
    ours, theirs = ctx.Pipe()
    other = ctx.Process(target=renamer, args=(url, target, theirs))
    other.start()
    app = CrmApp(session, live=True)
    latencies: list[float] = []

    def names(screen: RecordListScreen) -> set[str]:
        table = screen.table
        rows = [table.get_row(i) for i in range(min(table.row_count or 0, 30))]
        return {row[1][0] for row in rows if row is not None}

    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause(0.5)
            await pilot.press("v")  # the flat company list
            await pilot.pause(0.5)
            screen = app.screen
            assert isinstance(screen, RecordListScreen)
            await asyncio.to_thread(app.live_updates.watch.wait_ready, 10)
            for n in range(changes):
                name = f"Aaa renamed {n:03d}"  # stays the first row
                ours.send(name)
                committed = await asyncio.to_thread(ours.recv)
                deadline = time.monotonic() + 10
                while name not in names(screen):
                    if time.monotonic() > deadline:
                        raise SystemExit(f"change {n} not shown within 10 s")
                    await asyncio.sleep(0.002)
                latencies.append(time.time() - committed)
                # Past the screens' refresh gap, so each change is timed on its own.
                await pilot.pause(0.35)
    finally:
        ours.send(None)
        other.join(10)
        db.close_database()
    return latencies


# -- the report ----------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pg", help="a server URL to create the bench databases on")
    parser.add_argument("--procs", type=int, default=10, choices=range(1, len(FIELDS) + 1))
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--changes", type=int, default=100)
    parser.add_argument("--sqlite-latency", action="store_true",
                        help="time the live list on a SQLite file too")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    server = None
    server_url = args.pg
    if server_url is None:
        server, server_url = start_server()
    try:
        runs = {}
        for locked in (True, False):
            url = new_database(server_url)
            ids = prepare(url, args.companies)
            run = run_writers(url, ids, args.procs, args.rounds, locked)
            run["wrong"], run["missing"] = lost_updates(url, ids, run, args.rounds)
            runs[locked] = run
            label = "with the row lock" if locked else "without the row lock"
            rate = run["attempted"] / run["seconds"]
            print(f"{label}: {run['attempted']} updates by {args.procs} processes in "
                  f"{run['seconds']:.1f} s = {rate:.0f}/s; applied {run['applied']}, "
                  f"refused {run['refused']}, failed {run['failed']}; fields not at their "
                  f"last value {run['wrong']}, applied updates missing from history "
                  f"{run['missing']}")
            for r in run["per_proc"]:
                if r["errors"]:
                    print(f"  process {r['proc']} ({r['field']}): {r['errors']}")
        lock = runs[True]
        accounted = lock["applied"] + lock["refused"] == lock["attempted"] and not lock["failed"]
        print(f"applied + refused = attempted ({lock['applied']} + {lock['refused']} = "
              f"{lock['attempted']}), nothing failed: {verdict(accounted)}")
        print(f"0 lost updates with the row lock ({lock['wrong']} fields wrong, "
              f"{lock['missing']} missing from history): "
              f"{verdict(lock['wrong'] == 0 and lock['missing'] == 0)}")
        ratio = (lock["attempted"] / lock["seconds"]) / (
            runs[False]["attempted"] / runs[False]["seconds"])
        print(f"throughput with the lock / without: {ratio:.2f} (goal >= 0.5): "
              f"{verdict(ratio >= 0.5)}")

        targets = [("PostgreSQL", new_database(server_url))]
        if args.sqlite_latency:
            targets.append(("SQLite", str(Path(tempfile.mkdtemp()) / "bench.sqlite3")))
        for label, url in targets:
            prepare(url, args.companies)
            latencies = asyncio.run(live_latency(url, args.changes))
            median, worst = statistics.median(latencies), max(latencies)
            print(f"{label}: commit in another process -> open list shows it, over "
                  f"{len(latencies)} changes: median {median * 1000:.0f} ms, max "
                  f"{worst * 1000:.0f} ms (goal max < 1000 ms): {verdict(worst < 1.0)}")
    finally:
        if server is not None:
            server.destroy()
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
