"""The orders a paged list may be sorted in (`o` cycles them): every column of the lead and
company lists, the record id breaking ties.

A column of the record's own table sorts along its index: the list walks that index and
stops after a page, for a superadmin and for an operator whose access rule is checked row
by row (see `crm_tui.acl`), at a million rows. A reference shown by its title (owner,
manager, role), a derived value (billing, tags) or a custom value sorts by an SQL
expression (`crm_tui.services.sort_keys`): the database still orders and pages, but it
reads every matching row for a page, so on a very long list these orders cost more.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import peewee

from crm_tui.errors import ValidationFailed
from crm_tui.i18n import N_, _
from crm_tui.services import sort_keys
from crm_tui.services.context import Session

CUSTOM = "custom."
"""The prefix of a custom field's sort key (and column key): `custom.Budget`."""


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
    expr: Callable[[Session], peewee.Node] | None = None
    """For a column that is no column of the table: the SQL expression to order by, given
    the acting user's session (`attr` is then unused)."""
    nullable: bool = False
    """The expression may be NULL (then such rows come last, on both backends)."""
    indexed: bool = True
    """A page walks an index in this order (no sort of every matching row)."""
    translated: bool = True
    """The label is a marked string (a custom field's name is data, shown as it is)."""

    def title(self) -> str:
        """The label in the user's language."""
        return _(self.label) if self.translated else self.label


#: Per kind, the orders `o` cycles through; the first is the list's default order.
SORTS: dict[str, tuple[Sort, ...]] = {
    "lead": (
        Sort("created", "id", N_("creation")),
        Sort("full_name", "full_name", N_("name")),
        Sort("company_name", "company_name", N_("company")),
        Sort("status_name", "status", N_("status")),
        Sort("owner", "", N_("owner"), expr=sort_keys.lead_owner, indexed=False),
        Sort("estimated_sale", "estimated_sale", N_("estimated sale"), descending=True),
        Sort("tags", "", N_("tags"), expr=sort_keys.lead_tags, indexed=False),
        Sort("country", "country", N_("country")),
        # The channel index (statistics') orders by channel, not within it by id.
        Sort("channel", "channel", N_("channel"), indexed=False),
    ),
    "company": (
        Sort("name", "name", N_("name")),
        Sort("role", "", N_("role"), expr=sort_keys.company_role, indexed=False),
        Sort("manager", "", N_("manager"), expr=sort_keys.company_manager, indexed=False),
        Sort("country", "country", N_("country")),
        Sort("billing", "", N_("billing"), descending=True, expr=sort_keys.company_billing,
             indexed=False),
    ),
}


def sorts_of(kind: str) -> tuple[Sort, ...]:
    """The orders a list of `kind` may take (empty: only its fixed order)."""
    return SORTS.get(kind, ())


def custom_sort(kind: str, name: str) -> Sort:
    """The order by custom field `name` of `kind`'s records. Whether there is such a field
    (and whether it holds numbers) is read when the list's first page is, on its thread:
    then an unknown name is refused like a bad filter."""

    def expr(session: Session) -> peewee.Node:
        field_kind = sort_keys.custom_kind(kind, name)
        if field_kind is None:
            raise ValidationFailed.one(kind, "sort", CUSTOM + name,
                                       _("no such custom field here"))
        return sort_keys.custom_value(kind, name, field_kind == "numeric")

    return Sort(CUSTOM + name, "", name, expr=expr, nullable=True, indexed=False,
                translated=False)


def sort_of(kind: str, key: str | None) -> Sort | None:
    """The order named `key` for `kind` (a custom field's is `custom.NAME`); None for the
    kind's default order.

    Raises:
        ValidationFailed: `key` is not one of the kind's orders.
    """
    if key is None or key == "":
        return None
    for sort in sorts_of(kind):
        if sort.key == key:
            return sort
    if key.startswith(CUSTOM) and key[len(CUSTOM):].strip() and kind in sort_keys.CUSTOM_ENTITIES:
        return custom_sort(kind, key[len(CUSTOM):])
    choices = ", ".join([s.key for s in sorts_of(kind)]
                        + ([CUSTOM + "NAME"] if kind in sort_keys.CUSTOM_ENTITIES else [])) or "-"
    raise ValidationFailed.one(kind, "sort", key,
                               _("must be one of {choices}").format(choices=choices))


def next_sort(kind: str, key: str | None, custom: Sequence[str] = ()) -> str | None:
    """The order after `key` in the cycle (the first after the last); None when the kind
    has no orders to choose from. `custom`: the sort keys (`custom.NAME`) of the custom
    fields the list shows as columns, cycled after the kind's own orders."""
    keys = [s.key for s in sorts_of(kind)] + [k for k in custom if k.startswith(CUSTOM)]
    if not keys:
        return None
    position = keys.index(key) if key in keys else 0
    return keys[(position + 1) % len(keys)]
