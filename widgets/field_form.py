"""A form built from FieldSpec dataclasses, grouped in sections, that returns string values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar, Literal, get_args

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.validation import ValidationResult, Validator
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, Select, Static, TextArea

from widgets.ref_picker import RefPicker, Search
from widgets.rows_editor import RowsEditor

FieldKind = Literal[
    "checkbox", "combo", "linked", "date", "numeric", "text", "textarea", "password",
    "pick", "picks", "rows",
]
"""The field kinds; "multiline" is accepted as another name for "textarea". "pick" and
"picks" choose one or several values by typing (a `RefPicker` over the spec's `search`),
"rows" edits a table of rows (see `RowsEditor`)."""

LINKED_SEPARATOR = "|"
"""Joins the two halves of a linked value: "parent|child" (just "parent" without a child)."""

CHECKED = "1"
"""values() of a ticked checkbox."""
UNCHECKED = "0"
"""values() of an unticked checkbox."""

_KINDS = {*get_args(FieldKind), "multiline"}
_TRUTHY = {"1", "true", "yes", "y", "on", "x"}
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class FieldSpec:
    """One form field. Values go in and come out as strings; the service parses them."""

    key: str
    """Name in values() and show_errors()."""
    label: str
    kind: str = "text"
    """One of FieldKind."""
    required: bool = False
    """Marks the label with "*" (the service still does the checking)."""
    options: Sequence[str] | Sequence[tuple[str, str]] | Mapping[str, Sequence[str]] = ()
    """combo: choices as strings or (label, value) pairs; linked: parent -> children."""
    value: str = ""
    """Initial value (checkbox: "1"/"true"/"yes"; linked: "parent|child")."""
    help: str = ""
    """A dim hint under the field."""
    section: str = ""
    """Fields sharing a section are shown together in a titled block."""
    search: Search | None = field(default=None, compare=False)
    """pick/picks: search(text, offset, limit) -> [(title, value)], run on a thread;
    `options` then hold the (title, value) pairs chosen at first."""


class _DateValidator(Validator):
    """Accept empty text or an ISO date (YYYY-MM-DD)."""

    def validate(self, value: str) -> ValidationResult:
        """Check the shape and that the day exists."""
        if not value:
            return self.success()
        if _DATE_SHAPE.fullmatch(value):
            try:
                date.fromisoformat(value)
            except ValueError:
                pass
            else:
                return self.success()
        return self.failure("Use YYYY-MM-DD")


def _choices(options: Any) -> list[tuple[str, str]]:
    """(label, value) pairs from strings or pairs."""
    pairs: list[tuple[str, str]] = []
    for option in options:
        if isinstance(option, tuple | list):
            pairs.append((str(option[0]), str(option[1])))
        else:
            pairs.append((str(option), str(option)))
    return pairs


def _no_search(text: str, offset: int, limit: int) -> list[tuple[str, str]]:
    """A picker built without a search finds nothing."""
    return []


class _LinkedSelect(Horizontal):
    """Two selects: picking a parent fills the second with that parent's children."""

    DEFAULT_CSS = """
    _LinkedSelect {
        height: auto;
        & > Select {
            width: 1fr;
        }
    }
    """

    def __init__(self, options: Mapping[str, Sequence[str]], value: str,
                 prompt: str = "Select") -> None:
        super().__init__()
        self.prompt = prompt
        self.choices = {
            str(parent): [str(child) for child in children] for parent, children in options.items()
        }
        parent, _, child = value.partition(LINKED_SEPARATOR)
        self._initial_parent = parent if parent in self.choices else None
        self._initial_child = child if child in self.choices.get(parent, []) else None

    def compose(self) -> ComposeResult:
        parent_value = self._initial_parent if self._initial_parent is not None else Select.NULL
        yield Select(
            [(parent, parent) for parent in self.choices],
            value=parent_value,
            prompt=self.prompt,
            compact=True,
            classes="linked-parent",
        )
        children = self.choices.get(self._initial_parent or "", [])
        child_value = self._initial_child if self._initial_child is not None else Select.NULL
        yield Select(
            [(child, child) for child in children],
            value=child_value,
            prompt=self.prompt,
            compact=True,
            classes="linked-child",
        )

    @on(Select.Changed, ".linked-parent")
    def _fill_children(self, event: Select.Changed) -> None:
        event.stop()
        children = self.choices.get(str(event.value), []) if event.value is not Select.NULL else []
        child = self.query_one(".linked-child", Select)
        current = child.value
        child.set_options((name, name) for name in children)
        # The parent also reports its initial value on mount: keep a child that still fits.
        if current in children:
            child.value = current

    @property
    def value(self) -> str:
        """The value as "parent|child", "parent" or an empty string."""
        parent = self.query_one(".linked-parent", Select).value
        child = self.query_one(".linked-child", Select).value
        if parent is Select.NULL:
            return ""
        if child is Select.NULL:
            return str(parent)
        return f"{parent}{LINKED_SEPARATOR}{child}"


class FieldForm(VerticalScroll, can_focus=False):
    """A scrollable form over FieldSpecs: ctrl+s posts Submitted(values), escape Cancelled.

    Errors come from the owner (normally the service's validation) through `show_errors`.
    """

    # The key map's "save" and "back" jobs: one id with every dialog's, for `[keymap]`.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "submit", "Save", id="save", tooltip="Save the form"),
        Binding("escape", "cancel", "Cancel", id="back", tooltip="Discard changes"),
    ]

    DEFAULT_CSS = """
    FieldForm {
        height: 1fr;
        padding: 0 1;
        & > .form-errors {
            display: none;
            color: $error;
            text-style: bold;
            &.-shown {
                display: block;
            }
        }
        & .form-section {
            height: auto;
            border: round $panel-lighten-1;
            border-title-color: $accent;
            padding: 0 1;
        }
        & .form-section.-untitled {
            border: none;
            padding: 0;
        }
        & .form-field {
            height: auto;
        }
        & .form-row {
            height: auto;
        }
        & .form-label {
            width: 20;
            padding: 0 1 0 0;
            color: $text-muted;
        }
        & .form-row > Input, & .form-row > Select, & .form-row > _LinkedSelect,
        & .form-row > TextArea, & .form-row > Checkbox, & .form-row > RefPicker,
        & .form-row > RowsEditor {
            width: 1fr;
        }
        & .form-row > TextArea {
            height: 4;
        }
        & .form-help {
            padding-left: 20;
            color: $text-muted;
        }
        & .form-error {
            display: none;
            padding-left: 20;
            color: $error;
            &.-shown {
                display: block;
            }
        }
    }
    """

    @dataclass
    class Submitted(Message):
        """ctrl+s: the values, all strings."""

        form: FieldForm
        values: dict[str, str]

        @property
        def control(self) -> FieldForm:
            """The form that posted the message."""
            return self.form

    @dataclass
    class Cancelled(Message):
        """Escape: the user gave up."""

        form: FieldForm

        @property
        def control(self) -> FieldForm:
            """The form that posted the message."""
            return self.form

    def __init__(
        self,
        specs: Iterable[FieldSpec],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
        prompt: str = "Select",
        type_hint: str = "type to search",
        nothing_found: str = "(no match)",
    ) -> None:
        """Create the form; widgets are built from `specs`, sections keep first-seen order.
        `prompt` is what a choice shows while nothing is chosen, `type_hint` what an
        empty picker shows, `nothing_found` what its list shows when nothing matches (all
        in the owner's language)."""
        super().__init__(name=name, id=id, classes=classes, disabled=disabled)
        self.prompt = prompt
        self.type_hint = type_hint
        self.nothing_found = nothing_found
        self.specs = list(specs)
        for spec in self.specs:
            # Fail where the form is built, not later inside compose.
            if spec.kind not in _KINDS:
                raise ValueError(f"unknown field kind {spec.kind!r} for {spec.key!r}")
        self._inputs: dict[str, Widget] = {}
        self._errors: dict[str, Static] = {}
        self._shown_errors: dict[str, str] = {}

    # -- building -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        """A form-level error line, then one block per section."""
        yield Static(classes="form-errors")
        sections: dict[str, list[FieldSpec]] = {}
        for spec in self.specs:
            sections.setdefault(spec.section, []).append(spec)
        for title, specs in sections.items():
            block = Vertical(classes="form-section" if title else "form-section -untitled")
            if title:
                block.border_title = title
            with block:
                for spec in specs:
                    yield from self._compose_field(spec)

    def _compose_field(self, spec: FieldSpec) -> ComposeResult:
        widget = self._build_input(spec)
        self._inputs[spec.key] = widget
        error = Static(classes="form-error")
        self._errors[spec.key] = error
        with Vertical(classes="form-field"):
            with Horizontal(classes="form-row"):
                text = spec.label + (" *" if spec.required else "")
                # A checkbox carries its own label; keep the column aligned with a blank one.
                yield Label("" if spec.kind == "checkbox" else text, classes="form-label")
                yield widget
            if spec.help:
                yield Static(spec.help, classes="form-help")
            yield error

    def _build_input(self, spec: FieldSpec) -> Widget:
        kind = "textarea" if spec.kind == "multiline" else spec.kind
        value = spec.value or ""
        if kind == "checkbox":
            label = spec.label + (" *" if spec.required else "")
            return Checkbox(label, value.strip().lower() in _TRUTHY, compact=True)
        if kind == "combo":
            choices = _choices(spec.options)
            known = {choice for _, choice in choices}
            initial: Any = value if value in known else Select.NULL
            return Select(choices, value=initial, prompt=self.prompt, compact=True)
        if kind in ("pick", "picks"):
            return RefPicker(spec.search or _no_search, _choices(spec.options),
                             multiple=kind == "picks", placeholder=self.type_hint,
                             nothing_found=self.nothing_found)
        if kind == "rows":
            return RowsEditor([str(label) for label in spec.options], value)
        if kind == "linked":
            options = spec.options if isinstance(spec.options, Mapping) else {}
            return _LinkedSelect(options, value, self.prompt)
        if kind == "textarea":
            return TextArea(value, compact=True, soft_wrap=True)
        if kind == "date":
            return Input(
                value,
                placeholder="YYYY-MM-DD",
                restrict=r"[0-9-]*",
                max_length=10,
                validators=[_DateValidator()],
                compact=True,
            )
        if kind == "numeric":
            return Input(value, type="number", compact=True)
        if kind == "password":
            return Input(value, password=True, compact=True)
        return Input(value, compact=True)

    # -- public API ---------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """Every field's value as a string, keyed by FieldSpec.key.

        Checkboxes give "1"/"0", empty selects "", linked fields "parent|child".
        """
        result: dict[str, str] = {}
        for key, widget in self._inputs.items():
            if isinstance(widget, Checkbox):
                result[key] = CHECKED if widget.value else UNCHECKED
            elif isinstance(widget, Select):
                result[key] = "" if widget.value is Select.NULL else str(widget.value)
            elif isinstance(widget, _LinkedSelect | RefPicker | RowsEditor):
                result[key] = widget.value
            elif isinstance(widget, TextArea):
                result[key] = widget.text
            elif isinstance(widget, Input):
                result[key] = widget.value
        return result

    def input_for(self, key: str) -> Widget:
        """The widget that edits field `key` (raises KeyError for unknown keys)."""
        return self._inputs[key]

    def focus_field(self, key: str) -> None:
        """Focus field `key` and scroll it into view."""
        widget = self._inputs[key]
        target = widget.query_one(Select) if isinstance(widget, _LinkedSelect) else widget
        if isinstance(target, RowsEditor | RefPicker):
            target.focus()
            widget.scroll_visible(animate=False)
            return
        target.focus()
        target.scroll_visible(animate=False)

    def show_errors(self, errors: Mapping[str, str]) -> None:
        """Show each message under its field; keys that match no field go on top.

        An empty mapping clears every error. The first field in error gets the focus.
        """
        first: str | None = None
        self._shown_errors = {key: text for key, text in errors.items() if text}
        for key, label in self._errors.items():
            message = errors.get(key, "")
            label.update(message)
            label.set_class(bool(message), "-shown")
            if message and first is None:
                first = key
        general = [message for key, message in errors.items() if key not in self._errors]
        banner = self.query_one(".form-errors", Static)
        banner.update("\n".join(general))
        banner.set_class(bool(general), "-shown")
        if first is not None:
            self.focus_field(first)
        elif general:
            self.scroll_home(animate=False)

    def clear_errors(self) -> None:
        """Hide every error message."""
        self.show_errors({})

    @property
    def errors(self) -> dict[str, str]:
        """The field messages currently shown."""
        return dict(self._shown_errors)

    # -- actions ------------------------------------------------------------------------

    def action_submit(self) -> None:
        """Post Submitted with the current values."""
        self.post_message(self.Submitted(self, self.values()))

    def action_cancel(self) -> None:
        """Post Cancelled."""
        self.post_message(self.Cancelled(self))
