"""Form descriptions and submission for any record kind, and what the user may do with it.

Screens turn the plain dicts of `describe()` into form widgets and send the strings they
collect back through `submit()`; every parse, rule and access check stays in the kind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import (
    CrmError,
    NotFound,
    PermissionDenied,
    Problem,
    ValidationFailed,
)
from crm_tui.i18n import N_, _
from crm_tui.models import User
from crm_tui.services import field_entity, pickers, references, secrets, words
from crm_tui.services import settings as settings_service
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.records import Field, Kind, get_kind, user_logins
from crm_tui.services.rows import cell_text

#: The section of custom fields that belong to none.
CUSTOM_SECTION = N_("Custom fields")
#: What forms use between the halves of a linked value (the services use "/").
LINKED_SEPARATOR = "|"

_FORM_KINDS = {
    "text": "text",
    "email": "text",
    "textarea": "textarea",
    "password": "password",
    "int": "numeric",
    "decimal": "numeric",
    "rate": "numeric",
    "date": "date",
    "datetime": "text",
    "bool": "checkbox",
    "choice": "combo",
    "user": "combo",
    "refs": "text",
}
_CUSTOM_KINDS = {
    "checkbox": "checkbox",
    "combo": "combo",
    "linked": "linked",
    "date": "date",
    "numeric": "numeric",
    "text": "text",
    "textarea": "textarea",
}


class FormRejected(ValidationFailed):
    """A form's values were refused; `errors` maps each form key ("" for the form) to a
    message to show beside that field."""

    def __init__(self, problems: list[Problem], errors: dict[str, str]) -> None:
        super().__init__(problems)
        self.errors = errors


# -- describing ---------------------------------------------------------------------------


def describe(
    session: Session,
    kind: str,
    record_id: int | None = None,
    initial: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The fields of a create (record_id None) or edit form, with their current values.

    Each dict has `key`, `label`, `kind` (a FieldForm kind), `required`, `options`,
    `value`, `help` and `section`; custom fields come last, keyed `custom.NAME`, under their
    section's name. `initial` overrides values (e.g. a contact's company when it is created
    from that company).

    Raises:
        NotFound, PermissionDenied: the record cannot be seen.
    """
    target = get_kind(kind)
    obj = target.load(session, record_id) if record_id is not None else None
    current = current_values(session, kind, record_id)
    current.update(initial or {})
    out: list[dict[str, Any]] = []
    for field in target.fields:
        if field.readonly:
            continue
        described = _describe_field(session, kind, field, current.get(field.name, ""))
        if (kind, field.name) == ("field", "entity"):
            # A kind from a list, then the contract or lead type by name.
            out.extend(field_entity.describe(session, described, current, record_id))
            continue
        if field.name == target.custom_type_attr:
            # Choosing another type changes the custom fields: the form asks again.
            described["reshapes"] = True
        out.append(described)
    for custom in target.custom_fields_for(_custom_owner(session, target, obj, current)):
        key = f"custom.{custom.name}"
        options: Any = custom.option_data or ()
        if custom.kind == "combo":
            options = [str(option) for option in options]
        elif custom.kind == "linked":
            options = {str(k): [str(c) for c in v] for k, v in dict(options or {}).items()}
        out.append({
            "key": key,
            "label": custom.name,
            "kind": _CUSTOM_KINDS.get(custom.kind, "text"),
            "required": False,
            "options": options,
            "value": current.get(key, ""),
            "help": "",
            "section": custom.section.name if custom.section_id else CUSTOM_SECTION,
        })
    return out


def _custom_owner(session: Session, target: Kind, obj: Any, current: dict[str, str]) -> Any:
    """What decides a form's custom fields: the record, or for typed kinds (contracts,
    leads) the type chosen in the form, which a new record has before it is saved."""
    attr = target.custom_type_attr
    if attr is None:
        return obj
    field = next(f for f in target.fields if f.name == attr)
    text = str(current.get(attr) or "").strip()
    type_id: int | None = None
    if text.isdigit():
        type_id = int(text)
    elif text and field.ref is not None:
        try:
            type_id = get_kind(field.ref).load(session, text).id
        except CrmError:
            type_id = None
    if obj is not None and getattr(obj, f"{attr}_id", None) == type_id:
        return obj
    return target.model(**{attr: type_id})


