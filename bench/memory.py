"""Resident memory of the app on the lead list with the board visited: 1,000,000 leads
against 100, for the superadmin and a salesperson of My company.

Usage: python bench/memory.py [--big PATH] [--leads 1000000] [--user sales2] [--runs 3]

Each figure is a fresh process running the real app headless at 80x24 (Pilot, as the tests
drive it): it opens the lead list (key 5) and waits for its rows, visits the pipeline board
(6) and waits for its cards, goes back to the lead list, and reports its resident set
(VmRSS) then. The big database is bench/operators.py's demo database (built there, reused
here); the 100-lead demo database is built in a temp dir. Goal: the big figure <= 1.3x the
small one, for each user. This script is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from operators import build, verdict  # noqa: E402 - bench/ is the script's own directory

PROBE = r"""
import asyncio, json, sys
from crm_tui.services.database import open_and_prepare
from crm_tui.models import User
from crm_tui.services.context import Session
from crm_tui.app import make_app


def rss_kb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])


async def settled(pilot, screen_name):
    for _ in range(400):
        await pilot.pause(0.05)
        app = pilot.app
        busy = [w for w in app.workers if not w.is_finished and w.name != "_loader"]
        if type(app.screen).__name__ == screen_name and not busy:
            return
    raise SystemExit(f"{screen_name} never settled")


async def main(path, login):
    open_and_prepare(path)
    app = make_app(Session(User.get(User.login == login)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause(0.5)
        await pilot.press("5")
        await settled(pilot, "LeadsScreen")
        await pilot.press("6")
        await settled(pilot, "PipelineScreen")
        await pilot.press("5")
        await settled(pilot, "LeadsScreen")
        print(json.dumps({"rss_kb": rss_kb()}))


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def rss(path: Path, login: str, env: dict) -> int:
    """The resident set (KiB) of one fresh app process after the walk."""
    result = subprocess.run([sys.executable, "-c", PROBE, str(path), login], env=env,
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    if result.returncode != 0:
        raise SystemExit(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])["rss_kb"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big", type=Path, default=Path("/tmp/bench-1m.sqlite3"))
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--user", default="sales2", help="the salesperson's login")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRM_DATA_DIR": tmp, "PYTHONPATH": str(ROOT)}
        build(args.big, args.leads, env)
        small = Path(tmp) / "small.sqlite3"
        build(small, 100, env)
        print(f"{'figure':34} {'superadmin':>12} {args.user:>12}")
        figures = {}
        for label, path in (("RSS, 100 leads", small), ("RSS, big", args.big)):
            figures[label] = [statistics.median(rss(path, login, env) for _ in range(args.runs))
                              / 1024 for login in ("admin", args.user)]
            print(f"{label:34} {figures[label][0]:9.1f} MB {figures[label][1]:9.1f} MB")
        ratios = [big / small for big, small in zip(figures["RSS, big"],
                                                    figures["RSS, 100 leads"], strict=True)]
        ok = all(ratio <= 1.3 for ratio in ratios)
        print(f"{'ratio big / 100 leads':34} {ratios[0]:11.2f}x {ratios[1]:11.2f}x   "
              f"<= 1.3x {verdict(ok)}")


if __name__ == "__main__":
    main()
