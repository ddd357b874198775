"""Time a 100k-company CSV import against raw sqlite3 executemany of the same rows.

Usage: python bench/import_companies.py [--rows N] [--repeat K]   (K pairs of runs, default 3)

Both runs write into a fresh, fully migrated database file (same tables, indexes and
pragmas): `imports.run` reads, decodes, checks and writes the CSV file (company rows and
their two custom values each, parents mapped within the file); the baseline inserts the
already prepared tuples of the same rows with sqlite3's executemany in one transaction.
The import also checks the duplicate rule against the database and within the file, and
writes each new record's history row (its field values) and search words, which the
baseline does not: history doubles the writes. The ratio is baseline time / import time
(1.0 = as fast as the raw insert; goal >= 0.35), the median over the pairs of runs, in
wall-clock time and in this process's CPU time.
After the first import (untimed) its stored rows are compared with the baseline's: every
field, parent (by name), manager, role, stamp and custom value must be the same.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

NOW = dt.datetime(2026, 1, 15, 9, 30)
#: The import's rate against the raw insert, history and the duplicate rule on.
GOAL = 0.35


def build_rows(count: int) -> list[dict]:
    """Deterministic companies: a tree ten wide under one root, two custom values each."""
    rows = []
    for n in range(1, count + 1):
        rows.append({
            "id": n,
            "name": f"Company {n:06d}",
            "address": f"{n} Main Street, =1+1 Building",
            "fiscal_id": f"B{n:08d}",
            "country": ("Spain", "France", "Portugal", "Italy")[n % 4],
            "website": f"https://company{n}.example.com",
            "comments": "Imported for the benchmark" if n % 3 else "-5 days @x",
            "parent": None if n == 1 else (n - 2) // 10 + 1,
            "payment_conditions": n % 90,
            "phone": f"+34 600 {n:06d}",
            "email": f"info@company{n}.example.com",
        })
    return rows


def build_csv(rows: list[dict]) -> bytes:
    """The rows as an export of the program writes them (header, neutralised cells)."""
    from crm_tui import csvio

    header = ["name", "address", "fiscal_id", "country", "website", "comments",
              "id_company_role", "id_parent", "manager", "last_update", "payment_conditions",
              "billing", "Office Phone", "General email", "id"]
    out = io.StringIO(newline="")
    csvio.write_table(header, (
        [r["name"], r["address"], r["fiscal_id"], r["country"], r["website"], r["comments"],
         "1", r["parent"], "admin", "2026-01-01 10:00:00", r["payment_conditions"], "0.00",
         r["phone"], r["email"], r["id"]] for r in rows), out)
    return out.getvalue().encode("utf-8")


def fresh_database(folder: str, name: str) -> str:
    """A new migrated SQLite file with the admin user, bound to the models."""
    from crm_tui.services.database import open_and_prepare

    path = os.path.join(folder, name)
    open_and_prepare(path)
    return path


def time_import(folder: str, data: bytes, expected: int, run_number: int,
                rows: list[dict] | None = None) -> tuple[float, float]:
    """(wall, CPU) seconds for `imports.run` of the file into a fresh database.

    With `rows`, the stored rows are then compared with the raw baseline's (untimed).
    """
    from crm_tui import db
    from crm_tui.models import Company, CustomValue, History, User
    from crm_tui.services import imports
    from crm_tui.services.context import FrozenClock, Session

    path = fresh_database(folder, f"import-{run_number}.sqlite3")
    session = Session(User.get(User.login == "admin"), FrozenClock(NOW))
    started, cpu = time.perf_counter(), time.process_time()
    report = imports.run(session, "companies", data, dry_run=False)
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    assert report.created == expected, report
    assert Company.select().count() == expected
    assert CustomValue.select().count() == 2 * expected
    # Every new company's history row holds its values (name and custom ones included).
    created = History.select().where(History.action == "create", History.face == "import")
    assert created.count() == expected
    assert all("name" in row.change_data and "custom.Office Phone" in row.change_data
               for row in created.limit(100))
    db.close_database()
    if rows is not None:
        check_contents(path, rows)
    return elapsed


def stored_rows(path: str) -> dict[str, tuple]:
    """Every company of a database file by name: its fields, parent's name, custom values."""
    connection = sqlite3.connect(path)
    try:
        parents = dict(connection.execute('SELECT "id", "name" FROM "company"'))
        custom: dict[int, dict[str, str]] = {}
        for record_id, field, value in connection.execute(
                'SELECT v."record_id", f."name", v."value" FROM "custom_value" v '
                'JOIN "custom_field" f ON f."id" = v."field_id" WHERE f."entity" = \'company\''):
            custom.setdefault(record_id, {})[field] = value
        return {
            name: (address, fiscal_id, country, website, comments, role_id, parents.get(parent),
                   manager_id, last_update, payment_conditions, custom.get(company_id, {}))
            for (company_id, name, address, fiscal_id, country, website, comments, role_id,
                 parent, manager_id, last_update, payment_conditions) in connection.execute(
                'SELECT "id", "name", "address", "fiscal_id", "country", "website", "comments", '
                '"role_id", "parent_id", "manager_id", "last_update", "payment_conditions" '
                'FROM "company"')}
    finally:
        connection.close()


