"""Contracts, contract types and contract templates."""

from __future__ import annotations

import contextvars
import datetime as dt
from typing import Any

from crm_tui.errors import Problem, ValidationFailed
from crm_tui.i18n import N_, _, kind_name
from crm_tui.models import (
    Attachment,
    Contract,
    ContractInvoice,
    ContractTemplate,
    ContractType,
    CustomField,
    CustomValue,
    Invoice,
    User,
)
from crm_tui.services import attachments, history
from crm_tui.services import values as V
from crm_tui.services.catalogue import CatalogueKind
from crm_tui.services.context import Session
from crm_tui.services.contract_billing import (
    BILLING_CHOICES,
    lines_of,
    parse_lines,
    start_for,
    write_lines,
)
from crm_tui.services.contract_invoices import (  # noqa: F401 - re-exported for the faces
    add_invoices,
    check_locked_links,
    generate_invoice,
    invoice_draft,
    link_once,
    links_of,
    related_invoices,
    remove_invoices,
    visible_invoice_ids,
)
from crm_tui.services.inherited import CompanyOwnedKind
from crm_tui.services.records import Field, get_kind, register

CONTRACT_STATUSES = {0: N_("Inactive"), 1: N_("Active")}
"""Status names (--json `status_name` stays English; screens show them translated)."""


@register
class ContractTypeKind(CatalogueKind):
    """Contract types, each with its own custom fields."""

    name = "contract-type"
    model = ContractType
    fields = (Field("name", required=True, max_length=100), Field("description", "textarea"))

    def used_by(self, obj):
        return [("contract", Contract.select(Contract.id)
                 .where(Contract.contract_type == obj.id))]

    def before_delete(self, session, obj):
        # Allowed (check_delete) even when contracts use it: they lose the type, and the
        # values of its fields go with the fields (ON DELETE CASCADE).
        Contract.update(contract_type=None).where(Contract.contract_type == obj.id).execute()
        fields = CustomField.select(CustomField.id).where(
            CustomField.entity == "contract_type", CustomField.entity_type_id == obj.id)
        with history.cascade(session, [("field", i) for (i,) in fields.tuples()]):
            CustomField.delete().where(CustomField.id.in_(fields)).execute()


