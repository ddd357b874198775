"""The shipped DejaVu Sans faces and a cache that reuses their parsed form across PDFs.

Why a cache: with plain fpdf2 every document re-parses each TTF in `add_font` and then
subsets the whole 6,000-glyph face again in `output()`, about 50 ms per face. fpdf2 has
no public way to share a parsed font, and the parsed object cannot simply be shared: at
`output()` time fpdf2 subsets its fontTools object *in place* and writes per-document
state into the font descriptor. So `PdfFontCache`, once per process (or batch):

1. builds a slim copy of each face in memory: only the scripts a CRM of European users
   prints (Latin with every extension, Greek, Cyrillic, punctuation, currency, arrows,
   maths, box drawing; about 2,800 glyphs) and without the layout tables fpdf2 throws
   away anyway; the full face stays available (see `install`'s `text`);
2. parses it once with fpdf2 into a prototype font (widths, cmap, glyph ids, metrics);
3. for each document, installs a fresh font object around the prototype's read-only
   parts, with its own fontTools handle (opened lazily from the in-memory bytes), its
   own subset map and its own descriptor.

Characters DejaVu cannot draw (CJK...) come from a fallback font found through fontconfig
(`fc-match`, e.g. Debian's fonts-noto-cjk, a .ttc collection), installed only into the
documents that need it; characters no font here can draw are reported with
`crm_tui.documents.warn`, never dropped silently.

Step 3 relies on fpdf2 internals (checked against 2.8.x). If they change shape, the cache
logs a warning and falls back to plain `add_font`: output is always produced, only slower.
"""

from __future__ import annotations

import copy
import functools
import io
import logging
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

FONT_DIR = Path(__file__).resolve().parent
FAMILY = "dejavu"
FALLBACK_FAMILY = "fallback"
# style letter -> shipped file. No italic is shipped: the HTML renderer prints it upright.
FACES = {"": FONT_DIR / "DejaVuSans.ttf", "B": FONT_DIR / "DejaVuSans-Bold.ttf"}

# Unicode blocks kept in the slim faces (inclusive ranges).
SLIM_RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x052F),  # Latin-1 .. Latin Extended-B, IPA, diacritics, Greek, Cyrillic
    (0x1E00, 0x1FFF),  # Latin Extended Additional (Vietnamese...), Greek Extended
    (0x2000, 0x22FF),  # punctuation, currency (€, ₽, ₺...), letterlike, arrows, maths
    (0x2500, 0x25FF),  # box drawing, blocks, geometric shapes
    (0x2C60, 0x2C7F),  # Latin Extended-C
    (0xA720, 0xA7FF),  # Latin Extended-D
    (0xFB00, 0xFB06),  # Latin ligatures
    (0xFFFD, 0xFFFD),  # replacement character
)

# The tables fpdf2 2.8 removes from every embedded subset (fpdf/output.py, _add_fonts).
# Dropping them once here spares every document decompiling GSUB/GPOS just to drop them.
_TABLES_FPDF_DROPS = (
    "FFTM", "GDEF", "GPOS", "GSUB", "MATH", "hdmx", "meta", "sbix",
    "CBDT", "CBLC", "EBDT", "EBLC", "EBSC", "SVG ", "CPAL", "COLR",
)  # fmt: skip

log = logging.getLogger(__name__)


