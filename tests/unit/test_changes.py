"""The change watch on both backends: a commit of another connection is seen within a second,
PostgreSQL names the table and ids (never row data), a rollback is never seen."""

from __future__ import annotations

import threading
import time

import peewee
import psycopg
import pytest

from crm_tui import db
from crm_tui.services import changes
from crm_tui.services.changes import Change, ChangeWatch, parse_payload
from crm_tui.services.records import get_kind


class Seen:
    """Collects what a watch reports, waitable from the test's thread."""

    def __init__(self) -> None:
        self.changes: list[Change] = []
        self.event = threading.Event()

    def __call__(self, change: Change) -> None:
        self.changes.append(change)
        self.event.set()

    def wait_for(self, test, timeout: float = 5.0) -> Change | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for change in list(self.changes):
                if test(change):
                    return change
            self.event.wait(0.05)
            self.event.clear()
        return None


@pytest.fixture
def watch(any_db):
    seen = Seen()
    watcher = ChangeWatch(seen, poll_seconds=0.05)
    assert watcher.start()
    assert watcher.wait_ready()
    yield seen
    watcher.stop()


def _rename(any_world, name: str) -> int:
    cid = any_world.cid("Customer #A")
    get_kind("company").update(any_world.session("admin"), cid, {"name": name})
    return cid


def test_a_committed_change_is_seen_with_its_table_and_ids(any_world, watch):
    started = time.time()
    cid = _rename(any_world, "Customer #A renamed")
    if db.is_postgres():
        change = watch.wait_for(lambda c: c.table == "company" and c.ids and cid in c.ids)
        assert change is not None, watch.changes
        # The payload carries the ids only: nothing of the new name.
        assert all("renamed" not in repr(c) for c in watch.changes)
    else:
        change = watch.wait_for(lambda c: c.table is None)
        assert change is not None
    assert change.seen - started < 1.0


def test_a_rolled_back_write_is_never_seen(any_world, watch):
    cid = any_world.cid("Customer #A")
    with pytest.raises(RuntimeError):
        with db.write_transaction():
            get_kind("company").update(any_world.session("admin"), cid, {"name": "Never"})
            raise RuntimeError("roll back")
    time.sleep(0.5)
    assert watch.changes == []
    _rename(any_world, "Afterwards")
    assert watch.wait_for(lambda c: True) is not None


def test_a_write_from_psql_is_seen_too(any_world, watch, backend_url):
    """The trigger, not the service layer, notifies: every face is covered."""
    cid = any_world.cid("Customer #B")
    if db.is_postgres():
        with psycopg.connect(backend_url, autocommit=True) as conn:
            conn.execute("UPDATE company SET comments = 'raw' WHERE id = %s", (cid,))
        assert watch.wait_for(lambda c: c.table == "company" and cid in (c.ids or ()))
    else:
        import sqlite3

        with sqlite3.connect(backend_url) as conn:
            conn.execute("UPDATE company SET comments = 'raw' WHERE id = ?", (cid,))
        assert watch.wait_for(lambda c: c.table is None)


def test_every_crm_table_notifies_on_postgres(any_db):
    if not db.is_postgres():
        assert changes.install_triggers() == []  # nothing to do on SQLite
        return
    tables = {row[0] for row in db.database.execute_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()}
    triggered = {row[0] for row in db.database.execute_sql(
        "SELECT DISTINCT event_object_table FROM information_schema.triggers "
        "WHERE trigger_name = 'crm_notify_update'").fetchall()}
    assert tables - changes.QUIET_TABLES == triggered
    assert "company" in triggered and "lead" in triggered


# PostgreSQL only: SQLite's watch reports that something changed, never which table.
@pytest.mark.parametrize("backend_url", ["postgres"], indirect=True)
def test_one_notification_per_statement_and_the_table_only_when_big(any_world, watch):
    assert db.is_postgres()
    from crm_tui.models import Company

    count = Company.update(comments="bulk").execute()
    small = watch.wait_for(lambda c: c.table == "company")
    assert small is not None and sorted(small.ids) == sorted(
        c.id for c in Company.select(Company.id))
    assert len([c for c in watch.changes if c.table == "company"]) == 1, count
    db.database.execute_sql(
        "INSERT INTO company_role (name) SELECT 'role ' || g "
        f"FROM generate_series(1, {changes.MAX_IDS + 1}) AS g")
    assert watch.wait_for(lambda c: c.table == "company_role" and c.ids is None)
    assert parse_payload("company:*", 0.0) == Change("company", None, 0.0)
    assert parse_payload("lead:1,2", 0.0).ids == (1, 2)


def test_an_in_memory_database_is_not_watched():
    database = peewee.SqliteDatabase(":memory:")
    db.database.initialize(database)
    try:
        assert ChangeWatch(lambda change: None).start() is False
    finally:
        db.database.initialize(None)
