"""ZIP bundles for download: an invoice PDF plus its attachments, with safe member names."""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from datetime import datetime

# Characters that are separators or reserved on some system that will unpack the ZIP.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]')
_DOTS = re.compile(r"\.{2,}")
_SPACES = re.compile(r"\s+")
# Device names Windows refuses as file names, whatever the extension.
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)
}
MAX_NAME = 120  # characters; long enough for real names, short of every OS limit


def safe_archive_name(name: str, default: str = "attachment") -> str:
    """A file name that unpacks as one plain file anywhere.

    No directory separators (a bill ID "15/1000" becomes "15_1000"), no "..", no leading
    dot (hidden files) or trailing dot/space (Windows), no control or reserved
    characters, no Windows device names, at most MAX_NAME characters, never empty.
    """
    text = unicodedata.normalize("NFC", str(name or ""))
    text = _UNSAFE.sub("_", text)
    text = _SPACES.sub(" ", text)
    text = _DOTS.sub(".", text)
    text = text.strip(" .")
    if not text:
        text = default
    stem, dot, ext = text.rpartition(".")
    if not dot:
        stem, ext = text, ""
    if stem.upper() in _WINDOWS_RESERVED:
        stem = f"_{stem}"
    if len(ext) > 16:  # not an extension, just a dot inside a long name
        stem, ext = f"{stem}.{ext}", ""
    budget = MAX_NAME - (len(ext) + 1 if ext else 0)
    stem = stem[:budget].rstrip(" .") or default
    return f"{stem}.{ext}" if ext else stem


def _unique(name: str, taken: set[str]) -> str:
    """`name`, or "name (2).ext", "name (3).ext"... if taken (case-insensitively:
    Windows and macOS unpack "A.pdf" and "a.pdf" onto the same file)."""
    if name.lower() not in taken:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    n = 2
    while True:
        candidate = f"{stem} ({n}).{ext}" if ext else f"{stem} ({n})"
        if candidate.lower() not in taken:
            return candidate
        n += 1


def zip_bundle(
    pdf_name: str,
    pdf_bytes: bytes,
    attachments: list[tuple[str, bytes]],
    *,
    when: datetime | None = None,
) -> bytes:
    """A ZIP holding the PDF (first) and every attachment, all with safe unique names.

    `pdf_name` gets a ".pdf" extension if it lacks one. `when` stamps every member
    (default: now), so a caller can make the bundle reproducible.
    """
    stamp = (when or datetime.now()).timetuple()[:6]
    stamp = max(stamp, (1980, 1, 1, 0, 0, 0))  # the ZIP format cannot store earlier dates
    pdf_member = safe_archive_name(pdf_name, default="document")
    if not pdf_member.lower().endswith(".pdf"):
        pdf_member = safe_archive_name(f"{pdf_member}.pdf")
    members = [(pdf_member, pdf_bytes)]
    taken = {pdf_member.lower()}
    for original, data in attachments:
        member = _unique(safe_archive_name(original), taken)
        taken.add(member.lower())
        members.append((member, data))

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for member, data in members:
            info = zipfile.ZipInfo(member, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16  # a plain readable file, never executable
            archive.writestr(info, bytes(data))
    return buffer.getvalue()
