"""Reusable Textual widgets that know nothing of the CRM."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from widgets.bar_chart import BarChart
    from widgets.field_form import LINKED_SEPARATOR, FieldForm, FieldKind, FieldSpec
    from widgets.filter_bar import FilterBar
    from widgets.kanban import KanbanBoard
    from widgets.kanban_column import CardData, ColumnData, KanbanCard, KanbanColumn
    from widgets.lazy_table import ColumnSpec, LazyTable, RowSource
    from widgets.lazy_tree import LazyTree, TreeItem
    from widgets.top_bar import TopBar

# Exports load on first use (PEP 562), so a screen importing one widget does not pay for
# the others (TextArea and Select in the form are the heavy ones).
_EXPORTS = {
    "BarChart": "widgets.bar_chart",
    "CardData": "widgets.kanban_column",
    "ColumnData": "widgets.kanban_column",
    "ColumnSpec": "widgets.lazy_table",
    "FieldForm": "widgets.field_form",
    "FieldKind": "widgets.field_form",
    "FieldSpec": "widgets.field_form",
    "FilterBar": "widgets.filter_bar",
    "KanbanBoard": "widgets.kanban",
    "KanbanCard": "widgets.kanban_column",
    "KanbanColumn": "widgets.kanban_column",
    "LINKED_SEPARATOR": "widgets.field_form",
    "LazyTable": "widgets.lazy_table",
    "LazyTree": "widgets.lazy_tree",
    "RowSource": "widgets.lazy_table",
    "TopBar": "widgets.top_bar",
    "TreeItem": "widgets.lazy_tree",
}

__all__ = [
    "LINKED_SEPARATOR",
    "BarChart",
    "CardData",
    "ColumnData",
    "ColumnSpec",
    "FieldForm",
    "FieldKind",
    "FieldSpec",
    "FilterBar",
    "KanbanBoard",
    "KanbanCard",
    "KanbanColumn",
    "LazyTable",
    "LazyTree",
    "RowSource",
    "TopBar",
    "TreeItem",
]


def __getattr__(name: str) -> Any:
    """Import the module that defines `name` on first access."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the lazy exports too."""
    return sorted([*globals(), *__all__])
