"""Lead email: templates, reply and forward over SMTP, and filing incoming mail on leads.

Replies and forwards are user actions (the acting user must be allowed to modify the lead).
Filing incoming mail is a system action: :func:`file_incoming` takes no user and applies the
routing and sender rules of SPEC 6 "Routing" and SPEC 9 itself.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import mimetypes
import os
import queue
import re
import sys
import threading
import uuid
from collections.abc import Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import peewee

from crm_tui import paths
from crm_tui.db import write_transaction
from crm_tui.errors import CrmError, ServerUnreachable, ValidationFailed
from crm_tui.mail.config import MailConfig, MailConfigError, from_settings
from crm_tui.mail.errors import MailRejected, MailServerUnreachable
from crm_tui.mail.message import ParsedMessage, safe_stored_name
from crm_tui.mail.tokens import find_lead_token, subject_with_token
from crm_tui.models import (
    Attachment,
    Contact,
    FiledMessage,
    Lead,
    LeadActivity,
    MailTemplate,
    SentMail,
    User,
)
from crm_tui.services import settings
from crm_tui.services import values as V
from crm_tui.services.attachments import MAX_ATTACHMENT_BYTES, display_name
from crm_tui.services.context import Clock, Session
from crm_tui.services.records import get_kind

#: What the ledger (FiledMessage.outcome) says happened to a message.
OUTCOMES = ("filed", "oversized", "unmatched", "auto")
# FiledMessage.key is a 300-character column; longer Message-IDs are stored as their hash.
_MAX_KEY = 300
# SQLite's default limit on bound variables is far above this; it keeps IN lists small.
_IN_CHUNK = 500
_NAME_JUNK_RE = re.compile(r'[\x00-\x1f\x7f"(),:;<>@\[\]\\]')


class MailRefused(CrmError):
    """The SMTP server refused the message (sender, every recipient or the data)."""


class MailNotLogged(CrmError):
    """The mail went out but could not be written to the lead's activity."""


# -- settings ---------------------------------------------------------------------------------


def mail_config() -> MailConfig:
    """The mail settings as connection configs (the core's own use; no access check).

    Raises:
        ValidationFailed: a ``mail.*`` setting cannot be used; names the key and value.
    """
    try:
        return from_settings(settings.values("mail."))
    except MailConfigError as exc:
        raise ValidationFailed.one(f"setting {exc.key}", "value", exc.value, exc.reason) from None
    except ValueError as exc:
        raise ValidationFailed.one("settings mail.*", "value", "", str(exc)) from None


def poll_interval() -> int | None:
    """Seconds between background mailbox syncs; None when no mailbox is configured."""
    try:
        config = mail_config()
    except ValidationFailed:
        return None
    return config.poll_seconds if config.imap is not None else None


def _require_smtp(config: MailConfig):
    if config.smtp is None:
        raise ValidationFailed.one(
            "setting mail.smtp_host", "value", "", "not set: mail cannot be sent"
        )
    return config.smtp


# -- templates ----------------------------------------------------------------------------------


def _lead(session: Session, lead_id: int | str, *, modify: bool) -> Lead:
    kind = get_kind("lead")
    lead = kind.load(session, lead_id)
    if modify:
        # Only those who may change the lead write to its customer (SPEC 6, issue rules).
        kind.check_modify(session, lead)
    return lead


def can_mail(session: Session, lead_id: int) -> bool:
    """Whether the acting user may send mail for this lead (reply, forward)."""
    kind = get_kind("lead")
    try:
        lead = kind.load(session, lead_id)
    except CrmError:
        return False
    return kind.can_modify(session, lead)


def _language_keys(language: str) -> list[str]:
    lang = (language or "en").strip().lower().replace("-", "_")
    base = lang.split("_", 1)[0]
    return list(dict.fromkeys([lang, base]))


def templates_for_lead(session: Session, lead_id: int) -> list[dict]:
    """The mail templates the user may use for a lead, those in its language first.

    Each: ``id``, ``name``, ``language``, ``subject``, ``in_lead_language``.
    """
    lead = _lead(session, lead_id, modify=False)
    wanted = _language_keys(lead.language)
    query = get_kind("mail-template").query(session).order_by(
        MailTemplate.name, MailTemplate.language
    )
    rows = [
        {
            "id": t.id,
            "name": t.name,
            "language": t.language,
            "subject": t.subject,
            "in_lead_language": (t.language or "").lower().replace("-", "_") in wanted,
        }
        for t in query
    ]
    rows.sort(key=lambda r: not r["in_lead_language"])
    return rows


def _find_template(session: Session, lead: Lead, name: str) -> MailTemplate:
    """The visible template ``name`` in the lead's language (or its base language)."""
    visible = get_kind("mail-template").query(session).where(MailTemplate.name == name)
    by_language = {(t.language or "").lower().replace("-", "_"): t for t in visible}
    for key in _language_keys(lead.language):
        if key in by_language:
            return by_language[key]
    if not by_language:
        raise ValidationFailed.one(f"lead {lead.id} email", "template", name,
                                   "no such mail template")
    raise ValidationFailed.one(
        f"lead {lead.id} email", "template", name,
        f"no version in the lead's language {lead.language!r} "
        f"(there is: {', '.join(sorted(by_language))})",
    )


