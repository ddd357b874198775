"""The advanced lead search: every filter of the lead list in one form, and saved searches."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Checkbox, Input, Label, Select
from textual.widgets.select import InvalidSelectValueError

from crm_tui.errors import ValidationFailed, error_text
from crm_tui.i18n import _
from crm_tui.services import leads, saved_searches
from crm_tui.services.context import Session
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service
from widgets.field_form import FieldForm, FieldSpec

#: Filters with a form field of the same name, in form order.
PLAIN_FILTERS = ("q", "owner", "status", "country", "language", "lead_type", "tag",
                 "created_from", "created_to", "close_from", "close_to")
#: Filters shown as checkboxes: ticked means "1", unticked leaves the filter out.
FLAG_FILTERS = ("closed", "without_owner")


def form_values(filters: dict[str, str]) -> dict[str, str]:
    """The form's values for a set of filters."""
    values = {key: filters.get(key, "") for key in PLAIN_FILTERS}
    for key in FLAG_FILTERS:
        values[key] = "1" if filters.get(key, "") in ("1", "true", "yes") else "0"
    custom = [(k, v) for k, v in filters.items() if k.startswith("custom.")]
    values["custom_field"], values["custom_value"] = (
        (custom[0][0][len("custom."):], custom[0][1]) if custom else ("", ""))
    return values


def filters_from(values: dict[str, str]) -> dict[str, str]:
    """The filters a filled-in form asks for (empty fields ask for nothing)."""
    filters = {key: values[key].strip() for key in PLAIN_FILTERS
               if values.get(key, "").strip()}
    for key in FLAG_FILTERS:
        if values.get(key) == "1":
            filters[key] = "1"
    name, value = values.get("custom_field", ""), values.get("custom_value", "").strip()
    if name and value:
        filters[f"custom.{name}"] = value
    return filters


def search_specs(choices: dict[str, list], filters: dict[str, str]) -> list[FieldSpec]:
    """The search form's fields, filled from `filters`."""
    values = form_values(filters)
    statuses = [(name, str(number)) for number, name in choices["statuses"]]
    return [
        FieldSpec("saved", _("Saved search"), "combo", options=choices["saved"],
                  help=_("pick one to load it; ctrl+d deletes it")),
        FieldSpec("q", _("Text"), value=values["q"], help=_("part of the name, email or company")),
        FieldSpec("owner", _("Owner"), "combo", options=[login for login, _ in choices["owners"]],
                  value=values["owner"]),
        FieldSpec("status", _("Status"), "combo", options=statuses, value=values["status"]),
        FieldSpec("country", _("Country"), value=values["country"]),
        FieldSpec("language", _("Language"), value=values["language"]),
        FieldSpec("lead_type", _("Lead type"), "combo",
                  options=[(name, str(type_id)) for type_id, name in choices["lead_types"]],
                  value=values["lead_type"]),
        FieldSpec("custom_field", _("Type field"), "combo", options=choices["custom_fields"],
                  value=values["custom_field"]),
        FieldSpec("custom_value", _("Field value"), value=values["custom_value"]),
        FieldSpec("tag", _("Tag"), "combo", options=[name for name, _ in choices["tags"]],
                  value=values["tag"]),
        FieldSpec("created_from", _("Created from"), "date", value=values["created_from"]),
        FieldSpec("created_to", _("Created to"), "date", value=values["created_to"]),
        FieldSpec("close_from", _("Closing from"), "date", value=values["close_from"]),
        FieldSpec("close_to", _("Closing to"), "date", value=values["close_to"]),
        FieldSpec("closed", _("Show closed leads"), "checkbox", value=values["closed"]),
        FieldSpec("without_owner", _("Only leads without owner"), "checkbox",
                  value=values["without_owner"]),
        FieldSpec("save_as", _("Save as"), help=_("a name saves this search for later")),
    ]


