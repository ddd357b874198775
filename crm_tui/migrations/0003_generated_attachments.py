"""Attachments learn whether the CRM generated them (an invoice's own PDF), so that a new
PDF replaces only the generated one and never a file a user attached."""

from peewee import BooleanField
from playhouse.migrate import migrate


def up(migrator, db):
    migrate(migrator.add_column("attachment", "generated", BooleanField(default=False)))


def down(migrator, db):
    migrate(migrator.drop_column("attachment", "generated"))