def _sender_address(session: Session, config: MailConfig) -> str:
    return config.from_address or (session.user.email or "").strip()


def macro_values(session: Session, lead: Lead, sender: str) -> dict[str, str]:
    """The mail macros for a lead, as plain text (templates never see model objects)."""
    user = session.user
    return {
        "_DEST_NAME_": lead.full_name or "",
        "_DEST_EMAIL_": lead.email or "",
        "_SRC_NAME_": user.real_name or user.login,
        "_SRC_EMAIL_": sender,
    }


def render_template(
    session: Session, lead_id: int, name: str, config: MailConfig | None = None
) -> tuple[str, str]:
    """Render mail template ``name`` (in the lead's language) for a lead: (subject, body).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (no such template, bad macro).
    """
    from crm_tui.documents.templating import TemplateError, render_mail_template

    config = config or mail_config()
    lead = _lead(session, lead_id, modify=False)
    template = _find_template(session, lead, name)
    values = macro_values(session, lead, _sender_address(session, config))
    try:
        return render_mail_template(template.subject or "", template.body or "", values)
    except TemplateError as exc:
        raise ValidationFailed.one(f"mail template {name}", "body", template.language,
                                   str(exc)) from None


# -- composing and sending ---------------------------------------------------------------------


@dataclass(frozen=True)
class OutgoingFile:
    """A file to attach: the name shown to the recipient and its bytes."""

    name: str
    data: bytes

    @property
    def mime_type(self) -> str:
        """A MIME type guessed from the name."""
        return mimetypes.guess_type(self.name)[0] or "application/octet-stream"


@dataclass(frozen=True)
class SentResult:
    """What a reply or forward did: the Message-ID, the activity entry and the recipients."""

    message_id: str
    activity_id: int
    subject: str
    recipients: list[str]
    refused: list[str] = field(default_factory=list)


def files_from_paths(file_paths: Iterable[str | os.PathLike]) -> list[OutgoingFile]:
    """Read local files the user chose to attach.

    Raises:
        ValidationFailed: a file is missing, unreadable or too large (every one is listed).
    """
    files: list[OutgoingFile] = []
    problems = []
    for raw in file_paths:
        path = Path(raw).expanduser()
        try:
            size = path.stat().st_size
            if not path.is_file():
                raise IsADirectoryError(f"{path} is not a file")
            if size > MAX_ATTACHMENT_BYTES:
                problems.append(("file", str(raw),
                                 f"larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB"))
                continue
            files.append(OutgoingFile(display_name(path.name), path.read_bytes()))
        except OSError as exc:
            problems.append(("file", str(raw), exc.strerror or str(exc)))
    if problems:
        from crm_tui.errors import Problem

        raise ValidationFailed([Problem("attachment", f, v, r) for f, v, r in problems])
    return files


def compose_defaults(session: Session, lead_id: int) -> dict:
    """What the reply dialog starts with: to, cc, subject, and the usable templates.

    Raises:
        NotFound, PermissionDenied (the user may not modify the lead).
    """
    lead = _lead(session, lead_id, modify=True)
    try:
        reference = mail_config().reference_address
    except ValidationFailed:
        reference = ""
    return {
        "lead_id": lead.id,
        "to": lead.email,
        "cc": reference,
        "subject": _default_subject(lead),
        "language": lead.language,
        "templates": templates_for_lead(session, lead.id),
    }


def _default_subject(lead: Lead) -> str:
    return subject_with_token(lead.id, lead.company_name or lead.full_name or "")


def _from_header(session: Session, address: str) -> str:
    # Characters that need quoting in a display name are dropped: a readable name beats a
    # header that the strict mailbox parser of the mail layer would refuse.
    name = _NAME_JUNK_RE.sub(" ", session.user.real_name or "").strip()
    name = " ".join(name.split())
    return f"{name} <{address}>" if name else address


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().strip(">")


def _check_files(files: Sequence[OutgoingFile]) -> list[OutgoingFile]:
    total = sum(len(f.data) for f in files)
    if total > MAX_ATTACHMENT_BYTES:
        raise ValidationFailed.one("attachment", "files", f"{len(files)} files",
                                   f"together larger than {MAX_ATTACHMENT_BYTES // 2**20} MB")
    return [OutgoingFile(display_name(f.name), bytes(f.data)) for f in files]