class LeadSearchModal(Dialog[dict[str, str] | None]):
    """Every lead filter in one form; dismisses with the filters (ctrl+s) or None (escape).

    Picking a saved search fills the form with it; a name under "Save as" saves the search
    when it is applied; ctrl+t deletes the picked saved search.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+t", "delete_saved", "Delete saved", id="lead_search.delete_saved",
                tooltip="Delete the saved search picked above"),
        Binding("ctrl+r", "clear", "Clear", id="lead_search.clear",
                tooltip="Empty every field"),
    ]
    """The form's own keys (ctrl+s search, escape cancel) show beside these."""

    DEFAULT_CSS = """
    LeadSearchModal {
        align: center middle;
        & > #dialog {
            width: 76;
            max-width: 100%;
            height: 100%;
            max-height: 22;
            border: thick $primary 60%;
            background: $surface;
            & > #search-title {
                text-style: bold;
                width: 100%;
                background: $panel;
                padding: 0 1;
            }
            & > #search-loading {
                color: $text-muted;
                padding: 1 2;
            }
        }
    }
    """

    def __init__(self, session: Session, filters: dict[str, str] | None = None) -> None:
        """Create the dialog, filled from the list's current `filters`."""
        super().__init__()
        self.session = session
        self.filters = dict(filters or {})
        self.choices: dict[str, list] | None = None
        self._busy = False

    def compose(self) -> ComposeResult:
        """Title and a placeholder until the choices arrive."""
        with Vertical(id="dialog"):
            yield Label(_("Search leads · ctrl+s search"), id="search-title")
            yield Label(_("Loading…"), id="search-loading")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Read the owners, statuses, types, tags, fields and saved searches."""
        run_service(self, leads.search_choices, self.session, done=self._show_form,
                    group="lead_search.choices")

    def _show_form(self, choices: dict[str, list]) -> None:
        self.choices = choices
        self.query_one("#search-loading").remove()
        form = FieldForm(search_specs(choices, self.filters), id="search-form",
                         prompt=_("Select"))
        self.query_one("#dialog").mount(form)
        self.call_after_refresh(lambda: form.focus_field("q"))

    @property
    def form(self) -> FieldForm | None:
        """The form, once built."""
        found = list(self.query("#search-form").results(FieldForm))
        return found[0] if found else None

    def fill(self, filters: dict[str, str]) -> None:
        """Put `filters` into the form's fields."""
        form = self.form
        if form is None:
            return
        for key, value in form_values(filters).items():
            widget = form.input_for(key)
            if isinstance(widget, Checkbox):
                widget.value = value == "1"
            elif isinstance(widget, Select):
                try:
                    widget.value = value if value else Select.NULL
                except InvalidSelectValueError:
                    # A saved value that is no longer offered (a deleted tag, say).
                    widget.value = Select.NULL
            elif isinstance(widget, Input):
                widget.value = value

    # -- saved searches -------------------------------------------------------------------

    @on(Select.Changed)
    def _load_saved(self, event: Select.Changed) -> None:
        form = self.form
        if form is None or event.select is not form.input_for("saved"):
            return
        if event.value is Select.NULL:
            return
        name = str(event.value)
        run_service(self, saved_searches.load, self.session, name,
                    done=lambda filters: self._loaded(name, filters),
                    group="lead_search.load")

    def _loaded(self, name: str, filters: dict[str, str]) -> None:
        self.fill(filters)
        form = self.form
        if form is not None:
            save_as = form.input_for("save_as")
            if isinstance(save_as, Input):
                save_as.value = ""
        self.notify(_("Loaded search {name!r}").format(name=name), timeout=2)

    def action_delete_saved(self) -> None:
        """Delete the saved search picked in the first field."""
        form = self.form
        if form is None:
            return
        name = form.values().get("saved", "")
        if not name:
            self.notify(_("Pick a saved search first"), severity="warning", timeout=3)
            return
        run_service(self, saved_searches.delete, self.session, name,
                    done=lambda _: self._deleted(name), group="lead_search.delete")

    def _deleted(self, name: str) -> None:
        form = self.form
        if form is not None and self.choices is not None:
            self.choices["saved"] = [n for n in self.choices["saved"] if n != name]
            select = form.input_for("saved")
            if isinstance(select, Select):
                select.set_options((n, n) for n in self.choices["saved"])
        self.notify(_("Deleted search {name!r}").format(name=name), timeout=3)

    def action_clear(self) -> None:
        """Empty every field."""
        self.fill({})

    # -- applying -------------------------------------------------------------------------

    @on(FieldForm.Submitted)
    def _apply(self, event: FieldForm.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        self._busy = True
        filters = filters_from(event.values)
        name = event.values.get("save_as", "").strip()
        run_service(self, self._check_and_save, filters, name, done=self.dismiss,
                    failed=self._refused, group="lead_search.apply")

    def _check_and_save(self, filters: dict[str, str], name: str) -> dict[str, str]:
        checked = saved_searches.check_filters(self.session, filters)
        if name:
            saved_searches.save(self.session, name, checked)
        return checked

    def _refused(self, error: BaseException) -> None:
        self._busy = False
        form = self.form
        if form is None:
            return
        if isinstance(error, ValidationFailed):
            keys = set(form.values())
            errors: dict[str, str] = {}
            for problem in error.problems:
                key = problem.field if problem.field in keys else (
                    "custom_value" if problem.field.startswith("custom.") else "")
                if key == "" and problem.field == "name":
                    key = "save_as"
                errors[key] = problem.reason if key else str(problem)
            form.show_errors(errors)
        else:
            form.show_errors({"": error_text(error)})

    @on(FieldForm.Cancelled)
    def _cancelled(self, event: FieldForm.Cancelled) -> None:
        event.stop()
        self.dismiss(None)
