"""One search index for names, emails and companies: normalised words matched by prefix.

Text is normalised in Python (NFKD without combining marks, casefolded), so `garcia` finds
García and `energia` finds ENERGÍA the same way on SQLite and PostgreSQL. Each word of a
lead's full name, email and company name, a company's name and a contact's full name and
email is a row of `search_word`; a typed word matches the records having a word that starts
with it, through the (kind, word) index. A typed word that starts no indexed word at all
(`day` for Sunday) falls back to the caller's substring match, which reads every row.
The services keep the index in step on every write (create, update, merge, import, demo).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import operator
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence

import peewee

from crm_tui.db import database
from crm_tui.models import Company, Contact, Lead, SearchWord

#: The indexed columns of each kind, by one-letter field code.
FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "lead": (("n", "full_name"), ("e", "email"), ("c", "company_name")),
    "company": (("n", "name"),),
    "contact": (("n", "full_name"), ("e", "email")),
}
MODELS = {"lead": Lead, "company": Company, "contact": Contact}
_WORD = re.compile(r"\w+")
_MAX_WORD = 60
_CHUNK = 500
#: A word with this many index entries or more is common (see `match`).
_COMMON = 2000
#: Whether the queries built now visit every match (see `for_every_match`).
_EVERY_MATCH: contextvars.ContextVar[bool] = contextvars.ContextVar("search_every_match",
                                                                    default=False)
#: Where `match` notes a lone common word's (kind, prefix, codes) (see `capped_count`).
_LONE_COMMON: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "search_lone_common", default=None)


@contextlib.contextmanager
def for_every_match() -> Iterator[None]:
    """Build queries that will visit every match (an exact count, statistics), not a page:
    each typed word's records are then gathered from the index, common words too.

    A common word is otherwise checked row by row, which lets a page read along a list's
    order stop early, but makes a count check every row of the table (seconds at a million
    leads, against a few hundred milliseconds for gathering its records)."""
    token = _EVERY_MATCH.set(True)
    try:
        yield
    finally:
        _EVERY_MATCH.reset(token)


def normalise(text: str) -> str:
    """`text` without accents (NFKD, combining marks dropped), casefolded."""
    text = text or ""
    if text.isascii():
        # ASCII has nothing to decompose, and casefold is lower there: the usual case of
        # an import's millions of names, at a fraction of the cost.
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def words_of(text: str) -> list[str]:
    """The normalised words of `text`, in order, each at most 60 characters."""
    return [word[:_MAX_WORD] for word in _WORD.findall(normalise(text))]


def field_code(kind: str, column: str) -> str | None:
    """The field code of an indexed column of a kind, or None when it is not indexed."""
    return next((code for code, name in FIELDS.get(kind, ()) if name == column), None)


# --- keeping the index ----------------------------------------------------------------------


def word_rows(kind: str, record_id: int, texts: Iterable[tuple[str, str]]) -> list[tuple]:
    """The `search_word` rows (kind, field, word, record_id) of one record's texts."""
    rows = []
    for code, text in texts:
        for word in dict.fromkeys(words_of(text)):
            rows.append((kind, code, word, record_id))
    return rows


def insert_words(rows: Sequence[tuple],
                 progress: Callable[[float], None] | None = None) -> None:
    """Insert `search_word` rows (kind, field, word, record_id) with the driver's
    executemany (an import or the demo writes millions of them); `progress` is told the
    part done (0 to 1) as they go."""
    if not rows:
        return
    param = database.obj.param
    sql = (f'INSERT INTO "search_word" ("kind", "field", "word", "record_id") '
           f"VALUES ({param}, {param}, {param}, {param})")
    cursor = database.cursor()
    for start in range(0, len(rows), 20 * _CHUNK):
        cursor.executemany(sql, rows[start:start + 20 * _CHUNK])
        if progress is not None:
            progress(min(start + 20 * _CHUNK, len(rows)) / len(rows))


def index_new(kind: str, ids: Sequence[int], texts: dict[str, Sequence[str]],
              progress: Callable[[float], None] | None = None) -> None:
    """Index records just inserted with fresh ids (an import): `texts` holds each indexed
    column's values by position. Words left by deleted records under those ids go first.
    `progress` is told the part done (0 to 1) as the words are made and written."""
    if not ids:
        return
    SearchWord.delete().where(SearchWord.kind == kind, SearchWord.record_id >= min(ids),
                              SearchWord.record_id <= max(ids)).execute()
    codes = [(code, texts.get(name)) for code, name in FIELDS[kind]]
    rows: list[tuple] = []
    for position, record_id in enumerate(ids):
        rows += word_rows(kind, record_id, ((code, values[position] if values else "")
                                            for code, values in codes))
        if progress is not None and position % 2000 == 1999:
            progress(0.3 * position / len(ids))
    # Writing the words takes most of the time: the last 70 %.
    insert_words(rows, None if progress is None else lambda part: progress(0.3 + 0.7 * part))


