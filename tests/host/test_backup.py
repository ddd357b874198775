"""`crm backup` while another process keeps writing, then `crm restore` into an empty data
dir: every row committed before the backup is there, every file a row names is there, and
no file is there without its row. Both backends."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

WRITER = Path(__file__).with_name("backup_writer.py")


def crm(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "crm_tui", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def committed_lines(path: Path) -> list[tuple[int, str]]:
    pairs = []
    for line in path.read_text().splitlines():
        company, stored = line.split()
        pairs.append((int(company), stored))
    return pairs


def restored_rows(target: str) -> tuple[set[int], dict[str, int]]:
    """(company ids, stored name -> owner id) of the restored database."""
    if "://" in target:
        import psycopg

        conn = psycopg.connect(target)
    else:
        conn = sqlite3.connect(target)
    try:
        cur = conn.cursor()
        cur.execute("SELECT id FROM company")
        companies = {row[0] for row in cur.fetchall()}
        cur.execute("SELECT stored_name, owner_id FROM attachment WHERE owner_kind = 'company'")
        files = dict(cur.fetchall())
    finally:
        conn.close()
    return companies, files


@pytest.fixture
def second_pg_database(backend_url, request):
    """Where the PostgreSQL backup is restored: another fresh, empty database."""
    if "://" not in backend_url:
        return None
    import psycopg

    from tests.fixtures.postgres import _with_dbname  # noqa: PLC2701 - the fixture's helper

    name = "crm_restore_" + os.urandom(4).hex()
    admin = psycopg.connect(_with_dbname(backend_url, "postgres"))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    admin.close()

    def drop() -> None:
        conn = psycopg.connect(_with_dbname(backend_url, "postgres"))
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()

    request.addfinalizer(drop)
    return _with_dbname(backend_url, name)


def test_backup_under_concurrent_writes_restores_every_committed_row(
        tmp_path, data_dir, backend_url, second_pg_database):
    env = {"CRM_DATA_DIR": str(data_dir), "CRM_DB": backend_url}
    made = crm("list", "company", env=env)  # creates the database
    assert made.returncode == 0, made.stderr
    log = tmp_path / "committed.txt"
    with open(log, "w") as out:
        writer = subprocess.Popen([sys.executable, str(WRITER), backend_url, "60"],
                                  stdout=out, stderr=subprocess.PIPE, text=True,
                                  env={**os.environ, **env})
    try:
        deadline = time.monotonic() + 60
        while len(committed_lines(log)) < 5 and time.monotonic() < deadline:
            assert writer.poll() is None, writer.stderr.read()
            time.sleep(0.1)
        before = committed_lines(log)
        archive = tmp_path / "crm-backup.tar.gz"
        done = crm("backup", str(archive), env=env)
        assert done.returncode == 0, done.stderr
        after_backup = committed_lines(log)
        assert writer.poll() is None, "the writer must still be writing during the backup"
    finally:
        writer.terminate()
        writer.wait(timeout=30)
    assert len(after_backup) > len(before), "writes went on while the backup ran"
    assert os.stat(archive).st_mode & 0o777 == 0o600
    with tarfile.open(archive) as tar:
        assert "manifest.json" in tar.getnames()

    restored_dir = tmp_path / "restored"
    restore_env = {"CRM_DATA_DIR": str(restored_dir),
                   "CRM_DB": second_pg_database or str(restored_dir / "crm.sqlite3")}
    back = crm("restore", str(archive), env=restore_env)
    assert back.returncode == 0, back.stderr

    companies, rows = restored_rows(restore_env["CRM_DB"])
    for company, stored in before:
        assert company in companies, f"company {company} committed before the backup is lost"
        assert rows.get(stored) == company
    on_disk = {p.name for p in (restored_dir / "files").iterdir()}
    assert on_disk == set(rows), "every row has its file and every file its row"
    for stored, company in rows.items():
        assert (restored_dir / "files" / stored).read_bytes() == (
            f"content of company {company}".encode())
    # The restored data works through crm.
    listed = crm("list", "company", "--json", env=restore_env)
    assert listed.returncode == 0 and "Writer 1" in listed.stdout


def test_restore_refuses_a_data_dir_that_is_not_empty(tmp_path, data_dir, run_crm):
    assert run_crm("add", "company", "name=Acme").returncode == 0
    archive = tmp_path / "b.tar.gz"
    assert run_crm("backup", str(archive)).returncode == 0
    again = run_crm("restore", str(archive))
    assert again.returncode == 1
    assert len(again.stderr.strip().splitlines()) == 1 and "not empty" in again.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a tar")
    empty = tmp_path / "empty"
    bad = run_crm("restore", str(junk), env={"CRM_DATA_DIR": str(empty)})
    assert bad.returncode == 1 and "not a crm backup" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