@register
class TemplateKind(CatalogueKind):
    """Contract templates: HTML with macros, checked when saved so generating cannot fail."""

    name = "template"
    model = ContractTemplate
    fields = (
        Field("name", required=True, max_length=100),
        Field("description", "textarea"),
        Field("body", "textarea"),
    )

    def validate(self, session, obj, parsed, problems):
        if "body" in parsed:
            reason = template_problem(obj.body)
            if reason:
                problems.append(Problem(self.label(obj), "body", _excerpt(obj.body), reason))


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
        Field("billing_period", "choice", choices=BILLING_CHOICES),
        Field("billing_start", "date"),
    )

    def defaults(self, session, obj):
        obj.status = 1

    def parse(self, session, obj, raw, creating):
        raw = dict(raw)
        lines_raw = raw.pop("billing_lines", None)
        parsed, custom, problems = super().parse(session, obj, raw, creating)
        if lines_raw is not None:
            label = self.label(obj) if not creating else self._new_label(raw)
            parsed["billing_lines"] = parse_lines(label, lines_raw, problems)
        return parsed, custom, problems

    def validate(self, session, obj, parsed, problems):
        if obj.status not in CONTRACT_STATUSES:
            problems.append(Problem(self.label(obj), "status", str(obj.status),
                                    _("must be 0 (inactive) or 1 (active)")))
        if obj.date_begin and obj.date_end and obj.date_end < obj.date_begin:
            problems.append(Problem(self.label(obj), "date_end", str(obj.date_end),
                                    _("is before date_begin")))
        if obj.billing_period != "none" and obj.billing_start is None:
            # Recurring drafts start with the current period, never with periods long past.
            obj.billing_start = start_for(obj, session.clock.today())
        related = parsed.get("related_contract")
        if related is not None and obj.id is not None and related.id == obj.id:
            problems.append(Problem(self.label(obj), "related_contract", str(related.id),
                                    _("a contract cannot relate to itself")))

    def _snapshot(self, session, record_id):
        # The recurring lines are part of the contract's history like its fields.
        out = super()._snapshot(session, record_id)
        lines = lines_of([record_id]).get(record_id)
        if out and lines:
            out["billing_lines"] = "; ".join(
                f"{x['description']}={x['amount']}" + (f"@{x['tax_rate']}" if x["tax_rate"]
                                                       else "") for x in lines)
        return out

    def before_save(self, session, obj, created):
        obj.updated = session.clock.now()
        if created:
            obj.created = obj.updated

    def after_save(self, session, obj, parsed, created):
        if "billing_lines" in parsed:
            write_lines(obj.id, parsed["billing_lines"])
        if "invoices" in parsed:
            from crm_tui.services.invoices import check_relations

            # A locked invoice's links change only by its lock holder (the lock covers them).
            current = {i for (i,) in ContractInvoice.select(ContractInvoice.invoice).where(
                ContractInvoice.contract == obj.id,
                ContractInvoice.invoice.in_(visible_invoice_ids(session))).tuples()}
            wanted = {invoice.id for invoice in parsed["invoices"]}
            for invoice in Invoice.select().where(Invoice.id.in_(sorted(current ^ wanted))):
                check_relations(session, invoice)
            # Links to invoices the user cannot see are not his to drop.
            with history.cascade(session, links_of("contract", obj.id, parsed["invoices"])):
                ContractInvoice.delete().where(
                    ContractInvoice.contract == obj.id,
                    ContractInvoice.invoice.in_(visible_invoice_ids(session)),
                ).execute()
                for invoice in parsed["invoices"]:
                    link_once(obj.id, invoice.id)

    def before_delete(self, session, obj):
        check_locked_links(session, obj)
        with history.cascade(session, links_of("contract", obj.id)):
            ContractInvoice.delete().where(ContractInvoice.contract == obj.id).execute()
        query = Attachment.select(Attachment.stored_name).where(
            Attachment.owner_kind == "contract", Attachment.owner_id == obj.id)
        _DELETED_FILES.get().extend(name for (name,) in query.tuples())
        Attachment.delete().where(Attachment.owner_kind == "contract",
                                  Attachment.owner_id == obj.id).execute()

    def delete(self, session, record_id):
        """Delete a contract with its links and attached files.

        Raises:
            NotFound, PermissionDenied, ValidationFailed.
        """
        token = _DELETED_FILES.set([])
        try:
            super().delete(session, record_id)
            names = _DELETED_FILES.get()
        finally:
            _DELETED_FILES.reset(token)
        for name in names:
            attachments.path_of(name).unlink(missing_ok=True)

    def extra_filter(self, session, name, value):
        today = session.clock.today()
        if name == "q":
            return Contract.name.contains(value) | Contract.contract_number.contains(value)
        if name == "expiring":
            days = V.parse_int(value)
            if days is None or days < 0:
                raise V.BadValue(_("a number of days"))
            return Contract.date_end.between(today, today + dt.timedelta(days=days))
        if name == "expired":
            return (Contract.date_end < today) if V.parse_bool(value) else (
                Contract.date_end.is_null() | (Contract.date_end >= today))
        return super().extra_filter(session, name, value)

    def decorate(self, session, rows):
        ids = [r["id"] for r in rows]
        links: dict[int, list[int]] = {}
        # Only the invoices the user may see: a hidden one is not even named by its id.
        visible = visible_invoice_ids(session)
        for start in range(0, len(ids), 500):
            query = (ContractInvoice.select(ContractInvoice.contract, ContractInvoice.invoice)
                     .where(ContractInvoice.contract.in_(ids[start:start + 500]),
                            ContractInvoice.invoice.in_(visible)).tuples())
            for contract_id, invoice_id in query:
                links.setdefault(contract_id, []).append(invoice_id)
        billing_lines = lines_of(ids)
        for row in rows:
            row["invoices"] = sorted(links.get(row["id"], []))
            row["billing_lines"] = billing_lines.get(row["id"], [])
            row["status_name"] = CONTRACT_STATUSES.get(row.get("status"), "")


