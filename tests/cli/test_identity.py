"""Who acts: `crm` run as a second, non-root OS account that the test creates.

The acting OS user comes from the process's real uid, never from LOGNAME/USER; `--user` needs
the other user's password; `crm passwd` changes one's own; the last enabled superadmin stays;
`crm init --superadmin` names a new one only for root or the database file's owner.
"""

from __future__ import annotations

import fcntl
import json
import os
import pwd
import secrets
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

#: The worktree whose code the child processes run.
PROJECT = Path(__file__).resolve().parents[2]
#: Held while ACLs are changed: two test workers may edit the same directory's ACL.
ACL_LOCK = Path("/tmp/crm_tui-test-acl.lock")


@dataclass
class Account:
    """A throwaway OS account: its name and ids."""

    name: str
    uid: int
    gid: int
    home: Path


def _needs_root() -> None:
    if os.getuid() == 0 and shutil.which("useradd") and shutil.which("setfacl"):
        return
    reason = "identity tests create an OS account: they need root, useradd and setfacl"
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI never skips them)")
    pytest.skip(reason)


def _blocked_dirs() -> list[Path]:
    """Directories on the way to the interpreter and the code that others may not enter
    (pyenv under a 0700 /root, say): the account gets search permission on these only."""
    import site
    import sysconfig

    targets = {Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix),
               PROJECT, *(Path(p) for p in sysconfig.get_paths().values()),
               *(Path(p) for p in site.getsitepackages())}
    blocked: set[Path] = set()
    for target in targets:
        for directory in [*reversed(target.parents), target]:
            try:
                mode = directory.stat().st_mode
            except OSError:
                continue
            if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
                blocked.add(directory)
    return sorted(blocked)


def _setfacl(*args: str) -> None:
    with ACL_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["setfacl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def account() -> Iterator[Account]:
    """A new non-root OS account (removed afterwards, home included)."""
    _needs_root()
    name = f"crmt{secrets.token_hex(4)}"
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True,
                   capture_output=True)
    entry = pwd.getpwnam(name)
    blocked = _blocked_dirs()
    try:
        for directory in blocked:
            _setfacl("-m", f"u:{name}:x", str(directory))
        yield Account(name, entry.pw_uid, entry.pw_gid, Path(entry.pw_dir))
    finally:
        for directory in blocked:
            _setfacl("-x", f"u:{name}", str(directory))
        subprocess.run(["userdel", "-r", name], capture_output=True)


@pytest.fixture
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A data directory in /tmp that root and the account may both write."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="crm-identity-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path, ignore_errors=True)


