"""Unmatched and quarantined mail in the CRM: listed with the reason, assigned to a lead,
turned into a lead, discarded, or (quarantined) replayed.

Who may do what (the rule, written once):

- Unmatched mail belongs to no lead, so it is for those who may create or change leads:
  superadmins, and users with CR and LW or LM. They list and read it, assign it to a lead
  they may modify, and make a new lead of it (if they may create leads).
- Discarding throws mail away, like deleting a lead: superadmins and users with LM.
- Quarantined copies are raw files of any message (also of leads a user may not see):
  superadmins only.

The ledger row (:class:`~crm_tui.models.FiledMessage`) is the unmatched message: its id is
what users address, and turning its outcome from ``unmatched`` to ``filed`` in the
transaction that writes the activity entry is what makes assigning happen exactly once
(a second assign finds it filed; a later sync finds its Message-ID filed).
"""

from __future__ import annotations

import re

import peewee

from crm_tui import acl, db
from crm_tui.db import write_transaction
from crm_tui.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm_tui.i18n import N_, _, kind_name, said
from crm_tui.mail import quarantine
from crm_tui.mail.errors import MESSAGES
from crm_tui.mail.message import Limits, parse_message
from crm_tui.models import FiledMessage, Lead
from crm_tui.services import mail_filing, settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.leads import create_lead
from crm_tui.services.records import get_kind, not_found
from crm_tui.services.staged_files import StagedFiles

#: The most rows a list shows (newest first).
LIST_LIMIT = 500
_NAMES_LEAD = re.compile(r"\A(?P<via>.*?) names lead (?P<id>\d+)(?:,.*)?\Z", re.S)
_LEAD_THROTTLED = re.compile(r"\Athrottled: lead \d+ received more than (?P<n>\d+)")

REASONS: tuple[str, ...] = (
    N_("{via} names lead {id}, which does not exist"),
    N_("{via} names lead {id}, but the sender {sender} is not its address, a contact of its "
       "company, a CRM user or a recipient of its mail"),
    N_("no [Lead#] token, X-CRM-Lead header or reply to mail the CRM sent"),
    N_("unknown sender: {problem}"),
    N_("throttled: {sender} sent more than {limit} mails within an hour"),
    N_("throttled: lead {id} received more than {limit} mails within an hour"),
    N_("throttled: its lead received more than {limit} mails within an hour"),
    N_("not read: {why}"),
    N_("reply to mail the CRM sent"), N_("subject token"), N_("X-CRM-Lead header"),
)
"""The reasons mail filing stores (English, as every reader's list is made from them); a
reader reads each known one in his language, the rest (a parser's words) as stored."""


# -- who may ------------------------------------------------------------------------------------


def may_handle(session: Session) -> bool:
    """Whether the user may list, read and assign unmatched mail."""
    user = session.user
    return acl.is_admin(user) or (acl.has(user, "CR")
                                  and (acl.has(user, "LW") or acl.has(user, "LM")))


def may_discard(session: Session) -> bool:
    """Whether the user may discard unmatched mail (LM, as deleting leads)."""
    return acl.can_manage_leads(session.user)


def may_replay(session: Session) -> bool:
    """Whether the user may list and replay quarantined mail (superadmins)."""
    return acl.is_admin(session.user)


def _check(allowed: bool, session: Session, what: str) -> None:
    if not allowed:
        raise PermissionDenied(_("{login} may not {what}").format(login=session.login, what=_(what)))


# -- reading ------------------------------------------------------------------------------------


def _limits() -> Limits:
    """The parsing limits as configured (no secret is read)."""
    from crm_tui.mail.config import MailConfigError, from_settings

    try:
        return from_settings(settings.values("mail.")).limits
    except MailConfigError as exc:
        raise ValidationFailed.one(_("setting {key}").format(key=exc.key), "value", exc.value, said(exc.reason)) from None


def _ingest_folder() -> str:
    return mail_filing.ledger_folder(settings.raw_value("mail.imap_folder"))