# Stored names of attachment files whose rows a delete removed; unlinked after the commit.
_DELETED_FILES: contextvars.ContextVar[list[str]] = contextvars.ContextVar("contract_files")


def _excerpt(text: str, size: int = 40) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= size else text[:size - 1] + "…"


# --- contract types and their fields ---------------------------------------------------


def type_fields(session: Session, type_id: int | str) -> list[dict]:
    """A contract type's custom fields with the id each is known by in templates.

    Returns [{id, name, kind, options, macro}], macro being `_custom_<id>_`.

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.documents.templating import custom_macro
    from crm_tui.services.custom_fields import fields_of

    ctype = get_kind("contract-type").load(session, type_id)
    return [{"id": f.id, "name": f.name, "kind": f.kind, "options": f.option_data,
             "macro": custom_macro(f.id)} for f in fields_of("contract_type", ctype.id)]


def contract_types(session: Session) -> list[dict]:
    """Every contract type with its fields (for pickers and the types list)."""
    kind = get_kind("contract-type")
    return [dict(row, fields=type_fields(session, row["id"]))
            for row in kind.list(session)]


# --- templates ----------------------------------------------------------------------------


def _known_custom_macros() -> dict[str, str]:
    from crm_tui.documents.templating import custom_macro

    ids = CustomField.select(CustomField.id).where(CustomField.entity == "contract_type")
    return {custom_macro(i): "" for (i,) in ids.tuples()}


def template_problem(body: str) -> str | None:
    """Why a template body cannot be used (unknown macro, too big, HTML that cannot be
    laid out), or None when it renders."""
    from crm_tui.documents import DocumentError
    from crm_tui.documents.contract_pdf import contract_document
    from crm_tui.documents.templating import sample_contract_values

    try:
        contract_document(body or "", sample_contract_values() | _known_custom_macros(),
                          fallback=False)
    except DocumentError as exc:
        return str(exc)
    return None


def templates(session: Session) -> list[dict]:
    """The contract templates the user may see: [{id, name, description}]."""
    return [{"id": r["id"], "name": r["name"], "description": r["description"]}
            for r in get_kind("template").list(session)]


def default_template_body() -> str:
    """The HTML of the template that ships with the CRM."""
    from crm_tui.documents.templating import default_contract_template

    return default_contract_template()


# --- copy (renewal) ---------------------------------------------------------------------


def copy(session: Session, contract_id: int | str, date_begin: str, date_end: str,
         name: str | None = None) -> int:
    """Renew a contract: a new one with the same terms and custom values, new dates.

    The copy refers back to the original as its related contract; related invoices stay
    with the original. Returns the new contract's id.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    kind = get_kind("contract")
    original = kind.get(session, contract_id)
    raw: dict[str, Any] = {
        key: original[key]
        for key in ("contract_number", "description", "company", "sla", "group", "private",
                    "status", "contract_type", "manager")
        if original.get(key) is not None
    }
    raw["name"] = original["name"] if name is None else name
    raw["date_begin"] = date_begin
    raw["date_end"] = date_end
    raw["related_contract"] = str(original["id"])
    raw["custom"] = {k: v for k, v in original.get("custom", {}).items() if v != ""}
    problems = []
    for key in ("date_begin", "date_end"):
        if not str(raw[key] or "").strip():
            problems.append(Problem(kind.label(None, f"copy of #{original['id']}"), key, "",
                                    _("a renewal needs new dates")))
    if problems:
        raise ValidationFailed(problems)
    return kind.create(session, raw)


