"""Creating a lead that resembles existing ones: the new-lead form checks first, and a
dialog offers to open or merge an existing lead instead, or to create it anyway."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.services import leads
from crm_tui.services.context import Session
from screens.base import run_service
from screens.modals.record_form import RecordFormModal
from widgets.field_form import FieldForm

Choice = tuple[str, int | None]
"""("open", id), ("merge", id) or ("create", None)."""


class DuplicateChoiceModal(ModalScreen[Choice | None]):
    """Lists the leads a new one resembles (only ones the user may see: the service finds
    no others); merging is offered into those he may change. Dismisses with the choice, or
    None (escape: back to the form)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the form", id="duplicates.back",
                tooltip="Return to the form without saving"),
    ]
    """Enter picks; escape goes back to the form."""

    DEFAULT_CSS = """
    DuplicateChoiceModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: auto;
            max-height: 20;
            border: thick $warning 60%;
            background: $surface;
            padding: 0 1;
        }
        & #duplicates-title {
            text-style: bold;
        }
        & OptionList {
            height: auto;
            max-height: 14;
        }
    }
    """

    def __init__(self, duplicates: list[leads.Duplicate]) -> None:
        """Create the dialog for the leads found."""
        super().__init__()
        self.duplicates = list(duplicates)

    def compose(self) -> ComposeResult:
        """A warning line and the choices."""
        options = []
        for duplicate in self.duplicates:
            options.append(Option(f"Open {duplicate.describe()}", id=f"open:{duplicate.id}"))
        for duplicate in self.duplicates:
            # Only a lead the user may change can take the new one's values.
            if duplicate.modifiable:
                options.append(Option(f"Merge into lead #{duplicate.id} "
                                      f"{duplicate.full_name!r}", id=f"merge:{duplicate.id}"))
        options.append(Option("Create a new lead anyway", id="create:"))
        with Vertical(id="dialog"):
            yield Label("This lead looks like one that exists already:", id="duplicates-title")
            yield OptionList(*options, id="duplicate-options", compact=True, markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        """Focus the choices."""
        self.query_one("#duplicate-options", OptionList).focus()

    @on(OptionList.OptionSelected, "#duplicate-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        what, _, lead_id = (event.option.id or "").partition(":")
        self.dismiss((what, int(lead_id) if lead_id else None))

    def action_back(self) -> None:
        """Back to the form."""
        self.dismiss(None)


class NewLeadModal(RecordFormModal):
    """The new-lead form: before saving it looks for duplicates (same email, or same
    company and name) and asks what to do when it finds any. Dismisses with the id of the
    lead to show (new, opened or merged into), or None."""

    def __init__(self, session: Session, *, initial: dict[str, str] | None = None) -> None:
        """Create the form for a new lead."""
        super().__init__(session, "lead", None, initial=initial, title="New lead")

    @on(FieldForm.Submitted)
    def _check_duplicates(self, event: FieldForm.Submitted) -> None:
        # Handled here first: the generic form's save waits for the duplicate check.
        event.prevent_default()
        event.stop()
        if self._saving:
            return
        self._saving = True
        values = dict(event.values)
        run_service(self, leads.find_duplicates, self.session, values,
                    done=lambda found: self._checked(event, values, found),
                    failed=self._refused, group="lead.duplicates")

    def _checked(self, event: FieldForm.Submitted, values: dict[str, str],
                 found: list[leads.Duplicate]) -> None:
        self._saving = False
        if not found:
            self._save(event)
            return

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            what, lead_id = choice
            if what == "create":
                self._save(event)
            elif what == "open" and lead_id is not None:
                self.dismiss(lead_id)
            elif what == "merge" and lead_id is not None:
                raw = {k: v for k, v in values.items() if v.strip() and not k.startswith("custom.")}
                self._saving = True
                run_service(self, leads.merge_values, self.session, lead_id, raw,
                            done=lambda _: self.dismiss(lead_id), failed=self._refused,
                            group="lead.merge")

        self.app.push_screen(DuplicateChoiceModal(found), chosen)
