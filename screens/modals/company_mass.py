"""Mass edit of companies: a field for the selected companies, or every company of one
manager given to another; picked with the keys, step by step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import N_, _, ngettext
from crm_tui.services import company_mass
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service

REASSIGN = "reassign"
"""The operation that gives every company of one manager to another."""

#: The operations, in the order the dialog lists them.
OPERATIONS = {
    "manager": N_("Set the manager"),
    "role": N_("Set the role"),
    "country": N_("Set the country"),
    "payment_conditions": N_("Set the payment conditions"),
    REASSIGN: N_("Give every company of a manager to another"),
}

#: Operations whose value is typed, not picked.
TYPED = ("country", "payment_conditions")


@dataclass(frozen=True)
class CompanyMassRequest:
    """What the dialog collected."""

    action: str
    """A field of `company_mass.MASS_FIELDS`, or REASSIGN."""
    value: str
    """The new value as `crm set` takes it; for REASSIGN the new manager's login."""
    label: str
    """How the confirmation names it, e.g. "set the manager to manager1"."""
    from_login: str = ""
    """For REASSIGN: the manager whose companies change hands."""


class CompanyMassModal(Dialog[CompanyMassRequest | None]):
    """The operation, then its value (a list, or a line to type); for a reassignment the
    manager who leaves, then the one who takes over. Enter picks, escape goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id=keymap.BACK_ID,
                tooltip="Back to the operations, or close"),
    ]
    """Enter picks in the list; escape goes back."""

    DEFAULT_CSS = """
    CompanyMassModal {
        align: center middle;
        & > #dialog {
            width: 56;
            max-width: 100%;
            height: auto;
            max-height: 20;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #company-mass-title {
            text-style: bold;
        }
        & #company-mass-step {
            color: $text-muted;
        }
        & OptionList {
            height: auto;
            max-height: 14;
        }
        & Input.-hidden, & OptionList.-hidden {
            display: none;
        }
    }
    """

    def __init__(self, session: Session, count: int) -> None:
        """Create the dialog for `count` selected companies."""
        super().__init__()
        self.session = session
        self.count = count
        self.action: str | None = None
        self.from_login: str | None = None
        self.choices: dict[str, list] | None = None

    def compose(self) -> ComposeResult:
        """The title, what to pick, the list and the line for typed values."""
        with Vertical(id="dialog"):
            yield Label(ngettext("Mass edit of {count} selected company",
                                 "Mass edit of {count} selected companies", self.count).format(
                                     count=self.count), id="company-mass-title")
            yield Label(_("Operation:"), id="company-mass-step")
            yield OptionList(*self._operations(), id="company-mass-options", compact=True,
                             markup=False)
            yield Input(id="company-mass-value", classes="-hidden", compact=True)
        yield KeyFooter(show_command_palette=False)

    def _operations(self) -> list[Option]:
        return [Option(_(label), id=action) for action, label in OPERATIONS.items()]

    def on_mount(self) -> None:
        """Focus the list and read the managers and roles."""
        self.query_one("#company-mass-options", OptionList).focus()
        run_service(self, company_mass.choices, self.session, done=self._got_choices,
                    group="company_mass.choices")

    def _got_choices(self, choices: dict[str, list]) -> None:
        self.choices = choices
        if self.action is not None and self.action not in TYPED:
            self._show_values()

    def _values(self) -> list[tuple[str, str]]:
        """(label, value) pairs offered for the current step."""
        choices = self.choices or {}
        managers = [(f"{login} · {name}", login) for login, name in choices.get("managers", [])]
        if self.action == "role":
            return [(_("(no role)"), "")] + [(name, str(role_id))
                                            for role_id, name in choices.get("roles", [])]
        if self.action == "manager":
            return [(_("(no manager)"), ""), *managers]
        return managers

    def _step_text(self) -> str:
        if self.action == REASSIGN:
            return (_("Manager who leaves:") if self.from_login is None
                    else _("Give the companies of {login} to:").format(login=self.from_login))
        return _(OPERATIONS[self.action or ""]) + ":"

    def _show_values(self) -> None:
        options = self.query_one("#company-mass-options", OptionList)
        options.clear_options()
        step = self.query_one("#company-mass-step", Label)
        if self.choices is None:
            step.update(_("Loading…"))
            return
        step.update(self._step_text())
        values = self._values()
        options.add_options([Option(label, id=f"value:{value}") for label, value in values])
        options.highlighted = 0 if values else None

    def _show_input(self) -> None:
        self.query_one("#company-mass-options", OptionList).add_class("-hidden")
        line = self.query_one("#company-mass-value", Input)
        line.remove_class("-hidden")
        line.value = ""
        line.focus()
        self.query_one("#company-mass-step", Label).update(
            self._step_text() + " " + _("(type it, enter applies)"))

    @on(OptionList.OptionSelected, "#company-mass-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if self.action is None:
            self.action = option_id
            if option_id in TYPED:
                self._show_input()
            else:
                self._show_values()
            return
        value = option_id.removeprefix("value:")
        shown = str(event.option.prompt).split(" · ")[0]
        if self.action == REASSIGN:
            if self.from_login is None:
                self.from_login = value
                self._show_values()
                return
            self.dismiss(CompanyMassRequest(
                REASSIGN, value, _("give every company of {old} to {new}").format(
                    old=self.from_login, new=value), from_login=self.from_login))
            return
        self._done(value, shown)

    @on(Input.Submitted, "#company-mass-value")
    def _typed(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        self._done(value, value or _("(empty)"))

    def _done(self, value: str, shown: str) -> None:
        action = self.action or ""
        self.dismiss(CompanyMassRequest(action, value, _("{operation} to {value}").format(
            operation=_(OPERATIONS[action]).lower(), value=shown)))

    def action_back(self) -> None:
        """Back one step, or close when at the operations."""
        if self.action is None:
            self.dismiss(None)
            return
        if self.action == REASSIGN and self.from_login is not None:
            self.from_login = None
            self._show_values()
            return
        self.action = None
        line = self.query_one("#company-mass-value", Input)
        line.add_class("-hidden")
        options = self.query_one("#company-mass-options", OptionList)
        options.remove_class("-hidden")
        options.clear_options()
        options.add_options(self._operations())
        options.highlighted = 0
        options.focus()
        self.query_one("#company-mass-step", Label).update(_("Operation:"))
