"""How an import reads one cell: the field it fills and what each distinct text means."""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from crm_tui.models import CustomField
from crm_tui.services import values as V
from crm_tui.services.custom_fields import parse_custom_value
from crm_tui.services.imports.layouts import Column
from crm_tui.services.records import TEXT_KINDS, Field, Kind, column_parser

# What a cell means (see `RowChecker._parse`).
SKIP, OK, BAD, SELF = range(4)
#: Cells looked at to tell a column of mostly distinct texts from one of few values.
MEMO_SAMPLE = 1000
#: What an empty cell means: nothing (the field keeps its default).
EMPTY = (SKIP, None)
VALUE = operator.itemgetter(1)


class Cell:
    """How one column's cells are read: its field, and the parser of the field's values."""

    __slots__ = ("column", "name", "field", "spec", "yields", "self_ref", "plain", "parse",
                 "parse_all")

    def __init__(self, column: Column, spec: Field, yields: bool, self_ref: bool,
                 parse: Callable[[Any], Any]) -> None:
        self.column = column
        self.name = column.name
        #: The field it fills (None: the column is only checked).
        self.field = column.field
        self.spec = spec
        #: An id column that gives way to the by-name column of the same field.
        self.yields = yields
        self.self_ref = self_ref
        #: A text field filled as written: nothing but the field's own rules apply.
        self.plain = (spec.kind in TEXT_KINDS and column.field is not None and not self_ref
                      and not column.id_of and not column.by_name)
        #: The field's parser (`records.field_parser`): `parse_field` without the dispatch.
        self.parse = parse
        #: For a plain text field, its parser of whole columns (`records.column_parser`).
        self.parse_all = column_parser(spec) if self.plain else None


class Memo(dict):
    """What each distinct text of a column means, worked out when first met."""

    __slots__ = ("meaning",)

    def __init__(self, meaning: Callable[[str], Any]) -> None:
        super().__init__()
        self.meaning = meaning

    def __missing__(self, text: str) -> Any:
        found = self[text] = self.meaning(text)
        return found


class CustomCell:
    """How one custom field's cells are read."""

    __slots__ = ("field", "field_id", "name", "column", "parse_all")

    def __init__(self, custom: CustomField, column: str) -> None:
        self.field = custom
        self.field_id = custom.id
        self.name = custom.name
        self.column = column
        #: The parser of a whole column of non-empty texts, for the kinds whose values are
        #: kept as written (`parse_custom_value`: "text" up to 1000 characters on one line,
        #: "textarea" anything).
        self.parse_all = None
        if custom.kind in ("text", "textarea"):
            self.parse_all = partial(V.parse_texts,
                                     max_length=1000 if custom.kind == "text" else None,
                                     single_line=custom.kind == "text")


def mostly_distinct(texts: Sequence[str]) -> bool:
    """Whether a column's texts are mostly different (judged from its first ones)."""
    sample = texts[:MEMO_SAMPLE]
    return len(set(sample)) * 2 > len(sample)


def custom_meaning(custom: CustomField, text: str) -> tuple[bool, str] | None:
    """(True, text to store) or (False, why not) for one custom cell; None when empty."""
    if not text:
        return None
    try:
        return True, parse_custom_value(custom, text)
    except V.BadValue as exc:
        return False, str(exc)


def batch_form(kind: Kind, hook: str, form: str) -> Any:
    """A kind's batch form of a per-record hook (`Kind.validate_many` …), or None.

    A batch form counts only where the class that defines the hook defines it too: a kind
    that overrides the hook alone keeps its own per-record rule.
    """
    for klass in type(kind).__mro__:
        if hook in vars(klass):
            return getattr(kind, form) if form in vars(klass) else None
    return None


def map_all(parse: Callable[[Any], Any], texts: Sequence[str], full: bool = False,
             parse_all: Callable[[Sequence[str]], list[Any] | None] | None = None,
             ) -> list[Any] | None:
    """`parse` applied to every text, or None when a text is empty or refused.

    `full`: the texts are known not to be empty (no need to look). `parse_all`: the same
    parser for a whole column at once (None from it: some text is refused).
    """
    if not full and "" in texts:
        return None
    if parse_all is not None:
        return parse_all(texts)
    try:
        return list(map(parse, texts))
    except V.BadValue:
        return None