def _describe_field(session: Session, kind: str, field: Field, value: str) -> dict[str, Any]:
    form_kind = _FORM_KINDS.get(field.kind, "text")
    options: Any = ()
    help_text = ""
    extra: dict[str, Any] = {}
    if field.kind == "choice":
        # Shown in the user's language where the catalog has the word; stored as it is.
        options = [(words.choice_label(choice), choice) for choice in field.choices]
    elif field.kind in ("user", "ref", "refs"):
        # A type-ahead picker: the screen searches through `pickers.choices(kind, key)`;
        # the options are what it starts with, a record the user may not see included
        # (by its id, never its name), or saving the form would silently clear it.
        form_kind = "picks" if field.kind == "refs" else "pick"
        options = pickers.chosen(session, kind, field.name, value)
        extra["picker"] = kind
    elif (kind, field.name) in _STATUS_NAMES:
        # Statuses are chosen by name (the pipeline's may be renamed in settings).
        pairs = [(name, str(number)) for number, name in _STATUS_NAMES[kind, field.name]()]
        if (kind, field.name) in _TYPED_CHOICES:
            # Picked by typing part of a name: the options are what the picker starts with,
            # `choices` the fixed list it narrows.
            form_kind = "pick"
            options = [pair for pair in pairs if pair[1] == value]
            extra["choices"] = pairs
        else:
            form_kind = "combo"
            options = pairs
    elif field.kind == "datetime":
        help_text = N_("YYYY-MM-DD HH:MM:SS")
    elif (kind, field.name) == ("template", "body"):
        help_text = N_("macros: _name_contract_ _contract_number_ _date_begin_ _date_end_ "
                       "_company_name_ _company_fiscal_id_ … and _custom_ID_, which a "
                       "contract type's custom field shows in its form")
    return {
        "key": field.name,
        "label": field.title,
        "kind": form_kind,
        "required": field.required,
        "options": options,
        "value": value,
        "help": help_text,
        "section": "",
        **extra,
    }


def _lead_statuses() -> list[tuple[int, str]]:
    from crm_tui.services.leads import status_choices

    return status_choices()


def _contract_statuses() -> list[tuple[int, str]]:
    from crm_tui.services.contracts import CONTRACT_STATUSES

    return [(number, _(name)) for number, name in sorted(CONTRACT_STATUSES.items())]


#: Number fields chosen by name: (form kind, field) -> the (number, name) pairs.
_STATUS_NAMES: dict[tuple[str, str], Callable[[], list[tuple[int, str]]]] = {
    ("lead", "status"): _lead_statuses,
    ("contract", "status"): _contract_statuses,
}

#: Of those, the fields picked by typing part of a name (a "pick" over a fixed `choices`).
_TYPED_CHOICES = {("lead", "status")}


def current_values(session: Session, kind: str, record_id: int | None) -> dict[str, str]:
    """Every form key's current value as text (defaults for a new record).

    Raises:
        NotFound, PermissionDenied.
    """
    target = get_kind(kind)
    if record_id is None:
        return _default_values(session, target)
    row = target.get(session, record_id)
    out: dict[str, str] = {}
    for field in target.fields:
        if field.name in row:
            out[field.name] = _as_text(row[field.name])
    for name, value in (row.get("custom") or {}).items():
        out[f"custom.{name}"] = _custom_text(value)
    obj = target.load(session, record_id)
    linked = {f.name for f in target.custom_fields_for(obj) if f.kind == "linked"}
    for name in linked:
        key = f"custom.{name}"
        if key in out:
            out[key] = out[key].replace("/", LINKED_SEPARATOR, 1)
    return out