def reply(
    session: Session,
    lead_id: int,
    *,
    subject: str | None = None,
    body: str | None = None,
    template: str | None = None,
    attachments: Sequence[OutgoingFile] = (),
    config: MailConfig | None = None,
) -> SentResult:
    """Send an email to a lead, copied to the reference mailbox, and log it in its activity.

    The subject starts with ``[Lead#<id>]``; ``template`` (a name) fills subject and body
    in the lead's language, and ``subject``/``body`` override what it gives. The sent
    message and its attachments become an ``email_out`` activity entry; its Message-ID is
    kept so that answers find the lead again.

    Raises:
        NotFound, PermissionDenied (the user may not modify the lead), ValidationFailed
        (no address, settings missing, bad template), ServerUnreachable (SMTP down),
        MailRefused (the server refused the message), MailNotLogged.
    """
    config = config or mail_config()
    lead = _lead(session, lead_id, modify=True)
    problems_record = f"lead {lead.id} email"
    if not (lead.email or "").strip():
        raise ValidationFailed.one(problems_record, "email", "",
                                   "the lead has no email address to write to")
    _require_smtp(config)
    sender = _sender_address(session, config)
    if not sender:
        raise ValidationFailed.one("setting mail.from_address", "value", "",
                                   "not set, and the user has no email address")
    if not config.reference_address:
        raise ValidationFailed.one("setting mail.reference_address", "value", "",
                                   "not set: replies are copied to the reference mailbox")
    template_subject = template_body = ""
    if template:
        template_subject, template_body = render_template(session, lead.id, template, config)
    text_subject = subject if subject else template_subject
    text_body = body if body is not None else template_body
    final_subject = (subject_with_token(lead.id, text_subject) if text_subject
                     else _default_subject(lead))
    files = _check_files(attachments)
    return _send_and_log(
        session, lead, config,
        to=[lead.email.strip()], cc=[config.reference_address], subject=final_subject,
        body=text_body, files=files, sender=sender,
        log_text=None, in_reply_to=_last_incoming_id(lead.id),
    )


def _last_incoming_id(lead_id: int) -> str | None:
    """The Message-ID of the lead's latest filed mail, so the reply threads under it."""
    row = (FiledMessage.select(FiledMessage.key)
           .where(FiledMessage.lead == lead_id, FiledMessage.outcome == "filed",
                  ~FiledMessage.key.startswith("sha256:"))
           .order_by(FiledMessage.id.desc()).first())
    # Keys come from parsed headers; still, an odd one must not block the reply.
    if row is None or not re.fullmatch(r"[^<>\s\x00-\x1f\x7f]{1,300}", row.key):
        return None
    return row.key


def forward(
    session: Session,
    lead_id: int,
    to: str,
    *,
    note: str = "",
    config: MailConfig | None = None,
) -> SentResult:
    """Send a lead's data to someone (a colleague, a partner) and log it in the activity.

    The recipient is remembered as a correspondent of the lead, so an answer is filed.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (bad address, settings missing),
        ServerUnreachable, MailRefused, MailNotLogged.
    """
    config = config or mail_config()
    lead = _lead(session, lead_id, modify=True)
    try:
        address = V.parse_email(to, required=True)
    except V.BadValue as exc:
        raise ValidationFailed.one(f"lead {lead.id} forward", "to", to, str(exc)) from None
    _require_smtp(config)
    sender = _sender_address(session, config)
    if not sender:
        raise ValidationFailed.one("setting mail.from_address", "value", "",
                                   "not set, and the user has no email address")
    body = lead_summary(get_kind("lead").get(session, lead.id),
                        lead.company.name if lead.company_id is not None else "")
    if note.strip():
        body = note.strip() + "\n\n-- \n" + body
    subject = subject_with_token(lead.id, f"Lead: {lead.full_name}"
                                 + (f" ({lead.company_name})" if lead.company_name else ""))
    log_text = f"Forwarded to {address}\nSubject: {subject}"
    if note.strip():
        log_text += "\n\n" + note.strip()
    return _send_and_log(session, lead, config, to=[address], cc=[], subject=subject, body=body,
                         files=[], sender=sender, log_text=log_text)


_SUMMARY_SKIP = {"id", "activity", "custom", "status", "status_name", "tags", "description",
                 "company"}


def lead_summary(data: dict, company: str = "") -> str:
    """A lead (in its --json shape) as plain text lines, for a forward."""
    lines = [f"Lead #{data.get('id')}", f"Status: {data.get('status_name', '')}"]
    for spec in get_kind("lead").fields:
        value = data.get(spec.name)
        if spec.name not in _SUMMARY_SKIP and value not in (None, "", []):
            lines.append(f"{spec.title}: {value}")
    if company:
        lines.append(f"Managing company: {company}")
    if data.get("tags"):
        lines.append("Tags: " + ", ".join(data["tags"]))
    for name, value in sorted((data.get("custom") or {}).items()):
        if value not in (None, ""):
            lines.append(f"{name}: {value}")
    if data.get("description"):
        lines += ["", str(data["description"])]
    return "\n".join(lines) + "\n"