class PdfFontCache:
    """Parsed DejaVu faces, installed into any number of `FPDF` documents.

    One instance can serve a batch or the whole process (`shared_font_cache`). It is
    thread-safe: prototypes are built under a lock and never mutated afterwards; each
    document gets its own mutable copies. Building the slim faces costs about 0.4 s once;
    call `warm()` from a worker at start-up to keep that off the first document.
    """

    def __init__(self, *, reuse: bool = True) -> None:
        """`reuse=False` parses the full fonts per document (plain fpdf2), for comparison."""
        self.reuse = reuse
        self._lock = threading.Lock()
        self._prototypes: dict[tuple[str, bool], Any] = {}
        self._font_bytes: dict[tuple[str, bool], bytes] = {}

    def warm(self) -> None:
        """Build the slim prototypes now rather than on the first document."""
        if self.reuse:
            for style in FACES:
                self._prototype(style, slim=True)

    def install(self, pdf: Any, text: str = "", *, fallback: bool = True,
                what: str = "document") -> str:
        """Make the regular and bold faces available in `pdf`; return the family name.

        `text` is everything the document will print (or a superset). If it holds a
        character the slim face lacks but the full face has (Armenian, Georgian,
        Hebrew...), this document gets the full face, so nothing the font can draw is lost.
        Characters DejaVu lacks come from a system fallback font (when `fallback`); any
        left over are reported by `warn`, naming them and `what`.
        """
        for style, path in FACES.items():
            if f"{FAMILY}{style}" in pdf.fonts:
                continue
            if self.reuse and self._install_reused(pdf, style, text):
                continue
            pdf.add_font(FAMILY, style, str(path))
        if text:
            self._cover(pdf, text, fallback, what)
        return FAMILY

    def _cover(self, pdf: Any, text: str, fallback: bool, what: str) -> None:
        """Install a fallback font for what DejaVu cannot draw; warn about what is left."""
        needed = {ord(c) for c in set(text)}
        if not needed - self._slim_cmap():
            return  # the common case: nothing beyond the slim face
        missing = {c for c in needed - _font_cmap(str(FACES[""]), 0) if _printable(c)}
        if not missing:
            return
        if fallback:
            found = find_fallback(frozenset(missing))
            if found is not None:
                path, index = found
                try:
                    pdf.add_font(FALLBACK_FAMILY, "", path, collection_font_number=index)
                    pdf.set_fallback_fonts([FALLBACK_FAMILY], exact_match=False)
                    missing -= _font_cmap(path, index)
                except Exception as exc:  # noqa: BLE001 - a broken system font: warn below
                    log.warning("fallback font %s unusable: %s", path, exc)
        if missing:
            from crm_tui.documents import warn

            shown = sorted(missing)[:20]
            chars = " ".join(chr(c) for c in shown)
            codes = ", ".join(f"U+{c:04X}" for c in shown)
            more = f" and {len(missing) - len(shown)} more" if len(missing) > len(shown) else ""
            warn(f"{what}: no installed font can draw {chars} ({codes}{more}); "
                 "they are left blank (install a font covering them, e.g. fonts-noto-cjk)")

    def _slim_cmap(self) -> set[int] | Any:
        if not self.reuse:
            return _font_cmap(str(FACES[""]), 0)
        return self._prototype("", slim=True).cmap.keys()

    def _install_reused(self, pdf: Any, style: str, text: str) -> bool:
        """Install a per-document copy of the parsed face; False if fpdf2 internals changed."""
        try:
            from fontTools import ttLib
            from fpdf.fonts import SubsetMap, TTFFont

            slim = self._prototype(style, slim=True)
            use_slim = True
            if text:
                missing = {ord(c) for c in set(text)} - slim.cmap.keys()
                missing = {c for c in missing if c >= 0x20}
                if missing:
                    full = self._prototype(style, slim=False)
                    use_slim = not (missing & full.cmap.keys())
            proto = slim if use_slim else self._prototype(style, slim=False)
            data = self._font_bytes[(style, use_slim)]

            font = TTFFont.__new__(TTFFont)
            for name in TTFFont.__slots__:
                if hasattr(proto, name):
                    setattr(font, name, getattr(proto, name))
            # Per-document state; everything else (cmap, glyph_ids, metrics) is only read.
            font.i = len(pdf.fonts) + 1
            # recalcBBoxes=False lets fontTools write untouched glyphs back as raw bytes
            # instead of parsing each one: the bounding boxes are the original ones anyway.
            font.ttfont = ttLib.TTFont(
                io.BytesIO(data), recalcTimestamp=False, recalcBBoxes=False, lazy=True
            )
            font.desc = copy.copy(proto.desc)  # output() stores the font file refs on it
            font.cw = copy.copy(proto.cw)  # a defaultdict: looking up unknown chars writes
            font.missing_glyphs = []
            font.biggest_size_pt = 0
            font._hbfont = None
            font.subset = SubsetMap(font)
            pdf.fonts[font.fontkey] = font
            return True
        except (AttributeError, TypeError, ImportError, KeyError) as exc:
            log.warning("font reuse unavailable with this fpdf2 (%s); parsing per document", exc)
            self.reuse = False
            return False

    def _prototype(self, style: str, *, slim: bool) -> Any:
        """Parse a face once (thread-safe) and keep the parsed object as the prototype."""
        key = (style, slim)
        with self._lock:
            proto = self._prototypes.get(key)
            if proto is None:
                from fpdf import FPDF
                from fpdf.fonts import TTFFont

                path = FACES[style]
                data = _prepared_font_bytes(path, slim=slim)
                proto = TTFFont(FPDF(), io.BytesIO(data), f"{FAMILY}{style}", style)
                # The real path, for fpdf2's optional HarfBuzz shaping (which reads the file).
                proto.ttffile = path
                proto.ttfont.close()  # the prototype's own handle is never used again
                self._font_bytes[key] = data
                self._prototypes[key] = proto
            return proto


