"""The words the services name (a lead status's default name, an invoice's type or status, a
contract's status), stored and typed in English, as a person reads them."""

from __future__ import annotations

from crm_tui.i18n import gettext, pgettext
from crm_tui.models import INVOICE_CONTEXT, INVOICE_STATUSES, INVOICE_TYPES, LEAD_STATUSES
from crm_tui.services.settings import status_label

_INVOICE_WORDS = frozenset((*INVOICE_TYPES, *INVOICE_STATUSES))


def choice_label(value: str) -> str:
    """A stored choice in the user's language where the catalog has it in its own context
    (an invoice's type or status, a default lead status); any other value as it is."""
    if value in LEAD_STATUSES:
        return status_label(value)
    if value in _INVOICE_WORDS:
        return pgettext(INVOICE_CONTEXT, value)
    return value


def service_word(text: str) -> str:
    """A word the services name, in the user's language (`choice_label`, else the catalog's
    plain entry: a contract's "Active", an invoice's "issued"); other text as it is."""
    if text in LEAD_STATUSES or text in _INVOICE_WORDS:
        return choice_label(text)
    return gettext(text)
