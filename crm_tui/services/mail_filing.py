"""Filing incoming mail on leads: routing, the sender rule and the exactly-once ledger.

A system action: :func:`file_incoming` takes no user and applies the routing and sender rules
of SPEC 6 "Routing" and SPEC 9 itself. Which lead a message belongs to is decided here; the
mail package only reads and parses.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
import mimetypes
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import peewee

from crm_tui.db import write_transaction
from crm_tui.mail.message import ParsedMessage
from crm_tui.mail.tokens import find_lead_token
from crm_tui.models import Attachment, Contact, FiledMessage, Lead, LeadActivity, SentMail, User
from crm_tui.services import history, mail_bounces, mail_seen
from crm_tui.services.attachments import display_name
from crm_tui.services.context import Clock, FrozenClock, Session
from crm_tui.services.merging import redirected
from crm_tui.services.prepared_insert import Prepared
from crm_tui.services.staged_files import StagedFiles

#: What the ledger (FiledMessage.outcome) says happened to a message.
OUTCOMES = ("filed", "oversized", "unmatched", "auto", "discarded")
# FiledMessage.key is a 300-character column; longer Message-IDs are stored as their hash.
_MAX_KEY = 300
# SQLite's default limit on bound variables is far above this; it keeps IN lists small.
_IN_CHUNK = 500
_HOUR = dt.timedelta(hours=1)


@dataclass
class IncomingMail:
    """One message read from the mailbox, with where it sits (folder, UIDVALIDITY and UID).

    ``headers_only`` says the message was over the size limit and only its header was
    downloaded; ``size`` is then the size the server reported. ``quarantined`` names the
    raw copy kept for replay of a message over a parsing limit (``parsed.over_limit``).
    ``arrived`` is when the server received it (INTERNALDATE, UTC; None: unknown, then
    the filing time counts). ``raw`` is the message as downloaded: an unmatched message
    keeps it in the ledger, to be assigned later.
    """

    parsed: ParsedMessage
    uidvalidity: int | None = None
    uid: int | None = None
    headers_only: bool = False
    size: int = 0
    folder: str = "INBOX"
    quarantined: str = ""
    arrived: dt.datetime | None = None
    raw: bytes = b""


#: Makes a lead for a message from an unknown sender (``mail.create_leads``); its id, or
#: None when the sender is known after all.
NewLead = Callable[[IncomingMail], "int | None"]


@dataclass(frozen=True)
class Route:
    """Which lead a message belongs to (``lead_id`` None: unmatched, ``reason`` says why).

    ``unrouted``: nothing in the message named a lead at all (no thread, token or header).
    """

    lead_id: int | None
    via: str = ""
    reason: str = ""
    unrouted: bool = False


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

    def __init__(self, mails: Sequence[IncomingMail], *, max_per_hour: int = 0,
                 now: dt.datetime | None = None, new_lead: NewLead | None = None) -> None:
        self.new_lead = new_lead
        thread_ids = sorted({i for m in mails for i in m.parsed.thread_ids}
                            | mail_bounces.original_ids(m.parsed for m in mails))
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
        # A lead merged into another still receives its mail: its id leads to the kept one.
        self.merged = redirected("lead", lead_ids)
        lead_ids.update(self.merged.values())
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
        self.max_per_hour = max_per_hour
        self.now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
        # Arrival times of mail filed around this batch's, by sender and by lead, sorted.
        self.by_sender: dict[str, list[dt.datetime]] = {}
        self.by_lead: dict[int, list[dt.datetime]] = {}
        if max_per_hour > 0 and mails:
            self._load_arrivals(mails, senders, sorted(self.leads))

    def arrival(self, mail: IncomingMail) -> dt.datetime:
        """When ``mail`` arrived (the filing time when the server did not say)."""
        return mail.arrived or self.now

    def _load_arrivals(self, mails: Sequence[IncomingMail], senders: list[str],
                       lead_ids: list[int]) -> None:
        """Arrival times of mail filed within an hour of this batch's, by sender and lead."""
        times = [self.arrival(m) for m in mails]
        window = ((FiledMessage.arrived > min(times) - _HOUR)
                  & (FiledMessage.arrived <= max(times))
                  & FiledMessage.outcome.in_(("filed", "oversized")))
        for chunk in _chunks(senders):
            query = (FiledMessage.select(FiledMessage.sender, FiledMessage.arrived)
                     .where(window & FiledMessage.sender.in_(chunk)).tuples())
            for sender, arrived in query:
                self.by_sender.setdefault(sender, []).append(arrived)
        for chunk in _chunks(lead_ids):
            query = (FiledMessage.select(FiledMessage.lead, FiledMessage.arrived)
                     .where(window & FiledMessage.lead.in_(chunk)).tuples())
            for lead_id, arrived in query:
                self.by_lead.setdefault(lead_id, []).append(arrived)
        for found in (*self.by_sender.values(), *self.by_lead.values()):
            found.sort()

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
        """Match a message to a lead: thread ids, then the subject token, then X-CRM-Lead.

        Every route names a lead only when the sender may write to it (SPEC 9): knowing a
        Message-ID or a lead number is not enough.
        """
        if not parsed.from_address:
            return Route(None, "", f"unknown sender: {parsed.sender_problem or 'no From'}")
        reasons: list[str] = []
        tried: set[int] = set()
        candidates = [("reply to mail the CRM sent", self.sent.get(msgid))
                      for msgid in parsed.thread_ids]
        candidates += [("subject token", self.token(parsed.subject)),
                       ("X-CRM-Lead header", parsed.x_crm_lead)]
        for via, lead_id in candidates:
            lead_id = self.merged.get(lead_id, lead_id)
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
                    f"{parsed.from_address} is not its address, a contact of its "
                    "company, a CRM user or a recipient of its mail"
                )
                continue
            return Route(lead_id, via)
        if not reasons:
            return Route(None, "", "no [Lead#] token, X-CRM-Lead header or reply to mail the "
                         "CRM sent", unrouted=True)
        return Route(None, "", "; ".join(reasons))

    def throttled(self, mail: IncomingMail, lead_id: int | None, *,
                  count: bool = True) -> str | None:
        """Why filing ``mail`` on ``lead_id`` would go over the hourly limit (more than
        ``max_per_hour`` mails from its sender, or to the lead, arrived within the hour up
        to it), or None (then it is counted, unless ``count`` is False)."""
        limit = self.max_per_hour
        if limit <= 0:
            return None
        sender, arrived = mail.parsed.from_address, self.arrival(mail)
        mine = self.by_sender.setdefault(sender, [])
        theirs = self.by_lead.setdefault(lead_id, [])
        if _within_hour(mine, arrived) >= limit:
            return f"throttled: {sender} sent more than {limit} mails within an hour"
        if lead_id is not None and _within_hour(theirs, arrived) >= limit:
            return f"throttled: lead {lead_id} received more than {limit} mails within an hour"
        if count:
            bisect.insort(mine, arrived)
            bisect.insort(theirs, arrived)
        return None