def _send_and_log(
    session: Session,
    lead: Lead,
    config: MailConfig,
    *,
    to: list[str],
    cc: list[str],
    subject: str,
    body: str,
    files: list[OutgoingFile],
    sender: str,
    log_text: str | None,
    in_reply_to: str | None = None,
) -> SentResult:
    from crm_tui.mail.outgoing import build_message
    from crm_tui.mail.smtp import send

    record = f"lead {lead.id} email"
    when = session.clock.now().replace(tzinfo=dt.UTC)
    try:
        message, message_id = build_message(
            from_addr=_from_header(session, sender),
            to=to,
            cc=cc,
            subject=subject,
            body=body or "",
            attachments=[(f.name, f.data, f.mime_type) for f in files],
            lead_id=lead.id,
            domain=_domain(sender),
            in_reply_to=in_reply_to,
            references=[in_reply_to] if in_reply_to else (),
            date=when,
        )
    except ValueError as exc:
        raise ValidationFailed.one(record, "message", subject, str(exc)) from None
    try:
        refused = send(_require_smtp(config), message)
    except MailServerUnreachable as exc:
        raise ServerUnreachable(str(exc)) from None
    except MailRejected as exc:
        raise MailRefused(str(exc)) from None
    recipients = list(dict.fromkeys(a.lower() for a in [*to, *cc]))
    if log_text is None:
        log_text = f"To: {', '.join(to)}\n"
        if cc:
            log_text += f"Cc: {', '.join(cc)}\n"
        log_text += f"Subject: {subject}\n\n{body or ''}"
    if refused:
        log_text += "\n\nRefused by the server: " + ", ".join(sorted(refused))
    try:
        activity_id = _log_sent(session, lead.id, log_text.strip(), files, message_id,
                                recipients)
    except (CrmError, peewee.PeeweeException, OSError) as exc:
        raise MailNotLogged(
            f"the mail was sent (Message-ID <{message_id}>) but could not be logged: "
            f"{_first_line(exc)}"
        ) from None
    return SentResult(message_id, activity_id, subject, recipients, sorted(refused))


def _log_sent(
    session: Session,
    lead_id: int,
    text: str,
    files: list[OutgoingFile],
    message_id: str,
    recipients: list[str],
) -> int:
    now = session.clock.now()
    with StagedFiles() as staged:
        stored = [(f, staged.write(f.data, f.name)) for f in files]
        with write_transaction():
            entry = LeadActivity.create(lead=lead_id, kind="email_out", author=session.login,
                                        created=now, text=text)
            for f, name in stored:
                Attachment.create(owner_kind="lead_activity", owner_id=entry.id,
                                  original_name=f.name, stored_name=name,
                                  content_type=f.mime_type, size=len(f.data),
                                  author=session.login, created=now)
            SentMail.create(lead=lead_id, message_id=message_id,
                            recipients=",".join(recipients), created=now)
            Lead.update(updated=now).where(Lead.id == lead_id).execute()
        staged.committed()
    return entry.id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- attachment files written before their rows commit -----------------------------------------


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
        self._staged: dict[Hashable, str] = {}

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

    def stage(self, key: Hashable, data: bytes, original: str) -> str:
        """Write a file now, in the background, that a later :func:`file_incoming` with
        this object may use under ``key`` (unused ones are removed when it commits)."""
        if self._writer is None:
            self._files = self._files or paths.files_dir()
            self._writer = _FileWriter(os.fspath(self._files))
        [name] = self.write_many([(data, original)], background=True)
        self._staged[key] = name
        return name

    def staged_name(self, key: Hashable) -> str | None:
        """The name :meth:`stage` gave the file of ``key``, if any."""
        return self._staged.get(key)

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


# -- incoming mail: routing and filing (a system action) ---------------------------------------


@dataclass
class IncomingMail:
    """One message read from the mailbox, with where it sits (folder, UIDVALIDITY and UID).

    ``headers_only`` says the message was over the size limit and only its header was
    downloaded; ``size`` is then the size the server reported.
    """

    parsed: ParsedMessage
    uidvalidity: int | None = None
    uid: int | None = None
    headers_only: bool = False
    size: int = 0
    folder: str = "INBOX"


@dataclass(frozen=True)
class Route:
    """Which lead a message belongs to (``lead_id`` None: unmatched, ``reason`` says why)."""

    lead_id: int | None
    via: str = ""
    reason: str = ""


@dataclass(frozen=True)
class FileResult:
    """What filing did with one message and what the mailbox should do with it.

    ``outcome``: ``filed``, ``oversized`` (filed as a note; the body was too big),
    ``unmatched``, ``auto`` (machine-made, never filed) or ``duplicate``. ``action``:
    ``flag`` (mark processed), ``unmatched`` (move to the unmatched folder if one is set)
    or ``leave``.
    """

    outcome: str
    action: str
    lead_id: int | None = None
    activity_id: int | None = None
    reason: str = ""


def ledger_key(parsed: ParsedMessage) -> str:
    """The de-duplication key stored in FiledMessage (Message-ID or a hash of the bytes)."""
    key = parsed.dedup_key
    if len(key) > _MAX_KEY:
        key = "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()
    return key


def ledger_folder(name: str) -> str:
    """How the ledger writes a folder name: as configured, but INBOX in capitals (RFC 3501
    makes that one name case-insensitive)."""
    name = (name or "").strip() or "INBOX"
    return "INBOX" if name.upper() == "INBOX" else name


def known_locations(uidvalidity: int, uids: Iterable[int | str], *,
                    folder: str = "INBOX") -> dict[int, str]:
    """Outcomes already recorded for messages at these UIDs of ``folder`` (at UIDVALIDITY).

    The folder is part of the place: two folders may well have the same UIDVALIDITY.
    """
    from crm_tui.db import database

    db = database.obj
    wanted = sorted({int(u) for u in uids})
    folder = ledger_folder(folder)
    found: dict[int, str] = {}
    # Plain SQL: building a peewee query over hundreds of values costs more than running it.
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start:start + _IN_CHUNK]
        marks = ", ".join([db.param] * len(chunk))
        cursor = db.execute_sql(
            'SELECT "uid", "outcome" FROM "filed_message" WHERE "folder" = '
            f'{db.param} AND "uidvalidity" = {db.param} AND "uid" IN ({marks})',
            [folder, int(uidvalidity), *chunk])
        found.update({int(uid): outcome for uid, outcome in cursor.fetchall()})
    return found


