"""A quick reader for well-formed MIME, giving exactly what the compat32 email parser gives.

Most mail is plain: consistent line ends, simple ``Content-Type`` parameters, a handful of
parts. For such a message :func:`read_tree` builds a light tree of :class:`Part` objects
that answer the few questions the ingest asks (``raw_items``, ``get_content_type``,
``get_payload``, ``get_filename`` ...) with the very values ``email.message_from_bytes(raw,
policy=compat32)`` would give, at a fraction of the cost. Anything the email package would
treat specially - a defect, an RFC 2231 parameter, a comment, a ``message/*`` part, mixed
line ends, 8-bit header parameters - makes :func:`read_tree` return None, and the caller
uses the email package instead. So this module never decides anything about odd mail.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import quopri
import re
from collections.abc import Iterator

# One header field as the feedparser reads it: a name of printable ASCII without ":", the
# value (left-stripped) with its continuation lines, and the line end. Any line that does
# not fit (an envelope "From " line, a name with spaces or 8-bit bytes, a continuation
# line first) is something the feedparser treats specially.
# (Each part can match in one way only, so a long hostile header cannot make the regex
# engine backtrack without end.)
_FIELD = (r"([\x21-\x39\x3b-\x7e]+):[ \t]*"
          r"((?:[^\r\n \t][^\r\n]*)?(?:(?:\r\n|\r|\n)[ \t][^\r\n]*)*)(?:\r\n|\r|\n)")
# The whole field is captured too: fields that cover the block end to end add up to its length.
_FIELD_RE = re.compile(f"({_FIELD})")
# A Content-Type / Content-Disposition value of the plainest form: a token (with one "/"
# for a type), then ``name=token`` or ``name="text"`` parameters. Names with "*" (RFC
# 2231), comments, backslashes, angle brackets or quotes inside values are not plain.
_TOKEN = r"[A-Za-z0-9!#$%&'+.^_`|~-]+"
_PARAM = rf"\s*;\s*({_TOKEN})\s*=\s*(?:\"([^\"\\<>\r\n]*)\"|([A-Za-z0-9!#$%&'+.^_`|~=?/:-]+))"
_VALUE_RE = re.compile(rf"\s*({_TOKEN}(?:/{_TOKEN})?)((?:{_PARAM})*)\s*(?:;\s*)?")
_PARAM_RE = re.compile(_PARAM)
# Nesting deeper than this is left to the email package (and its own limits).
_MAX_NESTING = 12
_PLAIN_MULTIPART_CTE = ("7bit", "8bit", "binary")


class _NotPlain(Exception):
    """The message needs the email package."""


class Part:
    """One entity of a plain message, with the compat32 ``Message`` methods the ingest uses."""

    __slots__ = ("_headers", "_map", "_ctype", "_params", "_disposition", "_parts", "_data")

    # Plain mail has none by construction: whatever the email package would report as a
    # defect sends the message to it.
    defects: tuple = ()

    def __init__(self, headers: list[tuple[str, str]], default_type: str = "text/plain") -> None:
        self._headers = headers
        self._parts: list[Part] | None = None
        self._data = b""
        # Every question asks by lower-case name: lower each name once, here.
        values: dict[str, list[str]] = {}
        for name, value in headers:
            lower = name.lower()
            found = values.get(lower)
            if found is None:
                values[lower] = [value]
            else:
                found.append(value)
        self._map = values
        content_type = values.get("content-type")
        if content_type is None:
            self._ctype, self._params = default_type, {}
        else:
            self._ctype, self._params = _plain_value(content_type[0])
            if self._ctype.count("/") != 1:
                raise _NotPlain
        disposition = values.get("content-disposition")
        self._disposition = None if disposition is None else _plain_value(disposition[0])

    # -- the compat32 Message interface the ingest uses -----------------------------------

    def raw_items(self) -> Iterator[tuple[str, str]]:
        """Header names and values as written (continuation lines kept)."""
        return iter(self._headers)

    def get(self, name: str, failobj=None):
        """The first value of header ``name``."""
        values = self._map.get(name.lower())
        return failobj if values is None else values[0]

    def header_map(self) -> dict[str, list[str]]:
        """Every header value by lower-case name, in order (not a Message method)."""
        return self._map

    def get_content_type(self) -> str:
        """``maintype/subtype`` in lower case."""
        return self._ctype

    def get_content_maintype(self) -> str:
        """The part before the slash."""
        return self._ctype.split("/", 1)[0]

    def is_multipart(self) -> bool:
        """Whether this entity holds parts."""
        return self._parts is not None

    def get_payload(self, decode: bool = False):
        """The parts of a multipart; the decoded bytes of a leaf (``decode=True``)."""
        if self._parts is not None:
            return None if decode else self._parts
        if not decode:
            raise NotImplementedError("only decoded payloads are kept")
        return self._data

    def get_content_charset(self, failobj=None):
        """The ``charset`` parameter in lower case."""
        charset = self._params.get("charset")
        return failobj if charset is None else charset.lower()

    def get_content_disposition(self) -> str | None:
        """``inline``, ``attachment`` ... in lower case, or None without the header."""
        return None if self._disposition is None else self._disposition[0]

    def get_filename(self, failobj=None):
        """``filename`` of Content-Disposition, else ``name`` of Content-Type, stripped."""
        name = None
        if self._disposition is not None:
            name = self._disposition[1].get("filename")
        if name is None:
            name = self._params.get("name")
        return failobj if name is None else name.strip()

    def walk(self) -> Iterator[Part]:
        """This entity and every entity below it, depth first."""
        yield self
        for part in self._parts or ():
            yield from part.walk()


def read_tree(raw: bytes) -> Part | None:
    """The message as a tree of :class:`Part`, or None when it is not plain."""
    try:
        return _read(raw)
    except _NotPlain:
        return None


def _read(raw: bytes) -> Part:
    # Lines keep their ends: the feedparser splits at CR, LF and CRLF alike (so does
    # bytes.splitlines) and keeps each line's own end in header values and payloads.
    head_end, body_start = _header_end(raw)
    head, body = raw[:head_end], raw[body_start:]
    part = Part(_headers(head))
    if part.get_content_maintype() == "multipart":
        lines = body.splitlines(keepends=True)
        _fill_multipart(part, lines, 0, len(lines), (), 0)
    else:
        _fill_leaf(part, body)
    return part


def _header_end(raw: bytes) -> tuple[int, int]:
    """(end of the header lines, start of the body): around the first empty line."""
    if raw[:1] in (b"\r", b"\n"):
        return 0, 2 if raw.startswith(b"\r\n") else 1
    # A line end followed by an empty line always shows one of these pairs (CRLF + CRLF as
    # "\n\r"), and each pair is one; the first pair found starts on the last byte of the
    # last header line's end.
    first = -1
    for pair in (b"\n\r", b"\n\n", b"\r\r"):
        found = raw.find(pair, 0, len(raw) if first < 0 else first + 1)
        if found >= 0:
            first = found
    if first < 0:
        raise _NotPlain  # a header running into the end
    end = first + 1
    return end, end + (2 if raw.startswith(b"\r\n", end) else 1)


def _blank_line(lines: list[bytes], start: int, stop: int) -> int:
    """Index of the empty line that ends the header block starting at ``start``."""
    for index in range(start, stop):
        if lines[index] in (b"\r\n", b"\n", b"\r"):
            return index
    raise _NotPlain  # a header running into the end (or into a boundary)


def _headers(block: bytes) -> list[tuple[str, str]]:
    """compat32's ``header_source_parse`` of each field: value left-stripped, folds kept."""
    text = block.decode("ascii", "surrogateescape")
    fields = _FIELD_RE.findall(text)
    # findall skips what does not match: the block is plain only when the fields cover it
    # from end to end (they never overlap, so their lengths add up to the block's).
    if sum(len(whole) for whole, _name, _value in fields) != len(text):
        raise _NotPlain
    return [(name, value) for _whole, name, value in fields]


