"""Accent-insensitive name search at a million leads against the same read on an exact-match index.

Usage: python bench/accent_search.py [--big PATH] [--leads 1000000] [--runs 7] [--user sales2]

The database is the one `bench/operators.py` uses (the demo data at `--leads` leads, built
once into PATH and reused). For the superadmin and for the salesperson (the access rule in
every query), each side reads what the lead list (screen 5) reads for a search: the count
up to the list's probe and the first page, in list order, through the same query of the
lead kind (`LeadRows`):
  - accent-insensitive: the user types a surname without accents or capitals (`muller`
    finds Müller), matched by word prefix over the search index (`search_word`);
  - exact: the same read, the rows matched instead by an equality on the full name as
    stored (`full_name = 'João Müller'`, through the `lead_full_name` index), as a CRM
    that matches exact text would.
Goal (issue "keyboard UI"): accent-insensitive <= 2x exact, for both users. Medians of
`--runs` after a warm-up. This script is not a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lead_stats import timed  # noqa: E402 - bench/ is the script's own directory
from operators import build  # noqa: E402

GOAL = 2.0
#: (typed without accents, a full name as stored that the same search finds).
SEARCHES = (("muller", "João Müller"), ("garcia", "Ahmed García"), ("jensen", "Kenji Jensen"))


def read_first_rows(session, filters: dict, exact_name: str | None = None) -> int:
    """The list's reads for one search: count up to the probe, then the first page."""
    from crm_tui.models import Lead
    from crm_tui.services.lead_rows import LeadRows
    from screens.leads import LEAD_COUNT_PROBE

    rows = LeadRows(session, filters, probe=LEAD_COUNT_PROBE)
    if exact_name is not None:
        # The same source, its rows matched by the exact name instead of the search index.
        base = rows.query

        def exact_query(*, dense: bool = False):
            return base(dense=dense).where(Lead.full_name == exact_name)

        rows.query = exact_query
    count = rows.count()
    rows.page(0, 50)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=Path, default=Path("/tmp/bench-1m.sqlite3"))
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--user", default="sales2", help="the salesperson's login")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRM_DATA_DIR": tmp, "PYTHONPATH": str(ROOT)}
        os.environ["CRM_DATA_DIR"] = tmp
        build(args.big, args.leads, env)
        from crm_tui import db
        from crm_tui.models import Lead, User
        from crm_tui.services.context import Session
        from crm_tui.services.database import open_and_prepare

        open_and_prepare(str(args.big))
        print(f"{'median ms':<34}{'accent-insensitive':>20}{'exact index':>14}{'ratio':>8}   goal")
        for login in ("admin", args.user):
            session = Session(User.get(User.login == login))
            print(f"as {login}:")
            for typed, stored in SEARCHES:
                if not Lead.select().where(Lead.full_name == stored).exists():
                    print(f"  {typed!r}: no lead named {stored!r} in this database, skipped")
                    continue
                found = read_first_rows(session, {"q": typed})
                exact = read_first_rows(session, {}, stored)
                accent_s = timed(lambda s=session, t=typed: read_first_rows(s, {"q": t}),
                                 args.runs)
                exact_s = timed(lambda s=session, n=stored: read_first_rows(s, {}, n), args.runs)
                ratio = accent_s / exact_s
                label = f"{typed!r} ({found:,}) vs {stored!r} ({exact:,})"
                print(f"  {label:<32}{accent_s * 1000:>20.1f}{exact_s * 1000:>14.1f}"
                      f"{ratio:>7.2f}x   <= {GOAL:g}x: {'met' if ratio <= GOAL else 'not met'}")
        db.close_database()


if __name__ == "__main__":
    main()