class Crm:
    """Runs `python -m crm_tui --db DB …` as root or as the account."""

    def __init__(self, account: Account, directory: Path) -> None:
        self.account = account
        self.directory = directory
        self.db = directory / "crm.sqlite3"

    def _share(self) -> None:
        # Files root's processes made stay usable by the account (the owner stays root).
        for path in [self.directory, *self.directory.iterdir()]:
            path.chmod(0o777 if path.is_dir() else 0o666)

    def run(self, *args: str, as_account: bool = True, env: dict | None = None,
            db: Path | None = None) -> subprocess.CompletedProcess:
        """One `crm` process, with a minimal environment and no terminal."""
        home = self.account.home if as_account else Path(pwd.getpwuid(0).pw_dir)
        full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                    "PYTHONPATH": str(PROJECT), "HOME": str(home),
                    "CRM_DATA_DIR": str(self.directory), "LANG": "C.UTF-8", **(env or {})}
        ids = ({"user": self.account.uid, "group": self.account.gid, "extra_groups": []}
               if as_account else {})
        result = subprocess.run([sys.executable, "-m", "crm_tui", "--db", str(db or self.db),
                                 *args], capture_output=True, text=True, env=full_env,
                                stdin=subprocess.DEVNULL, cwd=self.directory, timeout=120,
                                **ids)
        self._share()
        return result

    def root(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        """`crm` as root (linked to `admin`, the database's first superadmin)."""
        return self.run(*args, as_account=False, env=env)

    def rows(self, sql: str, *params) -> list[tuple]:
        """Read the database file directly (what the test checks afterwards)."""
        with sqlite3.connect(self.db) as con:
            return con.execute(sql, params).fetchall()


@pytest.fixture
def crm(account: Account, shared_dir: Path) -> Crm:
    """A database made by root, with `alice` linked to the account and `bob` unlinked."""
    crm = Crm(account, shared_dir)
    assert crm.root("init").returncode == 0
    assert crm.root("add", "user", "login=alice", f"os_login={account.name}",
                    "profiles=Standard user").returncode == 0
    assert crm.root("add", "user", "login=bob", "password=bob-secret-1",
                    "profiles=Standard user").returncode == 0
    return crm


def _one_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_the_environment_does_not_choose_the_acting_user(crm, account):
    admin_env = {"LOGNAME": "admin", "USER": "admin", "USERNAME": "admin"}
    # alice is linked to the account: a superadmin-only change names alice, not admin.
    as_alice = crm.run("add", "profile", "name=Sneaky", env=admin_env)
    assert as_alice.returncode == 3
    assert _one_line(as_alice) == "crm: error: alice may not change profiles"
    root_env = {"LOGNAME": "root", "USER": "root"}
    assert crm.run("add", "profile", "name=Sneaky", env=root_env).returncode == 3
    assert crm.rows("SELECT name FROM profile WHERE name = 'Sneaky'") == []
    # Unlinked, the account is nobody, whatever the environment says.
    crm.root("set", "user", "alice", "os_login=")
    nobody = crm.run("list", "company", env=admin_env)
    assert nobody.returncode == 3
    assert _one_line(nobody) == (f"crm: error: no CRM user is linked to the OS login "
                                 f"{account.name!r}: use --user LOGIN")
    # Root, linked to admin, is still admin with an account's name in the environment.
    assert crm.root("add", "profile", "name=Allowed",
                    env={"LOGNAME": account.name, "USER": account.name}).returncode == 0


def test_acting_as_another_user_needs_the_password(crm):
    listed = ["list", "company", "--json"]
    without = crm.run("--user", "bob", *listed)
    wrong = crm.run("--user", "bob", *listed, env={"CRM_PASSWORD": "not-bobs"})
    unknown = crm.run("--user", "ghost", *listed, env={"CRM_PASSWORD": "not-bobs"})
    for result in (without, wrong, unknown):
        assert result.returncode == 3 and result.stdout == ""
    # The same answer whether the login exists or not.
    assert _one_line(wrong) == "crm: error: unknown user or wrong password for 'bob'"
    assert _one_line(without) == _one_line(wrong)
    assert _one_line(unknown) == _one_line(wrong).replace("'bob'", "'ghost'")
    right = crm.run("--user", "bob", *listed, env={"CRM_PASSWORD": "bob-secret-1"})
    assert right.returncode == 0 and json.loads(right.stdout) == []
    # A disabled user with the right password answers like an unknown one.
    assert crm.root("set", "user", "bob", "enabled=false").returncode == 0
    disabled = crm.run("--user", "bob", *listed, env={"CRM_PASSWORD": "bob-secret-1"})
    assert disabled.returncode == 3 and _one_line(disabled) == _one_line(wrong)
    # One's own login needs no password; a superadmin (root is admin) needs none either.
    assert crm.run("--user", "alice", *listed).returncode == 0
    assert crm.root("--user", "alice", *listed).returncode == 0


def test_passwd_round_trip(crm):
    # alice has no password yet: the current one is not asked.
    short = crm.run("passwd", env={"CRM_NEW_PASSWORD": "short"})
    assert short.returncode == 1 and "at least 8 characters" in _one_line(short)
    assert "short" not in short.stderr.replace("at least", "")
    empty = crm.run("passwd", env={"CRM_NEW_PASSWORD": ""})
    assert empty.returncode == 1
    assert crm.rows("SELECT password_hash FROM user WHERE login = 'alice'") == [("",)]
    first = crm.run("passwd", env={"CRM_NEW_PASSWORD": "alice-first-1"})
    assert first.returncode == 0 and _one_line(first) == "password changed for alice"
    # Now the current one is needed, and must be right.
    assert crm.run("passwd", env={"CRM_NEW_PASSWORD": "alice-second-2"}).returncode == 3
    wrong = crm.run("passwd", env={"CRM_PASSWORD": "alice-guess",
                                   "CRM_NEW_PASSWORD": "alice-second-2"})
    assert wrong.returncode == 3 and "wrong current password" in _one_line(wrong)
    second = crm.run("passwd", env={"CRM_PASSWORD": "alice-first-1",
                                    "CRM_NEW_PASSWORD": "alice-second-2"})
    assert second.returncode == 0
    (stored,), = crm.rows("SELECT password_hash FROM user WHERE login = 'alice'")
    assert stored.startswith("scrypt$") and "alice-second-2" not in stored
    # bob (unlinked) changes his own through --user; only the new password opens it then.
    changed = crm.run("--user", "bob", "passwd", env={"CRM_PASSWORD": "bob-secret-1",
                                                      "CRM_NEW_PASSWORD": "bob-secret-2"})
    assert changed.returncode == 0
    old = crm.run("--user", "bob", "list", "company", env={"CRM_PASSWORD": "bob-secret-1"})
    new = crm.run("--user", "bob", "list", "company", env={"CRM_PASSWORD": "bob-secret-2"})
    assert (old.returncode, new.returncode) == (3, 0)


def test_the_last_enabled_superadmin_stays(crm):
    reason = "is the last enabled superadmin: make another one first"
    demote = crm.root("set", "user", "admin", "superadmin=false")
    disable = crm.root("set", "user", "admin", "enabled=false")
    delete = crm.root("delete", "user", "admin")
    for result in (demote, disable, delete):
        assert result.returncode == 1 and reason in _one_line(result)
    assert crm.rows("SELECT superadmin, enabled FROM user WHERE login = 'admin'") == [(1, 1)]
    # With a second superadmin (alice, the account) the first may go; then alice is last.
    assert crm.root("set", "user", "alice", "superadmin=true").returncode == 0
    assert crm.run("set", "user", "admin", "enabled=false").returncode == 0
    mine = crm.run("set", "user", "alice", "superadmin=false")
    assert mine.returncode == 1 and reason in _one_line(mine)
    assert crm.rows("SELECT login FROM user WHERE superadmin AND enabled") == [("alice",)]


def test_init_superadmin_only_for_root_or_the_file_owner(crm, account, shared_dir):
    exists = crm.root("init", "--superadmin", "alice")
    assert exists.returncode == 1 and "an enabled superadmin exists" in exists.stderr
    # None left (disabled behind crm's back, as an old database might be).
    with sqlite3.connect(crm.db) as con:
        con.execute("UPDATE user SET enabled = 0 WHERE login = 'admin'")
    refused = crm.run("init", "--superadmin", "alice")
    assert refused.returncode == 3
    assert "only root or the owner of the database file" in refused.stderr
    assert crm.rows("SELECT superadmin FROM user WHERE login = 'alice'") == [(0,)]
    allowed = crm.root("init", "--superadmin", "alice")
    assert allowed.returncode == 0, allowed.stderr
    assert crm.rows("SELECT superadmin, enabled, os_login FROM user WHERE login = 'alice'"
                    ) == [(1, 1, account.name)]
    # alice (the account) is superadmin now: she may do what only superadmins do.
    assert crm.run("add", "profile", "name=Hers").returncode == 0
    # The account's own database file: its owner may name one, with a password.
    own = shared_dir / "own.sqlite3"
    assert crm.run("init", db=own).returncode == 0
    with sqlite3.connect(own) as con:
        con.execute("UPDATE user SET superadmin = 0")
    named = crm.run("init", "--superadmin", "zed", db=own,
                    env={"CRM_NEW_PASSWORD": "zed-secret-1"})
    assert named.returncode == 0, named.stderr
    assert "created superadmin 'zed'" in named.stderr
    as_zed = crm.run("--user", "zed", "add", "profile", "name=Zeds", db=own,
                     env={"CRM_PASSWORD": "zed-secret-1"})
    assert as_zed.returncode == 0, as_zed.stderr


def test_last_superadmin_rule_in_the_services(any_world):
    from crm_tui.errors import ValidationFailed
    from crm_tui.services.records import get_kind

    users = get_kind("user")
    admin = any_world.session("admin")
    for change in ({"superadmin": "false"}, {"enabled": "false"}):
        with pytest.raises(ValidationFailed, match="last enabled superadmin"):
            users.update(admin, "admin", change)
    with pytest.raises(ValidationFailed, match="last enabled superadmin"):
        users.delete(any_world.session("admin"), "admin")
    users.update(admin, "manager1", {"superadmin": "true"})
    users.update(admin, "admin", {"superadmin": "false"})
    with pytest.raises(ValidationFailed, match="last enabled superadmin"):
        users.update(any_world.session("manager1"), "manager1", {"enabled": "false"})


def test_init_superadmin_on_postgresql_is_for_root_only(crm, fresh_pg_database):
    import peewee

    url = fresh_pg_database
    assert crm.run("init", as_account=False, db=url).returncode == 0
    pg = peewee.PostgresqlDatabase(None)
    pg.init(**_pg_params(url))
    pg.execute_sql('UPDATE "user" SET enabled = false')
    refused = crm.run("init", "--superadmin", "carol", db=url)
    assert refused.returncode == 3
    assert _one_line(refused) == ("crm: error: only root may name a superadmin this way on "
                                  "PostgreSQL")
    allowed = crm.run("init", "--superadmin", "carol", as_account=False, db=url)
    assert allowed.returncode == 0, allowed.stderr
    rows = pg.execute_sql('SELECT login FROM "user" WHERE superadmin AND enabled').fetchall()
    pg.close()
    assert rows == [("carol",)]


def _pg_params(url: str) -> dict:
    from urllib.parse import urlparse

    parts = urlparse(url)
    return {"database": parts.path.lstrip("/"), "user": parts.username,
            "password": parts.password, "host": parts.hostname, "port": parts.port}
