"""Files attached to records: stored under generated names, original names kept as data."""

from __future__ import annotations

import mimetypes
import uuid
from pathlib import Path

from crm_tui import paths
from crm_tui.db import write_transaction
from crm_tui.models import ATTACHMENT_OWNERS, Attachment, LeadActivity
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.errors import NotFound, ValidationFailed
from crm_tui.services.records import get_kind

MAX_ATTACHMENT_BYTES = 50 * 1024 * 1024


def display_name(original: str) -> str:
    """The name shown to people: the last path part, without control characters."""
    name = (original or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip() or "attachment"
    return name[:200]


def _stored_name(original: str) -> str:
    # Only a short, plain extension survives from outside; the rest is generated.
    suffix = Path(display_name(original)).suffix.lower()
    if not (1 < len(suffix) <= 8 and suffix[1:].isalnum()):
        suffix = ""
    return uuid.uuid4().hex + suffix


def _owner_check(session: Session, owner_kind: str, owner_id: int, modify: bool) -> None:
    if owner_kind not in ATTACHMENT_OWNERS:
        raise ValidationFailed.one("attachment", "kind", owner_kind,
                                   "must be one of " + ", ".join(ATTACHMENT_OWNERS[:4]))
    if owner_kind == "lead_activity":
        entry = LeadActivity.get_or_none(LeadActivity.id == owner_id)
        if entry is None:
            raise NotFound(f"lead activity {owner_id} does not exist")
        owner_kind, owner_id = "lead", entry.lead_id
    kind = get_kind(owner_kind)
    obj = kind.load(session, owner_id)
    if modify:
        kind.check_modify(session, obj)


def store_bytes(data: bytes, original: str) -> str:
    """Write bytes under a fresh generated name in files/; returns that name."""
    name = _stored_name(original)
    target = paths.files_dir() / name
    with open(target, "xb") as handle:
        handle.write(data)
    return name


def add(
    session: Session,
    owner_kind: str,
    owner_id: int,
    original_name: str,
    data: bytes,
    *,
    author: str | None = None,
    check_access: bool = True,
) -> int:
    """Attach bytes to a record; returns the attachment id.

    The file is written first and removed again if the database row cannot be written,
    so a rejected request leaves no orphan file.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed.one("attachment", "file", original_name,
                                   f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB")
    owner_id = V.parse_int(owner_id) if not isinstance(owner_id, int) else owner_id
    if check_access:
        _owner_check(session, owner_kind, owner_id, modify=True)
    name = display_name(original_name)
    stored = store_bytes(data, name)
    try:
        with write_transaction():
            att = Attachment.create(
                owner_kind=owner_kind, owner_id=owner_id, original_name=name,
                stored_name=stored,
                content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
                size=len(data), author=author or session.login, created=session.clock.now(),
            )
    except BaseException:
        (paths.files_dir() / stored).unlink(missing_ok=True)
        raise
    return att.id


def list_for(session: Session, owner_kind: str, owner_id: int) -> list[dict]:
    """The attachments of a record the user may see."""
    _owner_check(session, owner_kind, owner_id, modify=False)
    query = Attachment.select().where(Attachment.owner_kind == owner_kind,
                                      Attachment.owner_id == owner_id).order_by(Attachment.id)
    return [{"id": a.id, "name": a.original_name, "size": a.size,
             "content_type": a.content_type, "created": V.render(a.created),
             "author": a.author} for a in query]


def read(session: Session, attachment_id: int) -> tuple[str, bytes]:
    """The original name and bytes of an attachment the user may see."""
    att = Attachment.get_or_none(Attachment.id == attachment_id)
    if att is None:
        raise NotFound(f"attachment {attachment_id} does not exist")
    _owner_check(session, att.owner_kind, att.owner_id, modify=False)
    return att.original_name, (paths.files_dir() / att.stored_name).read_bytes()


def path_of(stored_name: str) -> Path:
    """Where a stored file lives (for the core's own use)."""
    return paths.files_dir() / stored_name
