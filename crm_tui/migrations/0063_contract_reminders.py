"""Contract expiry reminders: the reminders sent (one per contract, threshold and end date),
and outbox mail that belongs to no lead (the CRM's own notices)."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Contract(Model):
        class Meta:
            database = db
            table_name = "contract"

    class OutboxMail(Model):
        class Meta:
            database = db
            table_name = "outbox_mail"

    class ContractReminder(Model):
        contract = ForeignKeyField(Contract, on_delete="CASCADE")
        days = IntegerField()
        date_end = DateField()
        mail = ForeignKeyField(OutboxMail, null=True, on_delete="SET NULL")
        created = DateTimeField()
        class Meta:
            database = db
            table_name = "contract_reminder"
            indexes = ((("contract", "days", "date_end"), True),)

    # Nothing refers to outbox_mail yet, so SQLite's rebuild of the table loses nothing.
    migrator.migrate(migrator.drop_not_null("outbox_mail", "lead_id"))
    db.create_tables([ContractReminder])


def down(migrator, db):
    db.execute_sql("DROP TABLE contract_reminder")
    db.execute_sql("DELETE FROM outbox_mail WHERE lead_id IS NULL")
    migrator.migrate(migrator.add_not_null("outbox_mail", "lead_id"))
