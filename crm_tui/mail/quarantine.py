"""Raw copies of messages the ingest could not read in full, kept in the data dir for replay."""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

# A kept copy's name: UIDVALIDITY, then its UID (or a random hex id when it had none).
_NAME = re.compile(r"\A[0-9]{1,20}-[0-9a-f]{1,32}\Z")
# Only this much of a kept copy is read to list it: its header, not its body.
_HEAD_BYTES = 64 * 1024


def quarantine(raw: bytes, uidvalidity: int | None, uid: int | str | None, reason: str) -> Path:
    """Keep a raw copy of a message that could not be processed; returns its path.

    The name is stable per mailbox place, so a retry overwrites instead of piling up; the
    reason sits beside it in a ``.txt`` file.
    """
    from crm_tui import paths

    directory = paths.quarantine_dir()
    stem = f"{uidvalidity or 0}-{uid or uuid.uuid4().hex}"
    target = directory / f"{stem}.eml"
    temporary = directory / f".{stem}.{uuid.uuid4().hex}.tmp"
    temporary.write_bytes(raw)
    os.replace(temporary, target)
    (directory / f"{stem}.txt").write_text(reason + "\n", encoding="utf-8")
    return target


@dataclass(frozen=True)
class Kept:
    """One kept raw copy: its id (the file name without ``.eml``) and what is known of it."""

    id: str
    reason: str
    size: int
    kept_at: dt.datetime
    sender: str
    subject: str

    @property
    def place(self) -> tuple[int | None, int | None]:
        """(UIDVALIDITY, UID) of the mailbox place it came from (None: not known)."""
        validity, uid = self.id.split("-", 1)
        number = int(uid) if uid.isdecimal() and len(uid) < 20 else None
        return (int(validity) or None), number


def valid_id(name: str) -> bool:
    """Whether ``name`` is the form of a kept copy's id (never a path)."""
    return bool(_NAME.match(name or ""))


def _path(name: str) -> Path | None:
    from crm_tui import paths

    if not valid_id(name):
        return None
    path = paths.quarantine_dir() / f"{name}.eml"
    return path if path.is_file() else None


def _head(data: bytes) -> tuple[str, str]:
    """(From, Subject) of a raw header, as single bounded lines (the email package reads it)."""
    from email import policy
    from email.parser import BytesHeaderParser

    end = data.find(b"\r\n\r\n")
    head = data[:end if end >= 0 else len(data)]
    try:
        message = BytesHeaderParser(policy=policy.default).parsebytes(head)
        sender, subject = str(message.get("From", "")), str(message.get("Subject", ""))
    except Exception:  # noqa: BLE001 - a header too broken to read is listed without one
        return "", ""
    return " ".join(sender.split())[:200], " ".join(subject.split())[:300]


def describe(name: str) -> Kept | None:
    """The kept copy ``name``, or None when there is none by that name."""
    path = _path(name)
    if path is None:
        return None
    try:
        stat = path.stat()
        with open(path, "rb") as handle:
            sender, subject = _head(handle.read(_HEAD_BYTES))
        note = path.with_suffix(".txt")
        reason = note.read_text(encoding="utf-8", errors="replace").strip() if note.is_file() \
            else ""
    except OSError:
        return None
    kept_at = dt.datetime.fromtimestamp(stat.st_mtime, dt.UTC).replace(tzinfo=None)
    return Kept(name, " ".join(reason.split()), stat.st_size, kept_at, sender, subject)


def kept() -> list[Kept]:
    """Every kept copy, oldest first."""
    from crm_tui import paths

    found = [describe(p.stem) for p in paths.quarantine_dir().glob("*.eml")]
    return sorted((k for k in found if k is not None), key=lambda k: (k.kept_at, k.id))


def read(name: str) -> bytes | None:
    """The raw bytes of kept copy ``name`` (None: no such copy)."""
    path = _path(name)
    try:
        return path.read_bytes() if path is not None else None
    except OSError:
        return None


def remove(name: str) -> None:
    """Drop kept copy ``name`` and its reason (after it was replayed)."""
    path = _path(name)
    if path is None:
        return
    path.with_suffix(".txt").unlink(missing_ok=True)
    path.unlink(missing_ok=True)