def _reasons(session: Session, rows: list[FiledMessage]) -> dict[int, str]:
    """Each row's reason as the user may read it (in English: see `readable_reason`): a lead
    he may not see reads like one that does not exist (SPEC 1, "Nothing leaks")."""
    mentioned = {int(m) for r in rows for m in re.findall(r"\blead (\d+)", r.reason or "")}
    visible: set[int] = set()
    if mentioned:
        query = get_kind("lead").query(session).where(Lead.id.in_(sorted(mentioned)))
        visible = {lead_id for (lead_id,) in query.select(Lead.id).tuples()}
    out = {}
    for row in rows:
        parts = []
        for part in (row.reason or "").split("; "):
            found = _NAMES_LEAD.match(part)
            if found and int(found["id"]) not in visible:
                part = f"{found['via']} names lead {found['id']}, which does not exist"
            throttled = _LEAD_THROTTLED.match(part)
            if throttled and not acl.is_admin(session.user):
                part = (f"throttled: its lead received more than {throttled['n']} mails "
                        "within an hour")
            parts.append(part)
        out[row.id] = "; ".join(parts)
    return out


def readable_reason(reason: str) -> str:
    """A reason as a person reads it, in his language, for the faces that show it (it is
    stored and given in --json in English, the scripting contract); free text stays."""
    known = (*REASONS, *MESSAGES)  # a quarantined copy's reason is a mail error or limit
    return "; ".join(said(part, known) for part in (reason or "").split("; "))


def _row(row: FiledMessage, reason: str) -> dict:
    size = row.size if row.size is not None else len(row.raw or b"")
    return {"id": row.id, "arrived": V.render(row.arrived or row.created),
            "sender": row.sender, "subject": row.subject, "reason": reason, "size": size,
            "headers_only": row.size is not None}


_LIST_COLUMNS = (FiledMessage.id, FiledMessage.arrived, FiledMessage.created,
                 FiledMessage.sender, FiledMessage.subject, FiledMessage.reason,
                 FiledMessage.size, FiledMessage.outcome)


def list_unmatched(session: Session, limit: int = LIST_LIMIT) -> list[dict]:
    """The unmatched messages, newest first, each with its reason.

    Raises:
        PermissionDenied: the user may not handle unmatched mail.
    """
    _check(may_handle(session), session, N_("see unmatched mail (needs LW or LM)"))
    # The raw copy is not read for a list: its length comes from the database.
    length = peewee.fn.LENGTH(FiledMessage.raw).alias("raw_length")
    rows = list(FiledMessage.select(*_LIST_COLUMNS, length)
                .where(FiledMessage.outcome == "unmatched")
                .order_by(FiledMessage.id.desc()).limit(limit))
    reasons = _reasons(session, rows)
    out = []
    for row in rows:
        item = _row(row, reasons[row.id])
        if row.size is None:
            item["size"] = row.raw_length or 0
        out.append(item)
    return out


def count_unmatched(session: Session) -> int:
    """How many messages are unmatched (0 for a user who may not handle them)."""
    if not may_handle(session):
        return 0
    return FiledMessage.select().where(FiledMessage.outcome == "unmatched").count()


def _load(session: Session, mail_id: int | str) -> FiledMessage:
    """The unmatched message ``mail_id`` (locked for the transaction on PostgreSQL).

    Raises:
        NotFound: no such message (mail that was never unmatched is not addressed here).
        Conflict: it was unmatched and has been assigned, filed or discarded since.
    """
    text = str(mail_id).strip()
    if not (text.isascii() and text.isdecimal()):
        raise ValidationFailed.one("unmatched mail", "id", mail_id, _("must be a number"))
    query = FiledMessage.select().where(FiledMessage.id == int(text))
    if db.is_postgres() and db.database.in_transaction():
        query = query.for_update()
    row = query.first()
    if row is None or row.outcome == "auto":
        raise not_found("unmatched mail", text)
    if row.outcome == "discarded":
        raise Conflict(_("unmatched mail {text} was discarded ({reason})").format(text=text, reason=row.reason))
    if row.outcome != "unmatched":
        if (row.reason or "").startswith(("assigned by", "new lead by")):
            raise Conflict(_("unmatched mail {text} was already filed ({reason})").format(text=text, reason=row.reason))
        raise Conflict(_("unmatched mail {text} was already filed (it is no longer unmatched)").format(text=text))
    return row


def _incoming(row: FiledMessage, limits: Limits) -> mail_filing.IncomingMail:
    """The message of a ledger row, parsed again from its raw copy."""
    if row.raw is None:
        raise Conflict(_("unmatched mail {id} has no copy in the CRM (it was read before "
                         "copies were kept): file it from the mailbox").format(id=row.id))
    raw = bytes(row.raw)
    parsed = parse_message(raw, limits=limits)
    headers_only = row.size is not None
    if headers_only:
        parsed.oversized = True
    return mail_filing.IncomingMail(parsed, row.uidvalidity, row.uid, headers_only,
                                    row.size or len(raw), row.folder, arrived=row.arrived,
                                    raw=raw)