class _Routing:
    """Everything routing needs for a batch of messages, read in a few queries."""

    def __init__(self, mails: Sequence[IncomingMail]) -> None:
        thread_ids = sorted({i for m in mails for i in m.parsed.thread_ids})
        self.sent: dict[str, int] = {}
        for chunk in _chunks(thread_ids):
            query = (SentMail.select(SentMail.message_id, SentMail.lead)
                     .where(SentMail.message_id.in_(chunk)).tuples())
            self.sent.update(query)
        lead_ids = set(self.sent.values())
        # Replies in one thread share a subject: each subject's token is looked for once.
        self.tokens: dict[str, int | None] = {}
        for mail in mails:
            token = self.token(mail.parsed.subject)
            lead_ids.update(i for i in (token, mail.parsed.x_crm_lead) if i is not None)
        self.leads: dict[int, Lead] = {}
        for chunk in _chunks(sorted(lead_ids)):
            query = Lead.select(Lead.id, Lead.email_key, Lead.company).where(Lead.id.in_(chunk))
            self.leads.update((lead.id, lead) for lead in query)
        senders = sorted({m.parsed.from_address for m in mails if m.parsed.from_address})
        self.users: set[str] = set()
        self.contacts: set[tuple[int, str]] = set()
        company_ids = sorted({le.company_id for le in self.leads.values() if le.company_id})
        for chunk in _chunks(senders):
            email = peewee.fn.LOWER(peewee.fn.TRIM(User.email))
            query = User.select(email).where(User.enabled == True, email.in_(chunk))  # noqa: E712
            self.users.update(e for (e,) in query.tuples())
            if company_ids:
                email = peewee.fn.LOWER(peewee.fn.TRIM(Contact.email))
                query = (Contact.select(Contact.company, email)
                         .where(Contact.company.in_(company_ids), email.in_(chunk)).tuples())
                self.contacts.update(query)
        self.recipients: dict[int, set[str]] = {}
        for chunk in _chunks(sorted(self.leads)):
            query = (SentMail.select(SentMail.lead, SentMail.recipients)
                     .where(SentMail.lead.in_(chunk)).tuples())
            for lead_id, recipients in query:
                self.recipients.setdefault(lead_id, set()).update(
                    r.strip().lower() for r in recipients.split(",") if r.strip())

    def token(self, subject: str) -> int | None:
        """The lead id of ``subject``'s ``[Lead#<id>]`` token, or None."""
        try:
            return self.tokens[subject]
        except KeyError:
            found = self.tokens[subject] = find_lead_token(subject)
            return found

    def sender_allowed(self, lead: Lead, sender: str) -> bool:
        """SPEC 9: the lead's address, a contact of its company, a user, or a recipient."""
        if not sender:
            return False
        return (
            sender == (lead.email_key or "")
            or sender in self.users
            or (lead.company_id is not None and (lead.company_id, sender) in self.contacts)
            or sender in self.recipients.get(lead.id, set())
        )

    def route(self, parsed: ParsedMessage) -> Route:
        """Match a message to a lead: thread ids, then the subject token, then X-CRM-Lead."""
        for msgid in parsed.thread_ids:
            lead_id = self.sent.get(msgid)
            if lead_id is not None and lead_id in self.leads:
                return Route(lead_id, "reply to mail the CRM sent")
        reasons: list[str] = []
        tried: set[int] = set()
        candidates = (("subject token", self.token(parsed.subject)),
                      ("X-CRM-Lead header", parsed.x_crm_lead))
        for via, lead_id in candidates:
            if lead_id is None or lead_id in tried:
                continue
            tried.add(lead_id)
            lead = self.leads.get(lead_id)
            if lead is None:
                reasons.append(f"{via} names lead {lead_id}, which does not exist")
                continue
            if not self.sender_allowed(lead, parsed.from_address):
                reasons.append(
                    f"{via} names lead {lead_id}, but the sender "
                    f"{parsed.from_address or '(none)'} is not its address, a contact of its "
                    "company, a CRM user or a recipient of its mail"
                )
                continue
            return Route(lead_id, via)
        if not reasons:
            reasons.append("no [Lead#] token, X-CRM-Lead header or reply to mail the CRM sent")
        return Route(None, "", "; ".join(reasons))


def route(parsed: ParsedMessage) -> Route:
    """Which lead a message belongs to, by SPEC 6 "Routing" (for tests and previews)."""
    return _Routing([IncomingMail(parsed)]).route(parsed)


def _chunks(items: Sequence) -> Iterator[list]:
    for start in range(0, len(items), _IN_CHUNK):
        yield list(items[start:start + _IN_CHUNK])