def _plain_value(value: str) -> tuple[str, dict[str, str]]:
    """(lower-case main value, {lower-case name: value}) of a plain structured header."""
    match = _VALUE_RE.fullmatch(value) if value.isascii() else None
    if match is None:
        raise _NotPlain
    params: dict[str, str] = {}
    for name, quoted, token in _PARAM_RE.findall(match.group(2)):
        # The first of repeated parameters wins, as in Message.get_param.
        params.setdefault(name.lower(), token or quoted)
    return match.group(1).lower(), params


def _fill_leaf(part: Part, payload: bytes) -> None:
    """Decode a leaf's payload as ``get_payload(decode=True)`` does, or give up."""
    main = part.get_content_maintype()
    if main in ("message", "multipart"):
        raise _NotPlain  # parsed specially (or a defect) by the email package
    cte = part.get("content-transfer-encoding", "")
    if not cte.isascii():
        raise _NotPlain
    cte = cte.lower()
    if cte == "quoted-printable":
        part._data = quopri.decodestring(payload)
    elif cte == "base64":
        encoded = b"".join(payload.splitlines())
        if len(encoded) % 4:
            raise _NotPlain  # a padding defect
        try:
            part._data = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            raise _NotPlain from None  # a character defect
    elif cte in ("x-uuencode", "uuencode", "uue", "x-uue"):
        raise _NotPlain
    else:
        part._data = payload


