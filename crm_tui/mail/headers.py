"""Header values that cross the CRM's boundary: msg-ids, one-line fields, the sending policy.

Incoming header text is data: a Message-ID is kept only when it matches the RFC 5322
msg-id grammar, and every single-line field copied from a message is flattened and
bounded. Outgoing mail is built with :data:`SMTP`, ``policy.SMTP`` whose In-Reply-To and
References headers take only such ids, and which refuses to write any header line that a
line break would split: no value read from mail becomes a header line of its own.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email import policy
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.policy import EmailPolicy

from crm_tui.i18n import N_, Said

# Longer ids are not produced by mail clients (RFC 5322 lines stop at 998 characters, and
# the ledger key column holds 300); such mail is de-duplicated by its content instead.
MAX_MSG_ID_CHARS = 250
# References grow without bound in long threads; the newest ids (at the end) are the ones
# that point at mail the CRM sent, so only that tail is kept.
MAX_REFERENCES = 50

# RFC 5322 3.6.4: msg-id = "<" id-left "@" id-right ">", id-left a dot-atom-text, id-right a
# dot-atom-text or a no-fold-literal. Printable ASCII only: no white space, no controls.
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]"
_DOT_ATOM_TEXT = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
_NO_FOLD_LITERAL = r"\[[\x21-\x5a\x5e-\x7e]*\]"
_MSG_ID_RE = re.compile(rf"{_DOT_ATOM_TEXT}@(?:{_DOT_ATOM_TEXT}|{_NO_FOLD_LITERAL})")
_BRACKETED_RE = re.compile(r"<([^<>]*)>")
# An RFC 2047 encoded word: the header registry would decode it (CR LF included) when the
# value is set on an outgoing message, so an id carrying one is never an id.
_ENCODED_WORD_RE = re.compile(r"=\?.*\?=")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SPACE_RE = re.compile(r"\s+")


def is_msg_id(text: str) -> bool:
    """Whether ``text`` (without angle brackets) is a msg-id by the RFC 5322 grammar.

    No encoded word, no white space or control character, at most MAX_MSG_ID_CHARS.
    """
    return (isinstance(text, str) and 0 < len(text) <= MAX_MSG_ID_CHARS
            and _MSG_ID_RE.fullmatch(text) is not None
            and _ENCODED_WORD_RE.search(text) is None)


def msg_ids(values: Iterable[str]) -> list[str]:
    """The valid ids written as ``<id>`` in header values, in order, without repeats."""
    found: dict[str, None] = {}
    for value in values:
        for candidate in _BRACKETED_RE.findall(str(value)):
            if is_msg_id(candidate):
                found.setdefault(candidate, None)
    return list(found)


def one_line(value: object, limit: int) -> str:
    """``value`` as one line of at most ``limit`` characters: controls and line breaks gone,
    runs of white space one space. For every single-line field copied from a message."""
    text = _CONTROL_RE.sub(" ", "" if value is None else str(value))
    text = _SPACE_RE.sub(" ", text).strip()
    return text[:limit].rstrip()


class HeaderInjection(ValueError):
    """A header would have been written as more than one header line."""


class _MsgIdListHeader(UnstructuredHeader):
    """In-Reply-To and References: one or more ``<msg-id>``, checked, never decoded."""

    @classmethod
    def parse(cls, value, kwds):
        ids = str(value).split()
        if not ids or not all(i.startswith("<") and i.endswith(">") and is_msg_id(i[1:-1])
                              for i in ids):
            raise HeaderInjection(Said(N_("not a list of message ids: {value}"),
                                        value=repr(str(value)[:80])))
        text = " ".join(ids)
        kwds["parse_tree"] = cls.value_parser(text)  # holds no "=?": nothing to decode
        kwds["decoded"] = text


# A line end that does not start a folded continuation line (white space after it), or a
# bare CR anywhere.
_SPLIT_LINE_RE = re.compile(r"\r\n(?![ \t])|\r(?!\n)|(?<!\r)\n(?![ \t])")


class _SafePolicy(EmailPolicy):
    """``policy.SMTP`` that refuses to write a header which a line break splits in two.

    The header registry decodes encoded words in unstructured values, so text that passed
    every check when it was set could still carry CR LF when written; this is the last
    guard, on every header of every message built with it.
    """

    def fold(self, name, value):
        return _checked(name, super().fold(name, value), self.linesep)

    def fold_binary(self, name, value):
        folded = super().fold_binary(name, value)
        _checked(name, folded.decode("ascii", "surrogateescape"), self.linesep)
        return folded


def _checked(name: str, folded: str, linesep: str) -> str:
    body = folded[:-len(linesep)] if folded.endswith(linesep) else folded
    if _SPLIT_LINE_RE.search(body):
        raise HeaderInjection(Said(N_("the {name} header would hold a line break"), name=name))
    return folded


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("in-reply-to", _MsgIdListHeader)
    registry.map_to_type("references", _MsgIdListHeader)
    return registry


#: The policy outgoing mail is built with: ``policy.SMTP`` (CRLF, RFC 2047 for non-ASCII
#: headers) plus the msg-id headers and the line-break guard above.
SMTP = _SafePolicy(linesep=policy.SMTP.linesep, header_factory=_registry())
#: The same for mail to or from an address with a non-ASCII local part (RFC 6532): headers
#: are written as UTF-8, so the mail can only travel over SMTPUTF8 (RFC 6531).
SMTPUTF8 = SMTP.clone(utf8=True)
