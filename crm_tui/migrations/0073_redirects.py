"""Merged records leave a redirect: kind and old id lead to the record that was kept."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Redirect(Model):
        kind = CharField(max_length=20)
        old_id = IntegerField()
        new_id = IntegerField()
        login = CharField(max_length=60)
        at = DateTimeField()
        class Meta:
            database = db
            table_name = "redirect"
            indexes = ((("kind", "old_id"), True), (("kind", "new_id"), False))
    db.create_tables([Redirect])


def down(migrator, db):
    db.execute_sql("DROP TABLE redirect")
