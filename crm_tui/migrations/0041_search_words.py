"""The search index: each word of the names, emails and companies of leads, companies and
contacts, normalised in Python (NFKD without combining marks, casefolded)."""

import re
import unicodedata

from peewee import CharField, IntegerField, Model

_WORD = re.compile(r"\w+")
# The texts indexed, frozen as this migration shipped: kind -> ((field code, column), …).
_FIELDS = {
    "lead": (("n", "full_name"), ("e", "email"), ("c", "company_name")),
    "company": (("n", "name"),),
    "contact": (("n", "full_name"), ("e", "email")),
}


def _words(text):
    decomposed = unicodedata.normalize("NFKD", text or "")
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return list(dict.fromkeys(word[:60] for word in _WORD.findall(plain)))


def up(migrator, db):
    class SearchWord(Model):
        kind = CharField(max_length=20)
        field = CharField(max_length=1)
        word = CharField(max_length=60)
        record_id = IntegerField()

        class Meta:
            database = db
            table_name = "search_word"

    db.create_tables([SearchWord], safe=True)
    if db.param == "%s":
        # Prefix searches are ranges: the words must sort bytewise (SQLite's binary order).
        db.execute_sql('ALTER TABLE search_word ALTER COLUMN word TYPE VARCHAR(60) COLLATE "C"')
    insert = ('INSERT INTO search_word (kind, field, word, record_id) '
              f"VALUES ({db.param}, {db.param}, {db.param}, {db.param})")
    for kind, fields in _FIELDS.items():
        columns = ", ".join(column for _, column in fields)
        read = db.execute_sql(f"SELECT id, {columns} FROM {kind} ORDER BY id")
        while True:
            batch = read.fetchmany(5000)
            if not batch:
                break
            rows = [(kind, code, word, row[0])
                    for row in batch
                    for (code, _), text in zip(fields, row[1:], strict=True)
                    for word in _words(text)]
            db.cursor().executemany(insert, rows)
    migrator.migrate(
        migrator.add_index("search_word", ("kind", "word", "field", "record_id"), False),
        migrator.add_index("search_word", ("kind", "record_id", "word"), False),
    )


def down(migrator, db):
    db.execute_sql("DROP TABLE search_word")
