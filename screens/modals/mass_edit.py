"""Mass edit: pick an operation for the selected leads, then its value by typing part of it
(a company or lead type searched in the database as one types)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import _, ngettext
from crm_tui.services import lead_mass, leads, search
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service
from widgets.ref_picker import RefPicker

SEARCHED = ("company", "lead_type")
"""Operations whose value is searched in the database (`lead_mass.value_choices`)."""


@dataclass(frozen=True)
class MassRequest:
    """What the dialog collected: an operation of `lead_mass.MASS_ACTIONS` and its value."""

    action: str
    value: str
    """A login ("" for no owner), a status number, a company or lead type id ("" for
    none), a tag name, or "" for delete."""
    label: str
    """How the confirmation names it, e.g. "change status to Proposal delivered"."""


class MassEditModal(Dialog[MassRequest | None]):
    """The operation from a list, then its value (owner, status by name, company, lead
    type or tag) from a type-ahead picker; enter picks, escape goes back a step or closes."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id=keymap.BACK_ID,
                tooltip="Back to the operations, or close"),
    ]
    """Enter picks in the list; escape goes back."""

    DEFAULT_CSS = """
    MassEditModal {
        align: center middle;
        & > #dialog {
            width: 50;
            max-width: 100%;
            height: auto;
            max-height: 20;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #mass-title {
            text-style: bold;
        }
        & #mass-step {
            color: $text-muted;
        }
        & OptionList {
            height: auto;
            max-height: 14;
        }
    }
    """

    def __init__(self, session: Session, count: int) -> None:
        """Create the dialog for `count` selected leads."""
        super().__init__()
        self.session = session
        self.count = count
        self.action: str | None = None
        self.choices: dict[str, list] | None = None
        self._offered: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        """The title, what to pick, and the list."""
        with Vertical(id="dialog"):
            yield Label(ngettext("Mass edit of {count} selected lead",
                                 "Mass edit of {count} selected leads", self.count).format(
                                     count=self.count), id="mass-title")
            yield Label(_("Operation:"), id="mass-step")
            yield OptionList(*[Option(_(label), id=action)
                               for action, label in lead_mass.MASS_ACTIONS.items()],
                             id="mass-options", compact=True, markup=False)
            picker = RefPicker(self._matching, id="mass-value", debounce=0,
                               placeholder=_("type to search"), nothing_found=_("(no match)"))
            picker.display = False
            yield picker
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Focus the list and read the owners, statuses and tags."""
        self.query_one("#mass-options", OptionList).focus()
        run_service(self, leads.search_choices, self.session, done=self._got_choices,
                    group="mass_edit.choices")

    def _got_choices(self, choices: dict[str, list]) -> None:
        self.choices = choices
        if self.action is not None and self.action not in SEARCHED:
            self._show_values(self.action)

    def _values(self, action: str) -> list[tuple[str, str]]:
        """(label, value) pairs offered for an operation."""
        choices = self.choices or {}
        if action == "owner":
            return [(_("(no owner)"), "")] + [(f"{login} · {name}", login)
                                          for login, name in choices.get("owners", [])]
        if action == "status":
            return [(name, str(number)) for number, name in choices.get("statuses", [])]
        return [(name, name) for name, _ in choices.get("tags", [])]

    def _show_values(self, action: str) -> None:
        options = self.query_one("#mass-options", OptionList)
        options.clear_options()
        if self.choices is None and action not in SEARCHED:
            self.query_one("#mass-step", Label).update(_("Loading…"))
            return
        self.query_one("#mass-step", Label).update(f"{_(lead_mass.MASS_ACTIONS[action])}:")
        options.display = False
        picker = self.query_one("#mass-value", RefPicker)
        if action in SEARCHED:
            # Too many to read at once: the database is searched as the user types.
            picker.search = partial(lead_mass.value_choices, self.session, action)
        else:
            self._offered = self._values(action)
            picker.search = self._matching
        picker.chosen = []
        picker.input.value = ""
        picker.display = True
        picker.focus()
        picker.open_list()

    def _matching(self, text: str, offset: int, limit: int) -> list[tuple[str, str]]:
        """The offered values with a word starting with each typed word (accents and
        case aside)."""
        typed = search.normalise(text).split()
        found = [(label, value) for label, value in self._offered
                 if all(any(word.startswith(t) for word in
                            search.normalise(label).replace("(", " ").split())
                        for t in typed)]
        return found[offset:offset + limit]

    @on(OptionList.OptionSelected, "#mass-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if self.action is None:
            self.action = option_id
            if option_id == "delete":
                self.dismiss(MassRequest("delete", "", "delete"))
                return
            self._show_values(option_id)

    @on(RefPicker.Changed, "#mass-value")
    def _value_picked(self, event: RefPicker.Changed) -> None:
        event.stop()
        if self.action is None or not event.picker.chosen:
            return
        label, value = event.picker.chosen[0]
        words = {"owner": _("assign owner"), "status": _("change status to"),
                 "company": _("set company to"), "lead_type": _("set lead type to"),
                 "add_tag": _("add tag"), "remove_tag": _("remove tag")}[self.action]
        self.dismiss(MassRequest(self.action, value, f"{words} {label.split(' · ')[0]}"))

    def action_back(self) -> None:
        """Back to the operations, or close when already there."""
        if self.action is None:
            self.dismiss(None)
            return
        self.action = None
        self.query_one("#mass-value", RefPicker).display = False
        options = self.query_one("#mass-options", OptionList)
        options.display = True
        options.focus()
        options.clear_options()
        options.add_options([Option(_(label), id=action)
                             for action, label in lead_mass.MASS_ACTIONS.items()])
        options.highlighted = 0
        self.query_one("#mass-step", Label).update(_("Operation:"))
