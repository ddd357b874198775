"""Invoices with their concept lines, discounts and related contracts."""

from __future__ import annotations

import peewee

from crm_tui.i18n import NC_
from crm_tui.models.base import BaseModel, MoneyField, RateField
from crm_tui.models.companies import Company
from crm_tui.models.contracts import Contract
from crm_tui.models.users import User

# Stored and typed in English (`crm set invoice ID status=paid`); shown in the user's language
# in the context "invoice" (an invoice is "anulada", a mail "cancelado"): `services.words`.
INVOICE_TYPES = (NC_("invoice", "received"), NC_("invoice", "submitted"))
INVOICE_STATUSES = (NC_("invoice", "pending"), NC_("invoice", "paid"), NC_("invoice", "cancelled"))
INVOICE_CONTEXT = "invoice"
"""The catalog context of the invoice types and statuses."""
#: The languages invoice documents are translated into (the PDF labels).
INVOICE_LANGUAGES = ("en", "es")
#: What an issued invoice may still change; everything else is corrected by a credit note.
ISSUED_CHANGEABLE = ("status", "paid_on", "internal_note")


class Invoice(BaseModel):
    """An invoice; `total` is derived from lines, discounts and rates and kept for search.

    A Submitted invoice is a draft (no bill ID, `issued` empty) until it is issued. Bill IDs
    of Submitted invoices are unique system-wide and a Received invoice's number is unique
    per supplier: two partial unique indexes (migration 0030) hold that.
    """

    company = peewee.ForeignKeyField(Company, on_delete="RESTRICT", backref="invoices")
    type = peewee.CharField(max_length=10, default="submitted")
    bill_id = peewee.CharField(max_length=100, null=True)
    # The series (the pattern's fixed part, e.g. "15/[]") and the numeric part of an issued
    # bill ID, so the next number is max()+1 of numbers, not a text sort of IDs. Bill IDs
    # given by hand form the series "".
    bill_series = peewee.CharField(max_length=100, null=True)
    bill_number = peewee.IntegerField(null=True)
    # Issue date; None while a Submitted invoice is a draft (and always for Received ones).
    issued = peewee.DateField(null=True)
    # A credit note references the invoice it cancels (wholly or in part).
    credit_of = peewee.ForeignKeyField("self", null=True, on_delete="RESTRICT",
                                       backref="credit_notes")
    # The tamper-evident chain of the series: position, previous record's hash, own hash.
    chain_seq = peewee.IntegerField(null=True)
    prev_hash = peewee.CharField(max_length=64, null=True)
    chain_hash = peewee.CharField(max_length=64, null=True)
    reference = peewee.CharField(max_length=100, default="")
    status = peewee.CharField(max_length=10, default="pending", index=True)
    created = peewee.DateField(index=True)
    expires = peewee.DateField(null=True)
    paid_on = peewee.DateField(null=True)
    currency = peewee.CharField(max_length=3, default="EUR")
    language = peewee.CharField(max_length=10, default="en")
    tax_rate = RateField(default=0)
    withholding_rate = RateField(default=0)
    internal_note = peewee.TextField(default="")
    description = peewee.TextField(default="")
    total = MoneyField(default=0, index=True)
    locked = peewee.BooleanField(default=False)
    locked_by = peewee.ForeignKeyField(User, null=True, on_delete="SET NULL", backref="locks")
    updated = peewee.DateTimeField(null=True)

    class Meta:
        table_name = "invoice"
        indexes = ((("bill_series", "bill_number"), False), (("company", "created"), False),
                   (("bill_series", "chain_seq"), False))


class InvoiceLine(BaseModel):
    """A concept on an invoice: a description, an amount and its tax rate."""

    invoice = peewee.ForeignKeyField(Invoice, on_delete="CASCADE", backref="lines")
    position = peewee.IntegerField(default=0)
    description = peewee.CharField(max_length=500)
    amount = MoneyField()
    tax_rate = RateField(default=0)

    class Meta:
        table_name = "invoice_line"


class InvoiceDiscount(BaseModel):
    """A discount on an invoice, subtracted from the tax base of its rate."""

    invoice = peewee.ForeignKeyField(Invoice, on_delete="CASCADE", backref="discounts")
    position = peewee.IntegerField(default=0)
    description = peewee.CharField(max_length=500)
    amount = MoneyField()
    tax_rate = RateField(default=0)

    class Meta:
        table_name = "invoice_discount"


class ContractInvoice(BaseModel):
    """The many-to-many link between contracts and invoices."""

    contract = peewee.ForeignKeyField(Contract, on_delete="CASCADE", backref="invoice_links")
    invoice = peewee.ForeignKeyField(Invoice, on_delete="CASCADE", backref="contract_links")

    class Meta:
        table_name = "contract_invoice"
        indexes = ((("contract", "invoice"), True),)