def show(session: Session, mail_id: int | str) -> dict:
    """One unmatched message: its row, the text it would be filed with, its attachments.

    Raises:
        PermissionDenied, NotFound, Conflict (no longer unmatched).
    """
    _check(may_handle(session), session, N_("see unmatched mail (needs LW or LM)"))
    row = _load(session, mail_id)
    mail = _incoming(row, _limits())
    item = _row(row, _reasons(session, [row])[row.id])
    item["message_id"] = mail.parsed.message_id or ""
    item["text"] = mail_filing.incoming_text(mail)
    item["attachments"] = [{"name": a.filename, "size": len(a.data)}
                           for a in mail.parsed.attachments if not a.dropped]
    return item


def assign_choices(session: Session, text: str = "", limit: int = 20) -> list[tuple[int, str]]:
    """Leads the user may file mail on whose name, email or company matches ``text``, as
    (id, label), for a picker."""
    query = (get_kind("lead").query(session, {"q": text.strip(), "modifiable": "1"}
                                    if text.strip() else {"modifiable": "1"})
             .select(Lead.id, Lead.full_name, Lead.email, Lead.company_name)
             .order_by(Lead.full_name, Lead.id).limit(limit))
    out = []
    for lead_id, name, email, company in query.tuples():
        extra = ", ".join(x for x in (email, company) if x)
        out.append((lead_id, f"#{lead_id} {name}" + (f" ({extra})" if extra else "")))
    return out


# -- changing -----------------------------------------------------------------------------------


def _file_on(session: Session, row: FiledMessage, lead_id: int, reason: str,
             staged: StagedFiles, limits: Limits) -> int:
    mail = _incoming(row, limits)
    return mail_filing.file_held(mail, row.id, lead_id, reason, staged, session.clock.now(),
                                 session)


def assign(session: Session, mail_id: int | str, lead_id: int | str) -> dict:
    """File unmatched message ``mail_id`` on lead ``lead_id`` (exactly once).

    Raises:
        PermissionDenied (may not handle unmatched mail, or not modify the lead), NotFound
        (no such message, or a lead that does not exist or is hidden: the same answer),
        Conflict (already assigned, filed or discarded).
    """
    _check(may_handle(session), session, N_("assign unmatched mail (needs LW or LM)"))
    limits = _limits()
    kind = get_kind("lead")
    with StagedFiles() as staged:
        with write_transaction():
            row = _load(session, mail_id)
            lead = kind.load(session, lead_id)
            kind.check_modify(session, lead)
            activity = _file_on(session, row, lead.id, f"assigned by {session.login}",
                                staged, limits)
        staged.committed()
    return {"id": row.id, "lead": lead.id, "activity": activity, "status": "filed"}


def new_lead(session: Session, mail_id: int | str) -> dict:
    """Make a lead of unmatched message ``mail_id`` (its sender's name and address, owned by
    the user) and file the message on it, in one transaction.

    Raises:
        PermissionDenied (may not create leads), NotFound, Conflict, ValidationFailed (the
        message has no sender address a lead can hold).
    """
    from crm_tui.services.mail_leads import lead_values

    _check(may_handle(session), session, N_("make leads of unmatched mail (needs LW or LM)"))
    limits = _limits()
    with StagedFiles() as staged:
        with write_transaction():
            row = _load(session, mail_id)
            mail = _incoming(row, limits)
            if not mail.parsed.from_address:
                raise ValidationFailed.one(f"{kind_name('unmatched mail')} {row.id}", "from",
                                           mail.parsed.sender_problem or "",
                                           _("no single sender address to make a lead of"))
            values = lead_values(mail, None)
            created = create_lead(session, values,
                                  note=f"Created from mail of {values['email']}")
            activity = mail_filing.file_held(mail, row.id, created.id,
                                             f"new lead by {session.login}", staged,
                                             session.clock.now(), session)
        staged.committed()
    return {"id": row.id, "lead": created.id, "activity": activity, "status": "filed"}


