"""`crm --sync --watch` latency: from an IMAP APPEND to the lead's activity row existing.

Starts a throwaway Dovecot (the test fixture's set-up), a database with one lead, and
``crm --sync --watch`` as a real process (IMAP IDLE when the server offers it, as Dovecot
does; else its short poll). Then, N times, with a pause of 0.2-0.6 s between them, it
APPENDs a customer's reply naming the lead and polls the database (every 5 ms, a reader
beside the worker, as an operator's app is) until the ``email_in`` row is there. The
clock runs from just before the APPEND to the row being visible.

Prints each latency, the median and the maximum, and whether the goal (median <= 1 s) is
met. One run, not a loop: the machine is shared.

    python bench/mail_watch.py [--messages 30]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

GOAL_MEDIAN = 1.0
TIMEOUT = 30.0


def _env(data: str) -> dict[str, str]:
    return {**os.environ, "CRM_DATA_DIR": data, "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1"}


def _filed() -> int:
    from crm_tui.models import LeadActivity

    return LeadActivity.select().where(LeadActivity.kind == "email_in").count()


def _wait_for(count: int, started: float) -> float:
    """Seconds from ``started`` until ``count`` incoming rows exist."""
    while _filed() < count:
        if time.perf_counter() - started > TIMEOUT:
            raise SystemExit(f"no activity row within {TIMEOUT:.0f} s: the worker is stuck")
        time.sleep(0.005)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="crm-bench-") as data:
        os.environ["CRM_DATA_DIR"] = data
        from mail_ingest import bench_mailbox  # the same set-up as the ingest bench

        from crm_tui.services.database import open_and_prepare
        from crm_tui.services.users import session_for
        from tests.fixtures.mail import start_dovecot
        from tests.integration.mail_helpers import raw_mail

        open_and_prepare(str(Path(data) / "crm.sqlite3"))
        admin = session_for(None)
        server = start_dovecot()
        worker = None
        try:
            lead_id = bench_mailbox(admin, server)
            worker = subprocess.Popen([sys.executable, "-m", "crm_tui", "--sync", "--watch"],
                                      env=_env(data), stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True)
            # Warm-up: the worker is connected and has filed one message.
            server.append(raw_mail(subject=f"Re: [Lead#{lead_id}] warm-up"))
            _wait_for(1, time.perf_counter())
            latencies = []
            rng = random.Random(19)
            for n in range(args.messages):
                time.sleep(rng.uniform(0.2, 0.6))
                raw = raw_mail(subject=f"Re: [Lead#{lead_id}] message {n}",
                               body=f"Hello,\n\nthis is message {n}.\n")
                started = time.perf_counter()
                server.append(raw)
                latencies.append(_wait_for(n + 2, started))
                print(f"message {n + 1:3} {latencies[-1] * 1000:7.1f} ms")
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.communicate(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            server.stop()

    median, worst = statistics.median(latencies), max(latencies)
    print(f"APPEND to activity row, {len(latencies)} messages: median {median * 1000:.0f} ms, "
          f"max {worst * 1000:.0f} ms")
    print(f"median {median:.2f} s (goal <= {GOAL_MEDIAN:.0f} s): "
          f"{'met' if median <= GOAL_MEDIAN else 'not met'}")


if __name__ == "__main__":
    main()
