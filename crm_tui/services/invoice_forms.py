"""The invoice form and detail view: fields, and concepts and discounts as rows (description,
amount, tax rate) or typed as text lines."""

from __future__ import annotations

import re
from typing import Any

from crm_tui.errors import Problem, ValidationFailed
from crm_tui.i18n import N_, _, kind_name
from crm_tui.models import Attachment, Invoice
from crm_tui.services import settings
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.invoice_lock import permissions
from crm_tui.services.invoice_series import preview_bill_id
from crm_tui.services.invoices import default_language, find_invoice
from crm_tui.services.records import get_kind

# "@21" or "@10.5%" after the amount gives the line's tax rate.
_RATE_WORD = re.compile(r"@(\d+(?:\.\d+)?)%?")


def parse_lines_text(text: str, key: str = "lines") -> list[dict]:
    """Concept or discount lines typed one per line as `AMOUNT [@RATE] DESCRIPTION`.

    Returns [{description, amount}] (plus `tax_rate` where a line gives `@RATE`) as the
    `lines` / `discounts` fields take them; a line without a rate gets the invoice's.

    Raises:
        ValidationFailed: every line that is not an amount followed by a description.
    """
    problems: list[Problem] = []
    out: list[dict] = []
    for number, line in enumerate((text or "").splitlines(), 1):
        if not line.strip():
            continue
        amount_text, _sep, description = line.strip().partition(" ")
        rate = None
        first, _sep, rest = description.strip().partition(" ")
        if _RATE_WORD.fullmatch(first):
            rate, description = _RATE_WORD.fullmatch(first).group(1), rest
        try:
            amount = V.parse_decimal(amount_text)
        except V.BadValue as exc:
            problems.append(Problem(f"{kind_name('invoice')} {key}", f"{key}[{number}]", line.strip(),
                                    _("start with the amount, then the description: {exc}").format(exc=exc)))
            continue
        if not description.strip():
            problems.append(Problem(f"{kind_name('invoice')} {key}", f"{key}[{number}]", line.strip(),
                                    _("a description must follow the amount")))
            continue
        item = {"description": description.strip(), "amount": format(amount, "f")}
        if rate is not None:
            item["tax_rate"] = rate
        out.append(item)
    if problems:
        raise ValidationFailed(problems)
    return out


def lines_text(lines: list[dict]) -> str:
    """The inverse of `parse_lines_text`: one `AMOUNT [@RATE] DESCRIPTION` per line."""
    return "\n".join(
        f"{line['amount']} " + (f"@{line['tax_rate']} " if line.get("tax_rate") else "")
        + line["description"] for line in lines)


#: What joins a form row's cells, and the rows (the shape of a `rows` form field).
ROW_CELLS = "\t"
ROW_BREAK = "\n"
#: The columns of the concept and discount rows.
ROW_COLUMNS = (N_("Description"), N_("Amount"), N_("Tax %"))


def rows_text(lines: list[dict]) -> str:
    """Lines as a form's rows: description, amount and tax rate (empty: the invoice's)."""
    return ROW_BREAK.join(ROW_CELLS.join((str(line["description"]), str(line["amount"]),
                                          str(line.get("tax_rate") or "")))
                          for line in lines)


def parse_rows(text: str, key: str = "lines") -> list[dict]:
    """Concept or discount rows from a form (`rows_text`'s shape), like `parse_lines_text`.

    Raises:
        ValidationFailed: every row without a description or whose amount or rate is not
        a number.
    """
    problems: list[Problem] = []
    out: list[dict] = []
    for number, row in enumerate((text or "").split(ROW_BREAK), 1):
        cells = [cell.strip() for cell in row.split(ROW_CELLS)] + ["", "", ""]
        description, amount_text, rate_text = cells[:3]
        if not (description or amount_text or rate_text):
            continue
        where = f"{key}[{number}]"
        if not description:
            problems.append(Problem(f"invoice {key}", where, row.replace(ROW_CELLS, " | "),
                                    _("a description is needed")))
            continue
        try:
            amount = V.parse_decimal(amount_text)
            if amount is None:
                raise V.BadValue(_("required"))
        except V.BadValue as exc:
            problems.append(Problem(f"invoice {key}", where, amount_text,
                                    _("the amount: {exc}").format(exc=exc)))
            continue
        item = {"description": description, "amount": format(amount, "f")}
        if rate_text:
            rate_text = rate_text.removesuffix("%").strip()
            try:
                rate = V.parse_decimal(rate_text, 3)
            except V.BadValue as exc:
                problems.append(Problem(f"invoice {key}", where, rate_text,
                                        _("the tax rate: {exc}").format(exc=exc)))
                continue
            if rate is not None:
                item["tax_rate"] = format(rate.normalize(), "f")
        out.append(item)
    if problems:
        raise ValidationFailed(problems)
    return out


def form_defaults(session: Session) -> dict[str, str]:
    """The values a new invoice form starts with, and the bill ID it would get (a preview)."""
    return {
        "type": "submitted",
        "status": "pending",
        "created": session.clock.today().isoformat(),
        "currency": settings.raw_value("invoice.currency", "EUR") or "EUR",
        "language": default_language(session),
        "tax_rate": settings.raw_value("invoice.tax_rate", "0") or "0",
        "withholding_rate": "0",
        "bill_id_preview": preview_bill_id() or "",
    }


