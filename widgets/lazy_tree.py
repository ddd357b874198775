"""A Tree whose children come from a blocking loader callable, run on a thread per expand."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text, TextType
from textual import on, work
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import Tree
from textual.widgets.tree import TreeNode, UnknownNodeID
from textual.worker import Worker, WorkerState

KeyT = TypeVar("KeyT", bound=Hashable)

CHILDREN_GROUP = "lazy_tree.children"
"""Worker group of the child loads (not exclusive: several nodes may load at once)."""

_CONTROL_CHARS = {code: " " for code in (*range(0, 32), 127)}


@dataclass(frozen=True)
class TreeItem(Generic[KeyT]):
    """One node as the loader describes it."""

    key: KeyT
    """The caller's id for the node; passed back to the loader to get its children."""
    label: str
    """Plain text (no markup is interpreted)."""
    has_children: bool = False
    """Show an expand arrow; the children are only loaded when the node is expanded."""
    style: str | None = None
    """Optional Rich style for the label, e.g. "dim" or "bold red"."""


Loader = Callable[[Any], Sequence[TreeItem[Any]]]
"""`loader(parent_key) -> items`; parent_key is None for the roots. It may block."""


@dataclass
class _ChildrenLoaded(Message, bubble=False):
    """A worker has called the loader for one node."""

    node: TreeNode[TreeItem[Any]]
    token: int
    items: list[TreeItem[Any]]


