"""Time to first frame of `crm` on a database of a million leads, against a bare Textual app.

Usage: python bench/startup.py [--leads N] [--runs K] [--fresh]

Both programs start as real processes in an 80x24 tmux pane, alternating, in the same run;
the clock runs from the spawn until a marker shows in the pane (polled every 5 ms): the
bare app's label; for `crm`, its top bar (first frame) and the first company of the tree
(first data). The database is migrated, has the demo's users and companies, a million
leads bulk-inserted with sqlite3's executemany, and is kept in the temp dir for the next
run (`--fresh` rebuilds it). Both may write .pyc files, as an installed tool has them, and
each runs once unmeasured first. Goal: first frame within 1.3x of the bare app.
This script is not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import shlex
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BARE_APP = """
from textual.app import App
from textual.widgets import Label


class Bare(App):
    def compose(self):
        yield Label("bare app ready")


Bare().run()
"""


def schema_tag() -> str:
    """A short tag of the migrations' names: a kept database is reused only by the same
    schema."""
    import hashlib

    names = sorted(path.name for path in (ROOT / "crm_tui" / "migrations").glob("[0-9]*.py"))
    return hashlib.sha1("\n".join(names).encode()).hexdigest()[:8]


def build(path: Path, leads: int, fresh: bool) -> None:
    """The benchmark database (kept between runs)."""
    if path.exists() and not fresh:
        return
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    from crm_tui import db
    from crm_tui.demo import DemoSizes, generate
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(str(path))
    generate(DemoSizes(leads=0))
    db.close_database()
    con = sqlite3.connect(path)
    companies = [r for (r,) in con.execute("SELECT id FROM company")]
    users = [r for (r,) in con.execute("SELECT id FROM user")]
    rng = random.Random(1)
    with con:
        con.executemany(
            "INSERT INTO lead (full_name, email, email_key, company_name, country, position, "
            "phone, language, owner_id, company_id, estimated_sale, estimated_close, status, "
            "lead_type_id, channel, description, created, updated) VALUES (?, ?, ?, ?, ?, '', "
            "'', 'en', ?, ?, ?, NULL, ?, NULL, 'web form', '', ?, ?)",
            ((f"Lead {n:07d}", f"lead{n}@example.com", f"lead{n}@example.com",
              f"Prospect {n % 5000}", ("Spain", "France", "Japan")[n % 3], rng.choice(users),
              rng.choice(companies), f"{rng.randint(1, 500) * 100}.00", rng.randint(0, 8),
              "2026-01-15 09:00:00", "2026-01-15 09:00:00") for n in range(leads)))
    con.close()


class Pane:
    """An 80x24 tmux pane in a tmux server of our own (one per run)."""

    def __init__(self, tmux: str) -> None:
        self.tmux = tmux
        self.socket = ""

    def run(self, command: str, markers: list[str], timeout: float = 60.0) -> list[float]:
        """Start `command` (in a tmux server of its own); seconds until each marker shows."""
        self.socket = f"crm-bench-{uuid.uuid4().hex[:8]}"
        found: list[float | None] = [None] * len(markers)
        start = time.perf_counter()
        subprocess.run([self.tmux, "-L", self.socket, "new-session", "-d", "-s", "b", "-x",
                        "80", "-y", "24", command], check=True)
        try:
            while None in found and time.perf_counter() - start < timeout:
                screen = subprocess.run(
                    [self.tmux, "-L", self.socket, "capture-pane", "-p", "-t", "b"],
                    capture_output=True, text=True).stdout
                now = time.perf_counter() - start
                for index, marker in enumerate(markers):
                    if found[index] is None and marker in screen:
                        found[index] = now
                time.sleep(0.005)
        finally:
            subprocess.run([self.tmux, "-L", self.socket, "kill-server"], capture_output=True)
        if None in found:
            raise SystemExit(f"never saw {markers} from: {command}")
        return [value for value in found if value is not None]


def main() -> None:
    """Build (or reuse) the database, start both programs in turn, print figures and ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true", help="rebuild the database")
    args = parser.parse_args()
    tmux = shutil.which("tmux")
    if tmux is None:
        raise SystemExit("tmux is needed to time a real terminal")
    work = Path(tempfile.gettempdir()) / "crm_bench"
    work.mkdir(exist_ok=True)
    os.environ["CRM_DATA_DIR"] = str(work)
    database = work / f"leads_{args.leads}_{schema_tag()}.sqlite3"
    started = time.perf_counter()
    build(database, args.leads, args.fresh)
    print(f"database ready in {time.perf_counter() - started:.1f} s ({database})")
    bare_script = work / "bare_app.py"
    bare_script.write_text(BARE_APP, encoding="utf-8")
    python = shlex.quote(sys.executable)
    # Installed code runs from compiled .pyc files: allow them to be written (and do one
    # unmeasured run of each), or every start would compile the project's sources again.
    env = (f"env -u PYTHONDONTWRITEBYTECODE CRM_DATA_DIR={shlex.quote(str(work))} "
           f"PYTHONPATH={shlex.quote(str(ROOT))}")
    crm = f"cd {shlex.quote(str(ROOT))} && {env} {python} -m crm_tui --db {database}"
    bare = f"{env} {python} {shlex.quote(str(bare_script))}"
    pane = Pane(tmux)
    pane.run(bare, ["bare app ready"])
    pane.run(crm, ["1 Companies", "My company"])
    bare_times, frame_times, data_times = [], [], []
    for _ in range(args.runs):
        bare_times.append(pane.run(bare, ["bare app ready"])[0])
        frame, data = pane.run(crm, ["1 Companies", "My company"])
        frame_times.append(frame)
        data_times.append(data)
    bare_ms = statistics.median(bare_times) * 1000
    frame_ms = statistics.median(frame_times) * 1000
    data_ms = statistics.median(data_times) * 1000
    print(f"\nmedian of {args.runs} runs, 80x24 tmux pane, {args.leads:,} leads")
    print(f"  bare Textual app, first frame   {bare_ms:8.0f} ms")
    print(f"  crm, first frame                {frame_ms:8.0f} ms   ratio {frame_ms / bare_ms:.2f}x"
          f"  (goal <= 1.30x: {'ok' if frame_ms <= 1.3 * bare_ms else 'over'})")
    print(f"  crm, first companies shown      {data_ms:8.0f} ms   ratio {data_ms / bare_ms:.2f}x")


if __name__ == "__main__":
    main()