def _within_hour(times: list[dt.datetime], moment: dt.datetime) -> int:
    """How many of the sorted ``times`` lie in the hour up to ``moment``."""
    return bisect.bisect_right(times, moment) - bisect.bisect_right(times, moment - _HOUR)


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
    max_per_hour: int = 0,
    new_lead: NewLead | None = None,
) -> list[FileResult]:
    """File a batch of incoming messages on their leads, all in one transaction.

    For each message, in order: a copy of a message the ledger holds as filed is a
    duplicate (but one whose Message-ID was filed with other content is unmatched: the
    Message-ID was reused); a machine-made message is recorded as ``auto``; a message
    routed to a lead (the sender allowed, within ``max_per_hour`` per sender and per lead,
    0 for no limit) becomes an ``email_in`` activity entry (author: the sender) with its
    attachments under generated names; the rest is recorded as ``unmatched`` with the
    reason. A message the ledger holds as unmatched or auto is judged again, so a later
    copy that names its lead is filed. The ledger row is written in the same transaction
    as the activity entry, so a message is filed once whatever happens; the caller flags
    or moves messages only after this returns. With ``new_lead`` (``mail.create_leads``),
    a message that names no lead at all gets the lead it makes (an unknown sender), in the
    same transaction. ``present_uids`` are UIDs now in the
    messages' folder (same UIDVALIDITY; those not yet flagged as filed are enough: only
    unflagged copies can need moving). The attachment files are written through ``staged``
    (a fresh one when None), which is committed here.

    Raises:
        peewee.IntegrityError: another process filed one of these at the same moment (the
            batch is rolled back; file the messages one by one to sort them out).
        OSError: an attachment could not be written (the batch is rolled back).
    """
    if staged is None:
        with StagedFiles() as own:
            return file_incoming(mails, present_uids=present_uids, clock=clock, staged=own,
                                 max_per_hour=max_per_hour, new_lead=new_lead)
    clock = clock or Clock()
    present = {int(u) for u in present_uids}
    with write_transaction():
        now = clock.now()
        keys = [ledger_key(m.parsed) for m in mails]
        ledger = _ledger_entries([*keys, *(_content_key(m.parsed) for m in mails)])
        routing = _Routing(mails, max_per_hour=max_per_hour, now=now, new_lead=new_lead)
        plans = [_decide(mail, key, ledger, routing, present)
                 for mail, key in zip(mails, keys, strict=True)]
        stored = _write(plans, staged, now)
    staged.committed(stored)
    return [p.result() for p in plans]


