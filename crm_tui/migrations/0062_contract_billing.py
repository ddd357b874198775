"""Recurring drafts: a contract's billing period and lines, and the periods it was invoiced
for (one row per contract and period, unique, so a draft is made once)."""

from peewee import *  # noqa: F403


def up(migrator, db):
    class Contract(Model):
        class Meta:
            database = db
            table_name = "contract"

    class Invoice(Model):
        class Meta:
            database = db
            table_name = "invoice"

    class ContractBillingLine(Model):
        contract = ForeignKeyField(Contract, on_delete="CASCADE")
        position = IntegerField(default=0)
        description = CharField(max_length=500)
        amount = DecimalField(max_digits=16, decimal_places=2)
        tax_rate = DecimalField(max_digits=7, decimal_places=3, null=True)
        class Meta:
            database = db
            table_name = "contract_billing_line"

    class ContractBillingRun(Model):
        contract = ForeignKeyField(Contract, on_delete="CASCADE")
        period_start = DateField()
        invoice = ForeignKeyField(Invoice, null=True, on_delete="SET NULL")
        created = DateTimeField()
        class Meta:
            database = db
            table_name = "contract_billing_run"
            indexes = ((("contract", "period_start"), True),)

    migrator.migrate(
        # A default in the table too: bulk inserts (imports, demo data) name only the
        # columns they fill. Nullable, so SQLite adds the column in place: a NOT NULL one
        # would rebuild the table, and dropping the old one would cascade into the links
        # of contracts and invoices.
        migrator.add_column("contract", "billing_period", CharField(
            max_length=10, null=True, default="none", constraints=[SQL("DEFAULT 'none'")])),
        migrator.add_column("contract", "billing_start", DateField(null=True)),
    )
    db.create_tables([ContractBillingLine, ContractBillingRun])


def down(migrator, db):
    db.execute_sql("DROP TABLE contract_billing_run")
    db.execute_sql("DROP TABLE contract_billing_line")
    migrator.migrate(migrator.drop_column("contract", "billing_start"),
                     migrator.drop_column("contract", "billing_period"))
