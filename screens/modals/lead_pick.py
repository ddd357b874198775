"""Pick a lead by typing part of its name, email or company (for filing mail on it)."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import _
from crm_tui.services import mail_unmatched
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service


class LeadPickModal(Dialog[int | None]):
    """Type to search the leads you may change; enter on one dismisses with its id."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Pick no lead"),
        Binding("down", "to_list", "Results", id="pick.results", show=False,
                tooltip="Move from the search to the results"),
    ]
    """Type to search, down to the results, enter picks, escape gives up."""

    DEFAULT_CSS = """
    LeadPickModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: 20;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #pick-title {
            text-style: bold;
        }
        & OptionList {
            height: 1fr;
        }
    }
    """

    def __init__(self, session: Session, title: str) -> None:
        """Create the picker for the acting user, titled `title`."""
        super().__init__()
        self.session = session
        self.title_text = title

    def compose(self) -> ComposeResult:
        """The title, the search field and the matching leads."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="pick-title", markup=False)
            yield Input(placeholder=_("name, email or company"), id="pick-search")
            yield OptionList(id="pick-leads")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start typing at once; list the first leads meanwhile."""
        self.query_one("#pick-search", Input).focus()
        self._search("")

    @on(Input.Changed, "#pick-search")
    def _search_changed(self, event: Input.Changed) -> None:
        self._search(event.value)

    @on(Input.Submitted, "#pick-search")
    def _search_submitted(self, _event: Input.Submitted) -> None:
        self.action_to_list()

    def _search(self, text: str) -> None:
        run_service(self, mail_unmatched.assign_choices, self.session, text,
                    done=self._show, group="pick.search", exclusive=True)

    def _show(self, choices: list[tuple[int, str]]) -> None:
        found = self.query_one("#pick-leads", OptionList)
        found.clear_options()
        found.add_options([Option(label, id=str(lead_id)) for lead_id, label in choices])
        if choices:
            found.highlighted = 0

    def action_to_list(self) -> None:
        """Move to the results."""
        found = self.query_one("#pick-leads", OptionList)
        if found.option_count:
            found.focus()

    @on(OptionList.OptionSelected, "#pick-leads")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(int(event.option.id or 0) or None)

    def action_cancel(self) -> None:
        """Close without a lead."""
        self.dismiss(None)