#: Who the history names for what the mail worker files itself.
MAIL_AUTHOR = "mail"


def mail_session(now: dt.datetime) -> Session:
    """The mail worker acting: a stand-in user that is never stored, recorded in the
    history as ``mail`` with the face ``mail``."""
    return Session(User(login=MAIL_AUTHOR, superadmin=True, language="en"), FrozenClock(now),
                   face="mail")


_DISPOSITION = {"filed": "flag", "unmatched": "unmatched", "oversized": "leave", "auto": "leave",
                "discarded": "leave"}
NEW_LEAD_VIA = "new lead from an unknown sender"
REUSED_ID = "Message-ID reused with different content"


@dataclass
class _Entry:
    """A ledger entry, stored (``row`` is its id) or planned in this batch."""

    folder: str
    uidvalidity: int | None
    uid: int | None
    outcome: str
    lead_id: int | None
    row: int | None = None
    digest: str = ""

    def move(self, folder: str, mail: IncomingMail, outcome: str, lead_id: int | None) -> None:
        self.folder, self.uidvalidity, self.uid = folder, mail.uidvalidity, mail.uid
        self.outcome, self.lead_id, self.digest = outcome, lead_id, mail.parsed.digest


def _content_key(parsed: ParsedMessage) -> str:
    return "sha256:" + parsed.digest


def _ledger_entries(keys: Sequence[str]) -> dict[str, _Entry]:
    """The ledger rows of these keys (plain SQL: a peewee query costs more than the read)."""
    from crm_tui.db import database

    db = database.obj
    ledger: dict[str, _Entry] = {}
    for chunk in _chunks(sorted(set(keys))):
        marks = ", ".join([db.param] * len(chunk))
        cursor = db.execute_sql(
            'SELECT "id", "key", "folder", "uidvalidity", "uid", "outcome", "lead_id", "digest" '
            f'FROM "filed_message" WHERE "key" IN ({marks})', chunk)
        for row_id, key, folder, uidvalidity, uid, outcome, lead_id, digest in cursor.fetchall():
            ledger[key] = _Entry(folder, uidvalidity, uid, outcome, lead_id, row_id, digest)
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


def _judge(mail: IncomingMail, routing: _Routing) -> tuple[str, int | None, str]:
    """(outcome, lead id, reason) for a message seen for the first time (or seen before
    and not filed): auto, unmatched (with why) or filed on the lead it routes to."""
    parsed = mail.parsed
    # A bounce of the CRM's own mail comes from a mailer-daemon: recognised before the
    # auto-reply rule would drop it.
    bounced = mail_bounces.bounced_lead(parsed, routing.sent, routing.recipients)
    if bounced is not None:
        return "filed", bounced, mail_bounces.VIA
    if parsed.auto_generated:
        return "auto", None, parsed.auto_generated
    found = routing.route(parsed)
    if found.unrouted and routing.new_lead is not None:
        # A flood from one stranger makes no flood of leads: the hourly limit first.
        throttled = routing.throttled(mail, None, count=False)
        if throttled:
            return "unmatched", None, throttled
        made = routing.new_lead(mail)
        if made is not None:
            routing.throttled(mail, made)  # counted; a new lead has room
            found = Route(made, NEW_LEAD_VIA)
    reason = found.reason
    if found.lead_id is not None and found.via != NEW_LEAD_VIA:
        reason = routing.throttled(mail, found.lead_id) or ""
    if found.lead_id is None or reason:
        if parsed.over_limit:
            reason += f"; not read: {parsed.over_limit}"
        return "unmatched", None, reason
    outcome = "oversized" if mail.headers_only or parsed.over_limit else "filed"
    return outcome, found.lead_id, found.via


