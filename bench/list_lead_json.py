"""Time `crm list lead --json --filter …` on 100k leads against raw sqlite3 in the same run.

Both sides run as fresh processes (so interpreter start-up counts on both), produce the same
rows as JSON, and are timed as the median of several runs. Goal: ratio <= 2x.
Usage: python bench/list_lead_json.py [--leads 100000] [--runs 5]
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

RAW = r"""
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
rows = con.execute(
    "SELECT l.id, l.full_name, l.email, l.company_name, l.country, l.position, l.phone, "
    "l.language, u.login, l.company_id, l.estimated_sale, l.estimated_close, l.status, "
    "l.lead_type_id, l.channel, l.description, l.created, l.updated "
    "FROM lead l LEFT JOIN user u ON u.id = l.owner_id "
    "WHERE l.country LIKE ? AND l.status = ? ORDER BY l.id", ("%Spain%", 3)).fetchall()
json.dump([list(r) for r in rows], sys.stdout)
"""


def timed(cmd: list[str], env: dict) -> tuple[float, int]:
    start = time.perf_counter()
    result = subprocess.run(cmd, capture_output=True, env=env, check=True)
    return time.perf_counter() - start, len(result.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CRM_DATA_DIR": tmp}
        # Installed packages carry compiled bytecode; give the source tree the same.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "crm_tui")],
                       check=True, env=env)
        db = str(Path(tmp) / "bench.sqlite3")
        build = time.perf_counter()
        subprocess.run([sys.executable, "-m", "crm_tui", "--db", db, "demo-data", "--leads",
                        str(args.leads), "--companies", "1000"], env=env, check=True,
                       capture_output=True)
        print(f"built {args.leads} leads in {time.perf_counter() - build:.1f}s")
        crm = [sys.executable, "-m", "crm_tui", "--db", db, "list", "lead", "--json",
               "--filter", "country=Spain", "--filter", "status=3"]
        raw = [sys.executable, "-c", RAW, db]
        timed(crm, env), timed(raw, env)  # warm the page cache for both
        crm_times, raw_times = [], []
        for _ in range(args.runs):
            seconds, crm_bytes = timed(crm, env)
            crm_times.append(seconds)
            seconds, raw_bytes = timed(raw, env)
            raw_times.append(seconds)
        crm_median, raw_median = statistics.median(crm_times), statistics.median(raw_times)
        print(f"crm list lead --json --filter country=Spain --filter status=3: "
              f"{crm_median * 1000:.0f} ms ({crm_bytes} bytes)")
        print(f"raw sqlite3 + json, same rows:                        "
              f"{raw_median * 1000:.0f} ms ({raw_bytes} bytes)")
        ratio = crm_median / raw_median
        print(f"ratio crm/raw: {ratio:.2f}x (goal <= 2x) {'OK' if ratio <= 2 else 'OVER'}")


if __name__ == "__main__":
    main()
