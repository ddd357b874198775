"""Lead email: templates, reply and forward, each logged in the lead's activity and queued.

Replies and forwards are user actions (the acting user must be allowed to modify the lead).
Filing incoming mail is :mod:`crm_tui.services.mail_filing`.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crm_tui.db import write_transaction
from crm_tui.errors import CrmError, ValidationFailed
from crm_tui.i18n import _, kind_name, said, said_error
from crm_tui.mail import headers
from crm_tui.mail.config import MailConfig, MailConfigError, from_settings
from crm_tui.mail.tokens import subject_with_token
from crm_tui.models import (
    Attachment,
    FiledMessage,
    Lead,
    LeadActivity,
    MailTemplate,
    SentMail,
)
from crm_tui.services import history, privacy, secrets, settings
from crm_tui.services import values as V
from crm_tui.services.attachments import MAX_ATTACHMENT_BYTES, display_name
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from crm_tui.services.staged_files import StagedFiles

_NAME_JUNK_RE = re.compile(r'[\x00-\x1f\x7f"(),:;<>@\[\]\\]')


# -- settings ---------------------------------------------------------------------------------


def mail_config() -> MailConfig:
    """The mail settings as connection configs (the core's own use; no access check).

    Raises:
        ValidationFailed: a ``mail.*`` setting cannot be used; names the key and value.
    """
    try:
        # The passwords come from the secrets file of the account running the worker.
        return from_settings({**settings.values("mail."), **secrets.mail_values()})
    except MailConfigError as exc:
        raise ValidationFailed.one(_("setting {key}").format(key=exc.key), "value", exc.value, said(exc.reason)) from None
    except ValueError as exc:
        raise ValidationFailed.one("settings mail.*", "value", "", said_error(exc)) from None


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
            "setting mail.smtp_host", "value", "", _("not set: mail cannot be sent")
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
    visible = (get_kind("mail-template").query(session).where(MailTemplate.name == name)
               # The company's own version comes last, so it wins over a shared one.
               .order_by(MailTemplate.company.is_null().desc(), MailTemplate.id))
    by_language = {(t.language or "").lower().replace("-", "_"): t for t in visible}
    for key in _language_keys(lead.language):
        if key in by_language:
            return by_language[key]
    if not by_language:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead.id} email", "template", name,
                                   _("no such mail template"))
    raise ValidationFailed.one(
        f"{kind_name('lead')} {lead.id} email", "template", name,
        _("no version in the lead's language {language!r} (there is: {languages})").format(language=lead.language, languages=', '.join(sorted(by_language))),
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
    """What a reply or forward did: the Message-ID, the activity entry, the recipients and
    the outbox row that the mail worker sends."""

    message_id: str
    activity_id: int
    subject: str
    recipients: list[str]
    refused: list[str] = field(default_factory=list)
    mail_id: int | None = None
    status: str = "queued"


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
                raise IsADirectoryError(_("{path} is not a file").format(path=path))
            if size > MAX_ATTACHMENT_BYTES:
                problems.append(("file", str(raw),
                                 _("larger than {size} MB").format(
                                     size=MAX_ATTACHMENT_BYTES // (1024 * 1024))))
                continue
            files.append(OutgoingFile(display_name(path.name), path.read_bytes()))
        except OSError as exc:
            problems.append(("file", str(raw), exc.strerror or str(exc)))
    if problems:
        from crm_tui.errors import Problem

        raise ValidationFailed([Problem(kind_name("attachment"), f, v, r) for f, v, r in problems])
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
        raise ValidationFailed.one(kind_name("attachment"), "files", f"{len(files)} files",
                                   _("together larger than {size} MB").format(size=MAX_ATTACHMENT_BYTES // 2 ** 20))
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
    """Email a lead, copied to the reference mailbox: logged in its activity and queued in the
    outbox in one transaction (the mail worker sends it).

    The subject starts with ``[Lead#<id>]``; ``template`` (a name) fills subject and body
    in the lead's language, and ``subject``/``body`` override what it gives. The sent
    message and its attachments become an ``email_out`` activity entry; its Message-ID is
    kept so that answers find the lead again.

    Raises:
        NotFound, PermissionDenied (the user may not modify the lead), ValidationFailed
        (no address, settings missing, bad template).
    """
    config = config or mail_config()
    lead = _lead(session, lead_id, modify=True)
    problems_record = f"lead {lead.id} email"
    if not (lead.email or "").strip():
        raise ValidationFailed.one(problems_record, "email", "",
                                   _("the lead has no email address to write to"))
    _require_smtp(config)
    sender = _sender_address(session, config)
    if not sender:
        raise ValidationFailed.one("setting mail.from_address", "value", "",
                                   _("not set, and the user has no email address"))
    if not config.reference_address:
        raise ValidationFailed.one("setting mail.reference_address", "value", "",
                                   _("not set: replies are copied to the reference mailbox"))
    template_subject = template_body = ""
    if template:
        template_subject, template_body = render_template(session, lead.id, template, config)
    text_subject = subject if subject else template_subject
    text_body = body if body is not None else template_body
    final_subject = (subject_with_token(lead.id, text_subject) if text_subject
                     else _default_subject(lead))
    files = _check_files(attachments)
    return _queue_and_log(
        session, lead, config,
        to=[lead.email.strip()], cc=[config.reference_address], subject=final_subject,
        body=text_body, files=files, sender=sender,
        log_text=None, in_reply_to=_last_incoming_id(lead.id),
    )


def _last_incoming_id(lead_id: int) -> str | None:
    """The Message-ID of the lead's latest filed mail, so the reply threads under it."""
    rows = (FiledMessage.select(FiledMessage.key)
            .where(FiledMessage.lead == lead_id, FiledMessage.outcome == "filed",
                   ~FiledMessage.key.startswith("sha256:"))
            .order_by(FiledMessage.id.desc()).limit(20))
    # Keys are stored only when they are msg-ids; a row written before that rule (or by
    # hand) is checked again here: what is not a msg-id never reaches a header.
    for row in rows:
        if headers.is_msg_id(row.key):
            return row.key
    return None


def forward(
    session: Session,
    lead_id: int,
    to: str,
    *,
    note: str = "",
    config: MailConfig | None = None,
) -> SentResult:
    """Send a lead's data to someone (a colleague, a partner): logged and queued as a reply.

    The recipient is remembered as a correspondent of the lead, so an answer is filed.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (bad address, settings missing).
    """
    config = config or mail_config()
    lead = _lead(session, lead_id, modify=True)
    try:
        address = V.parse_email(to, required=True)
    except V.BadValue as exc:
        raise ValidationFailed.one(f"{kind_name('lead')} {lead.id} forward", "to", to, str(exc)) from None
    _require_smtp(config)
    sender = _sender_address(session, config)
    if not sender:
        raise ValidationFailed.one("setting mail.from_address", "value", "",
                                   _("not set, and the user has no email address"))
    from crm_tui.services import references

    # The managing company may be hidden from the lead's owner: never its name then.
    body = lead_summary(get_kind("lead").get(session, lead.id),
                        references.title(session, "company", lead.company_id))
    if note.strip():
        body = note.strip() + "\n\n-- \n" + body
    subject = subject_with_token(lead.id, f"Lead: {lead.full_name}"
                                 + (f" ({lead.company_name})" if lead.company_name else ""))
    log_text = f"Forwarded to {address}\nSubject: {subject}"
    if note.strip():
        log_text += "\n\n" + note.strip()
    return _queue_and_log(session, lead, config, to=[address], cc=[], subject=subject, body=body,
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


def _queue_and_log(
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
    """Build the mail and, in one transaction, log it on the lead and put it in the outbox.

    The mail worker sends it (:func:`crm_tui.services.outbox.send_due`); its Message-ID is
    recorded now, so an answer finds the lead whatever happens to the sending.
    """
    from crm_tui.mail.outgoing import build_message

    record = f"lead {lead.id} email"
    privacy.refuse_opted_out(record, [*to, *cc])
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
        data = message.as_bytes()
    except ValueError as exc:
        raise ValidationFailed.one(record, "message", subject, said_error(exc)) from None
    recipients = list(dict.fromkeys(a.lower() for a in [*to, *cc]))
    if log_text is None:
        log_text = f"To: {', '.join(to)}\n"
        if cc:
            log_text += f"Cc: {', '.join(cc)}\n"
        log_text += f"Subject: {subject}\n\n{body or ''}"
    activity_id, mail_id = _log_queued(session, lead.id, log_text.strip(), files, message_id,
                                       recipients, sender, subject, data)
    return SentResult(message_id, activity_id, subject, recipients, mail_id=mail_id)


def _log_queued(
    session: Session,
    lead_id: int,
    text: str,
    files: list[OutgoingFile],
    message_id: str,
    recipients: list[str],
    sender: str,
    subject: str,
    data: bytes,
) -> tuple[int, int]:
    from crm_tui.services import mail_worker, outbox

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
            queued = outbox.queue(lead_id=lead_id, activity_id=entry.id, message_id=message_id,
                                  sender=sender, recipients=recipients, subject=subject,
                                  data=data, author=session.login, now=now)
            Lead.update(updated=now).where(Lead.id == lead_id).execute()
            history.activity(session, "lead", lead_id, "email_out", f"{subject} to "
                             + ", ".join(recipients), files=[f.name for f in files])
            # The watching mail worker takes this as "sync now": the mail goes out in
            # seconds rather than at the next poll.
            mail_worker.request_sync(session)
        staged.committed()
    return entry.id, queued.id


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
