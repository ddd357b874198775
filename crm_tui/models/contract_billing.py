"""What the worker does for contracts: recurring invoice lines, the periods it invoiced, and
the expiry reminders it sent."""

from __future__ import annotations

import peewee

from crm_tui.models.base import BaseModel, MoneyField, RateField
from crm_tui.models.contracts import Contract
from crm_tui.models.invoices import Invoice
from crm_tui.models.mail import OutboxMail

#: The billing periods a contract may carry, with their length in months.
BILLING_PERIODS = {"monthly": 1, "quarterly": 3, "yearly": 12}


class ContractBillingLine(BaseModel):
    """A line of a contract's recurring draft: description, amount and tax rate (None: the
    default rate of the settings when the draft is made)."""

    contract = peewee.ForeignKeyField(Contract, on_delete="CASCADE", backref="billing_lines")
    position = peewee.IntegerField(default=0)
    description = peewee.CharField(max_length=500)
    amount = MoneyField()
    tax_rate = RateField(null=True)

    class Meta:
        table_name = "contract_billing_line"


class ContractBillingRun(BaseModel):
    """One billing period of a contract that got its draft: the unique key makes the draft
    once each, whatever number of workers run. Deleting the draft keeps the row, so a draft
    an operator threw away is not made again."""

    contract = peewee.ForeignKeyField(Contract, on_delete="CASCADE", backref="billing_runs")
    period_start = peewee.DateField()
    invoice = peewee.ForeignKeyField(Invoice, null=True, on_delete="SET NULL",
                                     backref="billing_runs")
    created = peewee.DateTimeField()

    class Meta:
        table_name = "contract_billing_run"
        indexes = ((("contract", "period_start"), True),)


class ContractReminder(BaseModel):
    """An expiry reminder sent for a contract at a threshold (days before its end date):
    once per contract, threshold and end date (a renewed end date reminds again)."""

    contract = peewee.ForeignKeyField(Contract, on_delete="CASCADE", backref="reminders")
    days = peewee.IntegerField()
    date_end = peewee.DateField()
    mail = peewee.ForeignKeyField(OutboxMail, null=True, on_delete="SET NULL",
                                  backref="reminders")
    created = peewee.DateTimeField()

    class Meta:
        table_name = "contract_reminder"
        indexes = ((("contract", "days", "date_end"), True),)