# --- the invoice form (fields, concepts and discounts as rows) --------------------------


_ROWS_HELP = N_("enter: next cell · ctrl+n: add a row · ctrl+y: remove the row · empty tax "
                "%: the invoice's rate")


def form_fields(session: Session, invoice_id: int | None = None,
                initial: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """The invoice form: the record fields (as `forms.describe` gives them) plus the
    concepts and discounts as `AMOUNT DESCRIPTION` lines.

    `initial` may carry `lines` / `discounts` as lists (e.g. a draft from a contract).

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.services import forms

    initial = dict(initial or {})
    lines = initial.pop("lines", None)
    discounts = initial.pop("discounts", None)
    out = forms.describe(session, "invoice", invoice_id, {k: str(v) for k, v in initial.items()})
    if invoice_id is not None:
        row = get_kind("invoice").get(session, invoice_id)
        lines = row["lines"] if lines is None else lines
        discounts = row["discounts"] if discounts is None else discounts
    preview = preview_bill_id() if invoice_id is None else None
    for field in out:
        if field["key"] == "bill_id" and preview:
            field["help"] = _("empty: numbered when issued (next: {preview})").format(preview=preview)
    columns = [_(label) for label in ROW_COLUMNS]
    out += [
        {"key": "lines", "label": N_("Concepts"), "kind": "rows", "required": False,
         "options": columns, "value": rows_text(lines or []), "help": _ROWS_HELP,
         "section": N_("Concepts and discounts")},
        {"key": "discounts", "label": N_("Discounts"), "kind": "rows", "required": False,
         "options": columns, "value": rows_text(discounts or []), "help": _ROWS_HELP,
         "section": N_("Concepts and discounts")},
    ]
    return out


def submit_form(session: Session, invoice_id: int | None, values: dict[str, str]) -> int:
    """Create or update an invoice from form strings; returns its id.

    Raises:
        forms.FormRejected: each problem under its form key (nothing written).
        PermissionDenied, NotFound.
    """
    from crm_tui.services import forms

    values = dict(values)
    texts = {key: values.pop(key, None) for key in ("lines", "discounts")}
    kind = get_kind("invoice")
    if invoice_id is None:
        required = {f.name for f in kind.fields if f.required}
        raw: dict[str, Any] = {k: v for k, v in values.items() if v != "" or k in required}
        current_texts = {"lines": "", "discounts": ""}
    else:
        current = forms.current_values(session, "invoice", invoice_id)
        raw = {k: v for k, v in values.items() if current.get(k, "") != v}
        row = kind.get(session, invoice_id)
        current_texts = {key: rows_text(row[key]) for key in ("lines", "discounts")}
    problems: list[Problem] = []
    for key, text in texts.items():
        if text is None:
            continue
        # Rows from the form hold tabs between their cells; text lines are still read.
        parse = parse_rows if ROW_CELLS in text else parse_lines_text
        if parse is parse_lines_text and text.strip() == lines_text(
                parse_rows(current_texts[key], key)).strip():
            continue
        if parse is parse_rows and text.strip() == current_texts[key].strip():
            continue
        try:
            raw[key] = parse(text, key)
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    try:
        if problems:
            raise ValidationFailed(problems)
        if invoice_id is None:
            return kind.create(session, raw)
        if raw:
            kind.update(session, invoice_id, raw)
        return invoice_id
    except ValidationFailed as error:
        errors = forms.field_errors(error, [*values, "lines", "discounts"])
        for problem in error.problems:
            # lines[2].amount belongs under the Concepts box.
            key = problem.field.split("[", 1)[0]
            if key in ("lines", "discounts") and problem.field != key:
                message = f"{problem.field}: {problem.reason}"
                errors[key] = f"{errors[key]}; {message}" if key in errors else message
        if "" in errors and all(p.field.split("[", 1)[0] in ("lines", "discounts")
                                for p in error.problems):
            del errors[""]
        raise forms.FormRejected(error.problems, errors) from None


def detail(session: Session, invoice_id: int | str) -> dict[str, Any]:
    """Everything an invoice's detail view shows, in one call (plain data).

    Returns the --json row plus `company_name`, `contract_names` [(id, name)], `files`
    [{id, name, size, generated}] and `permissions` (see `permissions`).

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.services import references

    invoice = find_invoice(session, invoice_id)
    row = get_kind("invoice").get(session, invoice.id)
    row["company_name"] = invoice.company.name
    # A related contract the user may not see is listed, but never by name.
    names = references.titles(session, "contract", row["contracts"])
    row["contract_names"] = sorted(names.items(), key=lambda item: (
        item[1] == references.not_visible(), item[1], item[0]))
    row["files"] = [
        {"id": a.id, "name": a.original_name, "size": a.size, "generated": a.generated}
        for a in Attachment.select().where(Attachment.owner_kind == "invoice",
                                           Attachment.owner_id == invoice.id)
        .order_by(Attachment.id)]
    row["permissions"] = permissions(session, invoice.id)
    row["credit_of_bill_id"] = (Invoice.get_by_id(invoice.credit_of_id).bill_id
                                if invoice.credit_of_id else None)
    return row
