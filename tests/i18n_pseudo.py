"""A pseudo-locale for tests: every translated string marked ⟦like thïs⟧, as long as Spanish.

`install(directory)` writes the catalog `xx` (made from the Spanish one, accented and wrapped
in markers, placeholders and markup kept) and lets `crm_tui.i18n` find it; `screen_problems`
reads a screen's text and names what is not marked (or, in Spanish, not Spanish) and what is
cut off.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from crm_tui import i18n

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"
LOCALE = Path(i18n.__file__).with_name("locale")

_ACCENTED = str.maketrans("aeiouAEIOUnNcCyY", "áéíöüÁÉÍÖÜñÑçÇÿŸ")
# Kept as they are: placeholders, markup tags, line breaks.
_KEEP = re.compile(r"(\{[^{}]*\}|%\([^)]*\)[sdrif]|%[sdrif%]|\[/?[a-z@$#][^\[\]]*\]|\n)")
WORD = re.compile(r"[^\W\d_]{2,}")

#: What a screen shows that no catalog holds: key names in the footer and key lists.
KEY_WORDS = {"ctrl", "shift", "alt", "esc", "tab", "enter", "del", "delete", "space", "home",
             "end", "pgup", "pgdn", "up", "down", "left", "right", "backspace", "insert"}


def pseudo(text: str) -> str:
    """`text` accented and marked, line by line, its placeholders and markup untouched."""
    lines = []
    for line in text.split("\n"):
        parts = _KEEP.split(line)
        body = "".join(part if index % 2 else part.translate(_ACCENTED)
                       for index, part in enumerate(parts))
        lines.append(f"{OPEN}{body}{CLOSE}" if line.strip() else line)
    return "\n".join(lines)


def spanish_catalog():
    with open(LOCALE / "es" / "LC_MESSAGES" / "crm_tui.po", "rb") as po:
        return read_po(po, locale="es")


def install(directory: Path) -> None:
    """Write the pseudo catalog under `directory` and make `--lang xx` find it."""
    spanish = spanish_catalog()
    catalog = Catalog(locale="es", domain=i18n.DOMAIN)
    for message in spanish:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            strings = [s or message.id[min(i, 1)] for i, s in enumerate(message.string)]
            catalog.add(message.id, tuple(pseudo(s) for s in strings), context=message.context)
        else:
            catalog.add(message.id, pseudo(message.string or message.id), context=message.context)
    target = directory / PSEUDO / "LC_MESSAGES"
    target.mkdir(parents=True, exist_ok=True)
    with open(target / f"{i18n.DOMAIN}.mo", "wb") as mo:
        write_mo(mo, catalog)
    if directory not in i18n.LOCALE_DIRS:
        i18n.LOCALE_DIRS.append(directory)


def uninstall(directory: Path) -> None:
    if directory in i18n.LOCALE_DIRS:
        i18n.LOCALE_DIRS.remove(directory)


def catalog_words(language: str) -> set[str]:
    """The words of every translation in `language` (the words a label may show)."""
    words: set[str] = set()
    for message in spanish_catalog():
        strings = message.string if isinstance(message.string, tuple | list) else [
            message.string]
        for text in strings:
            text = pseudo(text) if language == PSEUDO else text
            words.update(WORD.findall(_KEEP.sub(" ", text or "")))
    return words


def screen_problems(text: str, language: str, data_words: set[str],
                    known_words: set[str], values: Iterable[str] = ()) -> list[str]:
    """What on a screen's text is unmarked (not from a catalog, nor data) or cut off.

    `values` are translated texts shown as values (the default status names): like data,
    they may be cut to fit a column ("Oferta acep…"), so they are taken out first, whole or
    cut. In the pseudo-locale marked spans are removed next and an unmatched marker is a
    label cut off. Then every word left must be a word of the catalog or of the data; a word
    that only begins one of the catalog's is a label cut off (a data value cut to fit a
    column is not a label).
    """
    problems = []
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, " ")
        for end in range(len(value) - 1, 1, -1):
            text = text.replace(value[:end] + "…", " ")
    if language == PSEUDO:
        marked = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
        while True:
            text, count = marked.subn(" ", text)
            if not count:
                break
        for line in text.splitlines():
            if OPEN in line or CLOSE in line:
                problems.append(f"cut off: {line.strip()!r}")
    for line in text.splitlines():
        for word in WORD.findall(line):
            if word in known_words or word in data_words or word.lower() in KEY_WORDS:
                continue
            if any(d.startswith(word) for d in data_words):
                continue
            if language != PSEUDO and any(k.startswith(word) for k in known_words):
                problems.append(f"cut off: {word!r} in {line.strip()!r}")
            else:
                problems.append(f"unmarked: {word!r} in {line.strip()!r}")
    return problems
