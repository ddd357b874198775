"""Changes committed by other processes, seen on a dedicated connection: PostgreSQL
LISTEN/NOTIFY (table names and ids only), SQLite's `PRAGMA data_version` polled.

Screens use a `ChangeWatch` to show what other operators, the mail worker, an import or a
`crm set` in another process just wrote, without a key press. The notification never
carries row data: a payload would bypass the access rules (and the server's row-level
security); whoever is told re-reads what it shows through the services.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import peewee

from crm_tui.db import database

log = logging.getLogger(__name__)

#: The PostgreSQL channel every CRM write notifies.
CHANNEL = "crm_changes"
#: How often SQLite's data_version is read (and how long a LISTEN waits between stop checks).
POLL_SECONDS = 0.25
#: Seconds before a lost watch connection is opened again.
RECONNECT_SECONDS = 2.0
#: A statement that changes more rows than this notifies the table only ("*").
MAX_IDS = 200
#: Tables whose writes show on no screen by themselves: history and the search index follow
#: a record's own write (which notifies), the worker's heartbeat would wake every screen.
QUIET_TABLES = frozenset({"history", "search_word", "schema_migration", "mail_worker_state",
                          "lead_tally"})


@dataclass(frozen=True)
class Change:
    """Something another connection committed."""

    table: str | None
    """The table written; None when the backend does not say (SQLite), i.e. anything."""
    ids: tuple[int, ...] | None
    """The rows written; None for any row of `table` (too many to name, or not known)."""
    seen: float
    """`time.time()` when the watch saw it (for latency figures)."""


def parse_payload(payload: str, seen: float) -> Change:
    """A change from a notification's "table:1,2,3" (or "table:*") payload."""
    table, _, rest = payload.partition(":")
    ids: tuple[int, ...] | None = None
    if rest and rest != "*":
        try:
            ids = tuple(int(part) for part in rest.split(","))
        except ValueError:
            ids = None
    return Change(table or None, ids, seen)


class ChangeWatch:
    """Calls `callback(change)` on its own thread for every change other connections commit.

    SQLite reports only that something changed (`table` None); PostgreSQL reports each
    written table with the written ids. The watch reconnects after a lost connection and
    then reports a change of anything, since notifications may have been missed.
    """

    def __init__(self, callback: Callable[[Change], None], *,
                 poll_seconds: float = POLL_SECONDS) -> None:
        """Prepare a watch of the bound database; `start` begins it."""
        self.callback = callback
        self.poll_seconds = poll_seconds
        self._db = database.obj
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def supported(self) -> bool:
        """False for a database no second connection can watch (SQLite in memory)."""
        db = self._db
        if isinstance(db, peewee.SqliteDatabase):
            name = str(db.database)
            return bool(name) and name != ":memory:" and "mode=memory" not in name
        return isinstance(db, peewee.PostgresqlDatabase)

    def start(self, wait: float = 5.0) -> bool:
        """Start watching; returns once the watch listens (or `wait` seconds passed).

        Returns False (and watches nothing) for an unsupported database.
        """
        if not self.supported or self._thread is not None:
            return self._thread is not None
        self._thread = threading.Thread(target=self._run, name="crm-change-watch", daemon=True)
        self._thread.start()
        self._ready.wait(wait)
        return True

    def wait_ready(self, timeout: float = 5.0) -> bool:
        """Wait until the watch listens (it sees only commits after that); False on timeout."""
        return self._ready.wait(timeout)

    def stop(self) -> None:
        """Stop watching and close the watch's connection (waits for its thread)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.poll_seconds * 4 + 1)

    def _run(self) -> None:
        first = True
        while not self._stop.is_set():
            try:
                # The driver's own connection, outside peewee's per-thread state: it never
                # holds a transaction open, so it sees every commit.
                conn = self._db._connect()
            except Exception as error:  # noqa: BLE001 - the screens keep working without it
                log.warning("change watch: cannot connect: %s", error)
                self._ready.set()
                self._stop.wait(RECONNECT_SECONDS)
                continue
            try:
                if not first:
                    self._tell(Change(None, None, time.time()))
                first = False
                if isinstance(self._db, peewee.PostgresqlDatabase):
                    self._listen(conn)
                else:
                    self._poll(conn)
            except Exception as error:  # noqa: BLE001 - reconnect, as after a server restart
                log.warning("change watch: connection lost: %s", error)
                self._stop.wait(RECONNECT_SECONDS)
            finally:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - already gone
                    pass

    def _poll(self, conn) -> None:
        def version() -> int:
            return conn.execute("PRAGMA data_version").fetchone()[0]

        last = version()
        self._ready.set()
        while not self._stop.wait(self.poll_seconds):
            current = version()
            if current != last:
                last = current
                self._tell(Change(None, None, time.time()))

    def _listen(self, conn) -> None:
        conn.execute(f"LISTEN {CHANNEL}")
        self._ready.set()
        while not self._stop.is_set():
            for note in conn.notifies(timeout=self.poll_seconds):
                self._tell(parse_payload(note.payload, time.time()))
                if self._stop.is_set():
                    break

    def _tell(self, change: Change) -> None:
        try:
            self.callback(change)
        except Exception:  # noqa: BLE001 - a failing listener must not end the watch
            log.exception("change watch: the listener failed")


# -- the PostgreSQL side: a trigger on every table ---------------------------------------------

_FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION crm_notify_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids text;
    n integer;
BEGIN
    SELECT count(*), string_agg(id::text, ',') INTO n, ids
      FROM (SELECT id FROM changed_rows LIMIT {MAX_IDS + 1}) AS s;
    IF n = 0 THEN
        RETURN NULL;
    END IF;
    IF n > {MAX_IDS} THEN
        ids := '*';
    END IF;
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':' || ids);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION crm_notify_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('{CHANNEL}', TG_TABLE_NAME || ':*');
    RETURN NULL;
END $$;
"""


def install_triggers(db: peewee.Database | None = None) -> list[str]:
    """Make every CRM table of a PostgreSQL database notify its writes; returns the tables.

    One notification per statement and table, in the writing transaction (delivered at
    commit, never for a rollback), from a trigger so that writes from any face, psql
    included, are seen. Idempotent: the schema upgrade runs it again after migrations, so
    tables added later are covered too. Nothing to do on SQLite.
    """
    db = db or database.obj
    if not isinstance(db, peewee.PostgresqlDatabase):
        return []
    db.execute_sql(_FUNCTIONS)
    rows = db.execute_sql(
        "SELECT t.table_name, EXISTS (SELECT 1 FROM information_schema.columns c "
        "WHERE c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "AND c.column_name = 'id') FROM information_schema.tables t "
        "WHERE t.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "ORDER BY t.table_name").fetchall()
    done = []
    for table, has_id in rows:
        if table in QUIET_TABLES:
            continue
        for op, ref in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            name = f"crm_notify_{op.lower()}"
            db.execute_sql(f'DROP TRIGGER IF EXISTS {name} ON "{table}"')
            # Transition tables name the rows a statement wrote; they need one trigger per
            # operation.
            body = (f"REFERENCING {ref} TABLE AS changed_rows FOR EACH STATEMENT "
                    "EXECUTE FUNCTION crm_notify_rows()" if has_id else
                    "FOR EACH STATEMENT EXECUTE FUNCTION crm_notify_table()")
            db.execute_sql(f'CREATE TRIGGER {name} AFTER {op} ON "{table}" {body}')
        done.append(table)
    return done


__all__ = ["CHANNEL", "Change", "ChangeWatch", "install_triggers", "parse_payload"]