def discard(session: Session, mail_id: int | str) -> dict:
    """Throw unmatched message ``mail_id`` away: it leaves the list and its copy is dropped.

    A later copy of it that names its lead is still filed (a discarded Message-ID blocks
    nothing).

    Raises:
        PermissionDenied (needs LM), NotFound, Conflict (no longer unmatched).
    """
    _check(may_discard(session), session, N_("discard unmatched mail (needs LM)"))
    with write_transaction():
        row = _load(session, mail_id)
        (FiledMessage.update(outcome="discarded", raw=None,
                             reason=f"discarded by {session.login}")
         .where(FiledMessage.id == row.id, FiledMessage.outcome == "unmatched").execute())
    return {"id": row.id, "status": "discarded"}


# -- quarantine ---------------------------------------------------------------------------------


def _kept_row(kept: quarantine.Kept) -> dict:
    return {"id": kept.id, "kept": V.render(kept.kept_at), "sender": kept.sender,
            "subject": kept.subject, "reason": kept.reason, "size": kept.size}


def list_quarantine(session: Session) -> list[dict]:
    """The raw copies kept for replay, oldest first, each with its reason.

    Raises:
        PermissionDenied: not a superadmin.
    """
    _check(may_replay(session), session, N_("see quarantined mail (superadmins only)"))
    return [_kept_row(k) for k in quarantine.kept()]


def replay(session: Session, kept_id: str) -> dict:
    """Read a quarantined copy again with the limits as now configured and file it.

    A message filed as a note (over a limit) gets its whole content filed on the same lead;
    any other goes through the ingest's rules as if it had just arrived. The copy is removed
    once the ledger says what happened to it; a message still over a limit stays.

    Returns:
        ``{"id", "outcome", "lead", "reason"}``; outcome ``filed``, ``unmatched``, ``auto``
        or ``duplicate`` (it was filed already).

    Raises:
        PermissionDenied (superadmins only), NotFound, Conflict (still over a limit).
    """
    _check(may_replay(session), session, N_("replay quarantined mail (superadmins only)"))
    kept = quarantine.describe(str(kept_id).strip())
    raw = quarantine.read(kept.id) if kept is not None else None
    if kept is None or raw is None:
        raise not_found("quarantined mail", kept_id)
    parsed = parse_message(raw, limits=_limits())
    if parsed.over_limit is not None:
        raise Conflict(_("quarantined mail {id} is still over a limit ({over_limit}); raise "
                         "it with crm config set mail.max_... and replay again").format(id=kept.id, over_limit=parsed.over_limit))
    mail = mail_filing.IncomingMail(parsed, None, None, False, len(raw), _ingest_folder(),
                                    raw=raw)
    key = mail_filing.ledger_key(parsed)
    result = None
    with StagedFiles() as staged:
        with write_transaction():
            query = FiledMessage.select().where(FiledMessage.key == key)
            entry = (query.for_update() if db.is_postgres() else query).first()
            if (entry is not None and entry.outcome == "oversized" and entry.lead_id
                    and entry.digest == parsed.digest):
                # Filed as a note naming the limit: now the message itself, on its lead.
                mail = mail_filing.IncomingMail(parsed, entry.uidvalidity, entry.uid, False,
                                                len(raw), entry.folder, arrived=entry.arrived,
                                                raw=raw)
                mail_filing.file_held(mail, entry.id, entry.lead_id,
                                      f"replayed by {session.login}", staged,
                                      session.clock.now(), session)
                result = {"outcome": "filed", "lead": entry.lead_id, "reason": "replayed"}
        if result is not None:
            staged.committed()
    if result is None:
        # Any other: the ingest's own rules, as if it had just arrived (no mailbox place).
        [done] = mail_filing.file_incoming([mail], clock=session.clock)
        result = {"outcome": done.outcome, "lead": done.lead_id, "reason": done.reason}
    quarantine.remove(kept.id)
    if result["lead"] is not None and not get_kind("lead").query(session).where(
            Lead.id == result["lead"]).exists():
        result["lead"] = None
    return {"id": kept.id, **result}


def replay_all(session: Session) -> list[dict]:
    """Replay every quarantined copy; one result each (``error`` says why one stayed).

    Raises:
        PermissionDenied: not a superadmin.
    """
    _check(may_replay(session), session, N_("replay quarantined mail (superadmins only)"))
    results = []
    for kept in quarantine.kept():
        try:
            results.append(replay(session, kept.id))
        except (Conflict, NotFound, ValidationFailed) as exc:
            results.append({"id": kept.id, "outcome": "kept", "lead": None, "reason": "",
                            "error": str(exc)})
    return results