def _decide(
    mail: IncomingMail, key: str, ledger: dict[str, _Entry], routing: _Routing, present: set[int]
) -> _Plan:
    parsed = mail.parsed
    entry = ledger.get(key)
    folder = ledger_folder(mail.folder)
    if entry is not None and mail.uid is not None and (
            entry.folder, entry.uidvalidity, entry.uid) == (folder, mail.uidvalidity, mail.uid):
        # This very copy: another sync got here first (or this one was killed before
        # flagging).
        return _Plan(mail, key, "duplicate", _DISPOSITION.get(entry.outcome, "leave"),
                     entry.lead_id, "already handled")
    if (entry is not None and parsed.message_id is not None and entry.digest
            and entry.digest != parsed.digest):
        # The Message-ID is known, the content is not: another message under a reused id.
        key, filed = _content_key(parsed), entry.outcome in ("filed", "oversized")
        entry = ledger.get(key)
        if entry is None and filed:
            ledger[key] = _Entry(folder, mail.uidvalidity, mail.uid, "unmatched", None,
                                 digest=parsed.digest)
            return _Plan(mail, key, "unmatched", "unmatched", None, REUSED_ID, new_entry=True)
    if entry is not None and entry.outcome in ("filed", "oversized"):
        return _Plan(mail, key, "duplicate", _DISPOSITION[entry.outcome], entry.lead_id,
                     f"same message as one already {entry.outcome}")
    # New, or recorded as unmatched or auto: judged (again). A Message-ID recorded for a
    # message that was not filed never keeps a later copy from its lead.
    outcome, lead_id, reason = _judge(mail, routing)
    if entry is None:
        ledger[key] = _Entry(folder, mail.uidvalidity, mail.uid, outcome, lead_id,
                             digest=parsed.digest)
        return _Plan(mail, key, outcome, _DISPOSITION[outcome], lead_id, reason,
                     new_entry=True, write_activity=lead_id is not None)
    still_there = (entry.folder == folder and entry.uidvalidity == mail.uidvalidity
                   and entry.uid in present)
    if entry.row is None or (still_there and lead_id is None):
        # Its twin is in this batch, or still in the mailbox and judged the same way: a
        # copy in this batch that would be filed is filed by the next pass.
        return _Plan(mail, key, "duplicate", "leave" if lead_id else _DISPOSITION[outcome],
                     None, f"same message as one already {entry.outcome}")
    # Filed now, or the recorded copy is gone (moved back, renumbered): this copy takes
    # the ledger entry over. Nothing is filed twice and nothing is skipped.
    entry.move(folder, mail, outcome, lead_id)
    return _Plan(mail, key, outcome, _DISPOSITION[outcome], lead_id, reason,
                 update=entry.row, write_activity=lead_id is not None)