def file_incoming(
    mails: Sequence[IncomingMail],
    *,
    present_uids: Iterable[int] = (),
    clock: Clock | None = None,
    staged: StagedFiles | None = None,
) -> list[FileResult]:
    """File a batch of incoming messages on their leads, all in one transaction.

    For each message, in order: a message whose key is in the ledger is a duplicate (or,
    when its recorded place is gone from the mailbox, the same message moved or renumbered:
    an unmatched one is routed again); a machine-made message is recorded as ``auto``; a
    routed message becomes an ``email_in`` activity entry (author: the sender) with its
    attachments under generated names; the rest is recorded as ``unmatched`` with the
    reason. The ledger row is written in the same transaction as the activity entry, so a
    message is filed once whatever happens; the caller flags or moves messages only after
    this returns. ``present_uids`` are UIDs now in the messages' folder (same UIDVALIDITY;
    those not yet flagged as filed are enough: only unflagged copies can need moving).
    ``staged`` may hold attachment files written ahead by :func:`stage_attachments` (the
    ingest writes them while it reads the batch); it is committed here, and its files no
    row refers to are removed.

    Raises:
        peewee.IntegrityError: another process filed one of these at the same moment (the
            batch is rolled back; file the messages one by one to sort them out).
        OSError: an attachment could not be written (the batch is rolled back).
    """
    if staged is None:
        with StagedFiles() as own:
            return file_incoming(mails, present_uids=present_uids, clock=clock, staged=own)
    clock = clock or Clock()
    present = {int(u) for u in present_uids}
    with write_transaction():
        now = clock.now()
        keys = [ledger_key(m.parsed) for m in mails]
        ledger = _ledger_entries(keys)
        routing = _Routing(mails)
        plans = [_decide(mail, key, ledger, routing, present)
                 for mail, key in zip(mails, keys, strict=True)]
        stored = _write(plans, staged, now)
    staged.committed(stored)
    return [p.result() for p in plans]


_DISPOSITION = {"filed": "flag", "unmatched": "unmatched", "oversized": "leave", "auto": "leave"}


@dataclass
class _Entry:
    """A ledger entry, stored (``row`` is its id) or planned in this batch."""

    folder: str
    uidvalidity: int | None
    uid: int | None
    outcome: str
    lead_id: int | None
    row: int | None = None


def _ledger_entries(keys: Sequence[str]) -> dict[str, _Entry]:
    """The ledger rows of these keys (plain SQL: a peewee query costs more than the read)."""
    from crm_tui.db import database

    db = database.obj
    ledger: dict[str, _Entry] = {}
    for chunk in _chunks(sorted(set(keys))):
        marks = ", ".join([db.param] * len(chunk))
        cursor = db.execute_sql(
            'SELECT "id", "key", "folder", "uidvalidity", "uid", "outcome", "lead_id" '
            f'FROM "filed_message" WHERE "key" IN ({marks})', chunk)
        for row_id, key, folder, uidvalidity, uid, outcome, lead_id in cursor.fetchall():
            ledger[key] = _Entry(folder, uidvalidity, uid, outcome, lead_id, row_id)
    return ledger


@dataclass
class _Plan:
    """What filing one message will write; ids are filled in by :func:`_write`."""

    mail: IncomingMail
    key: str
    outcome: str
    action: str
    lead_id: int | None = None
    reason: str = ""
    new_entry: bool = False  # insert a ledger row
    update: int | None = None  # or change this one (its id)
    write_activity: bool = False
    activity_id: int | None = None

    def result(self) -> FileResult:
        return FileResult(self.outcome, self.action, self.lead_id, self.activity_id, self.reason)


def _decide(
    mail: IncomingMail, key: str, ledger: dict[str, _Entry], routing: _Routing, present: set[int]
) -> _Plan:
    parsed = mail.parsed
    entry = ledger.get(key)
    folder = ledger_folder(mail.folder)
    if entry is not None:
        same_folder = entry.folder == folder and entry.uidvalidity == mail.uidvalidity
        if mail.uid is not None and same_folder and entry.uid == mail.uid:
            # Another sync got here first (or this one was killed before flagging).
            return _Plan(mail, key, "duplicate", _DISPOSITION.get(entry.outcome, "leave"),
                         entry.lead_id, "already handled")
        still_there = same_folder and entry.uid in present
        if still_there or entry.outcome == "filed" or entry.row is None:
            return _Plan(mail, key, "duplicate", "flag", entry.lead_id,
                         f"same message as one already {entry.outcome}")
        # The recorded copy is gone from this folder: this is that message, moved back or
        # renumbered (new UIDVALIDITY). Nothing is filed twice and nothing is skipped.
        if entry.outcome != "unmatched":
            entry.folder, entry.uidvalidity, entry.uid = folder, mail.uidvalidity, mail.uid
            return _Plan(mail, key, "duplicate", "leave", entry.lead_id,
                         f"already recorded as {entry.outcome}", update=entry.row)
    elif parsed.auto_generated:
        ledger[key] = _Entry(folder, mail.uidvalidity, mail.uid, "auto", None)
        return _Plan(mail, key, "auto", "leave", reason=parsed.auto_generated, new_entry=True)
    found = routing.route(parsed)
    update = entry.row if entry is not None else None
    if found.lead_id is None:
        outcome, lead_id, reason = "unmatched", None, found.reason
    else:
        outcome = "oversized" if mail.headers_only else "filed"
        lead_id, reason = found.lead_id, found.via
    if entry is not None:
        entry.folder, entry.uidvalidity, entry.uid = folder, mail.uidvalidity, mail.uid
        entry.outcome = outcome
    else:
        ledger[key] = _Entry(folder, mail.uidvalidity, mail.uid, outcome, lead_id)
    return _Plan(mail, key, outcome, _DISPOSITION[outcome], lead_id, reason,
                 new_entry=entry is None, update=update, write_activity=lead_id is not None)


