"""The one database object, opened late from a path or URL, and the write transaction."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import peewee

from crm_tui import paths, pg_driver
from crm_tui.errors import ServerUnreachable
from crm_tui.extras import require_extra
from crm_tui.i18n import _

log = logging.getLogger(__name__)

#: The database every model is bound to; `open_database` points it at SQLite or PostgreSQL.
database = peewee.DatabaseProxy()

# Several operators' processes and the mail worker share one SQLite file: WAL lets readers
# run beside the writer, the busy timeout makes a writer wait instead of failing (long
# enough for the one long writer, an import of a million rows in one transaction: its write
# holds the lock for minutes, bench/import_leads.py), and
# NORMAL synchronous is durable in WAL mode without an fsync per commit. Each thread has its
# own connection and page cache: 4 MB each (the OS caches the file too) keeps the app's
# memory at a million leads near its memory at a hundred (bench/memory.py).
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "busy_timeout": 600_000,
    "synchronous": "NORMAL",
    "cache_size": -4000,
}


#: The busy timeout in seconds, as sqlite3.connect takes it.
BUSY_SECONDS = SQLITE_PRAGMAS["busy_timeout"] // 1000


def is_url(target: str) -> bool:
    """True for `scheme://…` targets, false for a plain file path."""
    return "://" in target


def make_database(target: str) -> peewee.Database:
    """Build (but do not bind) a peewee database for a file path or a database URL.

    Raises:
        MissingExtra: a PostgreSQL URL without the `postgres` extra installed.
    """
    if not is_url(target):
        _create_private(target)
        return peewee.SqliteDatabase(target, pragmas=SQLITE_PRAGMAS, timeout=BUSY_SECONDS)
    # db_url imports every driver it knows: only for URLs.
    from playhouse.db_url import connect

    if target.startswith("sqlite:"):
        return connect(target, pragmas=SQLITE_PRAGMAS, timeout=BUSY_SECONDS)
    if target.startswith(("postgres://", "postgresql://")):
        require_extra("postgres")
        pg_driver.attach()
        # psycopg 3 even where an old psycopg2 is installed too; the connect timeout keeps
        # libpq from waiting for the OS TCP timeout on a dead host.
        return connect(target, prefer_psycopg3=True, connect_timeout=5)
    raise ValueError(f"unsupported database URL {target!r}: use a file path or postgresql://")


def _create_private(target: str) -> None:
    """Create a new database file with the mode of its directory (0600, or 0660 when shared)
    before SQLite does (it would use 0644); its -wal and -shm files copy that mode."""
    if target in ("", ":memory:") or target.startswith("file:"):
        return
    path = Path(target)
    if path.parent.is_dir():
        try:
            paths.create_file(path)
        except OSError:
            pass  # SQLite reports what is wrong with the place, as one clear line


def open_database(target: str) -> peewee.Database:
    """Point the shared proxy at `target` and check that it answers.

    Raises:
        ServerUnreachable: the server (or file) could not be opened.
    """
    db = make_database(target)
    database.initialize(db)
    try:
        db.connect(reuse_if_open=True)
    except (peewee.OperationalError, peewee.DatabaseError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServerUnreachable(
            _("database {database} could not be reached: {first_line}").format(database=redact(target), first_line=first_line)
        ) from None
    log.info("database %s opened", redact(target))
    return db


def close_database() -> None:
    """Close the connection of this thread, if any."""
    if database.obj is not None and not database.is_closed():
        database.close()


def is_sqlite() -> bool:
    """True when the bound database is SQLite."""
    return isinstance(database.obj, peewee.SqliteDatabase)


def is_postgres() -> bool:
    """True when the bound database is PostgreSQL."""
    return isinstance(database.obj, peewee.PostgresqlDatabase)


@contextlib.contextmanager
def write_transaction() -> Iterator[None]:
    """One write use case: all or nothing, with the write lock taken at BEGIN on SQLite.

    Taking the lock at BEGIN (IMMEDIATE) means two writers queue on the busy timeout
    instead of one failing with "database is locked" when it upgrades a read lock.
    """
    if is_sqlite() and not database.in_transaction():
        with database.atomic("IMMEDIATE"):
            yield
    else:
        with database.atomic():
            yield


#: The page cache of a bulk write (an import) on SQLite, in KiB: its indexes (search words,
#: history) take pages all over the file, and the connection's usual few MB would write and
#: read the same pages again and again at a million rows. SQLite takes the memory as it
#: needs it, so a small import costs nothing more.
BULK_CACHE_KIB = 256 * 1024


@contextlib.contextmanager
def bulk_cache() -> Iterator[None]:
    """A large page cache for the block (SQLite; PostgreSQL's is the server's)."""
    if not is_sqlite():
        yield
        return
    database.execute_sql(f"PRAGMA cache_size=-{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        database.execute_sql(f"PRAGMA cache_size={SQLITE_PRAGMAS['cache_size']}")


def select_in_parts(query_for: Callable[[list], peewee.Query], keys: list,
                    chunk: int) -> Iterator[tuple]:
    """The rows of `query_for(part)` for each part of `keys`, `chunk` keys at a time.

    peewee renders a long IN list slowly (an import checks hundreds of thousands of
    keys): the statement is rendered once per part length and the driver binds the other
    parts' keys in its place, when the IN list holds its first parameters (else each part
    is rendered).
    """
    rendered: dict[int, tuple[str, list]] = {}
    for start in range(0, len(keys), chunk):
        part = keys[start:start + chunk]
        known = rendered.get(len(part))
        if known is None:
            sql, params = query_for(part).sql()
            if params[:len(part)] == part:
                rendered[len(part)] = (sql, params[len(part):])
        else:
            sql, rest = known
            params = part + rest
        yield from database.execute_sql(sql, params).fetchall()


@contextlib.contextmanager
def streamed(sql: str, params: list) -> Iterator[Any]:
    """A cursor over one query's rows that are read as they are fetched (`fetchmany`), in
    constant memory at any size: SQLite steps its statement; PostgreSQL uses a server-side
    cursor inside a transaction (its ordinary cursor would hold every row in the client)."""
    if is_postgres():
        with database.atomic():
            cursor = database.connection().cursor(name="crm_stream")
            try:
                cursor.execute(sql, params)
                yield cursor
            finally:
                cursor.close()
    else:
        # A streamed read visits each page once; the connection's page cache is small
        # (SQLITE_PRAGMAS), so it holds few pages that are never read again.
        cursor = database.execute_sql(sql, params)
        try:
            yield cursor
        finally:
            cursor.close()


def redact(target: str) -> str:
    """A database URL with its password hidden, for messages."""
    if "://" not in target or "@" not in target:
        return target
    scheme, rest = target.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else target
