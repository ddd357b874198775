"""`o` on a list: cycle the order the services sort it in (DESIGN "Keys"), shown in the title."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from crm_tui.i18n import _
from crm_tui.services import list_sorts
from screens import keymap
from widgets.filter_bar import FilterBar

SORT_BINDING: BindingType = Binding(
    "o", "cycle_sort", "Sort", id=keymap.SORT_ID,
    tooltip="Sort the list by the next column (name, company, status…)")
"""The sort key, the board's ordering key too; a sorted screen lists it in its BINDINGS
(Textual reads BINDINGS from widget classes only, not from a mixin)."""


class SortedList:
    """Mixin for a `RecordListScreen`: `o` (SORT_BINDING) cycles `list_sorts.SORTS[KIND]`;
    the screen passes `self.sort` to its row source and shows `sort_title()` in its title."""

    KIND: ClassVar[str]

    sort: str | None = None
    """The order in force (a key of `list_sorts.SORTS[KIND]`); None: the kind's default."""

    def custom_sort_keys(self) -> list[str]:
        """The sort keys of the custom fields the list shows as columns (`custom.NAME`),
        cycled after the kind's own orders."""
        columns = getattr(self, "columns", None) or getattr(self, "COLUMNS", None) or ()
        return [column.key for column in columns
                if column.key.startswith(list_sorts.CUSTOM)]

    def sort_label(self) -> str | None:
        """The order in force in the user's language (a custom field by its name, read
        from the key: no query on the screen's thread); None in the default order."""
        if self.sort is None:
            return None
        if self.sort.startswith(list_sorts.CUSTOM):
            return self.sort[len(list_sorts.CUSTOM):]
        sorts = list_sorts.sorts_of(self.KIND)
        chosen = list_sorts.sort_of(self.KIND, self.sort)
        if chosen is None or not sorts or chosen == sorts[0]:
            return None
        return chosen.title()

    def sort_title(self) -> str:
        """" · by NAME" for the title while an order other than the list's default is in
        force ("" in the default order, which keeps the title short at 80 columns)."""
        label = self.sort_label()
        return "" if label is None else " · " + _("by {order}").format(order=label)

    def action_cycle_sort(self) -> None:
        """Sort by the next column of the cycle; the list reads its pages again."""
        screen: Any = self
        self.sort = list_sorts.next_sort(self.KIND, self.sort, self.custom_sort_keys())
        screen.apply_filter(screen.filter_text)
        label = self.sort_label()
        if self.sort is not None:
            first = list_sorts.sorts_of(self.KIND)[0]
            screen.notify(_("Sorted by {order}").format(order=label or first.title()),
                          timeout=2)

    def sort_check(self, action: str) -> bool | None:
        """`o` while typing in the filter is a letter; elsewhere it applies."""
        screen: Any = self
        focused = screen.focused
        if isinstance(focused, Input) and isinstance(focused.parent, FilterBar):
            return False
        return True
