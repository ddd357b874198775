"""Shared fixtures: a real database per test (SQLite file or PostgreSQL), the SPEC's worked
example, a frozen clock, and sessions for each of its users."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.fixtures.mail import mailbox  # noqa: F401
from tests.fixtures.postgres import fresh_pg_database, postgres_url  # noqa: F401

FROZEN_AT = "2026-01-15 09:30:00"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own data directory (database, files/), no system config and its
    own user config dir (the secrets file); CRM_DB is never inherited."""
    path = tmp_path / "data"
    path.mkdir()
    monkeypatch.setenv("CRM_DATA_DIR", str(path))
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "etc" / "config.toml"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CRM_DB", raising=False)
    monkeypatch.delenv("CRM_PASSWORD", raising=False)
    return path


@pytest.fixture(autouse=True)
def quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheaper hashing in tests; the cost is stored in each hash, so checks still work (and a
    `crm` subprocess upgrades such a hash to the real cost at its first check)."""
    from crm_tui.services import users

    monkeypatch.setattr(users, "_HASH_ROUNDS", 1000)
    monkeypatch.setattr(users, "_SCRYPT_N", 2**4)


@pytest.fixture
def clock():
    """A clock frozen at 2026-01-15 09:30 UTC."""
    import datetime as dt

    from crm_tui.services.context import FrozenClock

    return FrozenClock(dt.datetime.fromisoformat(FROZEN_AT))


def _open(target: str, clock) -> None:
    from crm_tui.services.database import open_and_prepare

    open_and_prepare(target, clock)


def _close() -> None:
    from crm_tui import db

    db.close_database()


@pytest.fixture
def sqlite_url(data_dir: Path) -> str:
    """The path of a fresh SQLite database file in the test's data dir."""
    return str(data_dir / "crm.sqlite3")


@pytest.fixture(params=["sqlite", "postgres"])
def backend_url(request: pytest.FixtureRequest, data_dir: Path) -> Iterator[str]:
    """A fresh database on each backend: a SQLite file, then a real PostgreSQL database."""
    if request.param == "sqlite":
        yield str(data_dir / "crm.sqlite3")
    else:
        yield request.getfixturevalue("fresh_pg_database")


@pytest.fixture
def crm_db(sqlite_url: str, clock) -> Iterator[str]:
    """A migrated SQLite database bound to the models; yields its path."""
    _open(sqlite_url, clock)
    yield sqlite_url
    _close()


@pytest.fixture
def any_db(backend_url: str, clock) -> Iterator[str]:
    """A migrated database on each backend in turn; yields its target."""
    _open(backend_url, clock)
    yield backend_url
    _close()


@dataclass
class World:
    """The SPEC's worked example, by name, with a session for each user."""

    clock: object
    users: dict = field(default_factory=dict)
    companies: dict = field(default_factory=dict)

    def session(self, login: str):
        """A session acting as `login`."""
        from crm_tui.models import User
        from crm_tui.services.context import Session

        return Session(User.get(User.login == login), self.clock)

    def cid(self, name: str) -> int:
        """The id of a company of the example."""
        return self.companies[name]


def seed_world(clock) -> World:
    """My company (parent, managed by admin); User #1 (CR+CW) and Manager #1 (CR+CW+CM)
    belong to it; Customer #A (manager User #1) and Customer #B (manager Manager #1) are its
    children; User #2 belongs to Customer #A and has no CRM bits."""
    from crm_tui.models import User
    from crm_tui.services.context import Session
    from crm_tui.services.records import get_kind

    admin = Session(User.get(User.login == "admin"), clock)
    world = World(clock)
    company, user = get_kind("company"), get_kind("user")
    world.companies["My company"] = company.create(admin, {"name": "My company"})
    for login, name, profiles in (("user1", "User #1", "Standard user"),
                                  ("manager1", "Manager #1", "CRM manager")):
        world.users[login] = user.create(admin, {
            "login": login, "real_name": name, "profiles": profiles,
            "company": str(world.companies["My company"]), "email": f"{login}@example.com",
            "password": f"{login}-pw"})
    world.companies["Customer #A"] = company.create(admin, {
        "name": "Customer #A", "parent": str(world.cid("My company")), "manager": "user1"})
    world.companies["Customer #B"] = company.create(admin, {
        "name": "Customer #B", "parent": str(world.cid("My company")), "manager": "manager1"})
    world.users["user2"] = user.create(admin, {
        "login": "user2", "real_name": "User #2", "profiles": "Support operator",
        "company": str(world.cid("Customer #A")), "password": "user2-pw"})
    return world


@pytest.fixture
def world(crm_db, clock) -> World:
    """The worked example on SQLite."""
    return seed_world(clock)


@pytest.fixture
def any_world(any_db, clock) -> World:
    """The worked example on each backend."""
    return seed_world(clock)


@pytest.fixture
def admin(crm_db, clock):
    """A session of the superadmin on the SQLite database."""
    from crm_tui.models import User
    from crm_tui.services.context import Session

    return Session(User.get(User.login == "admin"), clock)


@pytest.fixture
def admin_session_factory(clock):
    """A callable giving a superadmin session on whatever database is bound."""
    from crm_tui.models import User
    from crm_tui.services.context import Session

    return lambda: Session(User.get(User.login == "admin"), clock)


@pytest.fixture
def run_crm(data_dir: Path):
    """Run the real `crm` command in a subprocess; returns CompletedProcess (text)."""
    import subprocess
    import sys

    def run(*args: str, db: str | None = None, input: str | None = None,
            env: dict | None = None) -> subprocess.CompletedProcess:
        full_env = {**os.environ, "CRM_DATA_DIR": str(data_dir), **(env or {})}
        cmd = [sys.executable, "-m", "crm_tui"]
        if db:
            cmd += ["--db", db]
        return subprocess.run(cmd + list(args), capture_output=True, text=True, input=input,
                              env=full_env, timeout=120)

    return run
