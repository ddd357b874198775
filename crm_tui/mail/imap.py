"""Read the reference mailbox over IMAP by UID, without ever marking mail seen while reading."""

from __future__ import annotations

import re
import ssl
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm_tui.i18n import N_, Said
from crm_tui.mail.errors import MailAuthFailed, MailRejected, MailServerUnreachable

SECURITY_MODES = ("none", "starttls", "tls")
# The keyword that says "the CRM filed this"; \Seen alone cannot tell our work from a
# person reading the mail in another client.
FILED_KEYWORD = "$CrmFiled"
# RFC 2177: re-issue IDLE at least every 29 minutes or the server may drop the session.
MAX_IDLE_SECONDS = 29 * 60
# Keeps each UID FETCH/STORE command line well under the ~8 kB many servers accept.
_UIDS_PER_COMMAND = 500

_UID_RE = re.compile(rb"\bUID (\d+)")
_SIZE_RE = re.compile(rb"\bRFC822\.SIZE (\d+)")


@dataclass(frozen=True)
class ImapConfig:
    """The reference mailbox: ``security`` is ``none``, ``starttls`` or ``tls`` (port 993)."""

    host: str
    port: int = 993
    security: str = "tls"
    user: str = ""
    password: str = ""
    folder: str = "INBOX"
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.security not in SECURITY_MODES:
            raise ValueError(f"IMAP security must be one of {', '.join(SECURITY_MODES)}")
        if not self.host:
            raise ValueError("IMAP host is not set")
        if not 0 < int(self.port) < 65536:
            raise ValueError(f"IMAP port out of range: {self.port}")

    @property
    def where(self) -> str:
        """``host:port`` for messages."""
        return f"{self.host}:{self.port}"


@contextmanager
def open_mailbox(
    config: ImapConfig, *, ssl_context: ssl.SSLContext | None = None
) -> Iterator[ImapMailbox]:
    """Connect, log in and select ``config.folder``; yield an :class:`ImapMailbox`.

    Raises :class:`MailServerUnreachable` when the server cannot be reached, TLS fails or
    the folder does not exist, :class:`MailAuthFailed` when the login is refused. Logs out
    on leaving, quietly if the connection is already gone.
    """
    box = _connect(config, ssl_context)
    mailbox = ImapMailbox(box, config)
    try:
        _login(box, config)
        mailbox._refresh_capabilities()
        mailbox._select(config.folder)
        yield mailbox
    finally:
        try:
            box.logout()
        except Exception:  # noqa: BLE001 - a dead link needs no goodbye
            _shutdown(box)


def _connect(config: ImapConfig, ssl_context: ssl.SSLContext | None) -> Any:
    # Imported here: imap_tools costs ~90 ms at start-up and most `crm` runs never read mail.
    import imaplib

    from imap_tools import MailBox, MailBoxUnencrypted

    # Building a default context loads the system's CA store (tens of milliseconds): only
    # when the connection is encrypted.
    context = None
    if config.security != "none":
        context = ssl_context or ssl.create_default_context()
    try:
        if config.security == "tls":
            return MailBox(config.host, config.port, timeout=config.timeout, ssl_context=context)
        box = MailBoxUnencrypted(config.host, config.port, timeout=config.timeout)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailServerUnreachable(Said(
            N_("IMAP server {where} unreachable: {reason}"),
            where=config.where, reason=_reason(exc))) from exc
    if config.security == "starttls":
        # STARTTLS by hand rather than imap_tools' MailBoxStartTls, which leaves the socket
        # open when the upgrade fails; never continue in plain text after a failure.
        try:
            box.client.starttls(ssl_context=context)
        except (OSError, imaplib.IMAP4.error) as exc:
            _shutdown(box)
            raise MailServerUnreachable(Said(
                N_("IMAP server {where}: STARTTLS failed: {reason}"),
                where=config.where, reason=_reason(exc))) from exc
    return box


