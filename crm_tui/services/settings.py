"""Business settings under stable dotted keys, stored in the database (secrets excepted:
`crm_tui.services.secrets` keeps those in a file of the mail worker's account)."""

from __future__ import annotations

from crm_tui import acl
from crm_tui.db import write_transaction
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _, pgettext
from crm_tui.models import INVOICE_LANGUAGES, LEAD_STATUSES, STATUS_CONTEXT, Setting
from crm_tui.services import secrets
from crm_tui.services import values as V
from crm_tui.services.context import Session


def _series_apart(value: str, other_key: str) -> str:
    """A valid bill-ID pattern whose series is not the one `other_key` configures."""
    from crm_tui.services.invoice_series import parse_pattern

    series = parse_pattern(value).series
    try:
        other = parse_pattern(raw_value(other_key, "")).series
    except V.BadValue:
        return value
    if other == series:
        raise V.BadValue(_("invoices and credit notes need series of their own; {series} is "
                           "the series of {other_key}").format(series=series, other_key=other_key))
    return value


def _pattern(value: str) -> str:
    return _series_apart(value, "invoice.credit_pattern")


def _credit_pattern(value: str) -> str:
    return _series_apart(value, "invoice.id_pattern") if value else value


def _security(value: str) -> str:
    if value not in ("none", "starttls", "tls"):
        raise V.BadValue(_("must be none, starttls or tls"))
    return value


def _port(value: str) -> str:
    port = V.parse_int(value)
    if port is None or not 0 < port < 65536:
        raise V.BadValue(_("not a port number"))
    return str(port)


def _positive(value: str) -> str:
    number = V.parse_int(value)
    if number is None or number <= 0:
        raise V.BadValue(_("must be a positive whole number"))
    return str(number)


def _count(value: str) -> str:
    number = V.parse_int(value)
    if number is None or number < 0:
        raise V.BadValue(_("must be a whole number, 0 or more"))
    return str(number)


def _rate(value: str) -> str:
    rate = V.parse_decimal(value, 3)
    if rate is None or rate < 0 or rate > 100:
        raise V.BadValue(_("must be a percentage from 0 to 100"))
    return format(rate, "f")


def _bool(value: str) -> str:
    return "1" if V.parse_bool(value) else "0"


def _currency(value: str) -> str:
    from crm_tui.money import check_currency

    try:
        return check_currency(value)
    except ValueError:
        raise V.BadValue(_("an ISO 4217 code such as EUR or USD")) from None


def _secret(value: str) -> str:
    # A password or token is kept exactly as typed: spaces count.
    return V.parse_secret(value, 500)


def _line(value: str) -> str:
    return V.parse_text(value, 500)


def _text(value: str) -> str:
    return V.parse_text(value, 5000, single_line=False)


def _email(value: str) -> str:
    return V.parse_email(value)


def _invoice_template(value: str) -> str:
    """An invoice template that renders with sample data (checked when saved)."""
    from crm_tui.services.documents_service import invoice_template_problem

    value = V.parse_text(value, 200_000, single_line=False)
    problem = invoice_template_problem(value) if value.strip() else None
    if problem:
        raise V.BadValue(problem)
    return value


def _fallback_font(value: str) -> str:
    choice = value.strip().lower()
    if choice not in ("auto", "none"):
        raise V.BadValue(_("auto (a system font found through fontconfig) or none"))
    return choice


def _reminder_days(value: str) -> str:
    from crm_tui.services.contract_reminders import parse_days

    return ",".join(str(days) for days in parse_days(value))


#: Every settings key with its parser; keys are stable (scripts use them).
KEYS = {
    "invoice.auto_id": _bool,
    "invoice.id_pattern": _pattern,
    "invoice.credit_pattern": _credit_pattern,
    "invoice.header": _text,
    "invoice.logo": _line,
    "invoice.tax_name": _line,
    "invoice.tax_rate": _rate,
    "invoice.payment_methods": _text,
    "invoice.footer": _text,
    "invoice.currency": _currency,
    # Documents: our company (the seller on every invoice and contract), the invoice's
    # texts per language (the plain keys above are the fallback), the editable invoice
    # template (empty: the shipped one) and the font for what DejaVu cannot draw.
    "seller.name": _line,
    "seller.fiscal_id": _line,
    "seller.address": _text,
    "seller.country": _line,
    **{f"invoice.tax_name.{lang}": _line for lang in INVOICE_LANGUAGES},
    **{f"invoice.payment_methods.{lang}": _text for lang in INVOICE_LANGUAGES},
    **{f"invoice.footer.{lang}": _text for lang in INVOICE_LANGUAGES},
    "invoice.template": _invoice_template,
    "documents.fallback_font": _fallback_font,
    **{f"lead.status.{n}": _line for n in range(9)},
    "mail.smtp_host": _line,
    "mail.smtp_port": _port,
    "mail.smtp_security": _security,
    "mail.smtp_user": _line,
    "mail.smtp_password": _secret,
    "mail.imap_host": _line,
    "mail.imap_port": _port,
    "mail.imap_security": _security,
    "mail.imap_user": _line,
    "mail.imap_password": _secret,
    "mail.imap_folder": _line,
    "mail.unmatched_folder": _line,
    "mail.reference_address": _email,
    "mail.from_address": _email,
    "mail.max_message_bytes": _positive,
    "mail.poll_seconds": _positive,
    "mail.max_parts": _positive,
    "mail.max_attachments": _positive,
    "mail.max_depth": _positive,
    "mail.max_header_bytes": _positive,
    "mail.max_subject_chars": _positive,
    "mail.max_per_hour": _count,
    "mail.create_leads": _bool,
    "mail.lead_owner": _line,
    "intake.token": _secret,
    # Contracts: days before the end date at which the manager gets a reminder ("30,7").
    "contract.reminder_days": _reminder_days,
}
SECRET_KEYS = frozenset(secrets.SECRET_KEYS)