def check_contents(path: str, rows: list[dict]) -> None:
    """The imported database holds exactly the rows the raw baseline inserts (ids aside)."""
    expected = os.path.join(os.path.dirname(path), "raw-expected.sqlite3")
    if not os.path.exists(expected):
        time_raw(os.path.dirname(path), rows, "expected")
    assert stored_rows(path) == stored_rows(expected), "the import stored different rows"


def time_raw(folder: str, rows: list[dict], run_number: int | str) -> tuple[float, float]:
    """(wall, CPU) seconds for raw sqlite3 executemany of the same rows into a fresh file."""
    from crm_tui import db
    from crm_tui.models import CustomField, User

    path = fresh_database(folder, f"raw-{run_number}.sqlite3")
    admin_id = User.get(User.login == "admin").id
    fields = [f.id for f in CustomField.select().where(CustomField.entity == "company")
              .order_by(CustomField.position)]
    db.close_database()
    stamp = NOW.isoformat(" ")
    companies = [(r["id"], r["name"], r["address"], r["fiscal_id"], r["country"], r["website"],
                  r["comments"], 1, r["parent"], admin_id, stamp, r["payment_conditions"])
                 for r in rows]
    values = [(fields[0], r["id"], r["phone"]) for r in rows]
    values += [(fields[1], r["id"], r["email"]) for r in rows]
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma, value in db.SQLITE_PRAGMAS.items():
        connection.execute(f"PRAGMA {pragma}={value}")
    # The page cache the import's write has (crm_tui.db.bulk_cache), the same for both.
    connection.execute(f"PRAGMA cache_size=-{db.BULK_CACHE_KIB}")
    started, cpu = time.perf_counter(), time.process_time()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(
        'INSERT INTO "company" ("id", "name", "address", "fiscal_id", "country", "website", '
        '"comments", "role_id", "parent_id", "manager_id", "last_update", '
        '"payment_conditions") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', companies)
    connection.executemany(
        'INSERT INTO "custom_value" ("field_id", "record_id", "value") VALUES (?, ?, ?)',
        values)
    connection.execute("COMMIT")
    elapsed = time.perf_counter() - started, time.process_time() - cpu
    connection.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="crm-bench-") as folder:
        os.environ["CRM_DATA_DIR"] = folder
        rows = build_rows(args.rows)
        data = build_csv(rows)
        print(f"file: {args.rows} companies, {len(data) / 1e6:.1f} MB")
        imported, raw = [], []
        for run_number in range(args.repeat):
            raw.append(time_raw(folder, rows, run_number))
            # The first import's stored rows are checked against the raw baseline's.
            imported.append(time_import(folder, data, args.rows, run_number,
                                        rows if run_number == 0 else None))
        for what, index in (("wall", 0), ("CPU", 1)):
            raw_s = statistics.median(r[index] for r in raw)
            import_s = statistics.median(r[index] for r in imported)
            # Each pair ran back to back, so its ratio is the least disturbed by other load.
            ratio = statistics.median(r[index] / i[index] for r, i in zip(raw, imported, strict=True))
            print(f"{what:4s} time: raw sqlite3 executemany {raw_s:.2f} s "
                  f"({args.rows / raw_s:,.0f} rows/s); imports.run (parse, check, write) "
                  f"{import_s:.2f} s ({args.rows / import_s:,.0f} rows/s); "
                  f"ratio {ratio:.2f} (goal >= {GOAL}: {'met' if ratio >= GOAL else 'not met'})")
            pairs = ", ".join(f"{r[index] / i[index]:.2f}"
                              for r, i in zip(raw, imported, strict=True))
            print(f"     each pair's ratio: {pairs}")

if __name__ == "__main__":
    main()
