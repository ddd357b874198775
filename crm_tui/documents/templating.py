"""User-written templates: contract HTML (Jinja2 with the seeds' `_macro_` names) and mail.

Templates are user input. Contract templates are rendered by the bounded Jinja2 sandbox
of `html_render`, where each documented `_macro_` is a variable holding text from plain
dicts (nothing of a model object is reachable; `{{ ''.__class__ }}` is refused, `{% include
%}` finds nothing); values are HTML-escaped. Mail templates are plain regex substitution
of the `_DEST_NAME_`-style macros: mail values are not escaped (plain text) but cannot
inject headers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from crm_tui.documents import TemplateError
from crm_tui.i18n import N_, _, gettext_in

__all__ = [
    "CONTRACT_MACROS",
    "MAIL_MACROS",
    "TemplateError",
    "contract_macro_values",
    "custom_macro",
    "default_contract_template",
    "render_macros",
    "render_mail_template",
]

# The contract macros of the SPEC (section 4), in the manual's order. `_custom_XX_`
# (XX = a contract-type field id) is generated per contract type; see `custom_macro`.
CONTRACT_MACROS: tuple[str, ...] = (
    "_id_contract_",
    "_name_contract_",
    "_contract_number_",
    "_contract_description_",
    "_date_begin_",
    "_date_end_",
    "_id_company_",
    "_private_",
    "_id_status_",
    "_name_status_",
    "_company_name_",
    "_company_address_",
    "_company_fiscal_id_",
    "_company_country_",
    "_company_website_",
    "_company_comments_",
    "_company_manager_",
    "_company_last_update_",
    "_company_payment_conditions_",
    "_contract_type_id_",
    "_contract_type_name_",
    "_contract_type_description_",
    "_template_id_",
    "_template_name_",
    "_template_description_",
    "_format_long_time_",
    "_format_short_time_",
    "_format_annual_date_",
) + (
    # Our own company, the contract's other party (settings `seller.*`).
    "_seller_name_",
    "_seller_fiscal_id_",
    "_seller_address_",
    "_seller_country_",
)

MAIL_MACROS: tuple[str, ...] = ("_DEST_NAME_", "_DEST_EMAIL_", "_SRC_NAME_", "_SRC_EMAIL_")

# A "macro-looking" token: underscore, a word made of letters/digits joined by single
# underscores, underscore, not glued to other word characters. So `my_var_name`,
# `__init__` or `john_doe_smith@x.org` are ordinary text, while `_compny_name_` (a typo)
# is caught instead of being printed silently into a contract.
_CONTRACT_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_])_[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*_(?![A-Za-z0-9_])"
)
# Mail macros are upper case; plain-text mail often uses _word_ for emphasis, which must
# stay text, so only upper-case tokens count as macros there.
_MAIL_TOKEN = re.compile(r"(?<![A-Za-z0-9_])_[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*_(?![A-Za-z0-9_])")

DEFAULT_MAX_OUTPUT = 1_000_000  # characters; a contract is a few pages, not megabytes


def custom_macro(field_id: int) -> str:
    """The macro name of a contract-type custom field, e.g. 12 -> "_custom_12_"."""
    return f"_custom_{int(field_id)}_"


def _substitute(
    template: str,
    values: Mapping[str, str],
    token: re.Pattern[str],
    convert: Any,
    max_output: int,
    what: str,
) -> str:
    """Replace every macro token by its converted value; refuse unknown ones and big output."""
    if not isinstance(template, str):
        raise TemplateError(_("{what} must be text").format(what=what))
    if len(template) > max_output:
        raise TemplateError(_("{what} is {count} characters; the limit is {max_output}").format(what=what, count=len(template), max_output=max_output))
    unknown = sorted({m.group(0) for m in token.finditer(template)} - values.keys())
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise TemplateError(_("{what} uses unknown macro(s): {shown}").format(what=what, shown=shown))

    # Convert each distinct value once and check the size before building the string,
    # so `_company_comments_` repeated 10,000 times fails fast instead of eating memory.
    converted = {name: convert(values[name]) for name in set(token.findall(template))}
    pieces: list[str] = []
    size = 0
    position = 0
    for match in token.finditer(template):
        for piece in (template[position : match.start()], converted[match.group(0)]):
            size += len(piece)
            if size > max_output:
                raise TemplateError(_("{what} renders to more than {max_output} characters").format(what=what, max_output=max_output))
            pieces.append(piece)
        position = match.end()
    tail = template[position:]
    if size + len(tail) > max_output:
        raise TemplateError(_("{what} renders to more than {max_output} characters").format(what=what, max_output=max_output))
    pieces.append(tail)
    return "".join(pieces)


def macro_source(template: str) -> str:
    """A contract template's `_macro_` tokens as Jinja2 variables (`{{ company_name }}`)."""
    return _CONTRACT_TOKEN.sub(lambda m: "{{ " + m.group(0)[1:-1] + " }}", template)


