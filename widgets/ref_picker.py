"""A type-ahead picker: typing asks a search callable (on a thread) and lists what it finds."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Key
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import get_current_worker

Search = Callable[[str, int, int], Sequence[tuple[str, str]]]
"""search(text, offset, limit) -> [(title, value)]; runs on a worker thread, so it may
block (a database query). The owner decides what may be found."""

PAGE = 20
"""Choices asked for at a time; the next page comes when the cursor reaches the end."""
DEBOUNCE = 0.1
"""Seconds of quiet typing before the search runs (one query per pause, not per key)."""


def _folded(text: str) -> str:
    """`text` without case or accents, for matching what is typed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fixed_search(choices: Sequence[tuple[str, str]]) -> Search:
    """A search over a fixed list of (title, value): the titles with a word starting with
    each typed word (case and accents aside), in the list's order."""
    words = [(pair, _folded(pair[0]).replace("(", " ").split()) for pair in choices]

    def search(text: str, offset: int, limit: int) -> list[tuple[str, str]]:
        typed = _folded(text).split()
        found = [pair for pair, title in words
                 if all(any(word.startswith(t) for word in title) for t in typed)]
        return found[offset:offset + limit]

    return search


class _Choices(OptionList, can_focus=False):
    """The found choices: the cursor stays in the input, which moves this list's highlight."""


