"""Contacts keep when they were created and last changed, companies when they were created:
exports carry the dates, and `crm import --on-duplicate update` knows a record by id and
creation date. Records made before have none (NULL)."""

from peewee import DateTimeField
from playhouse.migrate import migrate


def up(migrator, db):
    migrate(
        migrator.add_column("contact", "created", DateTimeField(null=True)),
        migrator.add_column("contact", "updated", DateTimeField(null=True)),
        migrator.add_column("company", "created", DateTimeField(null=True)),
    )


def down(migrator, db):
    migrate(
        migrator.drop_column("company", "created"),
        migrator.drop_column("contact", "updated"),
        migrator.drop_column("contact", "created"),
    )