def render_macros(
    template: str, values: Mapping[str, str], *, max_output: int = DEFAULT_MAX_OUTPUT
) -> str:
    """Render a contract HTML template: each `_macro_` becomes its HTML-escaped value.

    The template is Jinja2 (sandboxed, autoescaped, see `html_render`) in which the seeds'
    `_macro_` tokens still work: `_company_name_` is the variable `company_name`, so a
    template may also write `{% if date_end %}...{% endif %}`. `values` maps full macro
    names (e.g. "_company_name_") to text. A macro-looking token not in `values` raises
    TemplateError naming it; so does output over `max_output`.
    """
    from crm_tui.documents import html_render

    if not isinstance(template, str):
        raise TemplateError(_("template must be text"))
    unknown = sorted({m.group(0) for m in _CONTRACT_TOKEN.finditer(template)} - values.keys())
    if unknown:
        shown = ", ".join(unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise TemplateError(_("template uses unknown macro(s): {shown}").format(shown=shown))
    data = {name[1:-1]: value for name, value in values.items()}
    return html_render.render(macro_source(template), data, max_output=max_output)


def render_mail_template(
    subject: str,
    body: str,
    values: Mapping[str, str],
    *,
    max_output: int = DEFAULT_MAX_OUTPUT,
) -> tuple[str, str]:
    """Render a mail template's subject and body with `_DEST_NAME_`-style macros.

    Plain text: values are not HTML-escaped. In the subject, line breaks in values become
    spaces, so a contact named "x\\r\\nBcc: victim@example.org" cannot add mail headers.
    """

    def one_line(value: Any) -> str:
        text = "" if value is None else str(value)
        return " ".join(text.splitlines()) if text else ""

    def plain(value: Any) -> str:
        return "" if value is None else str(value)

    rendered_subject = _substitute(subject, values, _MAIL_TOKEN, one_line, 998, "subject")
    # The template itself may not smuggle a line break into the subject either.
    rendered_subject = " ".join(rendered_subject.splitlines())
    rendered_body = _substitute(body, values, _MAIL_TOKEN, plain, max_output, "body")
    return rendered_subject, rendered_body


# --- building the contract macro values from plain dicts -----------------------------

# `_name_status_` and `_private_`, in the contract's language (the catalogs translate them).
_STATUS_NAMES = {0: N_("Inactive"), 1: N_("Active")}
_YES_NO = (N_("No"), N_("Yes"))


def _text(value: Any) -> str:
    """A dict value as text: None is empty, dates are ISO, everything else str()."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _flag(value: Any) -> int:
    """0/1 from an int, bool or "0"/"1" text (anything else non-empty counts as 1)."""
    if isinstance(value, str):
        return 0 if value.strip() in ("", "0", "false", "False") else 1
    return 1 if value else 0


def contract_macro_values(
    contract: Mapping[str, Any],
    company: Mapping[str, Any],
    contract_type: Mapping[str, Any],
    template: Mapping[str, Any],
    custom: Mapping[int, str],
    now: datetime,
    locale: str = "en",
    seller: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """Every contract macro's value, as text, from plain dicts.

    contract: id, name, contract_number, description, date_begin, date_end, id_company,
      private (0/1), status (0 inactive / 1 active).
    company: id, name, address, fiscal_id, country, website, comments, manager,
      last_update, payment_conditions.
    contract_type: id, name, description. template: id, name, description.
    custom: {field id: value} for the contract type's custom fields.
    now: the generation time, for the `_format_*_` macros (localised with babel).
    seller: our company (name, fiscal_id, address, country), the `_seller_*_` macros.
    Dates print as ISO (2021-01-20), `_private_` as Yes/No and `_name_status_` as
    Active/Inactive in the given language (en, es). Missing keys give empty values;
    unknown keys are ignored.
    """
    from babel.dates import format_date  # heavy: only when a contract PDF is generated

    from crm_tui.money import babel_locale

    status = _flag(contract.get("status"))
    private = gettext_in(locale, _YES_NO[_flag(contract.get("private"))])
    status_name = gettext_in(locale, _STATUS_NAMES[status])
    values = {
        "_id_contract_": _text(contract.get("id")),
        "_name_contract_": _text(contract.get("name")),
        "_contract_number_": _text(contract.get("contract_number")),
        "_contract_description_": _text(contract.get("description")),
        "_date_begin_": _text(contract.get("date_begin")),
        "_date_end_": _text(contract.get("date_end")),
        "_id_company_": _text(contract.get("id_company", company.get("id"))),
        "_private_": private,
        "_id_status_": str(status),
        "_name_status_": status_name,
        "_company_name_": _text(company.get("name")),
        "_company_address_": _text(company.get("address")),
        "_company_fiscal_id_": _text(company.get("fiscal_id")),
        "_company_country_": _text(company.get("country")),
        "_company_website_": _text(company.get("website")),
        "_company_comments_": _text(company.get("comments")),
        "_company_manager_": _text(company.get("manager")),
        "_company_last_update_": _text(company.get("last_update")),
        "_company_payment_conditions_": _text(company.get("payment_conditions")),
        "_contract_type_id_": _text(contract_type.get("id")),
        "_contract_type_name_": _text(contract_type.get("name")),
        "_contract_type_description_": _text(contract_type.get("description")),
        "_template_id_": _text(template.get("id")),
        "_template_name_": _text(template.get("name")),
        "_template_description_": _text(template.get("description")),
        # "11 Wed April 2021": day, short weekday, month name, year, in the given language.
        "_format_long_time_": format_date(now, "d EEE MMMM y", locale=babel_locale(locale)),
        # The manual fixes these two shapes whatever the language.
        "_format_short_time_": now.strftime("%d/%m/%Y"),
        "_format_annual_date_": now.strftime("%Y"),
    }
    seller = seller or {}
    for key in ("name", "fiscal_id", "address", "country"):
        values[f"_seller_{key}_"] = _text(seller.get(key))
    for field_id, value in custom.items():
        values[custom_macro(field_id)] = _text(value)
    return values


def sample_contract_values() -> dict[str, str]:
    """Every contract macro with a sample value (a multi-line address, dates, a comment):
    what a template is checked against when it is saved."""
    values = {name: name.strip("_").replace("_", " ").capitalize() for name in CONTRACT_MACROS}
    values.update({
        "_id_contract_": "1", "_id_company_": "1", "_id_status_": "1", "_template_id_": "1",
        "_contract_type_id_": "1", "_date_begin_": "2026-01-01", "_date_end_": "2026-12-31",
        "_company_address_": "1 High Street\nFloor 2\nLondon",
        "_seller_address_": "Calle Mayor 1\n28013 Madrid",
        "_company_payment_conditions_": "30", "_format_annual_date_": "2026",
    })
    return values


def default_contract_template() -> str:
    """The HTML contract template shipped with the CRM (the starting point users edit)."""
    from pathlib import Path

    return (Path(__file__).with_name("default_contract_template.html")).read_text("utf-8")
