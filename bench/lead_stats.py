"""Lead statistics over 1M leads: the service against the same GROUP BY in raw sqlite3.

Usage: python bench/lead_stats.py [--leads 1000000] [--runs 3] [--keep DIR]
                                  [--db PATH --user LOGIN]

With --db (a demo database, e.g. /tmp/bench-1m.sqlite3 as bench/operators.py builds it)
the non-superadmin is --user (default sales2, a salesperson of My company who sees nearly
every lead) and each of his figures is compared with the superadmin's (goal <= 2x).

A migrated SQLite database gets 1M leads (raw executemany: 20 owners, 6 channels,
30 countries, every status, created over two years, estimated sales with cents). Each
statistic of `crm_tui.services.lead_stats` is timed as the superadmin and compared with
the same query written by hand and run through the sqlite3 module, in the same run; the
ratio shows what the service layer (peewee, access rules, Decimal conversion) adds to the
database's own work. The services never load leads: every figure is one GROUP BY or
aggregate. A run as a non-superadmin (whose access rule adds a subquery) is printed too.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

OWNERS = 20
CHANNELS = ("web", "phone", "fair", "mail", "partner", "")
COUNTRIES = tuple(f"Country {n:02d}" for n in range(29)) + ("",)
NOW = dt.datetime(2026, 1, 15, 9, 30)

#: The hand-written equivalents of each service query (superadmin: no access filter).
RAW = {
    "by_channel": "SELECT channel, COUNT(id), SUM(CAST(ROUND(estimated_sale * 100) AS INTEGER))"
                  " FROM lead GROUP BY channel ORDER BY COUNT(id) DESC, channel LIMIT 20",
    "by_country": "SELECT country, COUNT(id), SUM(CAST(ROUND(estimated_sale * 100) AS INTEGER))"
                  " FROM lead GROUP BY country ORDER BY COUNT(id) DESC, country LIMIT 20",
    "per_user": "SELECT owner_id, COUNT(id), SUM(CAST(ROUND(estimated_sale * 100) AS INTEGER))"
                " FROM lead GROUP BY owner_id ORDER BY COUNT(id) DESC, owner_id LIMIT 20",
    "conversion": "SELECT COUNT(id), SUM(CASE WHEN status = 8 THEN 1 ELSE 0 END) FROM lead"
                  " WHERE status IN (5, 6, 7, 8)",
    "top_sales": "SELECT id, full_name, company_name, status, estimated_sale FROM lead"
                 " ORDER BY estimated_sale DESC, id LIMIT 10",
    "new_per_week": "SELECT date(created, 'weekday 0', '-6 days'), COUNT(id) FROM lead"
                    " WHERE created >= '2025-10-27 00:00:00'"
                    " GROUP BY date(created, 'weekday 0', '-6 days')",
    "total": "SELECT COUNT(*) FROM lead",
}


def build(path: Path, leads: int) -> None:
    """A migrated database with `leads` leads over OWNERS owners."""
    from crm_tui import db
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(path))
    db.close_database()
    rng = random.Random(11)
    con = sqlite3.connect(path)
    span = 2 * 365 * 24 * 60
    with con:
        con.executemany(
            "INSERT INTO user (login, real_name, email, phone, employee_number, language, "
            "company_id, os_login, password_hash, enabled, superadmin) "
            "VALUES (?, ?, '', '', '', 'en', NULL, NULL, '', 1, 0)",
            ((f"seller{n:02d}", f"Seller {n}") for n in range(OWNERS)))
        con.execute("INSERT INTO user_profile (user_id, profile_id) SELECT u.id, p.id "
                    "FROM user u, profile p WHERE u.login = 'seller00' AND p.name = 'Sales'")

        def rows():
            for n in range(leads):
                created = NOW - dt.timedelta(minutes=rng.randrange(span))
                yield (f"Lead {n:07d}", f"lead{n}@example.com", f"lead{n}@example.com",
                       f"Company {n % 20000:05d}", COUNTRIES[rng.randrange(len(COUNTRIES))],
                       2 + rng.randrange(OWNERS), rng.randrange(0, 10_000_000) / 100,
                       rng.randrange(9), CHANNELS[rng.randrange(len(CHANNELS))],
                       created.isoformat(" "), created.isoformat(" "))

        con.executemany(
            "INSERT INTO lead (full_name, email, email_key, company_name, country, position, "
            "phone, language, owner_id, company_id, estimated_sale, estimated_close, status, "
            "lead_type_id, channel, description, created, updated) "
            "VALUES (?, ?, ?, ?, ?, '', '', 'en', ?, NULL, ?, NULL, ?, NULL, ?, '', ?, ?)",
            rows())
        con.execute("ANALYZE")
    con.close()


def timed(fn, runs: int) -> float:
    """Median seconds of `fn()` over `runs` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None)
    parser.add_argument("--db", type=Path, default=None, help="an existing demo database")
    parser.add_argument("--user", default=None, help="the non-superadmin (default seller00, "
                        "or sales2 with --db)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        os.environ["CRM_DATA_DIR"] = str(folder)
        path = args.db or folder / f"lead-stats-{args.leads}.sqlite3"
        if not path.exists():
            print(f"building {args.leads:,} leads…", file=sys.stderr)
            started = time.perf_counter()
            build(path, args.leads)
            print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr)

        from crm_tui.models import User
        from crm_tui.services import lead_stats
        from crm_tui.services.context import FrozenClock, Session
        from crm_tui.services.database import open_and_prepare

        open_and_prepare(str(path))
        clock = FrozenClock(NOW)
        admin = Session(User.get(User.login == "admin"), clock)
        login = args.user or ("sales2" if args.db else "seller00")
        seller = Session(User.get(User.login == login), clock)
        raw = sqlite3.connect(path)
        service = {
            "by_channel": lambda s: lead_stats.by_channel(s),
            "by_country": lambda s: lead_stats.by_country(s),
            "per_user": lambda s: lead_stats.per_user(s),
            "conversion": lambda s: lead_stats.conversion(s),
            "top_sales": lambda s: lead_stats.top_sales(s),
            "new_per_week": lambda s: lead_stats.new_per_week(s),
            "total": lambda s: lead_stats.total(s),
        }
        print(f"{'statistic':<14}{'service':>11}{'raw sqlite3':>13}{'ratio':>8}"
              f"{'as ' + login:>14}{'/ admin':>9}")
        sums = [0.0, 0.0, 0.0]
        for name, call in service.items():
            ours = timed(lambda call=call: call(admin), args.runs)
            base = timed(lambda name=name: raw.execute(RAW[name]).fetchall(), args.runs)
            narrow = timed(lambda call=call: call(seller), args.runs)
            sums[0] += ours
            sums[1] += base
            sums[2] += narrow
            print(f"{name:<14}{ours * 1000:9.1f} ms{base * 1000:10.1f} ms{ours / base:7.2f}x"
                  f"{narrow * 1000:11.1f} ms{narrow / ours:8.2f}x")
        ratio = sums[2] / sums[0]
        print(f"{'all':<14}{sums[0] * 1000:9.1f} ms{sums[1] * 1000:10.1f} ms"
              f"{sums[0] / sums[1]:7.2f}x{sums[2] * 1000:11.1f} ms{ratio:8.2f}x")
        print(f"{login}'s figures <= 2x the superadmin's: {'met' if ratio <= 2 else 'NOT MET'};"
              f" all of them <= 300 ms: {'met' if sums[2] <= 0.3 else 'NOT MET'}")
        raw.close()


if __name__ == "__main__":
    main()