def forget(kind: str, ids: Iterable[int]) -> None:
    """Drop the words of these records (they are being deleted or re-indexed)."""
    ids = list(ids)
    for start in range(0, len(ids), _CHUNK):
        SearchWord.delete().where(SearchWord.kind == kind,
                                  SearchWord.record_id.in_(ids[start:start + _CHUNK])).execute()


def reindex(kind: str, ids: Iterable[int]) -> None:
    """Write the words of these records afresh from their rows (inside the caller's
    transaction, right after the rows are written)."""
    model = MODELS[kind]
    columns = [getattr(model, name) for _, name in FIELDS[kind]]
    codes = [code for code, _ in FIELDS[kind]]
    ids = list(ids)
    forget(kind, ids)
    rows: list[tuple] = []
    for start in range(0, len(ids), _CHUNK):
        query = model.select(model.id, *columns).where(model.id.in_(ids[start:start + _CHUNK]))
        for record_id, *texts in query.tuples():
            rows += word_rows(kind, record_id, zip(codes, texts, strict=True))
    insert_words(rows)


def reindex_all(kind: str) -> None:
    """Rebuild the words of every record of a kind (after bulk writes)."""
    model = MODELS[kind]
    SearchWord.delete().where(SearchWord.kind == kind).execute()
    columns = [getattr(model, name) for _, name in FIELDS[kind]]
    codes = [code for code, _ in FIELDS[kind]]
    rows: list[tuple] = []
    for record_id, *texts in model.select(model.id, *columns).order_by(model.id).tuples():
        rows += word_rows(kind, record_id, zip(codes, texts, strict=True))
        if len(rows) >= 20 * _CHUNK:
            insert_words(rows)
            rows = []
    insert_words(rows)


# --- matching -------------------------------------------------------------------------------


def _after(prefix: str) -> str:
    """The smallest text greater than every text that starts with `prefix` (bytewise)."""
    last = ord(prefix[-1])
    return prefix[:-1] + chr(last + 1) if last < 0x10FFFF else prefix + "\U0010ffff"


def _prefix_condition(kind: str, prefix: str, codes: Sequence[str] | None,
                      table=SearchWord) -> peewee.Expression:
    condition = ((table.kind == kind) & (table.word >= prefix) & (table.word < _after(prefix)))
    if codes and not {code for code, _name in FIELDS.get(kind, ())} <= set(codes):
        # Only some fields: filter on them. Every field (a company's one name): no filter,
        # so a record's words are read from the (kind, record_id, word) index alone, which
        # the planner then prefers for a common word checked row by row (a one-letter
        # prefix at a million companies walked every word with that letter per row).
        condition &= table.field.in_(list(codes))
    return condition


def _entries(kind: str, prefix: str, codes: Sequence[str] | None) -> int:
    """How many index entries start with `prefix`, counted up to `_COMMON` (one capped
    index range count)."""
    condition = _prefix_condition(kind, prefix, codes)
    return SearchWord.select(SearchWord.id).where(condition).limit(_COMMON).count()


def match(kind: str, text: str, codes: Sequence[str] | None = None,
          fallback: peewee.Expression | None = None, *,
          required: bool = False) -> peewee.Expression:
    """The records of `kind` where every typed word starts a word of their name, email or
    company (of the fields `codes` only, when given).

    When some typed word starts no indexed word at all, `fallback` (the caller's substring
    match) applies instead, so `day` still finds Sunday. `required`: the caller ANDs the
    condition into its query as it is (not inside an OR), so `capped_count` may drive the
    count from the word's index entries.
    """
    model = MODELS[kind]
    typed = list(dict.fromkeys(words_of(text)))
    fallback = fallback if fallback is not None else peewee.SQL("1 = 0")
    if not typed:
        return fallback
    rare, common = [], []
    for prefix in typed:
        condition = _prefix_condition(kind, prefix, codes)
        # How common the word is decides the form.
        entries = _entries(kind, prefix, codes)
        if entries == 0:
            return fallback
        words = SearchWord.select(SearchWord.record_id).where(condition)
        common_word = entries >= _COMMON and not _EVERY_MATCH.get()
        (common if common_word else rare).append((condition, words, prefix))
    conditions: list[peewee.Expression] = []
    if rare:
        # The records of rare words are gathered first and drive the query.
        conditions += [model.id.in_(words) for _, words, _ in rare]
    elif len(common) > 1:
        # Several common words ("ana garcía"): their records intersected in the index.
        conditions.append(model.id.in_(functools.reduce(operator.and_,
                                                        [words for _, words, _ in common])))
        common = []
    noted = _LONE_COMMON.get()
    if noted is not None and required and len(common) == 1:
        noted.append((kind, common[0][2], codes))
    # A common word is checked row by row through the (kind, record, word) index, so a list
    # read along its sort index stops after a page instead of gathering every id first.
    conditions += [peewee.fn.EXISTS(SearchWord.select(peewee.SQL("1"))
                                    .where(SearchWord.record_id == model.id, condition))
                   for condition, _, _ in common]
    return functools.reduce(operator.and_, conditions)


