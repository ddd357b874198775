"""The search index: each word of a record's name, email and company, normalised."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel


class SearchWord(BaseModel):
    """One normalised word (NFKD without combining marks, casefolded) of a record's text.

    `kind` is the record kind ("lead", "company", "contact"), `field` a one-letter field
    code (n name, e email, c company). Prefix searches are ranges on `word`, which sorts
    bytewise (binary on SQLite, the "C" collation on PostgreSQL).
    """

    kind = peewee.CharField(max_length=20)
    field = peewee.CharField(max_length=1)
    word = peewee.CharField(max_length=60)
    record_id = peewee.IntegerField()

    class Meta:
        table_name = "search_word"
        indexes = (
            (("kind", "word", "field", "record_id"), False),
            (("kind", "record_id", "word"), False),
        )