def _fill_multipart(part: Part, lines: list[bytes], lo: int, hi: int,
                    outer: tuple[bytes, ...], depth: int) -> None:
    """Split ``lines[lo:hi]`` at the boundary into parts, as the feedparser does.

    ``hi`` is the first line matching an enclosing boundary (or the end): the email
    package's end-of-part matchers stop there too.
    """
    if depth >= _MAX_NESTING:
        raise _NotPlain
    boundary = part._params.get("boundary")
    cte = part.get("content-transfer-encoding", "8bit")
    if not boundary or not boundary.rstrip() or not cte.isascii() \
            or cte.lower() not in _PLAIN_MULTIPART_CTE:
        raise _NotPlain
    dashes = b"--" + boundary.rstrip().encode("ascii")
    # A boundary that is a prefix of an enclosing one (or the reverse) makes the end of a
    # part depend on matcher order: not plain.
    if any(o.startswith(dashes) or dashes.startswith(o) for o in outer):
        raise _NotPlain
    marks: list[int] = []
    closed = False
    size = len(dashes)
    for index in range(lo, hi):
        line = lines[index]
        if not line.startswith(dashes):
            continue
        rest = line[size:].rstrip(b"\r\n")  # a line's end is its only CR or LF
        if not rest.strip(b" \t"):
            marks.append(index)
        elif rest.startswith(b"--") and not rest[2:].strip(b" \t"):
            closed = True
            marks.append(index)
            break
    # No parts, no opening or no closing boundary, or two boundary lines in a row: each is
    # a defect or a special case in the feedparser.
    if not closed or len(marks) < 2 or any(b - a < 2 for a, b in itertools.pairwise(marks)):
        raise _NotPlain
    default = "message/rfc822" if part.get_content_type() == "multipart/digest" else "text/plain"
    inner = (*outer, dashes)
    parts: list[Part] = []
    for start, stop in itertools.pairwise(marks):
        blank = _blank_line(lines, start + 1, stop)
        sub = Part(_headers(b"".join(lines[start + 1:blank])), default)
        if sub.get_content_maintype() == "multipart":
            _fill_multipart(sub, lines, blank + 1, stop, inner, depth + 1)
        else:
            # The line end before a boundary belongs to the boundary (RFC 2046).
            payload = b"".join(lines[blank + 1:stop])
            cut = 2 if payload.endswith(b"\r\n") else payload.endswith((b"\r", b"\n"))
            _fill_leaf(sub, payload[:len(payload) - cut])
        parts.append(sub)
    part._parts = parts