def capped_count(build: Callable[[], peewee.Select], model: type[peewee.Model],
                 cap: int) -> int:
    """How many records `build()` (a select of `model`) finds, counted up to `cap`.

    When its search is one common word (thousands of index entries), the count walks that
    word's index entries and looks each record up by id: about cap / (share of the matches
    the query keeps) steps, against walking the records along some other index and checking
    each one in the search index (the access rule picks that index). The query's own
    conditions all still apply; a record with two entries for the word counts once.
    """
    noted: list = []
    token = _LONE_COMMON.set(noted)
    try:
        query = build().select(model.id)
    finally:
        _LONE_COMMON.reset(token)
    if len(noted) == 1 and MODELS.get(noted[0][0]) is model:
        kind, prefix, codes = noted[0]
        entry = SearchWord.alias("driving_word")
        query = (query.join_from(model, entry, on=(entry.record_id == model.id)
                                 & _prefix_condition(kind, prefix, codes, entry))
                 .distinct())
    return query.limit(cap).count()


def all_common(kind: str, text: str, codes: Sequence[str] | None = None) -> bool:
    """Whether every typed word of `text` is common (thousands of index entries each):
    then `along_index` reads a page of their records fastest."""
    typed = list(dict.fromkeys(words_of(text)))
    return bool(typed) and all(_entries(kind, word, codes) >= _COMMON for word in typed)


def along_index(query: peewee.Select, kind: str, text: str,
                codes: Sequence[str] | None = None) -> peewee.Select:
    """`query` (a select of `kind`'s model) narrowed to the records where every typed word
    of `text` starts a word of one field (`codes`, or the kind's only one), ordered along
    the search index: by the word that the longest typed word starts, then oldest first.
    Each record comes once (at its first such word).

    For typed words that are all common (`all_common`) a page read then walks the index
    entries of one word and stops when the page is full. Ordered by the records' own key
    instead, the matches of a common word may sit far apart: `77` at a million companies
    starts 111,000 of their words (each one's number), but along the primary key after 77,
    770-779 and 7700-7799 the next one is 77000, which a page of an operator who sees a
    sixth of them walked through row by row.
    """
    model = MODELS[kind]
    fields = set(codes or ()) or {code for code, _name in FIELDS[kind]}
    if len(fields) != 1:
        raise ValueError("along_index reads one field's words")
    typed = list(dict.fromkeys(words_of(text)))
    if not typed:
        return query
    # The longest typed word is taken as the rarest: its entries drive the walk.
    first = max(typed, key=len)
    entry = SearchWord.alias("found_word")
    earlier = SearchWord.alias("earlier_word")
    # A record with two words starting with `first` shows at the first of them only (one
    # field: a record has each word once), checked through the (kind, record_id, word)
    # index. The range's end is left out: the entry's word ends it, and with two ends
    # SQLite reads the whole range of every entry instead.
    # (A kind of one field, a company's name, needs no filter on it, which keeps the
    # check inside that index.)
    earlier_condition = ((earlier.kind == kind) & (earlier.record_id == entry.record_id)
                         & (earlier.word >= first) & (earlier.word < entry.word))
    if len(FIELDS[kind]) > 1:
        earlier_condition &= earlier.field.in_(sorted(fields))
    shown_earlier = peewee.fn.EXISTS(earlier.select(peewee.SQL("1")).where(earlier_condition))
    conditions = [_prefix_condition(kind, first, codes, entry), ~shown_earlier]
    conditions += [peewee.fn.EXISTS(SearchWord.select(peewee.SQL("1"))
                                    .where(SearchWord.record_id == model.id,
                                           _prefix_condition(kind, word, codes)))
                   for word in typed if word != first]
    return (query.join(entry, on=entry.record_id == model.id).where(*conditions)
            .order_by(entry.word, entry.field, entry.record_id))


def search(session, kind: str, text: str, limit: int = 50) -> list[dict]:
    """Up to `limit` visible records of `kind` matching `text` (newest first), in the --json
    shape: the service behind the lists' `/` search."""
    from crm_tui.services.records import get_kind

    target = get_kind(kind)
    filters = {"q": text} if "q" in target.extra_filters else {target.title_attr: text}
    query = target.query(session, filters).order_by(target.model.id.desc()).limit(limit)
    return target.rows(session, query)
