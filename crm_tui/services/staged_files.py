"""Attachment files written ahead of the transaction that records them, never orphaned."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

from crm_tui import paths
from crm_tui.mail.message import safe_stored_name
from crm_tui.models import Attachment

# SQLite's default limit on bound variables is far above this; it keeps IN lists small.
_IN_CHUNK = 500

_O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
# From this many files on, a batch's files are written on a thread of their own.
_BACKGROUND_FILES = 8
# How often (seconds) the interpreter lets another thread run while files are written in
# the background. Creating a file waits in the kernel, often for a millisecond on a busy
# disk; the writing thread then needs the interpreter for a moment between two calls, and
# at the default 5 ms it would wait that long each time, behind the filing thread.
_BRISK_SWITCH_SECONDS = 0.0002


def _write_files(directory: str, items: Sequence[tuple[str, bytes]]) -> None:
    """Create each named file in ``directory`` with its data (never replacing a file)."""
    for name, data in items:
        # os.open and os.write: the buffered file object costs more than the write.
        handle = os.open(os.path.join(directory, name),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_BINARY | _O_CLOEXEC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(handle, view):]
        finally:
            os.close(handle)


class _FileWriter:
    """A thread that writes the files handed to it, in order, while the caller goes on."""

    _lock = threading.Lock()
    _running = 0
    _saved_interval = 0.0

    def __init__(self, directory: str) -> None:
        self._directory = directory
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._pending = 0
        self._idle = threading.Condition()
        self._switch_briskly()
        self._thread = threading.Thread(target=self._run, name="crm-attachment-files",
                                        daemon=True)
        self._thread.start()

    def submit(self, items: Sequence[tuple[str, bytes]]) -> None:
        """Write these ``(name, data)`` files after those handed over before."""
        with self._idle:
            self._pending += 1
        self._queue.put(items)

    def _run(self) -> None:
        while (items := self._queue.get()) is not None:
            try:
                if self._error is None:  # after a failure nothing more is written
                    _write_files(self._directory, items)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                self._error = exc
            finally:
                with self._idle:
                    self._pending -= 1
                    self._idle.notify_all()

    def wait(self) -> None:
        """Wait for every file handed over so far; raises what writing one of them raised."""
        with self._idle:
            while self._pending:
                self._idle.wait()
        if self._error is not None:
            raise self._error

    def close(self) -> None:
        """Stop the thread once it has written everything handed over."""
        self._queue.put(None)
        self._thread.join()
        self._switch_back()

    @classmethod
    def _switch_briskly(cls) -> None:
        with cls._lock:
            if cls._running == 0:
                cls._saved_interval = sys.getswitchinterval()
                sys.setswitchinterval(min(cls._saved_interval, _BRISK_SWITCH_SECONDS))
            cls._running += 1

    @classmethod
    def _switch_back(cls) -> None:
        with cls._lock:
            cls._running -= 1
            if cls._running == 0:
                sys.setswitchinterval(cls._saved_interval)


def _pending_dir() -> Path:
    path = paths.data_dir() / "pending"
    path.mkdir(parents=True, exist_ok=True)
    return path


class StagedFiles:
    """Attachment files written ahead of the transaction that records them.

    Every name goes into a journal (locked while in use) *before* its file is written. When
    the transaction commits, :meth:`committed` drops the journal; when it rolls back, the
    files are removed. If the process dies in between, :func:`sweep_pending` later removes
    every journalled file that no attachment row refers to: no orphan either way.
    """

    def __init__(self) -> None:
        self.names: list[str] = []
        self._journal = None
        self._path: Path | None = None
        self._done = False
        self._files: Path | None = None
        self._writer: _FileWriter | None = None

    def __enter__(self) -> StagedFiles:
        return self

    def write(self, data: bytes, original: str) -> str:
        """Store ``data`` under a generated name in files/; returns that name."""
        return self.write_many([(data, original)])[0]

    def write_many(self, files: Sequence[tuple[bytes, str]], *,
                   background: bool = False) -> list[str]:
        """Store each ``(data, original name)`` under a generated name; returns the names.

        The names go into the journal together (one write), then the files are written.
        With ``background``, files are written on a thread of their own while the caller
        goes on (from a few files on, or once that thread runs): call :meth:`wait` before
        committing the rows that name them.
        """
        if not files:
            return []
        if self._files is None:
            self._files = paths.files_dir()
        if self._journal is None:
            self._open_journal()
        names = [safe_stored_name(original) for _data, original in files]
        self._journal.write("".join(name + "\n" for name in names))
        self._journal.flush()
        self.names.extend(names)
        items = [(name, data) for name, (data, _original) in zip(names, files, strict=True)]
        if background and (self._writer is not None or len(items) >= _BACKGROUND_FILES):
            if self._writer is None:
                self._writer = _FileWriter(os.fspath(self._files))
            self._writer.submit(items)
        else:
            self.wait()  # in order: nothing written twice, no error left unseen
            _write_files(os.fspath(self._files), items)
        return names

    def wait(self) -> None:
        """Wait for the files being written in the background.

        Raises:
            OSError: one of them could not be written.
        """
        if self._writer is not None:
            self._writer.wait()

    def committed(self, kept: Iterable[str] | None = None) -> None:
        """The rows are committed: keep ``kept`` (default: every file), remove the rest."""
        self.wait()
        keep = set(self.names if kept is None else kept)
        removed = self._remove(n for n in self.names if n not in keep)
        self._close(remove_journal=removed)

    def __exit__(self, exc_type, exc, tb) -> None:
        if self._done:
            return
        with contextlib.suppress(OSError):
            self.wait()  # nothing may still be writing what is about to be removed
        if exc_type is None:
            # Nothing was committed on purpose: leave no file behind.
            self._close(remove_journal=self._remove(self.names))
            return
        # Rolled back - unless the failure came after the commit (a lost connection while
        # committing); ask the database which names it knows before removing anything.
        try:
            known = _referenced(self.names)
        except Exception:  # noqa: BLE001 - cannot tell now: the sweep decides later
            self._close(remove_journal=False)
            return
        self._close(remove_journal=self._remove(n for n in self.names if n not in known))

    def _open_journal(self) -> None:
        directory = _pending_dir()
        temporary = directory / f".{uuid.uuid4().hex}.tmp"
        handle = open(temporary, "x", encoding="ascii")  # noqa: SIM115 - kept open while staging
        _lock(handle, blocking=True)
        # Renamed only once locked, so a sweep never sees an unlocked journal in use.
        final = directory / f"{uuid.uuid4().hex}.list"
        os.rename(temporary, final)
        self._journal, self._path = handle, final

    def _remove(self, names: Iterable[str]) -> bool:
        """Remove files; False if one could not be (the journal must stay for the sweep)."""
        names = list(names)
        if not names:
            return True
        try:
            files = self._files or paths.files_dir()
        except OSError:
            return True  # no files directory: none of them was written
        done = True
        for name in names:
            try:
                (files / name).unlink(missing_ok=True)
            except OSError:
                done = False
        return done

    def _close(self, *, remove_journal: bool) -> None:
        self._done = True
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._journal is None:
            return
        if remove_journal and self._path is not None:
            self._path.unlink(missing_ok=True)
        self._journal.close()  # releases the lock
        self._journal = None


def _lock(handle, *, blocking: bool) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: journals are swept by age instead
        return True
    flags = fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB)
    try:
        fcntl.flock(handle.fileno(), flags)
    except BlockingIOError:
        return False
    return True


def _referenced(names: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(names), _IN_CHUNK):
        chunk = list(names[start:start + _IN_CHUNK])
        query = Attachment.select(Attachment.stored_name).where(Attachment.stored_name.in_(chunk))
        found.update(name for (name,) in query.tuples())
    return found


def sweep_pending() -> int:
    """Remove attachment files left by a process killed before its transaction ended.

    Journals still locked by a live process are left alone. Returns the files removed.
    """
    directory = paths.data_dir() / "pending"
    if not directory.is_dir():
        return 0
    removed = 0
    for journal in sorted(directory.glob("*.list")):
        try:
            handle = open(journal, encoding="ascii", errors="replace")  # noqa: SIM115
        except FileNotFoundError:
            continue
        with handle:
            if not _lock(handle, blocking=False):
                continue
            names = [n.strip() for n in handle.read().splitlines() if n.strip()]
            # Only generated names: a tampered journal must not delete anything else.
            names = [n for n in names if re.fullmatch(r"[0-9a-f]{32}(\.[a-z0-9]{1,10})?", n)]
            known = _referenced(names)
            for name in names:
                target = paths.files_dir() / name
                if name not in known and target.exists():
                    target.unlink(missing_ok=True)
                    removed += 1
            journal.unlink(missing_ok=True)
    return removed
