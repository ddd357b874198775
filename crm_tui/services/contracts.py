"""Contracts, contract types and contract templates."""

from __future__ import annotations

import datetime as dt

from crm_tui.models import Contract, ContractInvoice, ContractTemplate, ContractType, CustomField
from crm_tui.services import values as V
from crm_tui.services.errors import Problem, ValidationFailed
from crm_tui.services.inherited import CompanyOwnedKind
from crm_tui.services.records import Field, Kind, register

CONTRACT_STATUSES = {0: "Inactive", 1: "Active"}


@register
class ContractTypeKind(Kind):
    """Contract types, each with its own custom fields."""

    name = "contract-type"
    model = ContractType
    fields = (Field("name", required=True, max_length=100), Field("description", "textarea"))

    def before_delete(self, session, obj):
        if Contract.select().where(Contract.contract_type == obj.id).exists():
            raise ValidationFailed.one(self.label(obj), "id", obj.id, "contracts still use it")
        CustomField.delete().where(CustomField.entity == "contract_type",
                                   CustomField.entity_type_id == obj.id).execute()


@register
class TemplateKind(Kind):
    """Contract templates: HTML with macros."""

    name = "template"
    model = ContractTemplate
    fields = (
        Field("name", required=True, max_length=100),
        Field("description", "textarea"),
        Field("body", "textarea"),
    )


@register
class ContractKind(CompanyOwnedKind):
    """Contracts, with their type's custom fields and related invoices."""

    name = "contract"
    model = Contract
    custom_entity = "contract_type"
    custom_type_attr = "contract_type"
    order_attr = "name"
    extra_filters = ("q", "expiring", "expired")
    fields = (
        Field("name", required=True),
        Field("contract_number", max_length=100),
        Field("description", "textarea"),
        Field("date_begin", "date"),
        Field("date_end", "date"),
        Field("company", "ref", ref="company", required=True),
        Field("sla", "int"),
        Field("group", "int"),
        Field("private", "bool"),
        Field("status", "int"),
        Field("contract_type", "ref", ref="contract-type"),
        Field("related_contract", "ref", ref="contract"),
        Field("manager", "user"),
        Field("invoices", "refs", ref="invoice"),
    )

    def defaults(self, session, obj):
        obj.status = 1

    def validate(self, session, obj, parsed, problems):
        if obj.status not in CONTRACT_STATUSES:
            problems.append(Problem(self.label(obj), "status", str(obj.status),
                                    "must be 0 (inactive) or 1 (active)"))
        if obj.date_begin and obj.date_end and obj.date_end < obj.date_begin:
            problems.append(Problem(self.label(obj), "date_end", str(obj.date_end),
                                    "is before date_begin"))
        related = parsed.get("related_contract")
        if related is not None and obj.id is not None and related.id == obj.id:
            problems.append(Problem(self.label(obj), "related_contract", str(related.id),
                                    "a contract cannot relate to itself"))

    def before_save(self, session, obj, created):
        obj.updated = session.clock.now()
        if created:
            obj.created = obj.updated

    def after_save(self, session, obj, parsed, created):
        if "invoices" in parsed:
            ContractInvoice.delete().where(ContractInvoice.contract == obj.id).execute()
            for invoice in parsed["invoices"]:
                ContractInvoice.create(contract=obj.id, invoice=invoice.id)

    def before_delete(self, session, obj):
        ContractInvoice.delete().where(ContractInvoice.contract == obj.id).execute()

    def extra_filter(self, session, name, value):
        today = session.clock.today()
        if name == "q":
            return Contract.name.contains(value) | Contract.contract_number.contains(value)
        if name == "expiring":
            days = V.parse_int(value)
            if days is None or days < 0:
                raise V.BadValue("a number of days")
            return Contract.date_end.between(today, today + dt.timedelta(days=days))
        if name == "expired":
            return (Contract.date_end < today) if V.parse_bool(value) else (
                Contract.date_end.is_null() | (Contract.date_end >= today))
        return super().extra_filter(session, name, value)

    def decorate(self, session, rows):
        ids = [r["id"] for r in rows]
        links: dict[int, list[int]] = {}
        for start in range(0, len(ids), 500):
            query = (ContractInvoice.select(ContractInvoice.contract, ContractInvoice.invoice)
                     .where(ContractInvoice.contract.in_(ids[start:start + 500])).tuples())
            for contract_id, invoice_id in query:
                links.setdefault(contract_id, []).append(invoice_id)
        for row in rows:
            row["invoices"] = sorted(links.get(row["id"], []))
            row["status_name"] = CONTRACT_STATUSES.get(row.get("status"), "")
