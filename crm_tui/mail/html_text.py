"""Readable plain text from an HTML mail body (html.parser; scripts and styles dropped)."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_BLANK_LINES_RE = re.compile(r"\n{3,}")


class _HtmlText(HTMLParser):
    """Minimal HTML to text: keeps words and line structure, drops scripts, styles, tags."""

    _BLOCK = {
        "p",
        "div",
        "br",
        "tr",
        "table",
        "ul",
        "ol",
        "li",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "hr",
        "section",
        "article",
        "header",
        "footer",
    }
    _SKIP = {"script", "style", "head", "title", "noscript", "template"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag in self._SKIP:
            self.skip += 1
        elif tag == "pre":
            self.pre += 1
        if tag in self._BLOCK:
            self.out.append("\n")
        if tag == "li":
            self.out.append("- ")

    def handle_startendtag(self, tag, attrs) -> None:
        if tag in self._BLOCK:
            self.out.append("\n")

    def handle_endtag(self, tag) -> None:
        if tag in self._SKIP and self.skip:
            self.skip -= 1
        elif tag == "pre" and self.pre:
            self.pre -= 1
        if tag in self._BLOCK and tag not in ("br", "li"):
            self.out.append("\n")

    def handle_data(self, data) -> None:
        if self.skip:
            return
        self.out.append(data if self.pre else re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """Return readable plain text for an HTML mail body; never raises."""
    parser = _HtmlText()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001 - HTMLParser is lenient, but be sure
        return unescape(re.sub(r"<[^>]*>", " ", html))
    text = "".join(parser.out)
    lines = [line.strip() for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()
