"""A one-line filter input, hidden until asked for, that reports debounced changes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Input, Label


class FilterBar(Horizontal):
    """A `/` filter line: `show()` opens it, typing posts FilterChanged after a short pause.

    Enter reports the text at once; escape hides the bar and posts Closed (the text is kept,
    so the owner decides whether closing also clears the filter).
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "close",
            "Close filter",
            id="filter_bar.close",
            tooltip="Hide the filter bar",
        ),
    ]

    DEFAULT_CSS = """
    FilterBar {
        display: none;
        height: 1;
        background: $boost;
        &.-visible {
            display: block;
        }
        & > Label {
            width: auto;
            padding: 0 1;
            color: $accent;
            text-style: bold;
        }
        & > Input {
            width: 1fr;
            height: 1;
            border: none;
            padding: 0;
            background: $boost;
            &:focus {
                border: none;
            }
        }
    }
    """

    @dataclass
    class FilterChanged(Message):
        """The filter text settled on a new value."""

        bar: FilterBar
        text: str

        @property
        def control(self) -> FilterBar:
            """The bar that posted the message."""
            return self.bar

    @dataclass
    class Closed(Message):
        """Escape closed the bar."""

        bar: FilterBar

        @property
        def control(self) -> FilterBar:
            """The bar that posted the message."""
            return self.bar

    def __init__(
        self,
        *,
        prompt: str = "/",
        placeholder: str = "filter…",
        debounce: float = 0.2,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a hidden bar.

        Args:
            prompt: Text in front of the input.
            placeholder: Shown while the input is empty.
            debounce: Seconds of quiet typing before FilterChanged is posted.
        """
        super().__init__(name=name, id=id, classes=classes)
        self.prompt = prompt
        self.placeholder = placeholder
        self.debounce = debounce
        self._timer: Timer | None = None
        self._reported = ""

    def compose(self) -> ComposeResult:
        """The prompt and the input."""
        yield Label(self.prompt)
        yield Input(placeholder=self.placeholder, select_on_focus=False)

    @property
    def input(self) -> Input:
        """The inner Input."""
        return self.query_one(Input)

    @property
    def value(self) -> str:
        """The current text (possibly not reported yet)."""
        return self.input.value

    @property
    def is_open(self) -> bool:
        """Whether the bar is shown."""
        return self.has_class("-visible")

    def show(self, text: str | None = None) -> None:
        """Show the bar and focus its input, optionally replacing the text."""
        self.add_class("-visible")
        field = self.input
        if text is not None:
            field.value = text
            field.cursor_position = len(text)
        field.focus()

    def hide(self) -> None:
        """Hide the bar without posting anything."""
        self._cancel_timer()
        self.remove_class("-visible")

    def clear(self) -> None:
        """Empty the input and report the empty filter at once if it changed."""
        self.input.value = ""
        self.flush()

    def flush(self) -> None:
        """Report the current text now instead of waiting for the debounce."""
        self._cancel_timer()
        text = self.input.value
        if text != self._reported:
            self._reported = text
            self.post_message(self.FilterChanged(self, text))

    def action_close(self) -> None:
        """Hide the bar and post Closed."""
        self.flush()
        self.hide()
        self.post_message(self.Closed(self))

    @on(Input.Changed)
    def _restart_debounce(self, event: Input.Changed) -> None:
        event.stop()
        self._cancel_timer()
        # Each keystroke restarts the timer, so a query runs once per pause, not per key.
        self._timer = self.set_timer(self.debounce, self.flush)

    @on(Input.Submitted)
    def _submit_now(self, event: Input.Submitted) -> None:
        event.stop()
        self.flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
