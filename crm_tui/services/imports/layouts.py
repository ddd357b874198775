"""What each kind's CSV file looks like: its columns, the fields they fill, its custom fields."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm_tui.models import CustomField


@dataclass(frozen=True)
class Column:
    """One CSV column and the record field it fills."""

    name: str
    #: The record kind's field the value goes to (None: see `check`).
    field: str | None = None
    #: For `id_*` columns: what the id names, in messages ("company", "contract type").
    id_of: str = ""
    #: The column names a company by its (unique) name and wins over the id column.
    by_name: bool = False
    #: A derived field the value is only checked against, then dropped (``last_update``).
    check: str | None = None


@dataclass(frozen=True)
class Layout:
    """The CSV shape of one kind: positional columns, export-only columns, custom fields."""

    kind: str
    fixed: tuple[Column, ...]
    #: Derived columns an export writes right after the fixed ones; ignored on import.
    derived: tuple[str, ...] = ()
    #: The record's dates an export writes last, after the id (leads have theirs among the
    #: derived columns, a company its last_update among the fixed ones); ignored on import
    #: but by `--on-duplicate update`, which knows a record of this database by its id and
    #: creation date.
    dates: tuple[str, ...] = ()
    #: Columns only files with a header carry (newer exports), after the derived ones.
    extra: tuple[Column, ...] = ()
    #: Which custom fields apply: their entity, and the field holding the type, if typed.
    custom_entity: str = ""
    custom_type_field: str | None = None
    #: A field pointing at another record of the same kind, mapped through the `id` column.
    self_ref: str | None = None
    #: True when the self reference forms a tree (a loop within the file is an error).
    acyclic: bool = False

    @property
    def columns(self) -> tuple[Column, ...]:
        """Every data column, fixed first."""
        return self.fixed + self.extra

    def column_for(self, field_name: str) -> str:
        """The CSV column that fills a field (its id column rather than a by-name one)."""
        for column in self.columns:
            if column.field == field_name and not column.by_name:
                return column.name
        return field_name


def _c(name: str, target: str | None = None, **kw: Any) -> Column:
    return Column(name, target if target is not None else name, **kw)


#: The layouts by import/export kind name.
LAYOUTS: dict[str, Layout] = {
    "companies": Layout(
        kind="company",
        fixed=(
            _c("name"), _c("address"), _c("fiscal_id"), _c("country"), _c("website"),
            _c("comments"), _c("id_company_role", "role", id_of="role"),
            _c("id_parent", "parent", id_of="company"), _c("manager"),
            Column("last_update", check="last_update"), _c("payment_conditions"),
        ),
        derived=("billing",),
        dates=("created",),
        custom_entity="company",
        self_ref="parent",
        acyclic=True,
    ),
    "contacts": Layout(
        kind="contact",
        fixed=(
            _c("full_name"), _c("email"), _c("company"), _c("phone"), _c("mobile"),
            _c("position"), _c("description"),
        ),
        extra=(_c("company_name", "company", by_name=True),),
        custom_entity="contact",
        dates=("created", "updated"),
    ),
    "contracts": Layout(
        kind="contract",
        fixed=(
            _c("name"), _c("contract_number"), _c("description"), _c("date_begin"),
            _c("date_end"), _c("id_company", "company", id_of="company"), _c("id_sla", "sla"),
            _c("id_group", "group"), _c("private"), _c("status"),
            _c("id_contract_type", "contract_type", id_of="contract type"),
        ),
        extra=(_c("related_contract"), _c("manager"), _c("company", "company", by_name=True)),
        custom_entity="contract_type",
        custom_type_field="contract_type",
        self_ref="related_contract",
        dates=("created", "updated"),
    ),
    "leads": Layout(
        kind="lead",
        fixed=tuple(_c(name) for name in (
            "full_name", "email", "company_name", "country", "position", "phone", "language",
            "owner", "company", "estimated_sale", "estimated_close", "status", "lead_type",
            "tags", "channel", "description")),
        derived=("created", "updated"),
        extra=(_c("managing_company", "company", by_name=True),),
        custom_entity="lead_type",
        custom_type_field="lead_type",
    ),
}

#: The kinds `run` imports.
KINDS = tuple(LAYOUTS)

ID_COLUMN = "id"
#: The column a file of refused rows (`--rejects`) adds; ignored on import, so the file
#: re-imports once fixed.
REASON_COLUMN = "reject_reason"


def custom_fields(layout: Layout) -> dict[int | None, list[CustomField]]:
    """The custom fields of a layout's rows in column order, by type id (None: untyped)."""
    query = CustomField.select().where(CustomField.entity == layout.custom_entity)
    out: dict[int | None, list[CustomField]] = {}
    for custom in query.order_by(CustomField.entity_type_id, CustomField.position,
                                 CustomField.id):
        key = custom.entity_type_id if layout.custom_type_field else None
        out.setdefault(key, []).append(custom)
    return out


def custom_column_names(layout: Layout, fields: dict[int | None, list[CustomField]]) -> list[str]:
    """The custom field columns of a file with a header: each name once, in type order.

    A custom field named like a fixed column cannot have a column of its own by name.
    """
    taken = {c.name.casefold() for c in layout.columns} | {
        n.casefold() for n in (*layout.derived, *layout.dates)}
    taken.update((ID_COLUMN, REASON_COLUMN))
    names: list[str] = []
    seen: set[str] = set()
    for group in fields.values():
        for custom in group:
            key = custom.name.casefold()
            if key not in seen and key not in taken:
                seen.add(key)
                names.append(custom.name)
    return names

