"""The orders a paged list may be sorted in (`o` cycles them), each along an index.

Only columns with an index of their own are offered: a list walks that index and stops
after a page, for a superadmin and for an operator whose access rule is checked row by row
(see `crm_tui.acl`), at a million rows. A reference shown by its title (owner, manager,
role) or a derived value (billing, tags) would need every matching row sorted per page, so
those columns do not sort.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_tui.errors import ValidationFailed
from crm_tui.i18n import N_, _


@dataclass(frozen=True)
class Sort:
    """One way to order a list."""

    key: str
    """Its name (also the column key it sorts)."""
    attr: str
    """The model attribute ordered by (the record id breaks ties)."""
    label: str
    """What the title shows ("by name"), marked for translation."""
    descending: bool = False
    """Largest first (amounts)."""


#: Per kind, the orders `o` cycles through; the first is the list's default order.
SORTS: dict[str, tuple[Sort, ...]] = {
    "lead": (
        Sort("created", "id", N_("creation")),
        Sort("full_name", "full_name", N_("name")),
        Sort("company_name", "company_name", N_("company")),
        Sort("status_name", "status", N_("status")),
        Sort("estimated_sale", "estimated_sale", N_("estimated sale"), descending=True),
        Sort("country", "country", N_("country")),
    ),
    "company": (
        Sort("name", "name", N_("name")),
        Sort("country", "country", N_("country")),
    ),
}


def sorts_of(kind: str) -> tuple[Sort, ...]:
    """The orders a list of `kind` may take (empty: only its fixed order)."""
    return SORTS.get(kind, ())


def sort_of(kind: str, key: str | None) -> Sort | None:
    """The order named `key` for `kind`; None for the kind's default order.

    Raises:
        ValidationFailed: `key` is not one of the kind's orders.
    """
    if key is None or key == "":
        return None
    for sort in sorts_of(kind):
        if sort.key == key:
            return sort
    choices = ", ".join(s.key for s in sorts_of(kind)) or "-"
    raise ValidationFailed.one(kind, "sort", key,
                               _("must be one of {choices}").format(choices=choices))


def next_sort(kind: str, key: str | None) -> str | None:
    """The order after `key` in the cycle (the first after the last); None when the kind
    has no orders to choose from."""
    sorts = sorts_of(kind)
    if not sorts:
        return None
    keys = [s.key for s in sorts]
    position = keys.index(key) if key in keys else 0
    return keys[(position + 1) % len(keys)]
