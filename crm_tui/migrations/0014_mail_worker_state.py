"""The mail worker's last pass and the operators' "sync now" requests (one row): the apps
no longer talk to the mail servers themselves."""

from peewee import BooleanField, CharField, DateTimeField, Model


def up(migrator, db):
    class MailWorkerState(Model):
        requested_at = DateTimeField(null=True)
        requested_by = CharField(max_length=60, default="")
        started_at = DateTimeField(null=True)
        finished_at = DateTimeField(null=True)
        ok = BooleanField(null=True)
        result = CharField(max_length=500, default="")

        class Meta:
            database = db
            table_name = "mail_worker_state"

    db.create_tables([MailWorkerState])
    MailWorkerState.insert(id=1).execute()


def down(migrator, db):
    db.execute_sql("DROP TABLE mail_worker_state")
