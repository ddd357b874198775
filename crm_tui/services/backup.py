"""`crm backup` / `crm restore`: the database and `files/` as one consistent snapshot.

The snapshot of the database and the list of files its rows name are taken while
attachment writes are held (SQLite: the write lock, `BEGIN IMMEDIATE`; PostgreSQL: a
`SHARE` lock on `attachment` in the transaction whose snapshot `pg_dump` exports), and the
named files are hard-linked aside meanwhile, so a file deleted a moment later is still
in the archive. The archive is a tar (gzip) of `manifest.json`, the database (a SQLite
copy from the online backup API, or a `pg_dump` custom-format dump) and `files/`.
"""

from __future__ import annotations

import datetime as dt
import glob
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from crm_tui import db, paths
from crm_tui.errors import CrmError, ServerUnreachable, ValidationFailed
from crm_tui.i18n import _

FORMAT = 1
MANIFEST = "manifest.json"
SQLITE_MEMBER = "crm.sqlite3"
PG_MEMBER = "crm.pgdump"
FILES = "files"
# Attachment files carry generated names (hex, an extension); nothing else is restored.
_STORED_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,99}(\.[A-Za-z0-9]{1,16})?")
# A file whose row committed a moment before the snapshot may still be on its way to its
# final name (written to a temporary name, renamed after the commit): waited for this long.
_LATE_FILE_SECONDS = 5.0


@dataclass
class BackupReport:
    """What a backup or restore did."""

    backend: str
    archive: Path
    files: int = 0
    missing: list[str] = field(default_factory=list)
    """Files named by a row but absent (left out; the archive says which)."""

    def summary(self) -> str:
        """One line for the command line."""
        text = f"{self.archive}: {self.backend} database and {self.files} files"
        if self.missing:
            text += f"; {len(self.missing)} files named by rows were missing"
        return text


# -- backup -----------------------------------------------------------------------------------


def backup(target: str, archive: Path) -> BackupReport:
    """Write a consistent snapshot of the database `target` and `files/` to `archive`.

    Raises:
        ValidationFailed: the archive cannot be written there.
        ServerUnreachable: the database cannot be opened, or pg_dump fails.
    """
    archive = Path(archive)
    if archive.is_dir():
        raise ValidationFailed.one("backup", "file", str(archive), _("is a directory"))
    if not archive.parent.is_dir():
        raise ValidationFailed.one("backup", "file", str(archive), _("its directory does not exist"))
    files = paths.files_dir()
    with _staging(paths.data_dir(), ".backup-") as staging:
        (staging / FILES).mkdir()
        if db.is_url(target):
            backend, names, missing = _pg_snapshot(target, staging, files)
            database_member = PG_MEMBER
        else:
            backend, names, missing = _sqlite_snapshot(target, staging, files)
            database_member = SQLITE_MEMBER
        missing = _late_files(missing, staging, files)
        kept = sorted(set(names) - set(missing))
        manifest = {
            "format": FORMAT,
            "backend": backend,
            "created": dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
            "database": database_member,
            "files": kept,
            "missing": sorted(missing),
        }
        _write_archive(archive, staging, database_member, kept, manifest)
    return BackupReport(backend, archive, len(kept), sorted(missing))


@contextmanager
def _staging(parent: Path, prefix: str) -> Iterator[Path]:
    """A private scratch directory on the data dir's file system (hard links need it)."""
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _link(files: Path, staging: Path, names: list[str]) -> list[str]:
    """Hard-link (or copy) each named file into the staging dir; returns those missing."""
    missing = []
    for name in names:
        if not _STORED_NAME.fullmatch(name):
            missing.append(name)
            continue
        try:
            _link_one(files / name, staging / FILES / name)
        except FileNotFoundError:
            missing.append(name)
    return missing


