"""Files attached to records: stored under generated names, original names kept as data."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from crm_tui import paths
from crm_tui.db import write_transaction
from crm_tui.errors import Conflict, NotFound, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import ATTACHMENT_OWNERS, Attachment, LeadActivity
from crm_tui.services import history
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind, not_found

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


def _owner_check(session: Session, owner_kind: str, owner_id: int | str, modify: bool) -> int:
    """Check access to an attachment's owner; returns the owner's record id (an invoice may
    be named by bill ID)."""
    if owner_kind not in ATTACHMENT_OWNERS:
        raise ValidationFailed.one(kind_name("attachment"), "kind", owner_kind,
                                   _("must be one of {choices}").format(choices=", ".join(ATTACHMENT_OWNERS[:4])))
    if owner_kind == "lead_activity":
        # An entry of a lead the user may not see answers like a missing entry: the
        # answer names neither that lead nor its id.
        entry = LeadActivity.get_or_none(LeadActivity.id == owner_id)
        kind = get_kind("lead")
        try:
            obj = kind.load(session, entry.lead_id) if entry is not None else None
        except NotFound:
            obj = None
        if obj is None:
            raise not_found("lead activity", owner_id)
        if modify:
            kind.check_modify(session, obj)
        return entry.id
    kind = get_kind(owner_kind)
    obj = kind.load(session, owner_id)
    if modify:
        kind.check_modify(session, obj)
    return obj.id


def _attachment_check(session: Session, att: Attachment | None, ref: object) -> Attachment:
    """`att` when the user may see the record it belongs to; else the answer for a missing
    attachment, naming neither that record nor its kind."""
    if att is not None:
        try:
            _owner_check(session, att.owner_kind, att.owner_id, modify=False)
        except NotFound:
            att = None
    if att is None:
        raise not_found("attachment", ref)
    return att


@contextlib.contextmanager
def pending_file(data: bytes, original: str) -> Iterator[str]:
    """Write bytes into files/ under a temporary name; yields the stored name to record.

    The file takes that name when the block ends without an error (the transaction that
    writes its row has committed inside it). On an error in the block, or when the write
    itself fails (disk full, no permission), the temporary file is removed: files/ never
    keeps a partly written file, nor one whose row was not written.

    Raises:
        ValidationFailed: the file could not be written.
    """
    name = _stored_name(original)
    folder = paths.files_dir()
    temp = folder / f".{name}.part"
    try:
        try:
            with open(temp, "xb") as handle:
                os.fchmod(handle.fileno(), paths.file_mode(folder))  # 0600, 0660 when shared
                handle.write(data)
        except OSError as error:
            raise ValidationFailed.one(kind_name("attachment"), "file", display_name(original),
                                       _("cannot be stored: {reason}").format(
                                           reason=error.strerror or str(error))) from None
        yield name
        os.replace(temp, folder / name)
    finally:
        temp.unlink(missing_ok=True)


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

    The file is written under a temporary name first and takes its own name once the row
    has committed; if the row cannot be written it is removed, so a rejected request leaves
    no orphan file (see `pending_file`).

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed.one(kind_name("attachment"), "file", original_name,
                                   _("larger than {size} MB").format(size=MAX_ATTACHMENT_BYTES // (1024 * 1024)))
    if check_access:
        owner_id = _owner_check(session, owner_kind, owner_id, modify=True)
    elif not isinstance(owner_id, int):
        owner_id = V.parse_int(owner_id)
    name = display_name(original_name)
    with pending_file(data, name) as stored, write_transaction():
        att = Attachment.create(
            owner_kind=owner_kind, owner_id=owner_id, original_name=name,
            stored_name=stored,
            content_type=mimetypes.guess_type(name)[0] or "application/octet-stream",
            size=len(data), author=author or session.login, created=session.clock.now(),
        )
        if owner_kind != "lead_activity":  # a timeline entry's files are in its lead's
            history.record(session, owner_kind, owner_id, "change", {"files": [None, [name]]})
    return att.id


def drop_rows(owner_kind: str, owner_id: int) -> list[str]:
    """Delete the attachment rows of one record (inside the caller's transaction).

    Returns their stored names: `remove_files` takes the files away once the transaction
    has committed, so a delete that rolls back still finds them.
    """
    query = Attachment.select(Attachment.id, Attachment.stored_name).where(
        Attachment.owner_kind == owner_kind, Attachment.owner_id == owner_id)
    rows = list(query.tuples())
    if rows:
        Attachment.delete().where(Attachment.id.in_([r[0] for r in rows])).execute()
    return [r[1] for r in rows]


def remove_files(stored_names: list[str]) -> None:
    """Remove stored files whose rows are gone (best effort: a file left over is only
    wasted space, since its name is never given out again)."""
    for name in stored_names:
        try:
            path_of(name).unlink(missing_ok=True)
        except OSError:
            continue


def read_local_file(path: str | Path) -> tuple[str, bytes]:
    """The name and bytes of a file the operator names on this machine (within the size
    limit), for attaching it.

    Raises:
        ValidationFailed: no such file, unreadable, or too large.
    """
    text = str(path or "").strip()
    source = Path(text).expanduser()
    try:
        if source.stat().st_size > MAX_ATTACHMENT_BYTES:
            raise ValidationFailed.one(kind_name("attachment"), "file", text, _("larger than {size} MB")
                                       .format(size=MAX_ATTACHMENT_BYTES // 2 ** 20))
        with open(source, "rb") as handle:
            data = handle.read(MAX_ATTACHMENT_BYTES + 1)
    except OSError as error:
        raise ValidationFailed.one(kind_name("attachment"), "file", text,
                                   error.strerror or _("cannot be read")) from None
    return source.name, data


def attach_local_file(session: Session, owner_kind: str, owner_id: int, path: str) -> int:
    """Attach a file the operator names on this machine to a record; returns its id.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    name, data = read_local_file(path)
    return add(session, owner_kind, owner_id, name, data)


def list_for(session: Session, owner_kind: str, owner_id: int) -> list[dict]:
    """The attachments of a record the user may see."""
    owner_id = _owner_check(session, owner_kind, owner_id, modify=False)
    query = Attachment.select().where(Attachment.owner_kind == owner_kind,
                                      Attachment.owner_id == owner_id).order_by(Attachment.id)
    return [{"id": a.id, "name": a.original_name, "size": a.size,
             "content_type": a.content_type, "created": V.render(a.created),
             "author": a.author} for a in query]


def read(session: Session, attachment_id: int) -> tuple[str, bytes]:
    """The original name and bytes of an attachment the user may see."""
    att = _attachment_check(session, Attachment.get_or_none(Attachment.id == attachment_id),
                            attachment_id)
    return att.original_name, (paths.files_dir() / att.stored_name).read_bytes()


def path_of(stored_name: str) -> Path:
    """Where a stored file lives (for the core's own use)."""
    return paths.files_dir() / stored_name


# --- taking files out --------------------------------------------------------------------

RECORD_KINDS = ("company", "contract", "invoice", "lead")
"""The records whose files `files_of` lists (a lead's include its timeline's)."""


def _record_id(session: Session, kind: str, record_id: int | str) -> int:
    """The id of a record named by id, or by its unique title (a company's name, a bill ID)."""
    try:
        number = V.parse_int(record_id)
    except V.BadValue:
        number = None
    if number is not None:
        return number
    return get_kind(kind).load(session, str(record_id or "").strip()).id


def _file_dict(att: Attachment) -> dict:
    """An attachment as `list_for` shows it, plus the timeline entry it came with."""
    return {"id": att.id, "name": att.original_name, "size": att.size,
            "content_type": att.content_type, "created": V.render(att.created),
            "author": att.author,
            "entry": att.owner_id if att.owner_kind == "lead_activity" else None}


def files_of(session: Session, kind: str, record_id: int | str) -> list[dict]:
    """The files of a record the user may see, oldest first.

    A lead's list includes the files of its activity entries (mail attachments, files
    added to the timeline). Each dict has the shape of `list_for` plus `entry`: the id of
    the activity entry the file belongs to, or None for a file of the record itself.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (a kind without files).
    """
    if kind not in RECORD_KINDS:
        raise ValidationFailed.one(kind_name("attachment"), "kind", kind,
                                   _("must be one of {choices}").format(choices=", ".join(RECORD_KINDS)))
    owner_id = _record_id(session, kind, record_id)
    _owner_check(session, kind, owner_id, modify=False)
    where = (Attachment.owner_kind == kind) & (Attachment.owner_id == owner_id)
    if kind == "lead":
        entries = LeadActivity.select(LeadActivity.id).where(LeadActivity.lead == owner_id)
        where |= (Attachment.owner_kind == "lead_activity") & Attachment.owner_id.in_(entries)
    return [_file_dict(a) for a in Attachment.select().where(where).order_by(Attachment.id)]


def _visible(session: Session, attachment_id: int | str) -> Attachment:
    """An attachment the user may see (the access of the record it belongs to)."""
    try:
        number = V.parse_int(attachment_id)
    except V.BadValue as error:
        raise ValidationFailed.one(kind_name("attachment"), "id", attachment_id, str(error)) from None
    if number is None:
        raise ValidationFailed.one(kind_name("attachment"), "id", "", _("required"))
    return _attachment_check(session, Attachment.get_or_none(Attachment.id == number), number)


def file_name(original: str) -> str:
    """A safe file name for a copy: the display name, never a path ("." and ".." neither)."""
    name = display_name(original)
    return "attachment" if set(name) <= {"."} else name


def save_copy(session: Session, attachment_id: int | str, target: str | Path, *,
              overwrite: bool = False) -> Path:
    """Write a copy of an attachment the user may see; returns the path written.

    Args:
        session: The acting user.
        attachment_id: The attachment (as `files_of` lists it).
        target: A file path, or an existing directory: the copy then takes the
            attachment's safe name (`file_name`) inside it; `~` is the user's home.
        overwrite: Replace an existing file (else it is refused).

    The bytes go to a temporary file beside the target that is renamed to it when
    complete, so a failure leaves no half-written file. The copy is readable by its owner
    only: attachments are customers' data.

    Raises:
        NotFound, PermissionDenied: no such attachment, or not the user's to see.
        Conflict: the file exists and `overwrite` is False.
        ValidationFailed: the directory is missing or the place cannot be written.
    """
    att = _visible(session, attachment_id)
    record = f"{kind_name('attachment')} {att.id}"
    path = _target_path(record, target, file_name(att.original_name), overwrite)
    try:
        source = open(path_of(att.stored_name), "rb")
    except OSError:
        raise NotFound(_("{record}: its stored file is missing").format(record=record)) from None
    with source:
        try:
            handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".crm-", suffix=".part")
        except OSError as error:
            raise ValidationFailed.one(record, "file", path,
                                       error.strerror or str(error)) from None
        try:
            with os.fdopen(handle, "wb") as out:
                shutil.copyfileobj(source, out)
            _move_into_place(temp, path, overwrite)
        except FileExistsError:
            raise Conflict(_("file {path} already exists").format(path=path)) from None
        except OSError as error:
            raise ValidationFailed.one(record, "file", path,
                                       error.strerror or str(error)) from None
        finally:
            Path(temp).unlink(missing_ok=True)
    return path


