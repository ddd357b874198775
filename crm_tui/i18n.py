"""The language people read: gettext catalogs (compiled by babel) and the choice of language.

Strings a person reads go through `_()` when they are made, or `lazy_gettext()` (alias `_l`)
when they are made at import time (Binding descriptions, click help), so that the language can
be chosen after the modules are imported. The language is, in this order: `crm --lang`, the
CRM user's `language`, the OS locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), English.

Field names in `--json`, CLI field names, settings keys, exit codes and CSV headers are the
scripting contract and stay English: never mark them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from gettext import NullTranslations
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from babel.support import LazyProxy

# babel's catalogs and lazy strings are imported where they are first needed: a command
# that prints JSON in English reads no catalog, and babel takes longer to import than such
# a command takes to run.

DOMAIN = "crm_tui"
"""The gettext domain: crm_tui/locale/LANG/LC_MESSAGES/crm_tui.mo."""

SOURCE_LANGUAGE = "en"
"""The language the messages are written in (no catalog needed)."""

LOCALE_DIRS: list[Path] = [Path(__file__).with_name("locale")]
"""Where catalogs are looked for, first match wins (tests add a pseudo-locale's)."""

_state: dict[str, object] = {
    "language": SOURCE_LANGUAGE,
    "translations": NullTranslations(),
    "override": None,
}


# A document's or a recipient's language, for the code inside `in_language` only: a context
# variable, so a PDF made on a worker thread does not change what the screens read meanwhile.
_document: ContextVar[tuple[str, NullTranslations] | None] = ContextVar(
    "crm_tui_document_language", default=None)
_loaded: dict[str, NullTranslations] = {}


class UnknownLanguage(ValueError):
    """A language asked for that has no catalog."""


def _translations() -> NullTranslations:
    chosen = _document.get()
    return chosen[1] if chosen else _state["translations"]  # type: ignore[return-value]


def gettext(message: str) -> str:
    """`message` in the current language ("" stays "", not the catalog's header)."""
    if not message:
        return message
    return _translations().gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural of a message for `n`, in the current language."""
    return _translations().ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` in the current language, as said in `context` (one English word may be
    two words in another language: a "New" record, a "New" lead)."""
    if not message:
        return message
    return _translations().pgettext(context, message)


_ = gettext


def lazy_gettext(message: str) -> LazyProxy:
    """`message`, translated each time it is read (for strings made at import time)."""
    from babel.support import LazyProxy

    return LazyProxy(gettext, message, enable_cache=False)


_l = lazy_gettext


def N_(message: str) -> str:  # noqa: N802 - gettext's conventional name
    """Mark `message` for extraction only; it is translated where it is shown."""
    return message


def NC_(context: str, message: str) -> str:  # noqa: N802 - like N_
    """Mark `message`, said in `context`, for extraction only; `pgettext` reads it where shown."""
    return message


def N_plural(singular: str, plural: str) -> tuple[str, str]:  # noqa: N802 - like N_
    """Mark a singular and plural pair for extraction only; `ngettext` picks one where shown."""
    return singular, plural


KIND_NAMES = {
    "company": N_("company"), "contact": N_("contact"), "contract": N_("contract"),
    "invoice": N_("invoice"), "lead": N_("lead"), "user": N_("user"), "profile": N_("profile"),
    "role": N_("role"), "field": N_("custom field"), "section": N_("section"),
    "contract-type": N_("contract type"), "lead-type": N_("lead type"), "tag": N_("tag"),
    "template": N_("contract template"), "mail-template": N_("mail template"),
    "companies": N_("companies"), "contacts": N_("contacts"), "contracts": N_("contracts"),
    "invoices": N_("invoices"), "leads": N_("leads"),
    "attachment": N_("attachment"), "saved search": N_("saved search"),
    "import batch": N_("import batch"), "unmatched mail": N_("unmatched mail"),
    "quarantined mail": N_("quarantined mail"), "lead activity": N_("lead activity"),
}
"""The record kinds (and CSV kinds) as a sentence names them; the kind itself (`crm list
company`) is the scripting word and stays English."""


def kind_name(kind: str) -> str:
    """A record kind as people read it in the current language ("company" is "empresa")."""
    return gettext(KIND_NAMES.get(kind, kind))


def normalize(code: str | None) -> str:
    """The base language of a code as people and locales write it: "es_ES.UTF-8" is "es"."""
    code = (code or "").strip()
    code = code.split(".")[0].split("@")[0]
    return code.replace("-", "_").split("_")[0].lower()


def available_languages() -> list[str]:
    """The languages with a compiled catalog, and the source language."""
    found = {SOURCE_LANGUAGE}
    for directory in LOCALE_DIRS:
        if directory.is_dir():
            found.update(path.parent.parent.name for path in
                         directory.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return sorted(found)


def os_language() -> str | None:
    """The language of the OS locale (`LC_ALL`, `LC_MESSAGES`, `LANG`), if it has a catalog."""
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(variable)
        if value:
            # The first one set decides, as in POSIX; C and POSIX are the source language.
            language = normalize(value)
            if language in ("c", "posix"):
                return None
            return language if language in available_languages() else None
    return None


def current_language() -> str:
    """The language messages are translated into now."""
    chosen = _document.get()
    return chosen[0] if chosen else str(_state["language"])


def _load(language: str) -> NullTranslations:
    """The compiled catalog of a base language (read once), nothing for the source language."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    directory = next(d for d in LOCALE_DIRS
                     if (d / language / "LC_MESSAGES" / f"{DOMAIN}.mo").is_file())
    from babel.support import Translations

    with open(directory / language / "LC_MESSAGES" / f"{DOMAIN}.mo", "rb") as catalog:
        return Translations(catalog, domain=DOMAIN)


def document_language(code: str | None) -> str:
    """The language a document or a mail is written in: `code`'s base language when it has a
    catalog, else English (never the reader's: an invoice in English stays English)."""
    language = normalize(code)
    return language if language in available_languages() else SOURCE_LANGUAGE


@contextmanager
def in_language(code: str | None) -> Iterator[str]:
    """Within the block, `_()` speaks `code` (a document's or a recipient's language, see
    `document_language`), whatever the user's language; only in this thread or task."""
    language = document_language(code)
    key = (language, tuple(LOCALE_DIRS))
    translations = _loaded.get(str(key))
    if translations is None:
        translations = _loaded[str(key)] = _load(language)
    token = _document.set((language, translations))
    try:
        yield language
    finally:
        _document.reset(token)


def gettext_in(language: str | None, message: str) -> str:
    """`message` in `language` (see `in_language`), whatever the current language."""
    with in_language(language):
        return gettext(message)


def set_language(code: str) -> str:
    """Translate into `code` from now on; returns the base language chosen.

    Raises:
        UnknownLanguage: no catalog for it.
    """
    language = normalize(code)
    if language not in available_languages():
        raise UnknownLanguage(code)
    translations = _load(language)
    _state["language"] = language
    _state["translations"] = translations
    return language


def use_os_language() -> str:
    """At start: the `--lang` override if any, else the OS locale's language, else English."""
    override = _state["override"]
    return set_language(str(override) if override else os_language() or SOURCE_LANGUAGE)


def override_language(code: str) -> str:
    """`crm --lang CODE`: this language for the whole run, whatever the user's setting.

    Raises:
        UnknownLanguage: no catalog for it.
    """
    language = set_language(code)
    _state["override"] = language
    return language


def clear_override() -> None:
    """Forget `--lang` (each run of `crm` in one process, as tests do, starts afresh)."""
    _state["override"] = None


def use_user_language(language: str | None) -> str:
    """Once the user is known: their language, unless `--lang` chose one or theirs has no
    catalog (then the OS locale's, else English)."""
    if _state["override"]:
        return current_language()
    wanted = normalize(language)
    if wanted in available_languages():
        return set_language(wanted)
    return set_language(os_language() or SOURCE_LANGUAGE)


def retranslate(owner: object, *attributes: str) -> None:
    """Put text attributes of an object made at import time (a key binding's description and
    tooltip) in the current language, in place; the English source is kept on the object,
    so a later call after the language changed translates afresh."""
    sources = owner.__dict__.setdefault("_i18n_sources", {})
    for attribute in attributes:
        if attribute not in sources:
            text = getattr(owner, attribute, None)
            if not isinstance(text, str) or not text:
                continue
            sources[attribute] = text
        # object.__setattr__: key bindings are frozen dataclasses
        object.__setattr__(owner, attribute, gettext(sources[attribute]))


class Said(str):
    """An English message with its parameters filled in, that can still be read in any language.

    As a `str` it is the English text: what logs and stored texts keep, and what a script
    compares. `said()` reads it in the current language where a face shows it, so a message
    made on one user's or the mail worker's behalf is not frozen in their language.
    """

    message: str
    params: dict[str, object]

    def __new__(cls, message: str, **params: object) -> Said:
        self = super().__new__(cls, message.format(**params))
        self.message, self.params = message, params
        return self


def said(text: object, known: tuple[str, ...] = ()) -> str:
    """`text` in the current language, where a face shows it to a person.

    A `Said` is translated with its parameters (themselves read with `said`). A plain string
    that is one of the `known` English messages (with `{name}` parameters), as stored texts
    are, is matched back and translated; any other text is shown as it is.
    """
    if isinstance(text, Said):
        params = {name: said(value, known) if isinstance(value, str) else value
                  for name, value in text.params.items()}
        return gettext(text.message).format(**params)
    text = str(text)
    # The message with the most fixed words first: "refused to {action}: {reason}" before
    # "refused {command}: {answer}".
    for message in sorted(known, key=lambda m: -len(_FIELD.sub("", m))):
        found = _pattern(message).fullmatch(text)
        if found:
            params = {name: said(value, known) for name, value in found.groupdict().items()}
            return gettext(message).format(**params)
    return text


def said_error(exc: BaseException, known: tuple[str, ...] = ()) -> str:
    """An exception's one line in the current language (its `Said` message, or str(exc))."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return said(first if isinstance(first, Said) else str(exc), known)


_FIELD = re.compile(r"\{\w+\}")


_patterns: dict[str, re.Pattern[str]] = {}


def _pattern(message: str) -> re.Pattern[str]:
    """A regular expression matching `message` with any text for each `{name}`."""
    if message not in _patterns:
        pieces, seen = [], set()
        for index, part in enumerate(re.split(r"\{(\w+)\}", message)):
            if index % 2 == 0:
                pieces.append(re.escape(part))
            else:
                pieces.append(f"(?P={part})" if part in seen else f"(?P<{part}>.*?)")
                seen.add(part)
        _patterns[message] = re.compile("".join(pieces), re.DOTALL)
    return _patterns[message]
