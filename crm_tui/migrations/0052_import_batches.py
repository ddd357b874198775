"""Imports are batches that can be taken back: the batch table, and its id on history rows."""

from peewee import *  # noqa: F403
from playhouse.migrate import migrate


def up(migrator, db):
    class ImportBatch(Model):
        kind = CharField(max_length=20)
        login = CharField(max_length=60)
        at = DateTimeField()
        file = CharField(max_length=300, default="")
        created = IntegerField(default=0)
        undone_at = DateTimeField(null=True)
        undone_by = CharField(max_length=60, default="")
        class Meta:
            database = db
            table_name = "import_batch"
            indexes = ((("login", "at"), False),)
    db.create_tables([ImportBatch])
    migrate(migrator.add_column("history", "batch", IntegerField(null=True)),
            migrator.add_index("history", ("batch",), False))


def down(migrator, db):
    migrate(migrator.drop_index("history", "history_batch"),
            migrator.drop_column("history", "batch"))
    db.execute_sql("DROP TABLE import_batch")
