"""Unmatched mail stays in the CRM: the ledger keeps its subject and raw copy (operators
have no mailbox password, so assigning works from the database), unmatched rows are found
by outcome, and leads remember mail their owner has not seen yet."""

from peewee import *  # noqa: F403
from playhouse.migrate import migrate


def up(migrator, db):
    migrate(
        migrator.add_column("filed_message", "subject", CharField(max_length=300, default="")),
        migrator.add_column("filed_message", "raw", BlobField(null=True)),
        migrator.add_column("filed_message", "size", BigIntegerField(null=True)),
        migrator.add_index("filed_message", ("outcome", "id"), False),
    )

    class Lead(Model):
        class Meta:
            database = db
            table_name = "lead"

    class User(Model):
        class Meta:
            database = db
            table_name = "user"

    class LeadUnseenMail(Model):
        lead = ForeignKeyField(Lead, primary_key=True, on_delete="CASCADE")
        owner = ForeignKeyField(User, on_delete="CASCADE")
        count = IntegerField(default=0)
        since = DateTimeField()
        class Meta:
            database = db
            table_name = "lead_unseen_mail"
            indexes = ((("owner", "lead"), False),)
    db.create_tables([LeadUnseenMail])


def down(migrator, db):
    db.execute_sql("DROP TABLE lead_unseen_mail")
    migrate(
        migrator.drop_index("filed_message", "filed_message_outcome_id"),
        migrator.drop_column("filed_message", "size"),
        migrator.drop_column("filed_message", "raw"),
        migrator.drop_column("filed_message", "subject"),
    )
