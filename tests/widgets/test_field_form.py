"""FieldForm driven by Pilot: widgets per kind, string values, errors, submit and cancel."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Checkbox, Input, Select, Static, TextArea

from widgets.field_form import FieldForm, FieldSpec

REGIONS = {"Spain": ["Madrid", "Sevilla"], "France": ["Paris", "Lyon"]}

SPECS = [
    FieldSpec("name", "Name", "text", required=True, value="ACME"),
    FieldSpec("vip", "VIP", "checkbox", value="yes"),
    FieldSpec("role", "Role", "combo", options=["Customer", "Supplier"], value="Supplier"),
    FieldSpec(
        "region", "Region", "linked", options=REGIONS, value="Spain|Sevilla", section="Where"
    ),
    FieldSpec("since", "Since", "date", value="2021-04-11", section="Where", help="YYYY-MM-DD"),
    FieldSpec("staff", "Employees", "numeric", value="12", section="Where"),
    FieldSpec("notes", "Notes", "textarea", value="first\nsecond", section="Other"),
    FieldSpec("secret", "Password", "password", section="Other"),
    *[FieldSpec(f"extra{n}", f"Extra {n}", section="Other") for n in range(10)],
]


class FormApp(App[None]):
    """A harness that records the form's messages."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[dict[str, str]] = []
        self.cancelled = 0

    def compose(self) -> ComposeResult:
        yield FieldForm(SPECS)

    def on_field_form_submitted(self, message: FieldForm.Submitted) -> None:
        self.submitted.append(message.values)

    def on_field_form_cancelled(self, message: FieldForm.Cancelled) -> None:
        self.cancelled += 1


async def test_initial_values_are_strings_per_kind() -> None:
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.query_one(FieldForm)
        assert isinstance(form.input_for("vip"), Checkbox)
        assert isinstance(form.input_for("role"), Select)
        assert isinstance(form.input_for("notes"), TextArea)
        assert form.input_for("secret").password  # type: ignore[attr-defined]
        values = form.values()
        assert values["name"] == "ACME"
        assert values["vip"] == "1"
        assert values["role"] == "Supplier"
        assert values["region"] == "Spain|Sevilla"
        assert values["since"] == "2021-04-11"
        assert values["staff"] == "12"
        assert values["notes"] == "first\nsecond"
        assert values["secret"] == "" and values["extra9"] == ""
        assert all(isinstance(value, str) for value in values.values())
        titles = [block.border_title for block in form.query(".form-section")]
        assert titles == [None, "Where", "Other"]
        # Linked: the parent choice refills the child select.
        parent, child = form.input_for("region").query(Select)
        parent.value = "France"
        await pilot.pause()
        assert form.values()["region"] == "France"
        child.value = "Lyon"
        await pilot.pause()
        assert form.values()["region"] == "France|Lyon"
        parent.clear()
        await pilot.pause()
        assert form.values()["region"] == ""


async def test_typing_then_ctrl_s_submits_and_escape_cancels() -> None:
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.query_one(FieldForm)
        assert app.focused is form.input_for("name")
        await pilot.press("end", "backspace", "backspace", "x")
        await pilot.press("tab", "space")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.submitted[-1]["name"] == "ACx"
        assert app.submitted[-1]["vip"] == "0"
        await pilot.press("escape")
        await pilot.pause()
        assert app.cancelled == 1


async def test_errors_show_under_fields_and_focus_the_first() -> None:
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.query_one(FieldForm)
        form.show_errors({"staff": "Not a number", "extra9": "Required", "": "Nothing saved"})
        await pilot.pause()
        assert form.errors == {"staff": "Not a number", "extra9": "Required", "": "Nothing saved"}
        messages = [
            str(label.render()) for label in form.query(".form-error.-shown").results(Static)
        ]
        assert messages == ["Not a number", "Required"]
        banner = form.query_one(".form-errors", Static)
        assert banner.display and str(banner.render()) == "Nothing saved"
        assert app.focused is form.input_for("staff")
        form.clear_errors()
        await pilot.pause()
        assert not form.query(".form-error.-shown")
        assert not banner.display


async def test_long_form_scrolls_at_80x24_and_dates_validate() -> None:
    app = FormApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        form = app.query_one(FieldForm)
        assert form.max_scroll_y > 0
        form.focus_field("extra9")
        await pilot.pause()
        assert form.scroll_y > 0
        assert form.region.contains_region(form.input_for("extra9").region)
        since = form.input_for("since")
        assert isinstance(since, Input)
        assert since.validate("2021-02-30") is not None
        assert not since.validate("2021-02-30").is_valid  # type: ignore[union-attr]
        assert since.validate("2024-02-29").is_valid  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="unknown field kind"):
        FieldForm([FieldSpec("x", "X", "colour")])