def _default_values(session: Session, target: Kind) -> dict[str, str]:
    obj = target.model()
    target.defaults(session, obj)
    logins: dict[int, str] | None = None
    out: dict[str, str] = {}
    for field in target.fields:
        if field.readonly or field.kind in ("refs", "password"):
            continue
        value = obj.__data__.get(field.column)
        if isinstance(value, User):
            value = value.id
        if field.kind == "user" and value is not None:
            logins = logins if logins is not None else user_logins()
            value = logins.get(value)
        out[field.name] = _as_text(V.render(value))
    return out


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, list | tuple):
        return ",".join(str(item) for item in value)
    return str(V.render(value))


def _custom_text(value: Any) -> str:
    return "" if value is None else str(value)


# -- submitting ---------------------------------------------------------------------------


def submit(
    session: Session, kind: str, record_id: int | None, values: dict[str, str],
    *, initial: dict[str, str] | None = None, opened: dt.datetime | None = None,
) -> int:
    """Create (record_id None) or update a record from form strings; returns its id.

    An edit sends only the values the user changed (against `initial`, what the form
    showed when it opened), so a field someone else changed meanwhile is not put back. A
    field the user changed that someone else changed after `opened` refuses the save
    (Conflict: "changed by LOGIN at TIME since you opened it"). A new record skips empty
    optional values, so the kind's defaults apply.

    Raises:
        FormRejected: with each problem mapped to its form key (nothing written).
        PermissionDenied, NotFound, Conflict.
    """
    target = get_kind(kind)
    form_values = values
    if kind == "field":
        # The entity's kind and its type come back as two values: the services take one.
        values = field_entity.joined(values)
        initial = field_entity.joined(initial) if initial is not None else None
    if record_id is None:
        required = {f.name for f in target.fields if f.required}
        changed = {k: v for k, v in values.items() if v != "" or k in required}
    else:
        shown = initial if initial is not None else current_values(session, kind, record_id)
        changed = {k: v for k, v in values.items() if shown.get(k, "") != v}
        if not changed:
            return record_id
    raw = _raw_from_form(target, changed)
    try:
        if record_id is None:
            return target.create(session, raw)
        target.update(session, record_id, raw, unchanged_since=opened)
        return record_id
    except FormRejected:
        raise
    except ValidationFailed as error:
        errors = field_errors(error, values.keys())
        if kind == "field":
            errors = field_entity.error_key(form_values, errors)
        raise FormRejected(error.problems, errors) from None


def _raw_from_form(target: Kind, values: dict[str, str]) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    custom: dict[str, str] = {}
    for key, value in values.items():
        if key.startswith("custom."):
            # Linked values travel as PARENT/CHILD in the services.
            custom[key[len("custom."):]] = value.replace(LINKED_SEPARATOR, "/", 1)
        else:
            raw[key] = value
    if custom:
        raw["custom"] = custom
    return raw


def field_errors(error: ValidationFailed, keys: Any = ()) -> dict[str, str]:
    """Each problem as a message under its form key; problems of no known key go under ""."""
    known = set(keys)
    errors: dict[str, str] = {}
    for problem in error.problems:
        key = problem.field if problem.field in known else ""
        message = problem.reason
        if problem.value:
            message = f"{message}: {problem.value!r}"
        if key == "":
            message = str(problem)
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


# -- showing -------------------------------------------------------------------------------