class LazyTree(Tree[TreeItem[Any]]):
    """A tree over `loader(parent_key)`: each node's children load on a thread when expanded.

    A "loading…" child shows meanwhile, and big answers (10,000 children) are added in
    batches between which the tree keeps handling keys.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="lazy_tree.cursor_down"),
        Binding("up,k", "cursor_up", "Up", show=False, id="lazy_tree.cursor_up"),
        Binding("right,l", "expand_node", "Expand", show=False, id="lazy_tree.expand"),
        Binding("left,h", "collapse_node", "Collapse", show=False, id="lazy_tree.collapse"),
    ]
    """Hidden vim-style aliases, plus right/left to open and close branches."""

    _holding_invalidate = False
    """True while a batch of children is added (see `_invalidate`)."""

    DEFAULT_CSS = """
    LazyTree {
        height: 1fr;
    }
    """

    @dataclass
    class ItemSelected(Message):
        """Enter (or a click) chose an item."""

        tree: LazyTree
        key: Any
        item: TreeItem[Any]

        @property
        def control(self) -> LazyTree:
            """The tree that posted the message."""
            return self.tree

    @dataclass
    class ItemHighlighted(Message):
        """The cursor moved onto an item."""

        tree: LazyTree
        key: Any
        item: TreeItem[Any]

        @property
        def control(self) -> LazyTree:
            """The tree that posted the message."""
            return self.tree

        def can_replace(self, message: Message) -> bool:
            """Collapse a burst of highlights (a held key) into the latest one."""
            return isinstance(message, LazyTree.ItemHighlighted) and message.tree is self.tree

    def __init__(
        self,
        loader: Loader,
        *,
        label: str = "",
        show_root: bool = False,
        batch_size: int = 1000,
        loading_text: str = "loading…",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        """Create the tree; the roots are loaded (with parent_key None) once it is mounted.

        Args:
            loader: Returns the children of a key (None for the roots); runs on a thread.
            label: Label of the root node, seen only when `show_root` is True.
            show_root: Show the (synthetic) root node.
            batch_size: Children added per event-loop turn.
            loading_text: Placeholder shown while a node loads.
        """
        super().__init__(label, None, name=name, id=id, classes=classes, disabled=disabled)
        self.show_root = show_root
        # Enter selects (ItemSelected); space and right/left expand and collapse.
        self.auto_expand = False
        self._loader = loader
        self.batch_size = max(1, batch_size)
        self.loading_text = loading_text
        self._tokens: dict[int, int] = {}
        self._next_token = 0
        self._loaded: set[int] = set()
        self._jobs: dict[Worker[None], tuple[TreeNode[TreeItem[Any]], int]] = {}
        self._by_key: dict[Any, TreeNode[TreeItem[Any]]] = {}
        self._restore_expanded: set[Any] = set()
        self._restore_cursor: Any = None

    # -- public API ---------------------------------------------------------------------

    @property
    def cursor_item(self) -> TreeItem[Any] | None:
        """The item under the cursor (None on the root or a placeholder)."""
        node = self.cursor_node
        return None if node is None else node.data

    @property
    def cursor_key(self) -> Any:
        """Key of the item under the cursor, or None."""
        item = self.cursor_item
        return None if item is None else item.key

    @property
    def is_loading(self) -> bool:
        """True while any node's children are being loaded or added."""
        return bool(self._tokens)

    def find_node(self, key: Any) -> TreeNode[TreeItem[Any]] | None:
        """Return the node showing `key`, if it has been loaded."""
        node = self._by_key.get(key)
        if node is None:
            return None
        try:
            # Node ids restart after clear(), so check it is still this very node.
            attached = self.get_node_by_id(node.id) is node
        except UnknownNodeID:
            attached = False
        if not attached:
            del self._by_key[key]
            return None
        return node

    def select_key(self, key: Any) -> bool:
        """Move the cursor to the item `key` if it is loaded; returns whether it was."""
        node = self.find_node(key)
        if node is None:
            return False
        self.move_cursor(node)
        return True

    def reload(self, key: Any = None) -> None:
        """Load again, keeping expanded branches and the cursor where their keys still exist.

        Args:
            key: Reload only this item's children; None reloads the whole tree.
        """
        if key is not None:
            node = self.find_node(key)
            if node is not None and node.id in self._loaded | set(self._tokens):
                self._remember_state(node)
                self._request_children(node)
            return
        self._remember_state(self.root)
        self._tokens.clear()
        self._loaded.clear()
        self._by_key.clear()
        self.clear()
        if self.is_mounted:
            self._request_children(self.root)

    # -- loading ------------------------------------------------------------------------

    def on_mount(self) -> None:
        """Load the roots."""
        self.root.expand()
        self._request_children(self.root)

    def process_label(self, label: TextType) -> Text:
        """Take our own one-line Text labels as they are (saves a copy per node)."""
        if isinstance(label, Text):
            return label
        return super().process_label(label)

    def _invalidate(self) -> None:
        """Skip Tree's per-node cache reset while a batch of children is being added."""
        if not self._holding_invalidate:
            super()._invalidate()

    def get_label_width(self, node: TreeNode[TreeItem[Any]]) -> int:
        """Width from the plain label, without rendering it (the stock way is slow at 10k)."""
        label = node.label
        width = label.cell_len if isinstance(label, Text) else len(str(label))
        if node.allow_expand:
            width += len(self.ICON_NODE)
        return width

    def _remember_state(self, node: TreeNode[TreeItem[Any]]) -> None:
        self._restore_expanded.clear()
        stack = list(node.children)
        while stack:
            child = stack.pop()
            if child.is_expanded and child.data is not None:
                self._restore_expanded.add(child.data.key)
            stack.extend(child.children)
        # Only a cursor inside the reloaded branch is put back; elsewhere it never moved.
        ancestor = self.cursor_node
        while ancestor is not None and ancestor is not node:
            ancestor = ancestor.parent
        self._restore_cursor = self.cursor_key if ancestor is node else None

    def _request_children(self, node: TreeNode[TreeItem[Any]]) -> None:
        self._next_token += 1
        token = self._tokens[node.id] = self._next_token
        self._loaded.discard(node.id)
        node.remove_children()
        node.add_leaf(Text(self.loading_text, style="italic dim"))
        parent_key = None if node.data is None else node.data.key
        worker = self._load_children(node, parent_key, token)
        self._jobs[worker] = (node, token)

    @work(
        thread=True,
        group=CHILDREN_GROUP,
        exit_on_error=False,
        description="Load tree children",
    )
    def _load_children(self, node: TreeNode[TreeItem[Any]], parent_key: Any, token: int) -> None:
        items = list(self._loader(parent_key))
        self.post_message(_ChildrenLoaded(node, token, items))

    @on(_ChildrenLoaded)
    def _show_children(self, message: _ChildrenLoaded) -> None:
        node = message.node
        if self._tokens.get(node.id) != message.token:
            return
        node.remove_children()
        if not message.items and node is not self.root:
            node.allow_expand = False
        self._add_batch(node, message.token, message.items, 0)

    def _add_batch(
        self, node: TreeNode[TreeItem[Any]], token: int, items: list[TreeItem[Any]], start: int
    ) -> None:
        if self._tokens.get(node.id) != token:
            return
        end = min(len(items), start + self.batch_size)
        # Tree invalidates itself on every add (about 60 µs each); hold that off and
        # invalidate once per batch instead.
        self._holding_invalidate = True
        try:
            for item in items[start:end]:
                self._add_item(node, item)
        finally:
            self._holding_invalidate = False
        self._invalidate()
        if end < len(items):
            # A timer (not call_later) hands the loop back between batches, so keys and
            # repaints get in; call_later would run every batch back to back.
            self.set_timer(0.001, partial(self._add_batch, node, token, items, end))
            return
        del self._tokens[node.id]
        self._loaded.add(node.id)
        if node is self.root and self.cursor_line < 0 and node.children:
            # Tree starts without a cursor; put it on the first item so keys work at once.
            self.cursor_line = 0

    def _add_item(self, parent: TreeNode[TreeItem[Any]], item: TreeItem[Any]) -> None:
        label = Text(item.label.translate(_CONTROL_CHARS), style=item.style or "")
        child = parent.add(label, item, allow_expand=item.has_children)
        self._by_key[item.key] = child
        if item.key in self._restore_expanded and item.has_children:
            self._restore_expanded.discard(item.key)
            child.expand()
        if self._restore_cursor is not None and item.key == self._restore_cursor:
            self._restore_cursor = None
            # The new node's line is only known after the tree rebuilds its lines.
            self.call_after_refresh(self.move_cursor, child)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Replace the placeholder by an error line when a load fails (expand retries)."""
        job = self._jobs.get(event.worker)
        if job is None:
            return
        node, token = job
        if event.state == WorkerState.ERROR and self._tokens.get(node.id) == token:
            del self._tokens[node.id]
            node.remove_children()
            node.add_leaf(Text("⚠ could not load", style="italic red"))
            if node is not self.root:
                node.collapse()
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            del self._jobs[event.worker]

    @on(Tree.NodeExpanded)
    def _load_on_expand(self, event: Tree.NodeExpanded[TreeItem[Any]]) -> None:
        node = event.node
        if event.control is not self or node.data is None or not node.data.has_children:
            return
        if node.id in self._loaded or node.id in self._tokens:
            return
        self._request_children(node)

    @on(Tree.NodeSelected)
    def _announce_selection(self, event: Tree.NodeSelected[TreeItem[Any]]) -> None:
        item = event.node.data
        if event.control is self and item is not None:
            self.post_message(self.ItemSelected(self, item.key, item))

    @on(Tree.NodeHighlighted)
    def _announce_highlight(self, event: Tree.NodeHighlighted[TreeItem[Any]]) -> None:
        item = event.node.data
        if event.control is self and item is not None:
            self.post_message(self.ItemHighlighted(self, item.key, item))

    # -- actions ------------------------------------------------------------------------

    def action_expand_node(self) -> None:
        """Expand the cursor node, or step into its first child when already open."""
        node = self.cursor_node
        if node is None or not node.allow_expand:
            return
        if not node.is_expanded:
            node.expand()
        elif node.children:
            self.move_cursor(node.children[0])

    def action_collapse_node(self) -> None:
        """Collapse the cursor node, or move to its parent when already closed."""
        node = self.cursor_node
        if node is None:
            return
        if node.is_expanded and node.allow_expand:
            node.collapse()
        elif node.parent is not None and (node.parent is not self.root or self.show_root):
            self.move_cursor(node.parent)
