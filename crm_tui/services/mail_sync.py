"""The mailbox ingest: one pass over the reference mailbox (``run_once``) and a watch loop.

Both faces (the TUI's thread worker and ``crm --sync [--watch]``) call these functions; no
Textual here. The mail package reads and parses; filing is
:func:`crm_tui.services.mail_filing.file_incoming`, a system action that applies the routing
and sender rules. This module joins them: it reads without marking anything seen, checks
sizes before downloading, keeps a raw copy of what it cannot read in full, and flags or
moves a message only after its ledger row is committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crm_tui.errors import ServerUnreachable
from crm_tui.i18n import N_, Said, _, said, said_error
from crm_tui.mail.config import MailConfig, MailConfigError
from crm_tui.mail.errors import MESSAGES, MailError, MailRejected, MailServerUnreachable
from crm_tui.mail.imap import ImapMailbox, open_mailbox
from crm_tui.mail.message import parse_message
from crm_tui.mail.quarantine import quarantine
from crm_tui.services import mail_filing, mail_leads, mailing
from crm_tui.services.staged_files import StagedFiles, sweep_pending

#: What a pass stores for the operators' status lines: English, read by `readable`.
STATUS_PARTS = (N_("{n} filed"), N_("{n} unmatched"), N_("{n} quarantined"), N_("{n} errors"))
#: The lines a pass reports about single messages: English in the report (it is logged),
#: printed in the reader's language by `readable`.
NOTES = (
    N_("... and {n} more"),
    N_("{size} bytes, over the size limit"),
    N_("{where} ({subject}): {why}: filed as a note on lead {lead}"),
    N_("{where} ({subject}): unmatched: {reason}"),
    N_("{where} ({subject}): not filed: {reason}"),
    N_("could not flag {n} filed message(s): {reason}"),
    N_("could not move {n} message(s) to {folder}: {reason}"),
    N_("uid {uid}: could not be processed ({reason}) nor quarantined ({error}); "
       "left in the mailbox"),
    N_("uid {uid}: quarantined as {name}: {reason}"),
)


def readable(line: str) -> str:
    """A stored or reported line of the sync (a note, a status, a mail error) in the
    reader's language, where it is one the CRM writes; other text stays as it is."""
    from crm_tui.services.mail_unmatched import REASONS

    known = (*NOTES, *MESSAGES, *REASONS)
    shown = said(line, known)
    if shown == line and ", " in line:
        shown = ", ".join(said(part, STATUS_PARTS) for part in line.split(", "))
    return shown

# Messages per FETCH and per transaction, and a cap on their bytes: big enough that round
# trips, commits and flag updates do not dominate, small enough that the write lock is held
# for a few dozen milliseconds and a batch of big messages stays well within memory.
CHUNK = 500
CHUNK_BYTES = 64 * 1024 * 1024
# Messages up to this size are not sized one by one: one SEARCH LARGER tells which are
# bigger (those are sized), and CHUNK of the rest stay within CHUNK_BYTES.
SIZE_THRESHOLD = 256 * 1024
# A report lists at most this many reasons; the rest is counted.
MAX_REASONS = 200
# Polling without IDLE: huey-style backoff from the first delay up to mail.poll_seconds.
POLL_FIRST_DELAY = 1.0
POLL_BACKOFF = 1.5
# Reconnecting after the server went away: doubling delays up to this many seconds.
RECONNECT_MAX_DELAY = 300.0

Progress = Callable[["SyncReport"], None]
Cancelled = Callable[[], bool]