def _write(plans: list[_Plan], staged: StagedFiles, now: dt.datetime) -> list[str]:
    """Write the batch: activity entries, attachments and ledger rows, each with one
    prepared statement (PERF: building peewee queries row by row was most of the ingest's
    time). Returns the stored names of the attachment files the rows refer to."""
    writing = [plan for plan in plans if plan.write_activity]
    authors = [(plan.mail.parsed.from_address or "(unknown sender)")[:200] for plan in writing]
    # The files first: those written ahead are used, the rest go to the background thread,
    # so the kernel creates them while the rows are written; all are there before the commit.
    kept = [(index, att, display_name(att.filename), _attachment_key(plan.mail, number))
            for index, plan in enumerate(writing) if not plan.mail.headers_only
            for number, att in enumerate(plan.mail.parsed.attachments)
            if not att.dropped]  # a dropped one is named in the text
    ready = [staged.staged_name(key) for _i, _att, _name, key in kept]
    missing = [(att.data, name) for (_i, att, name, _key), done in zip(kept, ready, strict=True)
               if done is None]
    written = iter(staged.write_many(missing, background=True))
    stored = [done if done is not None else next(written) for done in ready]
    activities = _Prepared(LeadActivity, ("lead", "kind", "author", "created", "text"))
    ids = activities.insert_all([(plan.lead_id, "email_in", author, now,
                                  incoming_text(plan.mail))
                                 for plan, author in zip(writing, authors, strict=True)])
    for plan, activity_id in zip(writing, ids, strict=True):
        plan.activity_id = activity_id
    attachments = []
    for (index, att, name, _key), stored_name in zip(kept, stored, strict=True):
        content_type = ((att.content_type or "")[:100] or mimetypes.guess_type(name)[0]
                        or "application/octet-stream")
        attachments.append(("lead_activity", ids[index], name, stored_name, content_type,
                            len(att.data), authors[index], now))
    _Prepared(Attachment, ("owner_kind", "owner_id", "original_name", "stored_name",
                           "content_type", "size", "author", "created")).insert_many(attachments)
    rows = []
    for plan in plans:
        reason = plan.reason if plan.outcome != "duplicate" else None
        folder = ledger_folder(plan.mail.folder)
        if plan.new_entry:
            rows.append((plan.key, folder, plan.mail.uidvalidity, plan.mail.uid, plan.lead_id,
                         plan.activity_id, plan.outcome, reason or "", now))
        elif plan.update is not None:
            changes = {FiledMessage.folder: folder, FiledMessage.uidvalidity: plan.mail.uidvalidity,
                       FiledMessage.uid: plan.mail.uid}
            if plan.outcome != "duplicate":
                changes.update({FiledMessage.outcome: plan.outcome, FiledMessage.lead: plan.lead_id,
                                FiledMessage.activity: plan.activity_id,
                                FiledMessage.reason: reason or ""})
            FiledMessage.update(changes).where(FiledMessage.id == plan.update).execute()
    _Prepared(FiledMessage, ("key", "folder", "uidvalidity", "uid", "lead", "activity",
                             "outcome", "reason", "created")).insert_many(rows)
    touched = sorted({p.lead_id for p in plans if p.activity_id is not None})
    for chunk in _chunks(touched):
        Lead.update(updated=now).where(Lead.id.in_(chunk)).execute()
    staged.wait()  # an attachment that could not be written rolls the batch back
    return stored


def stage_attachments(staged: StagedFiles, mail: IncomingMail) -> None:
    """Write ``mail``'s attachment files ahead into ``staged``, for :func:`file_incoming`
    with the same ``staged`` (machine-made mail is never filed: nothing to write). A file
    that cannot be written here is left to the filing, which reports it."""
    if mail.headers_only or mail.parsed.auto_generated:
        return
    for number, att in enumerate(mail.parsed.attachments):
        if not att.dropped:
            try:
                staged.stage(_attachment_key(mail, number), att.data,
                             display_name(att.filename))
            except OSError:
                return  # filing writes it then, and says what went wrong


def _attachment_key(mail: IncomingMail, number: int) -> tuple:
    return (mail.folder, mail.uidvalidity, mail.uid, number)


def _native_types(field: peewee.Field) -> tuple[type, ...]:
    """Python types a column takes without conversion."""
    if isinstance(field, peewee.ForeignKeyField):
        field = field.rel_field
    if isinstance(field, (peewee.CharField, peewee.TextField)):
        return (str, type(None))
    if isinstance(field, peewee.IntegerField):
        return (int, type(None))
    return ()


