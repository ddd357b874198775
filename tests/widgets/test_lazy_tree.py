"""LazyTree driven by Pilot: children load on expand, on a thread, in batches."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.worker import WorkerFailed

from widgets.lazy_tree import LazyTree, TreeItem


class FakeLoader:
    """A company-like hierarchy that records which parents were asked for."""

    def __init__(self, big: int = 10_000, gate: threading.Event | None = None) -> None:
        self.calls: list[object] = []
        self.threads: set[str] = set()
        self.big = big
        self.gate = gate
        self.fail = False

    def __call__(self, parent: object) -> list[TreeItem[object]]:
        self.calls.append(parent)
        self.threads.add(threading.current_thread().name)
        if self.gate is not None and parent is not None:
            self.gate.wait(5)
        if self.fail:
            raise RuntimeError("no database")
        if parent is None:
            return [
                TreeItem(1, "My company", has_children=True),
                TreeItem(2, "Lonely [bold]Ltd[/]", style="dim"),
                TreeItem(3, "Big holding", has_children=True),
            ]
        if parent == 3:
            return [TreeItem(f"c{n}", f"Child {n}") for n in range(self.big)]
        return [TreeItem(f"{parent}.{n}", f"Customer #{n}", has_children=n == 0) for n in range(3)]


class TreeApp(App[None]):
    """A harness that records the tree's messages."""

    def __init__(self, loader: FakeLoader, **options: object) -> None:
        super().__init__()
        self.loader = loader
        self.options = options
        self.selected: list[object] = []
        self.highlighted: list[object] = []

    def compose(self) -> ComposeResult:
        yield LazyTree(self.loader, **self.options)  # type: ignore[arg-type]

    def on_lazy_tree_item_selected(self, message: LazyTree.ItemSelected) -> None:
        self.selected.append(message.key)

    def on_lazy_tree_item_highlighted(self, message: LazyTree.ItemHighlighted) -> None:
        self.highlighted.append(message.key)


async def settle(pilot: Pilot[None]) -> None:
    """Wait for loads and for every batch of added children."""
    tree = pilot.app.query_one(LazyTree)
    for _ in range(200):
        with contextlib.suppress(WorkerFailed):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if not tree.is_loading:
            return
    raise AssertionError("tree never finished loading")


def labels(node) -> list[str]:
    return [str(child.label) for child in node.children]


async def test_roots_load_once_and_children_only_on_expand() -> None:
    loader = FakeLoader()
    app = TreeApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.query_one(LazyTree)
        assert loader.calls == [None]
        assert threading.main_thread().name not in loader.threads
        # Labels are plain text: markup in data is shown, not interpreted.
        assert labels(tree.root) == ["My company", "Lonely [bold]Ltd[/]", "Big holding"]
        assert tree.cursor_key == 1
        await pilot.press("space")
        await settle(pilot)
        assert loader.calls == [None, 1]
        assert labels(tree.root.children[0]) == ["Customer #0", "Customer #1", "Customer #2"]
        # Collapsing and expanding again uses what was loaded.
        await pilot.press("space", "space")
        await settle(pilot)
        assert loader.calls == [None, 1]
        # Enter selects without toggling.
        await pilot.press("j", "enter")
        await pilot.pause()
        assert app.selected == ["1.0"]
        assert app.highlighted[-1] == "1.0"
        assert not tree.root.children[0].children[0].is_expanded


async def test_loading_placeholder_while_loader_runs() -> None:
    gate = threading.Event()
    loader = FakeLoader(gate=gate)
    app = TreeApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.query_one(LazyTree)
        await pilot.press("right")
        await pilot.pause()
        assert labels(tree.root.children[0]) == ["loading…"]
        # The event loop is free while the loader blocks.
        await pilot.press("down")
        assert tree.cursor_line == 1
        gate.set()
        await settle(pilot)
        assert labels(tree.root.children[0])[0] == "Customer #0"


async def test_ten_thousand_children_without_freezing_the_event_loop() -> None:
    loader = FakeLoader(big=10_000)
    app = TreeApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.query_one(LazyTree)
        big = tree.root.children[2]
        seen: list[int] = []
        done = asyncio.Event()

        async def heartbeat() -> None:
            # Runs only when the event loop is free: it sees each batch land separately.
            while not done.is_set():
                seen.append(len(big.children))
                await asyncio.sleep(0.001)

        beat = asyncio.create_task(heartbeat())
        await pilot.press("end", "l")
        await settle(pilot)
        done.set()
        await beat
        assert len(big.children) == 10_000
        partial = sorted({count for count in seen if 0 < count < 10_000})
        assert len(partial) >= 3
        await pilot.press("l", "end")
        assert tree.cursor_key == "c9999"


async def test_reload_keeps_expanded_branches_and_cursor() -> None:
    loader = FakeLoader(big=5)
    app = TreeApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.query_one(LazyTree)
        await pilot.press("space")
        await settle(pilot)
        await pilot.press("down", "down")
        assert tree.cursor_key == "1.1"
        tree.reload()
        await settle(pilot)
        assert loader.calls == [None, 1, None, 1]
        assert tree.root.children[0].is_expanded
        await pilot.pause()
        assert tree.cursor_key == "1.1"
        tree.reload(1)
        await settle(pilot)
        assert loader.calls[-1] == 1
        assert tree.find_node("1.2") is not None


async def test_loader_failure_shows_error_and_expand_retries() -> None:
    loader = FakeLoader()
    app = TreeApp(loader)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        tree = app.query_one(LazyTree)
        loader.fail = True
        await pilot.press("space")
        await settle(pilot)
        node = tree.root.children[0]
        assert labels(node) == ["⚠ could not load"]
        loader.fail = False
        await pilot.press("space")
        await settle(pilot)
        assert labels(node)[0] == "Customer #0"