def get(session: Session, key: str) -> str:
    """A setting's value; a secret shows only whether it is set (`(set)` / `(not set)`).

    Raises:
        ValidationFailed: unknown key.
    """
    if key not in KEYS:
        raise ValidationFailed.one("setting", "key", key, _("unknown setting"))
    if key in SECRET_KEYS:
        return secrets.state(key)
    return raw_value(key)


def raw_value(key: str, default: str = "") -> str:
    """A setting's stored value without access checks, for the core's own use (a secret
    comes from the secrets file)."""
    if key in SECRET_KEYS:
        return secrets.get(key) or default
    row = Setting.get_or_none(Setting.key == key)
    return row.value if row is not None else default


def values(prefix: str = "") -> dict[str, str]:
    """Every stored setting under a prefix, for the core's own use (PDF, mail); never a
    secret (see `crm_tui.services.secrets`)."""
    query = Setting.select().where(Setting.key.startswith(prefix)) if prefix else Setting.select()
    return {s.key: s.value for s in query if s.key not in SECRET_KEYS}


def all_settings(session: Session) -> dict[str, str]:
    """Every known setting; a secret shows only whether it is set."""
    stored = values()
    return {key: (secrets.state(key) if key in SECRET_KEYS else stored.get(key, ""))
            for key in KEYS}


def set_value(session: Session, key: str, value: str) -> None:
    """Change a setting (superadmins only), after checking the value. A secret goes to the
    secrets file of this account, never into the database.

    Raises:
        PermissionDenied: not a superadmin, or the secrets file is not writable here.
        ValidationFailed: unknown key or a bad value.
    """
    if not acl.is_admin(session.user):
        raise PermissionDenied(_("{login} may not change settings").format(login=session.login))
    parser = KEYS.get(key)
    if parser is None:
        raise ValidationFailed.one("setting", "key", key, _("unknown setting"))
    try:
        stored = parser(value) if value or key not in SECRET_KEYS else ""
    except V.BadValue as exc:
        shown = "***" if key in SECRET_KEYS else value
        raise ValidationFailed.one(_("setting {key}").format(key=key), "value", shown, str(exc)) from None
    if key in SECRET_KEYS:
        secrets.put(key, stored)
        return
    if key.startswith("lead.status."):
        _refuse_taken_status_name(key, stored)
    with write_transaction():
        if not Setting.update(value=stored).where(Setting.key == key).execute():
            Setting.create(key=key, value=stored)


def _refuse_taken_status_name(key: str, name: str) -> None:
    """Two statuses may not share a name (compared as people compare names, and as each
    reads them): the board and `crm set lead ID status=NAME` could not tell them apart."""
    number = int(key.rsplit(".", 1)[1])
    wanted = V.name_key(name or LEAD_STATUSES[number])
    for other, taken in enumerate(status_names()):
        if other != number and wanted in (V.name_key(taken), V.name_key(status_label(taken))):
            raise ValidationFailed.one(_("setting {key}").format(key=key), "value", name,
                                       _("status {other} is already called {taken!r}").format(
                                           other=other, taken=status_label(taken)))


def status_names() -> list[str]:
    """The nine lead status names, as configured (stored, and in --json, as they are)."""
    stored = values("lead.status.")
    return [stored.get(f"lead.status.{n}") or LEAD_STATUSES[n] for n in range(9)]


def status_label(name: str) -> str:
    """A configured status name as a person reads it: a default name (never renamed) in the
    reader's language, a name someone gave as it was given."""
    return pgettext(STATUS_CONTEXT, name) if name in LEAD_STATUSES else name


def status_labels() -> list[str]:
    """The nine lead status names as a person reads them (`status_label`), in order."""
    return [status_label(name) for name in status_names()]


def status_number(given: object) -> int:
    """The status `given` names: its number (0-8), its configured name or that name as the
    user reads it, compared as people compare names.

    Raises:
        V.BadValue: no such status.
    """
    text = "" if given is None else str(given).strip()
    try:
        number = V.parse_int(text)
    except V.BadValue:
        number = None
    if number is not None and 0 <= number <= 8 and not isinstance(given, bool):
        return number
    if number is None and text:
        wanted = V.name_key(text)
        for index, name in enumerate(status_names()):
            if wanted in (V.name_key(name), V.name_key(status_label(name))):
                return index
    raise V.BadValue(_("must be a status number from 0 to 8 or a status name"))