@dataclass
class SyncReport:
    """What one pass (or a whole watch) did, for the status line and ``crm --sync``."""

    filed: int = 0
    duplicates: int = 0
    unmatched: int = 0
    auto: int = 0
    quarantined: int = 0
    errors: int = 0
    examined: int = 0
    pending: int = 0
    """New messages this pass found to read (for progress: examined of pending)."""
    reasons: list[str] = field(default_factory=list)
    more_reasons: int = 0
    started: datetime | None = None
    finished: datetime | None = None
    cancelled: bool = False

    def note(self, text: str) -> None:
        """Add one reason line (beyond MAX_REASONS, only counted)."""
        if len(self.reasons) < MAX_REASONS:
            self.reasons.append(text)
        else:
            self.more_reasons += 1

    @property
    def changed(self) -> bool:
        """Whether the pass found anything at all."""
        return bool(self.examined or self.errors or self.quarantined)

    def summary(self) -> str:
        """One line: the counts, in the reader's language."""
        return _("filed {filed}, duplicates {duplicates}, unmatched {unmatched}, auto {auto}, "
                 "quarantined {quarantined}, errors {errors}").format(
            filed=self.filed, duplicates=self.duplicates, unmatched=self.unmatched,
            auto=self.auto, quarantined=self.quarantined, errors=self.errors)

    def status_text(self) -> str:
        """A few words for a status line: what was filed and what went wrong (stored, in
        English; `readable` reads it in each operator's language)."""
        parts = [STATUS_PARTS[0].format(n=self.filed)]
        if self.unmatched:
            parts.append(STATUS_PARTS[1].format(n=self.unmatched))
        if self.quarantined:
            parts.append(STATUS_PARTS[2].format(n=self.quarantined))
        parts.append(STATUS_PARTS[3].format(n=self.errors))
        return ", ".join(parts)

    def details(self) -> list[str]:
        """The reason lines (English, see `readable`), with a count of those left out."""
        lines = list(self.reasons)
        if self.more_reasons:
            lines.append(NOTES[0].format(n=self.more_reasons))
        return lines

    def merge(self, other: SyncReport) -> None:
        """Add another pass's counts and reasons to this one."""
        for name in ("filed", "duplicates", "unmatched", "auto", "quarantined", "errors",
                     "examined", "pending"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for line in other.reasons:
            self.note(line)
        self.more_reasons += other.more_reasons
        self.finished = other.finished or self.finished

    def copy(self) -> SyncReport:
        """A snapshot (progress callbacks may hand it to another thread)."""
        return dataclasses.replace(self, reasons=list(self.reasons))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _never() -> bool:
    return False


def run_once(
    config: MailConfig,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    clock=None,
) -> SyncReport:
    """One pass over the reference mailbox: file what is new, report what was done.

    ``progress`` receives a snapshot of the report after each batch; ``cancelled`` is
    asked between batches and stops the pass cleanly (nothing half done). ``clock``
    (a :class:`~crm_tui.services.context.Clock`) dates the activity entries.

    Raises:
        MailConfigError: no mailbox is configured (``mail.imap_host``).
        MailServerUnreachable: the server cannot be reached or the login is refused.
        ServerUnreachable: the database went away (nothing after that was touched).
    """
    imap = _imap(config)
    report = SyncReport(started=_now())
    sweep_pending()
    with open_mailbox(imap) as box:
        sync_mailbox(box, config, report, progress=progress, cancelled=cancelled, clock=clock)
    report.finished = _now()
    return report


def sync_from_settings(
    progress: Callable[[int, int], None] | None = None,
    cancelled: Cancelled | None = None,
) -> SyncReport:
    """One pass with the mail settings as they are now: the TUI's background job.

    ``progress(done, total)`` counts messages read of those new in this pass.

    Raises (domain errors, one clear line each, as every face shows them):
        ValidationFailed: a mail setting cannot be used, or no mailbox is configured.
        ServerUnreachable: the IMAP server or the database cannot be reached.
    """
    from crm_tui.errors import CrmError, ValidationFailed

    report_progress = None
    if progress is not None:
        def report_progress(report: SyncReport) -> None:
            progress(report.examined, report.pending)
    try:
        return run_once(mailing.mail_config(), progress=report_progress, cancelled=cancelled)
    except MailConfigError as exc:
        raise ValidationFailed.one(_("setting {key}").format(key=exc.key), "value", exc.value,
                                   said(exc.reason)) from None
    except MailServerUnreachable as exc:
        raise ServerUnreachable(said_error(exc, MESSAGES)) from None
    except MailError as exc:
        raise CrmError(said_error(exc, MESSAGES)) from None


def _imap(config: MailConfig):
    if config.imap is None:
        raise MailConfigError("mail.imap_host", "",
                              Said(N_("not set: there is no mailbox to read")))
    return config.imap


def _chunks(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def _batches(uids: Sequence[str], sizes: dict[str, int]) -> Iterator[list[str]]:
    """``uids`` in batches of at most CHUNK messages and CHUNK_BYTES bytes (one at least)."""
    batch: list[str] = []
    total = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        if batch and (len(batch) >= CHUNK or total + size > CHUNK_BYTES):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def sync_mailbox(
    box: ImapMailbox,
    config: MailConfig,
    report: SyncReport,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
    clock=None,
) -> SyncReport:
    """One pass on an open mailbox (``watch`` keeps the connection between passes)."""
    cancelled = cancelled or _never
    validity = box.uidvalidity()
    folder = mail_filing.ledger_folder(box.folder)
    # Only what does not carry $CrmFiled yet: years of filed mail cost nothing per pass.
    # The ledger stays the judge of what was filed; a lost flag only costs a look-up.
    uids = box.list_uids(unfiled=True)
    if not uids:
        return report
    known = mail_filing.known_locations(validity, uids, folder=folder)
    # Finish what a killed run committed but could not mark: the ledger says what.
    unflagged = [u for u in uids if known.get(int(u)) == "filed"]
    leftover = [u for u in uids if known.get(int(u)) == "unmatched"] if config.unmatched_folder \
        else []
    _apply(box, config, report, unflagged, leftover)
    candidates = [u for u in uids if int(u) not in known]
    if not candidates:
        return report
    limit = config.max_message_bytes
    # Sizes before download (SPEC 9): a huge message is never fetched, only its header.
    small, large, sizes = _by_size(box, candidates, limit)
    # Copies already recorded elsewhere are looked for among these (see file_incoming).
    present = {int(u) for u in uids}
    new_lead = mail_leads.creator(config.lead_owner, clock) if config.create_leads else None
    report.pending += len(small) + len(large)
    work = [(False, batch) for batch in _batches(small, sizes)]
    work += [(True, batch) for batch in _chunks(large, CHUNK)]
    for headers_only, uids_batch in work:
        if cancelled():
            report.cancelled = True
            break
        # The attachment files of a batch are written with its rows; leaving this block
        # removes any that a rolled-back batch left.
        with _collector_paused(), StagedFiles() as staged:
            batch = _read_batch(box, uids_batch, headers_only, validity, folder, sizes,
                                config, report)
            results = _file(batch, present, clock, report, staged, config.max_per_hour,
                            new_lead)
        flag, move = [], []
        for (mail, _raw), result in results:
            _count(report, mail, result)
            if result.action == "flag":
                flag.append(str(mail.uid))
            elif result.action == "unmatched" and config.unmatched_folder:
                move.append(str(mail.uid))
        # Only now, after the commit, does the mailbox change.
        _apply(box, config, report, flag, move)
        if progress is not None:
            progress(report.copy())
    return report


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Hold the cyclic garbage collector back for one batch.

    A batch keeps a few hundred parsed messages alive at once; each of their lists and
    dicts counts towards the collector's next pass, which would walk every object of the
    process several times per batch. Reference counting frees what a batch drops; the
    rare cycle waits for the collector's first pass after the batch.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _by_size(box: ImapMailbox, candidates: list[str],
             limit: int) -> tuple[list[str], list[str], dict[str, int]]:
    """(UIDs to download, UIDs over ``limit``, known sizes), without downloading anything."""
    threshold = min(limit, SIZE_THRESHOLD)
    bigger = box.larger_than(threshold, candidates)
    if bigger is None:  # the server cannot search by size: ask each message's size
        sizes = box.sizes(candidates)
        small = [u for u in candidates if u in sizes and sizes[u] <= limit]
    else:
        sizes = box.sizes([u for u in candidates if u in bigger]) if bigger else {}
        small = [u for u in candidates
                 if u not in bigger or (u in sizes and sizes[u] <= limit)]
    large = [u for u in candidates if u in sizes and sizes[u] > limit]
    return small, large, sizes


def _read_batch(box, uids, headers_only, validity, folder, sizes, config, report):
    """Download and parse one batch; what cannot be parsed is quarantined on the spot, and
    a raw copy is kept of what breaks a parsing limit."""
    fetched = list(box.fetch_dated(uids, chunk=len(uids), headers_only=headers_only))
    batch = []
    for uid, raw, arrived in fetched:
        report.examined += 1
        try:
            parsed = parse_message(raw, limits=config.limits)
        except Exception as exc:  # noqa: BLE001 - the parser should never raise; be sure
            _quarantine_one(raw, validity, uid, f"could not be parsed: {exc!r}", report)
            continue
        if headers_only:
            parsed.oversized = True
        mail = mail_filing.IncomingMail(parsed, validity, int(uid), headers_only,
                                        sizes.get(uid, len(raw)), folder, arrived=arrived,
                                        raw=raw)
        if parsed.over_limit is not None:
            # Read no further than its header; the whole message waits for a replay.
            path = _quarantine_one(raw, validity, uid, f"not read: {parsed.over_limit}",
                                   report)
            mail.quarantined = path.name if path is not None else ""
        batch.append((mail, raw))
    return batch


def _db_errors() -> tuple[type[BaseException], ...]:
    import peewee

    return (peewee.OperationalError, peewee.InterfaceError)


def _file(batch, present, clock, report, staged, max_per_hour, new_lead=None):
    """File a batch in one transaction; on trouble, one by one, quarantining the failures."""
    if not batch:
        return []
    mails = [mail for mail, _ in batch]
    try:
        return list(zip(batch, mail_filing.file_incoming(
            mails, present_uids=present, clock=clock, staged=staged,
            max_per_hour=max_per_hour, new_lead=new_lead), strict=True))
    except _db_errors() as exc:
        raise ServerUnreachable(_("database error while filing mail: {reason}").format(
            reason=_line(exc))) from exc
    except Exception:  # noqa: BLE001 - IntegrityError (a concurrent sync) and the like:
        pass  # sorted out one by one below
    results = []
    for item in batch:
        mail, raw = item
        try:
            [result] = mail_filing.file_incoming([mail], present_uids=present, clock=clock,
                                                 max_per_hour=max_per_hour, new_lead=new_lead)
        except _db_errors() as exc:
            raise ServerUnreachable(_("database error while filing mail: {reason}").format(
                reason=_line(exc))) from exc
        except Exception as exc:  # noqa: BLE001 - one bad message must not stop the run
            _quarantine_one(raw, mail.uidvalidity, mail.uid, _line(exc), report)
            continue
        results.append((item, result))
    return results


def _count(report: SyncReport, mail, result) -> None:
    where = f"uid {mail.uid}"
    subject = mail.parsed.subject[:60]
    if result.outcome in ("filed", "oversized"):
        report.filed += 1
        if result.outcome == "oversized":
            why = mail.parsed.over_limit or NOTES[1].format(size=mail.size)
            report.note(NOTES[2].format(where=where, subject=repr(subject), why=why,
                                        lead=result.lead_id))
    elif result.outcome == "duplicate":
        report.duplicates += 1
    elif result.outcome == "unmatched":
        report.unmatched += 1
        report.note(NOTES[3].format(where=where, subject=repr(subject), reason=result.reason))
    elif result.outcome == "auto":
        report.auto += 1
        report.note(NOTES[4].format(where=where, subject=repr(subject), reason=result.reason))


def _apply(box: ImapMailbox, config: MailConfig, report: SyncReport, flag, move) -> None:
    """Flag filed messages and move unmatched ones; a refusal is an error, not a stop."""
    if flag:
        try:
            box.flag_processed(flag)
        except MailRejected as exc:
            report.errors += 1
            report.note(NOTES[5].format(n=len(flag), reason=exc))
    if move and config.unmatched_folder:
        try:
            box.move(move, config.unmatched_folder)
        except MailRejected as exc:
            report.errors += 1
            report.note(NOTES[6].format(n=len(move), folder=config.unmatched_folder, reason=exc))


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _quarantine_one(raw: bytes, validity, uid, reason: str, report: SyncReport):
    """Keep the raw copy (counted in the report); its path, or None when it could not be
    written (then the message stays in the mailbox, unflagged)."""
    try:
        path = quarantine(raw, validity, uid, reason)
    except OSError as exc:
        report.errors += 1
        report.note(NOTES[7].format(uid=uid, reason=reason, error=exc))
        return None
    report.quarantined += 1
    report.note(NOTES[8].format(uid=uid, name=path.name, reason=reason))
    return path


# -- watching -----------------------------------------------------------------------------------


class StopFlag:
    """A stop request shared by a signal handler and the loop.

    Calling the flag tells whether a stop was requested (pass it as ``cancelled``).
    :meth:`request` is safe in a signal handler: the loop stops between batches, and a
    blocking wait (IMAP IDLE) is cut short through the interrupt registered for it.
    """

    def __init__(self) -> None:
        self._event = threading.Event()
        self._interrupt: Callable[[], None] | None = None

    def __call__(self) -> bool:
        return self._event.is_set()

    def request(self) -> None:
        """Ask the loop to stop (and cut a blocking wait short)."""
        self._event.set()
        interrupt = self._interrupt
        if interrupt is not None:
            interrupt()

    @contextlib.contextmanager
    def interrupting(self, interrupt: Callable[[], None]) -> Iterator[None]:
        """During the block, a stop request calls ``interrupt`` (e.g. drops the connection)."""
        self._interrupt = interrupt
        try:
            # Registered first, then checked: a request in between is not lost.
            if self._event.is_set():
                interrupt()
            yield
        finally:
            self._interrupt = None

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when a stop was requested meanwhile."""
        return self._event.wait(max(0.0, seconds))


def watch(
    load_config: Callable[[], MailConfig],
    stop: StopFlag,
    *,
    on_report: Callable[[SyncReport], None] | None = None,
    on_error: Callable[[Exception], None] | None = None,
    clock=None,
    wake: Callable[[], bool] | None = None,
    each_pass: Callable[[MailConfig], None] | None = None,
) -> SyncReport:
    """Sync until ``stop`` is requested: IMAP IDLE where offered, else polling with backoff.

    ``wake`` (asked every few seconds while waiting) returning True starts a pass at once:
    an operator asked for one.

    The settings are read again after each pass; a change of server or folder reconnects.
    A server that cannot be reached at the very start raises (the operator must fix the
    settings); a server lost or refusing later (or the database gone for a moment) is
    retried with growing delays, each failure passed to ``on_error``. ``each_pass(config)``
    runs before every pass (the worker sends the outbox there). Returns the totals.

    Raises:
        MailConfigError, MailServerUnreachable (only before the first connection).
    """
    totals = SyncReport(started=_now())
    connected = False
    failures = 0
    while not stop():
        config = load_config()
        imap = _imap(config)
        try:
            sweep_pending()
            with open_mailbox(imap) as box:
                connected, failures = True, 0
                _watch_session(box, config, load_config, stop, totals, on_report, clock,
                               wake, each_pass)
        except (MailServerUnreachable, MailRejected, ServerUnreachable, *_db_errors()) as exc:
            if stop():
                break  # the stop request dropped the connection on purpose
            if not connected:
                raise
            failures += 1
            if on_error is not None:
                on_error(exc)
            if stop.sleep(min(2.0 ** failures, RECONNECT_MAX_DELAY)):
                break
    totals.finished = _now()
    totals.cancelled = True
    return totals


WAKE_CHECK_SECONDS = 2.0
"""While waiting, how often the loop asks ``wake`` whether a pass was requested."""


def _wait(wait_once: Callable[[float], bool], seconds: float,
          wake: Callable[[], bool] | None) -> bool:
    """Wait up to ``seconds`` in slices, asking ``wake`` between them; True when woken
    (or when ``wait_once`` says something arrived)."""
    if wake is None:
        return wait_once(seconds)
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        if wait_once(min(left, WAKE_CHECK_SECONDS)) or wake():
            return True
    return False


def _watch_session(box, config, load_config, stop, totals, on_report, clock,
                   wake=None, each_pass=None) -> None:
    """Passes on one connection until the settings change, the link drops, or a stop."""
    delay = POLL_FIRST_DELAY
    while not stop():
        if each_pass is not None:
            each_pass(config)
        report = SyncReport(started=_now())
        sync_mailbox(box, config, report, cancelled=stop, clock=clock)
        report.finished = _now()
        totals.merge(report)
        if on_report is not None:
            on_report(report)
        if stop():
            return
        if box.has_idle():
            # A signal cannot end a blocking IDLE any other way: the handler drops the link.
            with stop.interrupting(box.abort):
                _wait(box.idle_wait, config.poll_seconds, wake)
        else:
            # Huey's consumer backoff: quick again after work, slower while nothing comes.
            delay = POLL_FIRST_DELAY if report.changed else min(delay * POLL_BACKOFF,
                                                                float(config.poll_seconds))
            _wait(stop.sleep, delay, wake)
            if stop():
                return
        if load_config() != config:
            return
