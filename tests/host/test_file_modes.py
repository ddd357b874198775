"""File modes: a single-user install is private (0700 / 0600); `crm setup shared` makes a
setgid 2770 data dir of root:GROUP with 0660 files and a system config that every `crm`
follows."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.host.conftest import need_root


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def crm(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "crm_tui", *args], capture_output=True,
                          text=True, env=full_env, timeout=120, **kwargs)


def test_single_user_install_is_private(tmp_path):
    data = tmp_path / "fresh" / "crm_tui"
    env = {"CRM_DATA_DIR": str(data)}
    added = crm("add", "company", "name=Acme", env=env)
    assert added.returncode == 0, added.stderr
    company_id = added.stdout.strip()
    doc = tmp_path / "offer.txt"
    doc.write_text("an offer")
    attached = crm("attach", "company", company_id, str(doc), env=env)
    assert attached.returncode == 0, attached.stderr

    assert mode(data) == 0o700
    assert mode(data / "files") == 0o700
    db_files = [data / "crm.sqlite3", data / "crm.sqlite3-wal", data / "crm.sqlite3-shm"]
    present = [p for p in db_files if p.exists()]
    assert data / "crm.sqlite3" in present
    for path in present:
        assert mode(path) == 0o600, path
    stored = list((data / "files").iterdir())
    assert len(stored) == 1
    assert mode(stored[0]) == 0o600


def test_in_process_database_and_attachment_are_private(data_dir, admin):
    """The library sets the modes where it creates files, not only the `crm` process."""
    from crm_tui.services import attachments
    from crm_tui.services.records import get_kind

    old = os.umask(0o022)
    try:
        company = get_kind("company").create(admin, {"name": "Acme"})
        attachments.add(admin, "company", company, "a.txt", b"hello")
    finally:
        os.umask(old)
    assert mode(data_dir / "crm.sqlite3") == 0o600
    for path in (data_dir / "files").iterdir():
        assert mode(path) == 0o600


def test_setup_shared_makes_a_group_data_dir(tmp_path, os_group, system_config):
    group, gid = os_group
    shared = tmp_path / "srv" / "crm"
    done = crm("setup", "shared", "--group", group, "--data-dir", str(shared))
    assert done.returncode == 0, done.stderr
    assert "2770" in done.stdout

    for directory in (shared, shared / "files", shared / "quarantine"):
        info = os.stat(directory)
        assert stat.S_IMODE(info.st_mode) == 0o2770, directory
        assert (info.st_uid, info.st_gid) == (0, gid), directory
    database = shared / "crm.sqlite3"
    for path in (database, shared / "crm.sqlite3-wal", shared / "crm.sqlite3-shm"):
        if path.exists() or path == database:
            info = os.stat(path)
            assert stat.S_IMODE(info.st_mode) == 0o660, path
            assert info.st_gid == gid, path

    # The directories on the way, made by the setup, let every operator through.
    assert mode(shared.parent) == 0o755
    assert mode(Path(system_config).parent) == 0o755
    written = tomllib.loads(Path(system_config).read_text())
    assert written["data_dir"] == str(shared)
    assert written["shared"] is True and written["group"] == group
    assert stat.S_IMODE(os.stat(system_config).st_mode) == 0o644

    # Every operator's crm now works in the shared dir: new files are the group's, 0660.
    added = crm("add", "company", "name=Shared Ltd")
    assert added.returncode == 0, added.stderr
    doc = tmp_path / "contract.txt"
    doc.write_text("terms")
    attached = crm("attach", "company", added.stdout.strip(), str(doc))
    assert attached.returncode == 0, attached.stderr
    [stored] = list((shared / "files").iterdir())
    info = os.stat(stored)
    assert stat.S_IMODE(info.st_mode) == 0o660 and info.st_gid == gid
    listed = crm("list", "company", "--json")
    assert "Shared Ltd" in listed.stdout
    for path in (shared / "crm.sqlite3-wal", shared / "crm.sqlite3-shm"):
        if path.exists():
            assert stat.S_IMODE(os.stat(path).st_mode) == 0o660, path
            assert os.stat(path).st_gid == gid, path


def test_setup_shared_refuses_an_unknown_group(tmp_path, system_config):
    need_root()
    done = crm("setup", "shared", "--group", "no-such-group-x1", "--data-dir",
               str(tmp_path / "crm"))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0
    assert "no-such-group-x1" in done.stderr and "no such group" in done.stderr
    assert not (tmp_path / "crm").exists()
    assert not Path(system_config).exists()


def test_setup_shared_refuses_without_root(tmp_path, os_group, system_config, monkeypatch):
    # The interpreter lives in root's home, out of reach of another account: the check of
    # the effective uid is exercised in-process, through the real command.
    from click.testing import CliRunner

    from crm_tui.cli import cli

    group, _gid = os_group
    target = tmp_path / "crm"
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    done = CliRunner().invoke(cli, ["setup", "shared", "--group", group,
                                    "--data-dir", str(target)])
    assert done.exit_code == 3, done.output
    assert done.output.strip().count("\n") == 0
    assert "must be run as root" in done.output
    assert not target.exists()
    assert not Path(system_config).exists()


def test_setup_shared_on_postgresql_points_the_config_at_the_server(
        tmp_path, os_group, system_config, fresh_pg_database):
    group, gid = os_group
    shared = tmp_path / "pgshared"
    done = crm("--db", fresh_pg_database, "setup", "shared", "--group", group,
               "--data-dir", str(shared))
    assert done.returncode == 0, done.stderr
    written = tomllib.loads(Path(system_config).read_text())
    assert written["database"] == fresh_pg_database and written["shared"] is True
    assert os.stat(shared / "files").st_gid == gid
    assert not (shared / "crm.sqlite3").exists()
    listed = crm("list", "company", "--json")  # no --db: the config names the server
    assert listed.returncode == 0, listed.stderr
    import psycopg

    with psycopg.connect(fresh_pg_database) as conn, conn.cursor() as cur:
        cur.execute("SELECT name FROM schema_migration")
        assert "0014_mail_worker_state" in {name for (name,) in cur.fetchall()}