def display(session: Session, kind: str, record_id: int) -> list[dict[str, str]]:
    """Every field of a record as text for a detail view, derived fields included.

    Returns dicts with `section` ("" for the record's own fields, else the custom section),
    `key`, `label` and `text`; references show their target's title.

    Raises:
        NotFound, PermissionDenied.
    """
    target = get_kind(kind)
    obj = target.load(session, record_id)
    row = target.get(session, record_id)
    out: list[dict[str, str]] = []
    for field in target.fields:
        if field.kind == "password" or field.name not in row:
            continue
        value = row[field.name]
        if field.kind == "ref" and field.ref is not None and value is not None:
            text = references.title(session, field.ref, int(value))
        elif field.kind == "refs" and field.ref is not None and value:
            # Ids are looked up; kinds that show references by name (lead tags) give text.
            titles = references.titles(session, field.ref,
                                       [v for v in value if isinstance(v, int)])
            text = ", ".join(titles.get(v, f"#{v}") if isinstance(v, int) else str(v)
                             for v in value)
        elif value is None and field.name in getattr(target, "withheld_fields", ()):
            text = references.not_visible()
        elif field.kind == "bool":
            text = "yes" if value else "no"
        else:
            text = cell_text(value, field.kind)
        out.append({"section": "", "key": field.name, "label": field.title, "text": text})
    custom_values = row.get("custom") or {}
    for custom in target.custom_fields_for(obj):
        value = _custom_text(custom_values.get(custom.name))
        if custom.kind == "checkbox":
            value = "yes" if value == "1" else ("no" if value == "0" else "")
        out.append({
            "section": custom.section.name if custom.section_id else CUSTOM_SECTION,
            "key": f"custom.{custom.name}",
            "label": custom.name,
            "text": value,
        })
    return out


# -- permissions ---------------------------------------------------------------------------


def _allowed(check: Callable[[], None]) -> bool:
    try:
        check()
    except PermissionDenied:
        return False
    return True


def permissions(session: Session, kind: str, record_id: int | None = None) -> dict[str, bool]:
    """What the acting user may do: `create` records of the kind, `edit`/`delete` this one.

    Screens grey or hide their keys from this answer; the services still check every call.
    """
    target = get_kind(kind)
    out = {
        "view": acl.can_read_catalogue(session.user),
        "create": _allowed(lambda: target.check_write_any(session)),
        "edit": False,
        "delete": False,
    }
    if record_id is None:
        return out
    try:
        obj = target.load(session, record_id)
    except (NotFound, PermissionDenied):
        return out
    out["edit"] = target.can_modify(session, obj)
    # A catalogue entry in use may still be deleted once confirmed (the dialog says so).
    check_delete = getattr(target, "check_delete_rights", target.check_delete)
    out["delete"] = _allowed(lambda: check_delete(session, obj))
    return out


# -- settings ------------------------------------------------------------------------------

#: The settings' areas: key prefix and title (a tab each on the settings screen).
SETTING_SECTIONS = (
    ("invoice.", N_("Invoices")),
    ("lead.status.", N_("Lead statuses")),
    ("mail.", N_("Mail")),
    ("intake.", N_("Lead intake")),
    ("contract.", N_("Contracts")),
    ("seller.", N_("Seller")),
    ("documents.", N_("Documents")),
)
_SETTING_TEXTAREAS = {"invoice.header", "invoice.payment_methods", "invoice.footer"}
_SETTING_COMBOS = {
    "mail.smtp_security": ["none", "starttls", "tls"],
    "mail.imap_security": ["none", "starttls", "tls"],
}
_SETTING_HELP = {
    "invoice.id_pattern": N_("fixed text and the first number in brackets, e.g. 15/[1000]"),
    "invoice.tax_rate": N_("percent"),
    "invoice.currency": N_("ISO code, e.g. EUR"),
    "contract.reminder_days": N_("days before a contract ends to remind its manager, e.g. 30,7"),
    "mail.max_message_bytes": N_("bytes"),
    "mail.poll_seconds": N_("seconds"),
    "mail.max_parts": N_("MIME parts per message (over it: a note, raw copy kept)"),
    "mail.max_attachments": N_("attachments per message (over it: a note, raw copy kept)"),
    "mail.max_depth": N_("MIME nesting levels (over it: a note, raw copy kept)"),
    "mail.max_header_bytes": N_("bytes of header per message (over it: a note, raw copy kept)"),
    "mail.max_subject_chars": N_("characters (over it: a note, raw copy kept)"),
    "mail.max_per_hour": N_("mails filed per sender and per lead within an hour (0: no limit)"),
    "mail.create_leads": N_("mail from an unknown sender that names no lead makes a new lead"),
    "mail.lead_owner": N_("login owning leads made from mail (empty: no owner)"),
}


def can_change_settings(session: Session) -> bool:
    """Only superadmins change settings."""
    return acl.is_admin(session.user)