# --- PDF from a template ------------------------------------------------------------------


def macro_values(session: Session, contract_id: int | str, template_ref: int | str) -> dict:
    """Every macro's value for one contract and template, as the PDF will print them.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (no such template).
    """
    from crm_tui.documents.templating import contract_macro_values
    from crm_tui.services import documents_service

    contract = get_kind("contract").load(session, contract_id)
    template = _template(session, template_ref)
    company = contract.company
    manager = User.get_or_none(User.id == company.manager_id) if company.manager_id else None
    ctype = contract.contract_type
    custom = {}
    if ctype is not None:
        query = (CustomValue.select(CustomValue.field, CustomValue.value)
                 .join(CustomField)
                 .where(CustomField.entity == "contract_type",
                        CustomField.entity_type_id == ctype.id,
                        CustomValue.record_id == contract.id).tuples())
        custom = dict(query)
    values = _known_custom_macros()  # other types' fields print empty, they are not unknown
    values.update(contract_macro_values(
        {"id": contract.id, "name": contract.name, "contract_number": contract.contract_number,
         "description": contract.description, "date_begin": contract.date_begin,
         "date_end": contract.date_end, "id_company": company.id,
         "private": contract.private, "status": contract.status},
        {"id": company.id, "name": company.name, "address": company.address,
         "fiscal_id": company.fiscal_id, "country": company.country,
         "website": company.website, "comments": company.comments,
         "manager": (manager.real_name or manager.login) if manager else "",
         "last_update": company.last_update, "payment_conditions": company.payment_conditions},
        {"id": ctype.id, "name": ctype.name, "description": ctype.description} if ctype else {},
        {"id": template.id, "name": template.name, "description": template.description},
        custom,
        session.clock.now(),
        session.user.language or "en",
        documents_service.seller(),
    ))
    return values


def _template(session: Session, template_ref: int | str) -> ContractTemplate:
    kind = get_kind("template")
    try:
        return kind.resolve(session, str(template_ref))
    except V.BadValue as exc:
        raise ValidationFailed.one("contract PDF", "template", template_ref, str(exc)) from None


def render_pdf(session: Session, contract_id: int | str,
               template_ref: int | str) -> tuple[str, bytes]:
    """A contract rendered through a template as PDF: (file name, bytes).

    Raises:
        NotFound, PermissionDenied, ValidationFailed (no such template, or one that cannot
        be rendered: unknown macro, HTML that cannot be laid out).
    """
    from crm_tui.documents import DocumentError, TemplateError
    from crm_tui.documents.bundle import safe_archive_name
    from crm_tui.documents.contract_pdf import contract_document
    from crm_tui.services import documents_service

    contract = get_kind("contract").load(session, contract_id)
    template = _template(session, template_ref)
    values = macro_values(session, contract.id, template.id)
    try:
        pdf = contract_document(template.body, values,
                                title=f"{contract.name} – {template.name}",
                                seller=documents_service.seller(),
                                logo=documents_service.logo_bytes(),
                                language=session.user.language or "en",
                                fallback=documents_service.fallback_fonts())
    except TemplateError as exc:
        raise ValidationFailed.one(f"{kind_name('template')} {template.name!r}", "body", _excerpt(template.body),
                                   str(exc)) from None
    except DocumentError as exc:  # a value of this contract, named by its field
        raise ValidationFailed.one(f"{kind_name('contract')} {contract.name!r}", "PDF", template.name,
                                   str(exc)) from None
    name = safe_archive_name(f"{contract.name}-{template.name}.pdf", default="contract.pdf")
    return name, pdf