def _link_one(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        shutil.copyfile(source, target)  # no hard links here: a copy, still under the lock


def _late_files(missing: list[str], staging: Path, files: Path) -> list[str]:
    """Wait a little for files whose rows committed just before the snapshot."""
    bad = [n for n in missing if not _STORED_NAME.fullmatch(n)]
    pending = [n for n in missing if _STORED_NAME.fullmatch(n)]
    deadline = time.monotonic() + _LATE_FILE_SECONDS
    while pending and time.monotonic() < deadline:
        time.sleep(0.05)
        pending = _link(files, staging, pending)
    return bad + pending


def _sqlite_snapshot(path: str, staging: Path, files: Path) -> tuple[str, list[str], list[str]]:
    if not Path(path).is_file():
        raise ValidationFailed.one("backup", "database", path, _("no such database file"))
    copy = staging / SQLITE_MEMBER
    try:
        # One connection holds the write lock (every writer waits on its busy timeout)
        # while another copies the database and the files its rows name are linked aside:
        # the two agree. (The backup API cannot copy through the connection that writes.)
        lock = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            lock.execute("BEGIN IMMEDIATE")
            try:
                source = sqlite3.connect(path, timeout=30)
                target = sqlite3.connect(copy)
                try:
                    source.backup(target)
                    names = [row[0] for row in target.execute(
                        "SELECT stored_name FROM attachment ORDER BY id")]
                finally:
                    target.close()
                    source.close()
                missing = _link(files, staging, names)
            finally:
                lock.execute("ROLLBACK")
        finally:
            lock.close()
    except sqlite3.Error as exc:
        raise ServerUnreachable(_("database {path} could not be backed up: {exc}").format(path=path, exc=exc)) from None
    return "sqlite", names, missing


def _pg_tool(name: str) -> str:
    """The newest pg_dump / pg_restore (a dump needs one at least as new as the server)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                   key=lambda p: int(re.sub(r"\D", "", p.split("/")[4]) or 0))
    if found:
        return found[-1]
    on_path = shutil.which(name)
    if on_path:
        return on_path
    raise ServerUnreachable(_("{name} was not found: install the PostgreSQL client tools").format(name=name))


def _pg_connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url, connect_timeout=5)
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ServerUnreachable(_("database {database} could not be reached: {first}").format(database=db.redact(url), first=first)
                                ) from None


def _pg_snapshot(url: str, staging: Path, files: Path) -> tuple[str, list[str], list[str]]:
    import psycopg

    dump = _pg_tool("pg_dump")
    conn = _pg_connect(url)
    try:
        # The exported snapshot must stay the transaction's view while pg_dump reads it.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.cursor() as cur:
            # Locked before the snapshot is taken (at the first SELECT): attachment writes
            # wait, so the snapshot's rows and the files on disk agree.
            cur.execute("LOCK TABLE attachment IN SHARE MODE")
            cur.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cur.fetchone()
            cur.execute("SELECT stored_name FROM attachment ORDER BY id")
            names = [row[0] for row in cur.fetchall()]
            missing = _link(files, staging, names)
            done = subprocess.run(
                [dump, "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot}", f"--file={staging / PG_MEMBER}", f"--dbname={url}"],
                capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise ServerUnreachable(_("pg_dump failed: {reason}").format(reason=_first_line(done.stderr)))
        conn.rollback()
    except psycopg.Error as exc:
        raise ServerUnreachable(_("database {database}: {reason}").format(database=db.redact(url), reason=_first_line(str(exc)))) from None
    finally:
        conn.close()
    return "postgresql", names, missing


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "no message"


def _write_archive(archive: Path, staging: Path, database_member: str, names: list[str],
                   manifest: dict) -> None:
    """Write the tar whole (a temporary name renamed at the end), readable by its owner only."""
    handle, temp = tempfile.mkstemp(dir=archive.parent, prefix=".crm-backup-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out, tarfile.open(fileobj=out, mode="w:gz") as tar:
            data = json.dumps(manifest, indent=2).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
            tar.addfile(info, io.BytesIO(data))
            tar.add(staging / database_member, arcname=database_member, recursive=False)
            for name in names:
                tar.add(staging / FILES / name, arcname=f"{FILES}/{name}", recursive=False)
        os.replace(temp, archive)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


# -- restore ----------------------------------------------------------------------------------


def restore(target: str, archive: Path) -> BackupReport:
    """Bring a backup back into an empty data dir (and an empty database).

    Raises:
        Conflict: the data dir or the database is not empty.
        ValidationFailed: not a crm backup, or one of another backend.
        ServerUnreachable: the database cannot be reached, or pg_restore fails.
    """
    archive = Path(archive)
    data = paths.data_dir()
    _check_empty(data)
    try:
        tar = tarfile.open(archive, mode="r:gz")
    except (OSError, tarfile.TarError, EOFError):
        raise ValidationFailed.one("restore", "file", str(archive),
                                   _("not a crm backup (not a .tar.gz archive)")) from None
    with tar, _staging(data, ".restore-") as staging:
        manifest = _read_manifest(tar, archive)
        backend = manifest["backend"]
        wanted = "postgresql" if db.is_url(target) else "sqlite"
        if backend != wanted:
            raise ValidationFailed.one("restore", "file", str(archive),
                                       _("a {backend} backup cannot go into a {wanted} "
                                         "database").format(backend=backend, wanted=wanted))
        names = [n for n in manifest.get("files", []) if _STORED_NAME.fullmatch(str(n))]
        _extract(tar, manifest["database"], staging / "database", archive)
        (staging / FILES).mkdir()
        for name in names:
            _extract(tar, f"{FILES}/{name}", staging / FILES / name, archive)
        if backend == "sqlite":
            _restore_sqlite(target, staging / "database")
        else:
            _restore_pg(target, staging / "database")
        files = paths.files_dir()
        mode = paths.file_mode(files)
        for name in names:
            os.chmod(staging / FILES / name, mode)
            os.replace(staging / FILES / name, files / name)
    return BackupReport(backend, archive, len(names))


def _check_empty(data: Path) -> None:
    from crm_tui.errors import Conflict

    for _root, _dirs, found in os.walk(data):
        if found:
            raise Conflict(_("data dir {data} is not empty: restore goes into an empty one").format(data=data))


def _read_manifest(tar: tarfile.TarFile, archive: Path) -> dict:
    try:
        member = tar.getmember(MANIFEST)
        handle = tar.extractfile(member)
        manifest = json.loads(handle.read(1_000_000_000)) if handle else None
    except (KeyError, ValueError, tarfile.TarError, OSError):
        manifest = None
    if (not isinstance(manifest, dict) or manifest.get("format") != FORMAT
            or manifest.get("backend") not in ("sqlite", "postgresql")
            or manifest.get("database") not in (SQLITE_MEMBER, PG_MEMBER)
            or not isinstance(manifest.get("files", []), list)):
        raise ValidationFailed.one("restore", "file", str(archive),
                                   _("not a crm backup (no readable manifest)"))
    return manifest


def _extract(tar: tarfile.TarFile, name: str, target: Path, archive: Path) -> None:
    """Copy one regular member out (never a link, never a path from the archive)."""
    try:
        member = tar.getmember(name)
    except KeyError:
        raise ValidationFailed.one("restore", "file", str(archive),
                                   _("incomplete backup: {name} is missing").format(name=name)) from None
    source = tar.extractfile(member) if member.isreg() else None
    if source is None:
        raise ValidationFailed.one("restore", "file", str(archive),
                                   _("{name} is not a regular file").format(name=name))
    import zlib

    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with source, os.fdopen(fd, "wb") as out:
            shutil.copyfileobj(source, out)
    except (tarfile.TarError, EOFError, zlib.error):
        raise ValidationFailed.one("restore", "file", str(archive),
                                   _("damaged backup: {name} cannot be read").format(name=name)) from None


def _restore_sqlite(path: str, copy: Path) -> None:
    from crm_tui.errors import Conflict

    database = Path(path)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if Path(f"{database}{suffix}").exists():
            raise Conflict(_("database {database} exists: restore goes into an empty data dir").format(database=database))
    try:
        check = sqlite3.connect(copy)
        try:
            (result,) = check.execute("PRAGMA quick_check").fetchone()
        finally:
            check.close()
    except sqlite3.Error as exc:
        raise ValidationFailed.one("restore", "database", SQLITE_MEMBER, str(exc)) from None
    if result != "ok":
        raise ValidationFailed.one("restore", "database", SQLITE_MEMBER, _("damaged: {result}").format(result=result))
    os.chmod(copy, paths.file_mode(database.parent))
    os.replace(copy, database)


def _restore_pg(url: str, dump: Path) -> None:
    from crm_tui.errors import Conflict

    restore_tool = _pg_tool("pg_restore")
    conn = _pg_connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.tables "
                        "WHERE table_schema = current_schema()")
            (tables,) = cur.fetchone()
    finally:
        conn.close()
    if tables:
        raise Conflict(_("database {database} is not empty: restore goes into an empty one").format(database=db.redact(url)))
    done = subprocess.run(
        [restore_tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
         f"--dbname={url}", str(dump)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CrmError(_("pg_restore failed: {reason}").format(reason=_first_line(done.stderr)))