def settings_form(session: Session) -> list[dict[str, Any]]:
    """Every settings key as a form field (same shape as `describe`), grouped by area.

    Secrets show as `***` to anyone but a superadmin.
    """
    stored = _form_values(session)
    secrets_note = _secrets_note()
    out: list[dict[str, Any]] = []
    for key in settings_service.KEYS:
        section = next((title for prefix, title in SETTING_SECTIONS if key.startswith(prefix)),
                       N_("Other"))
        kind = "text"
        options: Any = ()
        extra: dict[str, Any] = {}
        value = stored.get(key, "")
        if key in pickers.SETTING_USERS:
            # A login, chosen by typing part of it (`pickers.choices("settings", key)`).
            kind, extra["picker"] = "pick", "settings"
            options = [(value, value)] if value else []
        elif key in _SETTING_CHECKBOXES:
            kind = "checkbox"
        elif key in _SETTING_TEXTAREAS:
            kind = "textarea"
        elif key in _SETTING_COMBOS:
            kind, options = "combo", _SETTING_COMBOS[key]
        elif key in settings_service.SECRET_KEYS:
            kind = "password"
        label = key.split(".", 1)[1]
        if key.startswith("lead.status."):
            label = _("status {number}").format(number=key.rsplit(".", 1)[1])
        out.append({
            "key": key,
            "label": label,
            "kind": kind,
            "required": False,
            "options": options,
            "value": value,
            "help": secrets_note if key in settings_service.SECRET_KEYS
            else _SETTING_HELP.get(key, ""),
            "section": section,
            **extra,
        })
    return out


def submit_settings(session: Session, values: dict[str, str]) -> list[str]:
    """Save the settings that changed, all or nothing; returns the keys changed.

    Raises:
        PermissionDenied: not a superadmin.
        FormRejected: a value does not fit its key (nothing written).
    """
    current = _form_values(session)
    changed = {k: v for k, v in values.items() if k in current and current[k] != v}
    if not changed:
        return []
    if not can_change_settings(session):
        raise PermissionDenied(_("{login} may not change settings").format(login=session.login))
    problems: list[Problem] = []
    for key, value in changed.items():
        try:
            settings_service.KEYS[key](value)
        except V.BadValue as exc:
            problems.append(Problem(_("setting {key}").format(key=key), key, value, str(exc)))
    if problems:
        error = ValidationFailed(problems)
        raise FormRejected(problems, field_errors(error, values.keys()))
    secret = {k: v for k, v in changed.items() if k in settings_service.SECRET_KEYS}
    if secret and not secrets.writable():
        note = _secrets_note()
        raise FormRejected([Problem(_("setting {key}").format(key=k), k, "***", note) for k in secret],
                           dict.fromkeys(secret, note))
    with write_transaction():
        for key, value in changed.items():
            if key not in secret:
                settings_service.set_value(session, key, value)
    # The secrets file is no part of the transaction: written once the rows are in.
    for key, value in secret.items():
        settings_service.set_value(session, key, value)
    return sorted(changed)


SECRET_MASK = "********"
"""What a set secret shows as in the settings form (never its value)."""


#: Settings the form shows as a checkbox.
_SETTING_CHECKBOXES = ("invoice.auto_id", "mail.create_leads")


def _form_values(session: Session) -> dict[str, str]:
    """The settings as the form shows them: a set secret masked, an unset one empty."""
    shown = settings_service.all_settings(session)
    for key in settings_service.SECRET_KEYS:
        shown[key] = SECRET_MASK if shown[key] == secrets.SET else ""
    for key in _SETTING_CHECKBOXES:
        # An unset switch shows as off: saving the form unchanged must not set it.
        shown[key] = shown[key] or "0"
    return shown


def _secrets_note() -> str:
    """The hint under a secret: where it is kept, and whether it can be replaced here."""
    path = secrets.secrets_path()
    if secrets.writable():
        return _("kept in {path} (0600), not in the database").format(path=path)
    return _("read only here: {path} is not writable by this account").format(path=path)