def _write(plans: list[_Plan], staged: StagedFiles, now: dt.datetime,
           session: Session | None = None) -> list[str]:
    """Write the batch: activity entries, attachments and ledger rows, each with one
    prepared statement (PERF: building peewee queries row by row was most of the ingest's
    time), and each filed message in its lead's history (by `session`'s user, else the
    mail worker). Returns the stored names of the attachment files the rows refer to."""
    writing = [plan for plan in plans if plan.write_activity]
    authors = [(plan.mail.parsed.from_address or "(unknown sender)")[:200] for plan in writing]
    # The files first, on a background thread (from a few files on), so the kernel creates
    # them while the rows are written; all are there before the commit.
    kept = [(index, att, display_name(att.filename))
            for index, plan in enumerate(writing) if not plan.mail.headers_only
            for att in plan.mail.parsed.attachments
            if not att.dropped]  # a dropped one is named in the text
    stored = staged.write_many([(att.data, name) for _i, att, name in kept], background=True)
    activities = Prepared(LeadActivity, ("lead", "kind", "author", "created", "text"))
    ids = activities.insert_all([(plan.lead_id, "email_in", author, now,
                                  incoming_text(plan.mail))
                                 for plan, author in zip(writing, authors, strict=True)])
    for plan, activity_id in zip(writing, ids, strict=True):
        plan.activity_id = activity_id
    mail_bounces.mark_failed([p.mail.parsed for p in writing if p.reason == mail_bounces.VIA])
    attachments = []
    for (index, att, name), stored_name in zip(kept, stored, strict=True):
        content_type = ((att.content_type or "")[:100] or mimetypes.guess_type(name)[0]
                        or "application/octet-stream")
        attachments.append(("lead_activity", ids[index], name, stored_name, content_type,
                            len(att.data), authors[index], now))
    Prepared(Attachment, ("owner_kind", "owner_id", "original_name", "stored_name",
                           "content_type", "size", "author", "created")).insert_many(attachments)
    files: dict[int, list[str]] = {}
    for index, _att, name in kept:
        files.setdefault(index, []).append(name)
    history.record_many(session or mail_session(now), "lead", [
        (plan.lead_id, "change", history.activity_changes(
            "email_in", f"{author}: {plan.mail.parsed.subject}", files.get(index, ())))
        for index, (plan, author) in enumerate(zip(writing, authors, strict=True))])
    rows = []
    for plan in plans:
        folder = ledger_folder(plan.mail.folder)
        parsed = plan.mail.parsed
        # An unmatched message keeps its raw copy, to be assigned from the database.
        held = plan.mail.raw if plan.outcome == "unmatched" and plan.mail.raw else None
        size = plan.mail.size if plan.mail.headers_only else None
        if plan.new_entry:
            rows.append((plan.key, folder, plan.mail.uidvalidity, plan.mail.uid, plan.lead_id,
                         plan.activity_id, plan.outcome, plan.reason, now, parsed.from_address,
                         parsed.digest, plan.mail.arrived or now, parsed.subject[:300], held,
                         size))
        elif plan.update is not None:
            FiledMessage.update({
                FiledMessage.folder: folder, FiledMessage.uidvalidity: plan.mail.uidvalidity,
                FiledMessage.uid: plan.mail.uid, FiledMessage.outcome: plan.outcome,
                FiledMessage.lead: plan.lead_id, FiledMessage.activity: plan.activity_id,
                FiledMessage.reason: plan.reason, FiledMessage.created: now,
                FiledMessage.sender: parsed.from_address, FiledMessage.digest: parsed.digest,
                FiledMessage.arrived: plan.mail.arrived or now,
                FiledMessage.subject: parsed.subject[:300], FiledMessage.raw: held,
                FiledMessage.size: size,
            }).where(FiledMessage.id == plan.update).execute()
    Prepared(FiledMessage, ("key", "folder", "uidvalidity", "uid", "lead", "activity",
                            "outcome", "reason", "created", "sender", "digest",
                            "arrived", "subject", "raw", "size")).insert_many(rows)
    touched = sorted({p.lead_id for p in plans if p.activity_id is not None})
    for chunk in _chunks(touched):
        Lead.update(updated=now).where(Lead.id.in_(chunk)).execute()
    mail_seen.mark_unseen([p.lead_id for p in plans if p.activity_id is not None], now)
    staged.wait()  # an attachment that could not be written rolls the batch back
    return stored


def file_held(mail: IncomingMail, row_id: int, lead_id: int, reason: str,
              staged: StagedFiles, now: dt.datetime, session: Session | None = None) -> int:
    """File a message the ledger holds (row ``row_id``) on ``lead_id``: its activity entry
    and attachments, and the ledger row turned to filed, its raw copy dropped. Call it
    inside the caller's write transaction, after checking the row is still unmatched.
    Returns the activity id; the caller calls ``staged.committed()`` after the commit.
    The lead's history names `session`'s user (the one who assigned it), else the worker."""
    plan = _Plan(mail, "", "filed", "flag", lead_id, reason, update=row_id, write_activity=True)
    _write([plan], staged, now, session)
    return plan.activity_id


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
    if parsed.over_limit:
        kept = (f" Its raw copy is kept for replay as {mail.quarantined}." if mail.quarantined
                else " Read it in the mailbox.")
        return (f"{head}\n\nThis message ({parsed.size} bytes) was not read: "
                f"{parsed.over_limit}.{kept}")
    if parsed.bounce is not None:
        head += "\n\n" + "\n".join(mail_bounces.failure_lines(parsed))
    notes = [n for n in parsed.notes if not n.startswith("MIME defects")]
    defects = [n for n in parsed.notes if n.startswith("MIME defects")]
    text = f"{head}\n\n{parsed.text}".rstrip()
    if notes or defects:
        text += "\n\n" + "\n".join(f"[{n}]" for n in [*notes, *defects])
    return text
