"""The ``[Lead#<id>]`` subject token, and the header-text decoding it relies on."""

from __future__ import annotations

import codecs
import functools
import re
from email import policy

# Mail clients keep a bracketed tag but may change its case ("[lead#7]") when a user retypes
# the subject; the id itself must be plain ASCII digits, the bracket must close right after
# it, so "[Lead#12a]", "[Lead#-1]" and "[Lead# 7]" never match. Twelve digits is far beyond
# any real lead count yet well inside SQLite/PostgreSQL integer range, so a longer number is
# someone playing games, not a lead.
MAX_ID_DIGITS = 12
_TOKEN_RE = re.compile(rf"\[Lead#([0-9]{{1,{MAX_ID_DIGITS}}})\]", re.IGNORECASE)

# Terminal control characters in a header would reach the TUI and the CLI's stdout; a
# hostile subject must not be able to move the cursor or retitle the terminal.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_SPACE_RE = re.compile(r"[ \t]+")
# The charsets 8-bit mail without a declared one is found in; guessing among all that
# Python knows picks CJK codecs for short Cyrillic or Latin text.
MAIL_CHARSETS = ("utf_8", "cp1252", "iso8859_15", "cp1250", "iso8859_2", "cp1251", "koi8_r",
                 "koi8_u", "iso8859_5", "cp1253", "iso8859_7", "cp1254", "cp1255", "cp1256",
                 "cp1257", "shift_jis", "euc_jp", "gb18030", "big5", "euc_kr")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode ``data`` declared as ``charset``; never raises.

    A known charset decodes with replacement characters for bad bytes. A missing or unknown
    charset (mislabelled mail is common) tries UTF-8 first, then the charset detected by
    charset-normalizer, then Latin-1, which maps every byte, so some text always comes out.
    """
    name = _codec_name(charset) if charset else ""
    if name:
        try:
            return data.decode(name, errors="replace")
        except Exception:  # noqa: BLE001 - exotic codecs can raise anything; fall back
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    guess = detect_charset(data)
    try:
        return data.decode(guess, errors="replace")
    except Exception:  # noqa: BLE001 - a detected codec that cannot decode after all
        return data.decode("latin-1")


def detect_charset(data: bytes) -> str:
    """The charset 8-bit text without a declared one is most likely in (UTF-8 when it
    decodes as such; else charset-normalizer's best guess; else Latin-1)."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    # Imported here: only mail without a declared charset needs it.
    from charset_normalizer import from_bytes

    best = from_bytes(data[:65536], cp_isolation=list(MAIL_CHARSETS)).best()
    name = _codec_name(best.encoding) if best is not None else ""
    return name or "latin-1"


@functools.lru_cache(maxsize=128)
def _codec_name(charset: str) -> str:
    """The codec for a declared charset, or "" when Python knows none by that name."""
    name = charset.strip().strip('"').lower()
    if not name or name in ("unknown-8bit", "x-unknown"):
        return ""
    try:
        codecs.lookup(name)
    except LookupError:
        return ""
    return name


def decode_header_value(value: object) -> str:
    """Return a header value as one line of Unicode text; never raises.

    RFC 2047 encoded words (``=?utf-8?b?...?=``, ``=?iso-8859-1?q?...?=``) are decoded by
    the email package (``policy.default``'s header registry), raw 8-bit bytes (surrogate
    escapes from the parser) as :func:`decode_bytes` does; continuation lines are unfolded
    and control characters dropped. A malformed encoded word is kept as written: a
    readable odd subject beats a lost message.
    """
    if value is None:
        return ""
    text = str(value)
    if text.isascii() and text.isprintable() and "=?" not in text:
        # The common case: nothing to decode, no line break or control character, and
        # space the only white space; all that is left is collapsing and stripping it.
        return " ".join(text.split())
    text = undo_surrogates(text)
    if "=?" in text:
        try:
            text = str(policy.default.header_factory("x-decoded", text))
        except Exception:  # noqa: BLE001 - the header registry has raised on junk before
            pass
        text = undo_surrogates(text)
    text = text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ").replace("\t", " ")
    text = _CONTROL_RE.sub("", text)
    return _SPACE_RE.sub(" ", text).strip()


def undo_surrogates(text: str) -> str:
    """Turn surrogate-escaped raw bytes back into text (UTF-8, else Latin-1)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raw = text.encode("utf-8", errors="surrogateescape")
        return decode_bytes(raw, None)
    return text


def find_lead_token(subject: str) -> int | None:
    """Return the lead id of the first ``[Lead#<id>]`` token in ``subject``, or None.

    The token may sit anywhere (after ``Re:``, ``Fwd:``, ``AW:``, ``SV:`` … of any case, or
    after text a client prepended); encoded words are decoded first. When several tokens
    appear, the first wins: clients prepend, so the leftmost is the newest thread. Id 0 is
    no lead.
    """
    if not subject:
        return None
    text = decode_header_value(subject) if "=?" in subject else subject
    match = _TOKEN_RE.search(text)
    if match is None:
        return None
    lead_id = int(match.group(1))
    return lead_id if lead_id > 0 else None


def lead_token(lead_id: int) -> str:
    """Return the token text for ``lead_id``, e.g. ``[Lead#42]``."""
    if isinstance(lead_id, bool) or not isinstance(lead_id, int) or lead_id <= 0:
        raise ValueError(f"lead id must be a positive integer, not {lead_id!r}")
    if len(str(lead_id)) > MAX_ID_DIGITS:
        raise ValueError(f"lead id {lead_id} is too large for a subject token")
    return f"[Lead#{lead_id}]"


def subject_with_token(lead_id: int, subject: str) -> str:
    """Return ``subject`` starting with ``[Lead#<id>] ``.

    Unchanged when it already starts with this lead's token; otherwise any copy of the same
    token further in (``Re: [Lead#7] …``) is removed before prefixing, so replies do not grow
    ``[Lead#7] Re: [Lead#7] …`` chains. Tokens of other leads are left alone.
    """
    token = lead_token(lead_id)
    text = (subject or "").strip()
    if text.lower().startswith(token.lower()):
        return text
    same = re.compile(re.escape(token) + r"\s*", re.IGNORECASE)
    rest = _SPACE_RE.sub(" ", same.sub("", text)).strip()
    return f"{token} {rest}" if rest else token
