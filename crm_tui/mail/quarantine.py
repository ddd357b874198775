"""Raw copies of messages the ingest could not read in full, kept in the data dir for replay."""

from __future__ import annotations

import os
import uuid
from pathlib import Path


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
