"""Screen 1: the company tree (loaded node by node) and a flat, filterable company list."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import ContentSwitcher

from crm_tui import formatting
from crm_tui.i18n import N_, _, ngettext
from crm_tui.services import companies, company_mass
from crm_tui.services.context import Session
from crm_tui.services.rows import RecordRows
from screens.list_sort import SORT_BINDING, SortedList
from screens.mass_flow import MassFlow, first_upper
from screens.record_list import COUNT_PROBE, RecordListScreen
from widgets.filter_bar import FilterBar
from widgets.lazy_table import LazyTable
from widgets.lazy_tree import LazyTree, TreeItem

READ_ONLY_MARK = N_("  (read-only)")
"""Appended to the tree label of a company the user may view but not change."""
TREE_LIMIT = 10_000
"""Children shown under one node; the rest are reached through the list (v, then /)."""
MORE = "more"
"""First part of the key of the "more…" item that ends a node cut at TREE_LIMIT."""


class CompaniesScreen(MassFlow, SortedList, RecordListScreen):
    """Companies as a parent/child tree, or as a flat list searchable by name, role,
    manager and country (`v` switches, `o` sorts the list); enter opens a company."""

    KIND = "company"
    CSV_KIND = "companies"
    SCREEN_TITLE = N_("1 Companies")
    FILTER_HINT = N_("name or country, role=… manager=LOGIN country=…")
    EMPTY_TEXT = N_("No companies")
    AUTO_FOCUS = "#tree"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "show_view('list')", "List", id="companies.list",
                tooltip="Show the companies as a flat, filterable list"),
        Binding("v", "show_view('tree')", "Tree", id="companies.tree",
                tooltip="Show the companies as a parent/child tree"),
        SORT_BINDING,
        Binding("m", "mass_edit", "Mass edit", id="companies.mass_edit",
                tooltip="Manager, role, country or payment conditions of the marked "
                        "companies (space marks); every company of a manager to another"),
    ]
    """`v` toggles between the tree and the list (only the applicable one shows); `o`
    sorts the list; `m` changes many companies at once."""

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the screen for the acting user's session."""
        super().__init__(session, **kwargs)
        self._opened_single_root = False
        self._tree: LazyTree | None = None
        self._views: ContentSwitcher | None = None
        self._may_mass_edit: bool | None = None

    def compose_body(self) -> ComposeResult:
        """The tree; the list and its filter bar are built when first asked for."""
        with ContentSwitcher(initial="tree", id="views"):
            yield LazyTree(self.load_children, id="tree")

    async def _ensure_list(self) -> None:
        # The app opens on this screen: leaving the list out of the first frame keeps
        # startup close to a bare Textual app's.
        if self.table is not None:
            return
        await self.mount(FilterBar(placeholder=_(self.FILTER_HINT)), before="#views")
        await self.query_one("#views", ContentSwitcher).mount(self.make_table())
        self._settle_count()

    def screen_title(self) -> str:
        """The title says which view shows."""
        if self.view == "tree":
            view = _("tree")
        else:
            view = _("list") + self.filter_suffix() + self.sort_title()
        return f"{_(self.SCREEN_TITLE)} · {view}"

    def make_table(self) -> LazyTable:
        """The list, with space marking rows for mass edits."""
        table = super().make_table()
        table.multi_select = True
        return table

    def on_mount(self) -> None:
        """Ask whether the user may run mass operations (RecordListScreen's own mount
        handler asks for the other permissions)."""
        self.call_service(company_mass.can_mass_edit, self.session, done=self._got_mass_right,
                          group="companies.mass_right")

    def _got_mass_right(self, allowed: bool) -> None:
        self._may_mass_edit = allowed
        self.refresh_bindings()

    def make_source(self, filters: dict[str, str]) -> Any:
        """The company rows in the order chosen with `o`."""
        return RecordRows(self.session, self.KIND, filters, self.COLUMNS, probe=COUNT_PROBE,
                          sort=self.sort)

    # -- the tree ---------------------------------------------------------------------------

    def load_children(self, parent_id: int | None) -> list[TreeItem[int]]:
        """The tree's loader (runs on the tree's thread): one level under `parent_id`."""
        nodes = companies.children(self.session, parent_id, limit=TREE_LIMIT + 1)
        items: list[TreeItem[Any]] = []
        for node in nodes[:TREE_LIMIT]:
            label = node.name if node.modifiable else node.name + _(READ_ONLY_MARK)
            items.append(TreeItem(node.id, label, node.has_children,
                                  None if node.modifiable else "dim"))
        if len(nodes) > TREE_LIMIT:
            items.append(TreeItem((MORE, parent_id),
                                  _("… more than {limit}: enter lists them all").format(
                                      limit=formatting.count_text(TREE_LIMIT)),
                                  style="italic dim"))
        return items

    @property
    def tree(self) -> LazyTree:
        """The company tree."""
        if self._tree is None:
            self._tree = self.query_one("#tree", LazyTree)
        return self._tree

    @property
    def view(self) -> str:
        """"tree" or "list"."""
        if self._views is None:
            self._views = next(iter(self.query("#views").results(ContentSwitcher)), None)
            if self._views is None:
                return "tree"
        return "list" if self._views.current == "records" else "tree"

    def current_record_id(self) -> int | None:
        """The company under the tree's or the list's cursor."""
        if self.view == "tree":
            key = self.tree.cursor_key
            return key if isinstance(key, int) else None
        return super().current_record_id()

    def current_record_title(self) -> str:
        """The company's name (without the read-only mark)."""
        if self.view == "tree":
            item = self.tree.cursor_item
            return item.label.removesuffix(READ_ONLY_MARK) if item is not None else ""
        return super().current_record_title()

    @on(LazyTree.ItemSelected, "#tree")
    async def _tree_selected(self, event: LazyTree.ItemSelected) -> None:
        key = event.key
        if isinstance(key, tuple) and key and key[0] == MORE:
            # A cut node: its companies are in the list, filtered to that parent.
            parent = key[1]
            await self.action_show_view("list")
            self.apply_filter("" if parent is None else f"parent={parent}")
            return
        self.open_record(key)

    @on(LazyTree.ItemHighlighted, "#tree")
    def _tree_highlighted(self, event: LazyTree.ItemHighlighted) -> None:
        self._load_row_permissions(event.key)
        if not self._opened_single_root:
            # One root (the usual "my company") is opened at once: its children are the
            # companies people work with.
            self._opened_single_root = True
            roots = self.tree.root.children
            node = self.tree.cursor_node
            if len(roots) == 1 and node is roots[0] and node.allow_expand:
                node.expand()

    # -- views ------------------------------------------------------------------------------

    async def action_show_view(self, view: str) -> None:
        """Show the tree or the list and focus it."""
        if view != "tree":
            await self._ensure_list()
        self.query_one("#views", ContentSwitcher).current = "tree" if view == "tree" else "records"
        self.set_title(self.screen_title())
        if view == "tree":
            bar = self.filter_bar
            if bar is not None:
                bar.hide()
            self.tree.focus()
        else:
            table = self.table
            if table is not None:
                table.focus()
        self._load_row_permissions(self.current_record_id())

    async def action_filter(self) -> None:
        """Filtering works on the flat list: switch to it and open the filter."""
        if self.view == "tree":
            await self.action_show_view("list")
        super().action_filter()

    def focus_list(self) -> None:
        """Back to whichever view shows."""
        if self.view == "tree":
            self.tree.focus()
            self.refresh_bindings()
        else:
            super().focus_list()

    def _list_focused(self) -> bool:
        focused = self.focused
        return isinstance(focused, LazyTree | LazyTable) and focused.id in ("tree", "records")

    def action_open_record(self) -> None:
        """Open the company under the cursor."""
        if self.view == "tree":
            self.tree.action_select_cursor()
            return
        super().action_open_record()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Offer `v` for the view that is not showing."""
        if action == "show_view":
            return parameters[0] != self.view
        if action == "cycle_sort":
            # The tree keeps its parent/child order: `o` sorts the list.
            return False if self.view == "tree" else self.sort_check(action)
        if action == "mass_edit":
            if self._may_mass_edit is False or self.sort_check(action) is False:
                return False
            return True if (self._may_mass_edit and self.selected_companies()) else None
        return super().check_action(action, parameters)

    # -- records ----------------------------------------------------------------------------

    def open_record(self, record_id: int) -> None:
        """Show the company's detail screen."""
        from screens.company_detail import CompanyDetailScreen

        self.app.push_screen(
            CompanyDetailScreen(self.session, record_id, on_change=self.records_changed)
        )

    def new_record_initial(self) -> dict[str, str]:
        """In the tree, a new company goes under the one under the cursor."""
        record_id = self.current_record_id()
        if self.view != "tree" or record_id is None:
            return {}
        return {"parent": str(record_id)}

    def records_changed(self) -> None:
        """Reload the list and the tree (keeping open branches and the cursor)."""
        super().records_changed()
        self.tree.reload()

    # -- mass edit ------------------------------------------------------------------------

    def selected_companies(self) -> list[int]:
        """The marked companies of the list, or the one under the cursor when none is."""
        table = self.table
        if self.view == "list" and table is not None and table.selected_ids:
            return sorted(table.selected_ids)
        record_id = self.current_record_id()
        return [record_id] if record_id is not None else []

    def action_mass_edit(self) -> None:
        """Pick an operation and its value, confirm, and apply it."""
        from screens.modals.company_mass import CompanyMassModal, CompanyMassRequest

        chosen_ids = self.selected_companies()

        def picked(request: CompanyMassRequest | None) -> None:
            if request is not None:
                self._confirm_mass(request, chosen_ids)

        self.app.push_screen(CompanyMassModal(self.session, len(chosen_ids)), picked)

    def _confirm_mass(self, request: Any, company_ids: list[int]) -> None:
        from screens.modals.company_mass import REASSIGN
        from screens.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            if yes:
                self._run_mass(request, company_ids, partial=False)

        if request.action == REASSIGN:
            question = _("{action}?").format(action=first_upper(request.label))
        else:
            question = ngettext("{action} on {count} company?", "{action} on {count} companies?",
                                len(company_ids)).format(action=first_upper(request.label),
                                                         count=len(company_ids))
        self.app.push_screen(ConfirmModal(question, _(
            "Each company is checked against your rights; nothing changes if one is refused.")),
            confirmed)

    MASS_REFUSED = company_mass.CompanyMassRefused
    MASS_GROUP = "companies.mass"

    def _mass(self, request: Any, company_ids: list[int],
              partial: bool) -> company_mass.CompanyMassResult:
        from screens.modals.company_mass import REASSIGN

        if request.action == REASSIGN:
            return company_mass.reassign_manager(self.session, request.from_login,
                                                 request.value, partial=partial)
        return company_mass.mass_set(self.session, company_ids, request.action, request.value,
                                     partial=partial)

    def _partial_question(self, refused: int, allowed: int, ids: list[int]) -> str:
        return _("{refused} of {count} companies may not be changed. Apply to the other "
                 "{allowed}?").format(refused=refused, count=allowed + refused, allowed=allowed)