class _Prepared:
    """An INSERT into a model's table, built once and run for many rows.

    Values go through each field's ``db_value`` as peewee would convert them, and columns
    not given get the field's default, as ``Model.create`` would fill them (so a column
    added later with a default does not break this). :meth:`insert` returns the new id: one
    statement per row, so ids come back in order, which a multi-row INSERT ... RETURNING
    does not promise on SQLite.
    """

    def __init__(self, model: type[peewee.Model], names: Sequence[str]) -> None:
        from crm_tui.db import database

        self.db = database.obj
        meta = model._meta
        given = [meta.fields[n] for n in names]
        # By name: peewee fields overload == (it builds SQL), so `in` would not work.
        self.defaults = [f for f in meta.sorted_fields
                         if f.name not in names and f.name != meta.primary_key.name
                         and f.default is not None]
        self.fields = given + self.defaults
        self.native = [_native_types(f) for f in self.fields]
        self.table = meta.table_name
        self.pk = meta.primary_key.column_name
        self.columns = ", ".join(f'"{f.column_name}"' for f in self.fields)
        self.marks = ", ".join([self.db.param] * len(self.fields))
        self.sql = f'INSERT INTO "{self.table}" ({self.columns}) VALUES ({self.marks})'

    def _params(self, values: Sequence) -> list:
        filled = list(values) + [f.default() if callable(f.default) else f.default
                                 for f in self.defaults]
        # Text for text columns, whole numbers for integer ones and NULL go to the driver as
        # they are (db_value would hand them back unchanged); the rest is converted.
        return [v if type(v) in native else f.db_value(v)
                for f, native, v in zip(self.fields, self.native, filled, strict=True)]

    def insert(self, values: Sequence) -> int:
        """Insert one row; returns its id."""
        if self.db.returning_clause:
            cursor = self.db.execute_sql(f'{self.sql} RETURNING "{self.pk}"',
                                         self._params(values))
            return int(cursor.fetchone()[0])
        return int(self.db.execute_sql(self.sql, self._params(values)).lastrowid)

    def insert_many(self, rows: Sequence[Sequence]) -> None:
        """Insert rows (no ids needed)."""
        if rows:
            self._insert_rows(self.columns, self.marks, [self._params(r) for r in rows])

    def insert_all(self, rows: Sequence[Sequence]) -> list[int]:
        """Insert rows; returns their ids, in order.

        On SQLite, inside the write transaction (the write lock is held from BEGIN), the
        ids are the ones SQLite itself would pick - one above the highest - so they are
        given explicitly and the rows go in a few multi-row INSERTs. Elsewhere, one
        statement per row returns each id.
        """
        if not rows:
            return []
        if not isinstance(self.db, peewee.SqliteDatabase):
            return [self.insert(row) for row in rows]
        top = self.db.execute_sql(f'SELECT max("{self.pk}") FROM "{self.table}"').fetchone()[0]
        first = int(top or 0) + 1
        ids = list(range(first, first + len(rows)))
        self._insert_rows(f'"{self.pk}", {self.columns}', f"{self.db.param}, {self.marks}",
                          [[new_id, *self._params(row)]
                           for new_id, row in zip(ids, rows, strict=True)])
        return ids

    def _insert_rows(self, columns: str, marks: str, params: list[list]) -> None:
        """One INSERT of many rows per statement (SQLite runs it in about half the time
        of the same rows through executemany), as many rows as the driver takes."""
        width = len(params[0])
        per = max(1, _max_parameters(self.db) // width)
        for start in range(0, len(params), per):
            chunk = params[start:start + per]
            sql = (f'INSERT INTO "{self.table}" ({columns}) VALUES '
                   + ", ".join([f"({marks})"] * len(chunk)))
            # The wrapper turns driver errors into peewee's (IntegrityError …), as
            # execute_sql does, so callers see one kind of error whatever the backend.
            with peewee.__exception_wrapper__:
                self.db.cursor().execute(sql, [value for row in chunk for value in row])


def _max_parameters(db: peewee.Database) -> int:
    """How many bound values one statement may carry on this connection."""
    if isinstance(db, peewee.SqliteDatabase):
        import sqlite3

        # 999 before SQLite 3.32, 32766 since: ask the library in use.
        return db.connection().getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return 65535  # PostgreSQL's protocol limit


def incoming_text(mail: IncomingMail) -> str:
    """The activity text of an incoming message: a short header, the body and any notes."""
    parsed = mail.parsed
    sender = parsed.from_address or "(unknown sender)"
    if parsed.from_name:
        sender = f"{parsed.from_name} <{sender}>"
    lines = [f"From: {sender}", f"Subject: {parsed.subject}"]
    if parsed.date is not None:
        when = parsed.date  # as strftime("%Y-%m-%d %H:%M"), without its cost
        lines.append(f"Date: {when.year:04d}-{when.month:02d}-{when.day:02d} "
                     f"{when.hour:02d}:{when.minute:02d} UTC")
    head = "\n".join(lines)
    if mail.headers_only:
        return (f"{head}\n\nThis message is {mail.size} bytes, over the size limit; it was not "
                "downloaded. Read it in the mailbox.")
    notes = [n for n in parsed.notes if not n.startswith("MIME defects")]
    defects = [n for n in parsed.notes if n.startswith("MIME defects")]
    text = f"{head}\n\n{parsed.text}".rstrip()
    if notes or defects:
        text += "\n\n" + "\n".join(f"[{n}]" for n in [*notes, *defects])
    return text