def attach_pdf(session: Session, contract_id: int | str, template_ref: int | str) -> dict:
    """Generate the contract's PDF from a template and attach it to the contract.

    Returns {id, name, path, warnings} of the new attachment (path: where the file is
    stored; warnings: e.g. characters no font could draw).

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    from crm_tui.documents import collect_warnings

    contract = get_kind("contract").load(session, contract_id)
    get_kind("contract").check_modify(session, contract)
    with collect_warnings() as warnings:
        name, pdf = render_pdf(session, contract.id, template_ref)
    attachment_id = attachments.add(session, "contract", contract.id, name, pdf)
    row = Attachment.get_by_id(attachment_id)
    return {"id": attachment_id, "name": row.original_name,
            "path": str(attachments.path_of(row.stored_name)), "warnings": warnings}


def files(session: Session, contract_id: int | str) -> list[dict]:
    """The files attached to a contract."""
    contract = get_kind("contract").load(session, contract_id)
    return attachments.list_for(session, "contract", contract.id)


def renewal_defaults(session: Session, contract_id: int | str) -> dict[str, str]:
    """What a renewal form starts with: the next period of the same length, the same name."""
    row = get_kind("contract").get(session, contract_id)
    begin, end = V.parse_date(row.get("date_begin")), V.parse_date(row.get("date_end"))
    new_begin = (end + dt.timedelta(days=1)) if end else session.clock.today()
    # The same length as the old period; a year when the old one had no dates.
    length = (end - begin) if begin and end else dt.timedelta(days=364)
    new_end = new_begin + length
    return {"name": row["name"], "date_begin": new_begin.isoformat(),
            "date_end": new_end.isoformat()}


def attach_file(session: Session, contract_id: int | str, path: str) -> int:
    """Attach a file the operator chose (a local path) to a contract; returns its id.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (no such file, too large).
    """
    contract = get_kind("contract").load(session, contract_id)
    return attachments.attach_local_file(session, "contract", contract.id, path)


def detail(session: Session, contract_id: int | str) -> dict[str, Any]:
    """Everything a contract's detail view shows, in one call (plain data).

    Returns `fields` (as `forms.display` gives them), `name`, `permissions` (create, edit,
    delete), `can_invoice`, `invoice_count` (visible related invoices), `files` and
    `billing_lines` (the recurring draft's lines).

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.services import forms, invoices

    contract = get_kind("contract").load(session, contract_id)
    linked = ContractInvoice.select(ContractInvoice.invoice).where(
        ContractInvoice.contract == contract.id)
    fields = forms.display(session, "contract", contract.id)
    for item in fields:
        if item["key"] == "status":
            item["text"] = _(CONTRACT_STATUSES.get(contract.status, item["text"]))
    return {
        "id": contract.id,
        "name": contract.name,
        "fields": fields,
        "permissions": forms.permissions(session, "contract", contract.id),
        "can_invoice": invoices.can_create(session),
        "invoice_count": get_kind("invoice").query(session).where(
            Invoice.id.in_(linked)).count(),
        "files": files(session, contract.id),
        "billing_lines": lines_of([contract.id]).get(contract.id, []),
    }


def expiry_days(text: str) -> int:
    """The number of days of an "expiring within" filter.

    Raises:
        ValidationFailed: not a whole number of days from 0 up.
    """
    try:
        days = V.parse_int(text)
    except V.BadValue:
        days = None
    if days is None or days < 0:
        raise ValidationFailed.one("contract filter", "days", text, _("a number of days, e.g. 30"))
    return days


def add_type_field(session: Session, type_id: int | str, values: dict[str, str]) -> int:
    """Add a custom field to a contract type (`name`, `kind`, `options`); returns its id,
    which templates use as `_custom_<id>_`.

    Raises:
        NotFound, PermissionDenied, ValidationFailed.
    """
    ctype = get_kind("contract-type").load(session, type_id)
    raw = {k: v for k, v in values.items() if k in ("name", "kind", "options") and v != ""}
    return get_kind("field").create(session, {**raw, "entity": f"contract_type:{ctype.id}"})