def _login(box: Any, config: ImapConfig) -> None:
    import imaplib

    from imap_tools.errors import MailboxLoginError

    try:
        if (config.user + config.password).isascii():
            box.login(config.user, config.password, initial_folder=None)
        else:
            # LOGIN is ASCII-only in imaplib; AUTHENTICATE PLAIN carries UTF-8.
            box.login_utf8(config.user, config.password, initial_folder=None)
    except (MailboxLoginError, imaplib.IMAP4.error) as exc:
        if isinstance(exc, imaplib.IMAP4.abort):
            raise MailServerUnreachable(Said(
                N_("IMAP server {where} dropped the connection at login"), where=config.where)) from exc
        raise MailAuthFailed(Said(
            N_("IMAP server {where} refused the login of {user}"),
            where=config.where, user=config.user)) from exc
    except OSError as exc:
        raise MailServerUnreachable(Said(
            N_("IMAP server {where} dropped the connection at login: {reason}"),
            where=config.where, reason=_reason(exc))) from exc


class ImapMailbox:
    """A logged-in IMAP session on one selected folder, addressed by UID.

    Every method raises :class:`MailServerUnreachable` when the connection is lost and
    :class:`MailRejected` when the server refuses a command. UIDs are decimal strings.
    """

    def __init__(self, box: Any, config: ImapConfig) -> None:
        self._box = box
        self._config = config
        self._folder = config.folder
        self._uidvalidity: int | None = None
        self._capabilities: frozenset[str] = frozenset()
        self._folder_delimiter: str | None = None

    @property
    def folder(self) -> str:
        """The selected folder."""
        return self._folder

    @property
    def capabilities(self) -> frozenset[str]:
        """The server's capabilities after login, upper-case."""
        return self._capabilities

    # -- reading ---------------------------------------------------------------------

    def uidvalidity(self) -> int:
        """UIDVALIDITY of the selected folder: when it changes, all stored UIDs are void."""
        if self._uidvalidity is None:
            with self._errors("read UIDVALIDITY"):
                status = self._quiet_box.folder.status(self._folder, ["UIDVALIDITY"])
            self._uidvalidity = int(status["UIDVALIDITY"])
        return self._uidvalidity

    def list_uids(self, *, min_uid: int | None = None, unfiled: bool = False) -> list[str]:
        """All UIDs in the folder, seen or not, ascending; with ``min_uid`` only those >= it.

        Ingest works by UID, not by \\Seen: a person may have read a message in their own
        client before the CRM got to it. ``unfiled`` leaves out what carries ``$CrmFiled``
        (the server searches its index), so a folder of years of filed mail stays cheap to
        look at; a server that refuses the keyword search is asked for every UID instead.
        """
        criteria = "ALL" if min_uid is None else f"UID {max(int(min_uid), 1)}:*"
        with self._errors("list messages"):
            typ, data = "NO", []
            if unfiled:
                typ, data = self._refusable("SEARCH", criteria, f"UNKEYWORD {FILED_KEYWORD}")
            if typ != "OK":
                typ, data = self._client.uid("SEARCH", criteria)
        self._check(typ, data, "UID SEARCH")
        uids = sorted({int(u) for u in b" ".join(d for d in data if d).split()})
        if min_uid is not None:
            # "n:*" always includes the highest UID even when it is below n (RFC 3501).
            uids = [u for u in uids if u >= min_uid]
        return [str(u) for u in uids]

    def larger_than(self, size: int, uids: Sequence[str]) -> set[str] | None:
        """Which of ``uids`` are over ``size`` bytes, asked of the server's index (one SEARCH).

        RFC822.SIZE is what LARGER compares, so this is the size check without a FETCH per
        message. None when the server refuses the search (ask :meth:`sizes` instead).
        """
        cleaned = _clean(uids)
        if not cleaned:
            return set()
        with self._errors("search message sizes"):
            typ, data = self._refusable("SEARCH", f"UID {cleaned[0]}:{cleaned[-1]}",
                                        f"LARGER {max(int(size), 0)}")
        if typ != "OK":
            return None
        found = {u.decode() for u in b" ".join(d for d in data if d).split()}
        return found & set(cleaned)

    def sizes(self, uids: Iterable[str]) -> dict[str, int]:
        """RFC822.SIZE by UID, to enforce the size limit before downloading anything."""
        result: dict[str, int] = {}
        for chunk in _chunks(_clean(uids), _UIDS_PER_COMMAND):
            with self._errors("read message sizes"):
                typ, data = self._client.uid("FETCH", uid_set(chunk), "(UID RFC822.SIZE)")
            self._check(typ, data, "UID FETCH RFC822.SIZE")
            wanted = set(chunk)
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                uid, size = _UID_RE.search(line), _SIZE_RE.search(line)
                if uid and size and uid.group(1).decode() in wanted:
                    result[uid.group(1).decode()] = int(size.group(1))
        return result

    def fetch_raw(self, uids: Iterable[str], chunk: int = 200) -> Iterator[tuple[str, bytes]]:
        """Yield ``(uid, raw bytes)`` for ``uids``, ``chunk`` messages per FETCH command.

        Uses ``BODY.PEEK[]`` - what imap_tools' ``fetch(mark_seen=False, bulk=n)`` sends -
        through imaplib's ``uid`` command, so nothing becomes \\Seen and the bytes are
        exactly those stored (the dedup hash is computed over them). UIDs expunged
        meanwhile are simply not yielded.
        """
        for uid, raw, _arrived in self.fetch_dated(uids, chunk=chunk):
            yield uid, raw

    def fetch_headers(self, uids: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """Yield ``(uid, raw header bytes)`` for ``uids`` (``BODY.PEEK[HEADER]``, nothing seen).

        For messages over the size limit: routing needs only the header, and the body is
        never downloaded.
        """
        for uid, raw, _arrived in self.fetch_dated(uids, headers_only=True):
            yield uid, raw

    def fetch_dated(self, uids: Iterable[str], *, chunk: int = _UIDS_PER_COMMAND,
                    headers_only: bool = False) -> Iterator[tuple[str, bytes, datetime | None]]:
        """Yield ``(uid, raw bytes, arrival)`` as :meth:`fetch_raw` (or, ``headers_only``,
        :meth:`fetch_headers`), with the server's INTERNALDATE: when the message arrived
        in the mailbox, in UTC without tzinfo (None when the server gives none). The
        sender cannot choose it, unlike the Date header."""
        if chunk < 1:
            raise ValueError("chunk must be at least 1")
        section = "BODY.PEEK[HEADER]" if headers_only else "BODY.PEEK[]"
        for part in _chunks(_clean(uids), chunk):
            with self._errors("download message headers" if headers_only
                              else "download messages"):
                typ, data = self._client.uid("FETCH", uid_set(part),
                                             f"(UID INTERNALDATE {section})")
            self._check(typ, data, f"UID FETCH {section}")
            yield from _literals(data, set(part))

    # -- changing ----------------------------------------------------------------------

    def flag_processed(self, uids: Iterable[str]) -> None:
        """Set \\Seen and ``$CrmFiled`` on ``uids`` - only after their activity is committed."""
        for chunk in _chunks(_clean(uids), _UIDS_PER_COMMAND):
            uids_text = uid_set(chunk)
            with self._errors("flag messages"):
                typ, data = self._client.uid(
                    "STORE", uids_text, "+FLAGS.SILENT", f"(\\Seen {FILED_KEYWORD})"
                )
                if typ != "OK":
                    # A server without custom keywords still takes \Seen.
                    typ, data = self._client.uid("STORE", uids_text, "+FLAGS.SILENT", "(\\Seen)")
            self._check(typ, data, "UID STORE")

    def flags(self, uids: Iterable[str]) -> dict[str, set[str]]:
        """Current flags by UID (for reports and tests)."""
        result: dict[str, set[str]] = {}
        for chunk in _chunks(_clean(uids), _UIDS_PER_COMMAND):
            with self._errors("read flags"):
                typ, data = self._client.uid("FETCH", uid_set(chunk), "(UID FLAGS)")
            self._check(typ, data, "UID FETCH FLAGS")
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                uid = _UID_RE.search(line)
                flags = re.search(rb"FLAGS \(([^)]*)\)", line)
                if uid and flags and uid.group(1).decode() in chunk:
                    result[uid.group(1).decode()] = set(flags.group(1).decode().split())
        return result

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` (levels separated by ``/``) unless it exists."""
        name = self.server_folder_name(folder)
        with self._errors(f"create folder {folder}"):
            if not self._quiet_box.folder.exists(name):
                self._quiet_box.folder.create(name)

    def server_folder_name(self, folder: str) -> str:
        """``folder`` with its ``/`` level separators turned into the server's delimiter.

        Settings always write ``CRM/Unmatched``; Dovecot's maildir default says
        ``CRM.Unmatched``, other servers ``CRM/Unmatched``.
        """
        delimiter = self._delimiter()
        if delimiter and delimiter != "/" and "/" in folder:
            return folder.replace("/", delimiter)
        return folder

    def move(self, uids: Iterable[str], folder: str) -> None:
        """Move ``uids`` to ``folder``, creating it first if needed.

        Uses MOVE when offered; otherwise COPY, \\Deleted and UID EXPUNGE (UIDPLUS) so no
        other message marked deleted is expunged with them. Without UIDPLUS a plain EXPUNGE
        is the only way, as in any mail client.
        """
        from imap_tools.utils import encode_folder

        cleaned = _clean(uids)
        if not cleaned:
            return
        self.ensure_folder(folder)
        target = encode_folder(self.server_folder_name(folder))
        for chunk in _chunks(cleaned, _UIDS_PER_COMMAND):
            uids_text = uid_set(chunk)
            with self._errors(f"move messages to {folder}"):
                if "MOVE" in self._capabilities:
                    typ, data = self._client.uid("MOVE", uids_text, target)
                    self._check(typ, data, "UID MOVE")
                    continue
                typ, data = self._client.uid("COPY", uids_text, target)
                self._check(typ, data, "UID COPY")
                typ, data = self._client.uid("STORE", uids_text, "+FLAGS.SILENT", "(\\Deleted)")
                self._check(typ, data, "UID STORE")
                if "UIDPLUS" in self._capabilities:
                    typ, data = self._client.uid("EXPUNGE", uids_text)
                else:
                    typ, data = self._client.expunge()
                self._check(typ, data, "EXPUNGE")

    # -- waiting -----------------------------------------------------------------------

    def has_idle(self) -> bool:
        """Whether the server offers IDLE (push) rather than needing polls."""
        return "IDLE" in self._capabilities

    def idle_wait(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for news in the folder; True if something arrived.

        With IDLE this returns as soon as the server reports a change. Without it, it sleeps
        ``timeout`` then asks with NOOP. ``timeout`` is capped at 29 minutes (RFC 2177).
        """
        timeout = max(0.0, min(float(timeout), MAX_IDLE_SECONDS))
        # Mail that arrived during the last pass was announced in the answer to one of its
        # commands (or to IDLE itself, before the server's go-ahead), and the server will
        # not announce it again: waiting for news then would sleep until the next change.
        if self._announced():
            return True
        if not self.has_idle():
            time.sleep(timeout)
            with self._errors("poll"):
                typ, data = self._client.noop()
            self._check(typ, data, "NOOP")
            return self._announced()
        with self._errors("wait for new mail (IDLE)"):
            responses = self._quiet_box.idle.wait(timeout=timeout)
        return any(b"EXISTS" in r or b"RECENT" in r for r in responses) or self._announced()

    def _announced(self) -> bool:
        """Whether EXISTS or RECENT came among the answers imaplib kept (taking them)."""
        found = False
        for code in ("EXISTS", "RECENT"):
            _typ, items = self._client.response(code)
            found = found or any(item is not None for item in items)
        return found

    def abort(self) -> None:
        """Shut the connection down at once; safe in a signal handler.

        A blocking :meth:`idle_wait` returns, and every later command raises
        :class:`MailServerUnreachable`; leaving :func:`open_mailbox` then only closes.
        """
        import socket

        try:
            # The raw link: nothing may be read from here (an answer may be pending).
            self._box.client.sock.shutdown(socket.SHUT_RDWR)
        except (OSError, AttributeError):
            pass

    def noop(self) -> None:
        """Keep the session alive and let the server report changes."""
        with self._errors("poll"):
            typ, data = self._client.noop()
        self._check(typ, data, "NOOP")

    # -- internals -----------------------------------------------------------------------

    @property
    def _client(self) -> Any:
        """imaplib's IMAP4 object (its public commands only)."""
        return self._box.client

    @property
    def _quiet_box(self) -> Any:
        """The imap_tools mailbox."""
        return self._box

    def _refusable(self, command: str, *args: str) -> tuple[str, Any]:
        """``UID command args``, with a refusal (NO or BAD) answered as ``("NO", [])``."""
        import imaplib

        try:
            return self._client.uid(command, *args)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error:
            return "NO", []

    def _refresh_capabilities(self) -> None:
        # Servers announce more after login (MOVE, UIDPLUS, IDLE…) than in the greeting that
        # imaplib remembered, so ask again.
        with self._errors("read capabilities"):
            typ, data = self._client.capability()
        caps = set(getattr(self._client, "capabilities", ()) or ())
        if typ == "OK" and data and isinstance(data[-1], bytes):
            caps |= set(data[-1].decode("ascii", "replace").upper().split())
        self._client.capabilities = tuple(sorted(caps))
        self._capabilities = frozenset(caps)

    def _delimiter(self) -> str:
        """The server's hierarchy delimiter ("" when flat), asked once per session."""
        if self._folder_delimiter is None:
            with self._errors("read the folder delimiter"):
                typ, data = self._client.list('""', '""')
            line = data[0] if typ == "OK" and data and isinstance(data[0], bytes) else b""
            match = re.search(rb'\) "(\\.|[^"\\])"', line)
            self._folder_delimiter = match.group(1)[-1:].decode() if match else ""
        return self._folder_delimiter

    def _select(self, folder: str) -> None:
        from imap_tools.errors import MailboxFolderSelectError

        try:
            self._quiet_box.folder.set(self.server_folder_name(folder))
        except MailboxFolderSelectError as exc:
            raise MailServerUnreachable(Said(
                N_("IMAP folder {folder} not found on {where}"),
                folder=repr(folder), where=self._config.where)) from exc
        except OSError as exc:
            raise MailServerUnreachable(Said(
                N_("IMAP server {where} dropped the connection: {reason}"),
                where=self._config.where, reason=_reason(exc))) from exc
        self._folder = folder
        # SELECT reports UIDVALIDITY; keeping it spares a STATUS on the selected folder,
        # which RFC 3501 advises against.
        _typ, values = self._client.response("UIDVALIDITY")
        values = [v for v in values or [] if v is not None]
        try:
            self._uidvalidity = int(values[-1]) if values else None
        except (TypeError, ValueError):
            self._uidvalidity = None
        # The counts SELECT reports are what the next pass reads anyway: not news.
        self._announced()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        import imaplib

        from imap_tools.errors import UnexpectedCommandStatusError

        where = self._config.where
        try:
            yield
        except imaplib.IMAP4.abort as exc:
            raise MailServerUnreachable(Said(
                N_("IMAP server {where} dropped the connection ({action}): {reason}"),
                where=where, action=action, reason=_reason(exc))) from exc
        except OSError as exc:
            raise MailServerUnreachable(Said(
                N_("IMAP server {where} dropped the connection ({action}): {reason}"),
                where=where, action=action, reason=_reason(exc))) from exc
        except (imaplib.IMAP4.error, UnexpectedCommandStatusError) as exc:
            raise MailRejected(Said(N_("IMAP server {where} refused to {action}: {reason}"),
                                    where=where, action=action, reason=_reason(exc))) from exc

    def _check(self, typ: str, data: Sequence[Any], command: str) -> None:
        if typ != "OK":
            detail = b" ".join(d for d in data if isinstance(d, bytes)).decode("utf-8", "replace")
            raise MailRejected(Said(
                N_("IMAP server {where} refused {command}: {answer}"),
                where=self._config.where, command=command, answer=f"{typ} {detail}".strip()))


def _literals(data: Sequence[Any],
              wanted: set[str]) -> Iterator[tuple[str, bytes, datetime | None]]:
    """Pair each FETCH literal with its UID and INTERNALDATE.

    imaplib returns ``(b'1 (UID 7 INTERNALDATE "..." BODY[] {n}', raw)`` then ``b')'``; a
    server may put UID after the literal instead (``b' UID 7)'``), and unsolicited FETCH
    responses (flag changes by other clients) may be interleaved - those carry no literal
    and are skipped.
    """
    pending: tuple[bytes, bytes] | None = None
    for item in data:
        if isinstance(item, tuple) and len(item) == 2:
            if pending is not None:
                yield from _matched(*pending, b"", wanted)
            pending = (bytes(item[0]), bytes(item[1]))
        elif pending is not None:
            yield from _matched(*pending, item if isinstance(item, bytes) else b"", wanted)
            pending = None
    if pending is not None:
        yield from _matched(*pending, b"", wanted)


def _matched(head: bytes, raw: bytes, tail: bytes,
             wanted: set[str]) -> Iterator[tuple[str, bytes, datetime | None]]:
    match = _UID_RE.search(head) or _UID_RE.search(tail)
    if match and match.group(1).decode() in wanted:
        yield match.group(1).decode(), raw, _arrival(head) or _arrival(tail)


def _arrival(line: bytes) -> datetime | None:
    """The INTERNALDATE of a FETCH response line (imaplib.Internaldate2tuple), UTC."""
    import imaplib

    try:
        moment = imaplib.Internaldate2tuple(line)
    except (ValueError, OverflowError):
        return None
    if moment is None:
        return None
    return datetime.fromtimestamp(time.mktime(moment), UTC).replace(tzinfo=None)


def _clean(uids: Iterable[str]) -> list[str]:
    """Validated, de-duplicated UIDs in ascending order."""
    numbers: set[int] = set()
    for uid in [uids] if isinstance(uids, str) else uids:
        text = (uid if type(uid) is str else str(uid)).strip()
        # isdecimal on ASCII is exactly 0-9; a sign, space or other digit is no UID.
        if not (text.isascii() and text.isdecimal()) or int(text) == 0:
            raise ValueError(f"not an IMAP UID: {uid!r}")
        numbers.add(int(text))
    return [str(u) for u in sorted(numbers)]


def uid_set(uids: Sequence[str]) -> str:
    """An IMAP sequence set for ascending ``uids``, runs written as ranges (``3:250,300``).

    New mail arrives with ascending UIDs, so a batch is mostly one range: short command
    lines, whatever the batch size.
    """
    parts: list[str] = []
    numbers = [int(u) for u in uids]
    start = 0
    for index in range(1, len(numbers) + 1):
        if index == len(numbers) or numbers[index] != numbers[index - 1] + 1:
            first, last = numbers[start], numbers[index - 1]
            parts.append(str(first) if first == last else f"{first}:{last}")
            start = index
    return ",".join(parts)


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _shutdown(box: Any) -> None:
    try:
        box.client.shutdown()
    except Exception:  # noqa: BLE001
        pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
