"""Creating a company, contact or lead that resembles existing ones: the new-record form
checks first (the kind's duplicate rule), and a dialog offers to open or merge an existing
record instead, or to create it anyway."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from crm_tui.i18n import _, kind_name
from crm_tui.services import duplicates, merging
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.modals.record_form import RecordFormModal
from screens.service_calls import run_service
from widgets.field_form import FieldForm

Choice = tuple[str, int | None]
"""("open", id), ("merge", id) or ("create", None)."""


class DuplicateChoiceModal(Dialog[Choice | None]):
    """Lists the records a new one resembles (only ones the user may see: the service finds
    no others); merging is offered into those he may change. Dismisses with the choice, or
    None (escape: back to the form)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back to the form", id=keymap.BACK_ID,
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

    def __init__(self, found: list[duplicates.Duplicate], kind: str = "lead") -> None:
        """Create the dialog for the records found."""
        super().__init__()
        self.duplicates = list(found)
        self.kind = kind

    def compose(self) -> ComposeResult:
        """A warning line and the choices."""
        options = []
        for duplicate in self.duplicates:
            options.append(Option(_("Open {duplicate}").format(duplicate=duplicate.describe()), id=f"open:{duplicate.id}"))
        for duplicate in self.duplicates:
            # Only a record the user may change can take the new one's values.
            if duplicate.modifiable:
                options.append(Option(_("Merge into {kind} #{id} {title!r}").format(kind=kind_name(self.kind), id=duplicate.id, title=duplicate.title), id=f"merge:{duplicate.id}"))
        options.append(Option(_("Create a new {kind} anyway").format(kind=kind_name(self.kind)), id="create:"))
        with Vertical(id="dialog"):
            yield Label(_("This {kind} looks like one that exists already:").format(kind=kind_name(self.kind)),
                        id="duplicates-title")
            yield OptionList(*options, id="duplicate-options", compact=True, markup=False)
        yield KeyFooter(show_command_palette=False)

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


class NewRecordModal(RecordFormModal):
    """The new-record form of a kind with a duplicate rule: before saving it looks for
    duplicates and asks what to do when it finds any. Dismisses with the id of the record
    to show (new, opened or merged into), or None."""

    def __init__(self, session: Session, kind: str, *,
                 initial: dict[str, str] | None = None, title: str | None = None) -> None:
        """Create the form for a new record of `kind`."""
        super().__init__(session, kind, None, initial=initial,
                         title=title or _("New {kind}").format(kind=kind_name(kind)))
        #: What the user chose when duplicates were found: "open", "merge" or "create".
        self.chosen = "create"

    @on(FieldForm.Submitted)
    def _check_duplicates(self, event: FieldForm.Submitted) -> None:
        # Handled here first: the generic form's save waits for the duplicate check.
        event.prevent_default()
        event.stop()
        if self._saving:
            return
        self._saving = True
        values = dict(event.values)
        run_service(self, duplicates.find, self.session, self.kind, values,
                    done=lambda found: self._checked(event, values, found),
                    failed=self._refused, group="record.duplicates")

    def _checked(self, event: FieldForm.Submitted, values: dict[str, str],
                 found: list[duplicates.Duplicate]) -> None:
        self._saving = False
        if not found:
            self._save(event)
            return

        def chosen(choice: Choice | None) -> None:
            if choice is None:
                return
            what, record_id = choice
            self.chosen = what
            if what == "create":
                self._save(event)
            elif what == "open" and record_id is not None:
                self.dismiss(record_id)
            elif what == "merge" and record_id is not None:
                raw = {k: v for k, v in values.items() if v.strip() and not k.startswith("custom.")}
                self._saving = True
                run_service(self, merging.merge_values, self.session, self.kind, record_id,
                            raw, done=lambda _: self.dismiss(record_id), failed=self._refused,
                            group="record.merge")

        self.app.push_screen(DuplicateChoiceModal(found, self.kind), chosen)


class NewLeadModal(NewRecordModal):
    """The new-lead form (same email, or same company and name, is a duplicate)."""

    def __init__(self, session: Session, *, initial: dict[str, str] | None = None) -> None:
        """Create the form for a new lead."""
        super().__init__(session, "lead", initial=initial, title=_("New lead"))