def _prepared_font_bytes(path: Path, *, slim: bool) -> bytes:
    """The face without the tables fpdf2 drops anyway and, if `slim`, only SLIM_RANGES."""
    from fontTools import subset, ttLib

    font = ttLib.TTFont(str(path), recalcTimestamp=False, recalcBBoxes=False)
    for tag in _TABLES_FPDF_DROPS:
        if tag in font:
            del font[tag]
    if slim:
        options = subset.Options()
        # Keep what fpdf2 needs to subset again later: glyph names, hinting, every name.
        options.glyph_names = True
        options.notdef_outline = True
        options.recommended_glyphs = True
        options.name_IDs = ["*"]
        options.name_languages = ["*"]
        options.layout_features = []
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=[c for lo, hi in SLIM_RANGES for c in range(lo, hi + 1)])
        subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    font.close()
    return out.getvalue()


def _printable(code: int) -> bool:
    """A character that needs a glyph (not a control, line break or invisible format char)."""
    import unicodedata

    return code >= 0x20 and unicodedata.category(chr(code)) not in ("Cc", "Cf", "Zl", "Zp")


@functools.lru_cache(maxsize=16)
def _font_cmap(path: str, index: int) -> frozenset[int]:
    """The characters a font file (or one face of a collection) can draw."""
    from fontTools import ttLib

    font = ttLib.TTFont(path, fontNumber=index, lazy=True)
    try:
        return frozenset(font.getBestCmap() or {})
    finally:
        font.close()


@functools.lru_cache(maxsize=64)
def find_fallback(missing: frozenset[int]) -> tuple[str, int] | None:
    """A system font (file, face index) drawing some of `missing`, found by fontconfig.

    None when fontconfig is not installed or offers nothing that covers them.
    """
    program = shutil.which("fc-match")
    if program is None:
        return None
    charset = " ".join(f"{c:x}" for c in sorted(missing)[:32])
    try:
        result = subprocess.run(
            [program, "--format=%{file}|%{index}", f"sans-serif:style=Regular:charset={charset}"],
            capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        log.warning("fc-match failed: %s", exc)
        return None
    path, _, index = result.stdout.strip().partition("|")
    if result.returncode != 0 or not path or not path.lower().endswith((".ttf", ".otf", ".ttc")):
        return None
    try:
        number = int(index or 0)
        if not missing & _font_cmap(path, number):
            return None
    except Exception as exc:  # noqa: BLE001 - a broken font file: no fallback
        log.warning("fallback font %s unreadable: %s", path, exc)
        return None
    return path, number


_shared: PdfFontCache | None = None
_shared_lock = threading.Lock()


def shared_font_cache() -> PdfFontCache:
    """The process-wide cache used when a caller passes no `font_cache` (built on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = PdfFontCache()
        return _shared
