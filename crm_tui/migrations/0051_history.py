"""The history of every change (who, when, which face, each field's old and new value)."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class History(Model):
        kind = CharField(max_length=30)
        record_id = IntegerField()
        action = CharField(max_length=10)
        changes = TextField(default="{}")
        login = CharField(max_length=60)
        face = CharField(max_length=10, default="")
        at = DateTimeField()
        class Meta:
            database = db
            table_name = "history"
            indexes = ((("kind", "record_id", "at"), False), (("login", "at"), False),
                       (("at",), False))
    db.create_tables([History])


def down(migrator, db):
    db.execute_sql("DROP TABLE history")