class RefPicker(Vertical, can_focus=False):
    """Choose one value (or several, `multiple`) by typing part of its title.

    The input shows the chosen title; typing searches, `↑/↓` move in the list, `enter`
    chooses, `esc` closes the list (the form stays). With `multiple`, choosing adds a
    chip, choosing a chosen one again removes it, and `backspace` in the empty input
    removes the last. `value` is the chosen value, or the values joined by ",".
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "cursor(1)", "Next choice", show=False, id="picker.down"),
        Binding("up", "cursor(-1)", "Previous choice", show=False, id="picker.up"),
        Binding("escape", "close_list", "Close list", show=False, id="picker.close"),
    ]

    DEFAULT_CSS = """
    RefPicker {
        height: auto;
        & > .picker-chips {
            height: auto;
            color: $accent;
            display: none;
            &.-shown {
                display: block;
            }
        }
        & > OptionList {
            display: none;
            height: auto;
            max-height: 8;
            border: none;
            &.-open {
                display: block;
            }
        }
    }
    """

    class Changed(Message):
        """The chosen value(s) changed."""

        def __init__(self, picker: RefPicker) -> None:
            super().__init__()
            self.picker = picker

        @property
        def control(self) -> RefPicker:
            """The picker that changed."""
            return self.picker

    def __init__(self, search: Search, chosen: Sequence[tuple[str, str]] = (), *,
                 multiple: bool = False, placeholder: str = "", page: int = PAGE,
                 debounce: float = DEBOUNCE, nothing_found: str = "(no match)",
                 id: str | None = None) -> None:
        """`chosen`: the initial (title, value) pairs (at most one unless `multiple`);
        `nothing_found` is what the list shows when the search finds nothing (the owner's
        language)."""
        super().__init__(id=id)
        self.nothing_found = nothing_found
        self.search = search
        self.multiple = multiple
        self.placeholder = placeholder
        self.page = page
        self.debounce = debounce
        self.chosen: list[tuple[str, str]] = [(str(t), str(v)) for t, v in chosen if str(v)]
        if not multiple:
            self.chosen = self.chosen[:1]
        self._query = ""
        self.shown_query: str | None = None
        """The text whose first page the list shows (None: the list shows nothing yet)."""
        self._found: list[tuple[str, str]] = []
        self._more = False
        self._loading = False
        self._timer: Timer | None = None
        self._generation = 0

    # -- building -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """Chips (multiple), the input, and the list of what was found (hidden)."""
        if self.multiple:
            yield Static(classes="picker-chips", markup=False)
        yield Input(self._shown_title(), placeholder=self.placeholder, compact=True)
        yield _Choices(compact=True)

    def on_mount(self) -> None:
        """Show the chips of the initial values."""
        self._show_chips()

    @property
    def input(self) -> Input:
        """The text box the user types into."""
        return self.query_one(Input)

    @property
    def options(self) -> OptionList:
        """The list of what the search found."""
        return self.query_one(OptionList)

    @property
    def value(self) -> str:
        """The chosen value, or the chosen values joined by ","."""
        return ",".join(value for _title, value in self.chosen)

    @property
    def is_open(self) -> bool:
        """Whether the list of found choices shows."""
        return self.options.has_class("-open")

    def focus(self, scroll_visible: bool = True) -> RefPicker:
        """Focus the input."""
        self.input.focus(scroll_visible)
        return self

    def _shown_title(self) -> str:
        if self.multiple or not self.chosen:
            return ""
        return self.chosen[0][0]

    def _show_chips(self) -> None:
        if not self.multiple:
            return
        chips = self.query_one(".picker-chips", Static)
        chips.update("  ".join(f"[{title}]" for title, _value in self.chosen))
        chips.set_class(bool(self.chosen), "-shown")

    # -- searching ----------------------------------------------------------------------

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        if not self.input.has_focus:
            return  # set by the picker itself (a choice shown), not typed
        if not self.multiple and event.value == self._shown_title():
            return
        self._query = event.value
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.debounce <= 0:
            self._search_first()
        else:
            self._timer = self.set_timer(self.debounce, self._search_first)

    def _search_first(self) -> None:
        self._timer = None
        self._generation += 1
        self._found = []
        self._more = False
        self._fetch(self._query, 0, self._generation)

    def open_list(self) -> None:
        """Search for the current text now (the first page), showing the list."""
        self._query = "" if (not self.multiple and self.input.value == self._shown_title()) \
            else self.input.value
        self._search_first()

    @work(thread=True, group="picker.search", exclusive=True)
    def _fetch(self, text: str, offset: int, generation: int) -> None:
        self._loading = True
        try:
            found = list(self.search(text, offset, self.page + 1))
        except Exception as error:  # the owner's search failed: say so in the list
            self.app.call_from_thread(self._failed, error, generation)
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show_found, found, text, offset, generation)

    def _failed(self, error: BaseException, generation: int) -> None:
        self._loading = False
        if generation == self._generation:
            self.options.clear_options()
            self.options.add_option(Option(str(error), disabled=True))
            self.options.add_class("-open")

    def _show_found(self, found: list[tuple[str, str]], text: str, offset: int,
                    generation: int) -> None:
        self._loading = False
        if generation != self._generation:
            return  # an older search: the user has typed since
        self._more = len(found) > self.page
        found = [(str(t), str(v)) for t, v in found[:self.page]]
        self._found.extend(found)
        options = self.options
        highlighted = options.highlighted
        if offset == 0:
            options.clear_options()
            self.shown_query = text
        chosen = {value for _title, value in self.chosen}
        options.add_options(Option(("✓ " if value in chosen else "") + title, id=None)
                            for title, value in found)
        if not self._found:
            options.add_option(Option(self.nothing_found, disabled=True))
        options.add_class("-open")
        if self._found:
            options.highlighted = 0 if offset == 0 or highlighted is None else highlighted

    def _next_page(self) -> None:
        if self._more and not self._loading:
            self._loading = True
            self._fetch(self._query, len(self._found), self._generation)

    @on(OptionList.OptionHighlighted)
    def _highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        if event.option_index >= len(self._found) - 1:
            self._next_page()

    # -- choosing -----------------------------------------------------------------------

    def action_cursor(self, step: int) -> None:
        """Move in the list (opening it first when it is closed)."""
        if not self.is_open:
            self.open_list()
            return
        options = self.options
        if not self._found:
            return
        current = options.highlighted if options.highlighted is not None else -1
        options.highlighted = max(0, min(len(self._found) - 1, current + step))
        options.scroll_to_highlight()

    def action_close_list(self) -> None:
        """Close the list, showing the chosen title again."""
        self._close()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`esc` closes the list only while it is open; otherwise it is the form's."""
        if action == "close_list":
            return self.is_open
        return True

    def _close(self) -> None:
        self._generation += 1
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.options.remove_class("-open")
        self._set_text(self._shown_title())

    def _set_text(self, text: str) -> None:
        with self.input.prevent(Input.Changed):
            self.input.value = text

    @on(Input.Submitted)
    def _enter(self, event: Input.Submitted) -> None:
        event.stop()
        if not self.is_open:
            if not self.multiple and not event.value.strip() and self.chosen:
                self.choose(None)  # an emptied box and enter: no value
            return
        index = self.options.highlighted
        if index is not None and 0 <= index < len(self._found):
            self.choose(self._found[index])

    @on(OptionList.OptionSelected)
    def _clicked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if 0 <= event.option_index < len(self._found):
            self.choose(self._found[event.option_index])
        self.input.focus()

    def choose(self, choice: tuple[str, str] | None) -> None:
        """Choose (title, value); with `multiple` a chosen one is removed instead. None
        clears the choice."""
        if choice is None:
            self.chosen = []
        elif not self.multiple:
            self.chosen = [choice]
        elif any(value == choice[1] for _title, value in self.chosen):
            self.chosen = [item for item in self.chosen if item[1] != choice[1]]
        else:
            self.chosen = [*self.chosen, choice]
        self._close()
        self._show_chips()
        self.post_message(self.Changed(self))

    def on_key(self, event: Key) -> None:
        """`backspace` in an empty input removes the last chip."""
        if (event.key == "backspace" and self.multiple and self.chosen
                and not self.input.value and self.input.has_focus):
            event.stop()
            event.prevent_default()
            self.chosen = self.chosen[:-1]
            self._show_chips()
            self.post_message(self.Changed(self))

    @on(Input.Blurred)
    def _left(self, event: Input.Blurred) -> None:
        event.stop()
        if not self.multiple and not self.input.value.strip() and self.chosen:
            self.choose(None)  # the title was deleted: the reference is cleared
        elif self.is_open or self.input.value != self._shown_title():
            self._close()
