"""The outbox: outgoing mail is queued with its activity entry and sent by the mail worker."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Lead(Model):
        class Meta:
            database = db
            table_name = "lead"

    class LeadActivity(Model):
        class Meta:
            database = db
            table_name = "lead_activity"

    class OutboxMail(Model):
        lead = ForeignKeyField(Lead, on_delete="CASCADE")
        activity = ForeignKeyField(LeadActivity, null=True, on_delete="SET NULL")
        message_id = CharField(max_length=300)
        sender = CharField(max_length=254)
        recipients = TextField()
        subject = TextField(default="")
        message = BlobField()
        status = CharField(max_length=20, default="queued")
        attempts = IntegerField(default=0)
        next_attempt = DateTimeField()
        answer = TextField(default="")
        author = CharField(max_length=200, default="")
        created = DateTimeField()
        sent = DateTimeField(null=True)
        class Meta:
            database = db
            table_name = "outbox_mail"
            indexes = ((("status", "next_attempt"), False),)
    db.create_tables([OutboxMail])


def down(migrator, db):
    db.execute_sql("DROP TABLE outbox_mail")
