"""Attachments learn whether the CRM generated them (an invoice's own PDF)."""

from peewee import BooleanField
from playhouse.migrate import migrate


def up(migrator, db):
    # A new invoice PDF replaces only the generated one, never a file a user attached.
    migrate(migrator.add_column("attachment", "generated", BooleanField(default=False)))


def down(migrator, db):
    migrate(migrator.drop_column("attachment", "generated"))
