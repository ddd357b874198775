"""The peewee models of every CRM entity, bound to the shared database proxy."""

from __future__ import annotations

from crm_tui.models.base import BaseModel, MoneyField, RateField
from crm_tui.models.companies import Company, CompanyActivity, CompanyRole, Contact
from crm_tui.models.contract_billing import (
    BILLING_PERIODS,
    ContractBillingLine,
    ContractBillingRun,
    ContractReminder,
)
from crm_tui.models.contracts import Contract, ContractTemplate, ContractType
from crm_tui.models.custom_fields import (
    FIELD_ENTITIES,
    FIELD_KINDS,
    CustomField,
    CustomFieldSection,
    CustomValue,
)
from crm_tui.models.files import ATTACHMENT_OWNERS, Attachment
from crm_tui.models.history import History, ImportBatch
from crm_tui.models.invoices import (
    INVOICE_LANGUAGES,
    INVOICE_STATUSES,
    INVOICE_TYPES,
    ISSUED_CHANGEABLE,
    ContractInvoice,
    Invoice,
    InvoiceDiscount,
    InvoiceLine,
)
from crm_tui.models.leads import (
    CLOSED_STATUSES,
    LEAD_STATUSES,
    OPEN_STATUSES,
    WON_STATUS,
    Lead,
    LeadActivity,
    LeadTag,
    LeadType,
    SavedSearch,
    Tag,
)
from crm_tui.models.mail import OUTBOX_STATUSES, FiledMessage, MailTemplate, OutboxMail, SentMail
from crm_tui.models.merges import Redirect
from crm_tui.models.search import SearchWord
from crm_tui.models.users import Profile, Setting, User, UserProfile
from crm_tui.models.worker import MailWorkerState

#: Every table, in an order that satisfies foreign keys when created.
ALL_MODELS = [
    Profile,
    User,
    UserProfile,
    Setting,
    CompanyRole,
    Company,
    CompanyActivity,
    Contact,
    CustomFieldSection,
    CustomField,
    CustomValue,
    ContractType,
    Contract,
    ContractTemplate,
    Invoice,
    InvoiceLine,
    InvoiceDiscount,
    ContractInvoice,
    LeadType,
    Tag,
    Lead,
    LeadTag,
    LeadActivity,
    SavedSearch,
    MailTemplate,
    SentMail,
    FiledMessage,
    OutboxMail,
    Attachment,
    History,
    ImportBatch,
    MailWorkerState,
    SearchWord,
    ContractBillingLine,
    ContractBillingRun,
    ContractReminder,
    Redirect,
]

__all__ = [
    "ALL_MODELS",
    "ATTACHMENT_OWNERS",
    "BILLING_PERIODS",
    "CLOSED_STATUSES",
    "FIELD_ENTITIES",
    "FIELD_KINDS",
    "INVOICE_LANGUAGES",
    "INVOICE_STATUSES",
    "INVOICE_TYPES",
    "ISSUED_CHANGEABLE",
    "LEAD_STATUSES",
    "OPEN_STATUSES",
    "OUTBOX_STATUSES",
    "WON_STATUS",
    "Attachment",
    "BaseModel",
    "Company",
    "CompanyActivity",
    "CompanyRole",
    "Contact",
    "Contract",
    "ContractBillingLine",
    "ContractBillingRun",
    "ContractReminder",
    "ContractInvoice",
    "ContractTemplate",
    "ContractType",
    "CustomField",
    "CustomFieldSection",
    "CustomValue",
    "FiledMessage",
    "History",
    "ImportBatch",
    "Invoice",
    "InvoiceDiscount",
    "InvoiceLine",
    "Lead",
    "LeadActivity",
    "MailWorkerState",
    "LeadTag",
    "LeadType",
    "MailTemplate",
    "OutboxMail",
    "MoneyField",
    "Profile",
    "RateField",
    "Redirect",
    "SavedSearch",
    "SearchWord",
    "SentMail",
    "Setting",
    "Tag",
    "User",
    "UserProfile",
]