def _target_path(record: str, target: str | Path, name: str, overwrite: bool) -> Path:
    """The file a copy goes to: `target`, or `name` inside it when it is a directory."""
    text = str(target).strip()
    if not text:
        raise ValidationFailed.one(record, "file", "", _("required"))
    try:
        path = Path(text).expanduser().absolute()
        if path.is_dir():
            path = path / name
        if path.is_dir():
            raise ValidationFailed.one(record, "file", path, _("is a directory"))
        if not path.parent.is_dir():
            raise ValidationFailed.one(record, "file", path,
                                       _("directory {path} does not exist").format(
                                           path=path.parent))
        exists = path.exists() or path.is_symlink()
    except (OSError, RuntimeError) as error:
        # A name too long, a path through a file, an unknown ~user.
        reason = getattr(error, "strerror", None) or str(error)
        raise ValidationFailed.one(record, "file", text, reason) from None
    if exists and not overwrite:
        raise Conflict(_("file {path} already exists").format(path=path))
    return path


def _move_into_place(temp: str, path: Path, overwrite: bool) -> None:
    """Rename the finished copy to `path`; without overwrite, never over a file that
    appeared meanwhile (a hard link fails on an existing name, a rename would not)."""
    if overwrite:
        os.replace(temp, path)
        return
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:
        # A file system without hard links: check, then rename.
        if path.exists() or path.is_symlink():
            raise FileExistsError(str(path)) from None
        os.replace(temp, path)
