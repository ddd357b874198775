"""What every form dialog shares: loading its fields, showing problems, and asking before
unsaved edits are thrown away."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label

from crm_tui.errors import Conflict, CrmError, ValidationFailed, error_text
from crm_tui.i18n import _
from crm_tui.services import forms
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.form_specs import specs_from
from widgets.field_form import FieldForm


class FormModal(Dialog[Any]):
    """A dialog holding one FieldForm (mounted once its fields arrive).

    `esc` closes it, asking first when the form has unsaved edits; `has_unsaved_edits`
    tells the app the same before `ctrl+q` quits.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close without saving"),
    ]

    def __init__(self, title: str, *, note: str = "", session: Any = None,
                 classes: str | None = None) -> None:
        """`session`: whose access the form's pickers search with (None: no pickers)."""
        super().__init__(classes=classes)
        self.title_text = title
        self.note = note
        self.session = session
        self.read_only = False
        self._initial_values: dict[str, str] | None = None

    def compose(self) -> ComposeResult:
        """The title, the note, and a placeholder until the fields arrive."""
        with Vertical(id="dialog"):
            yield Label(self.title_text, id="form-title", markup=False)
            if self.note:
                yield Label(self.note, id="form-note", markup=False)
            yield Label(_("Loading…"), id="form-loading")
        yield KeyFooter(show_command_palette=False)

    def build_form(self, descriptions: list[dict[str, Any]]) -> FieldForm:
        """The form for the services' field descriptions."""
        return FieldForm(specs_from(descriptions, self.session), id="form",
                         disabled=self.read_only, prompt=_("Select"),
                         type_hint=_("type to search"), nothing_found=_("(no match)"))

    @property
    def form(self) -> FieldForm | None:
        """The form, once built."""
        found = list(self.query(FieldForm).results(FieldForm))
        return found[0] if found else None

    def remember_values(self) -> None:
        """Take the form's values as the ones it opened with (nothing unsaved yet)."""
        form = self.form
        self._initial_values = form.values() if form is not None else None

    def has_unsaved_edits(self) -> bool:
        """Whether the form holds values the user changed and has not saved."""
        form = self.form
        if form is None or self.read_only or self._initial_values is None:
            return False
        return form.values() != self._initial_values

    def _cannot_open(self, error: BaseException) -> None:
        self.notify(error_text(error), severity="error", timeout=8)
        self.dismiss(None)

    def show_problems(self, error: BaseException) -> None:
        """The service's refusal beside the fields it names (or on top of the form)."""
        form = self.form
        if form is None:
            return
        if isinstance(error, forms.FormRejected):
            form.show_errors(error.errors)
        elif isinstance(error, ValidationFailed):
            form.show_errors(forms.field_errors(error, [s.key for s in form.specs]))
        elif isinstance(error, Conflict):
            form.show_errors({"": _("{error} (ctrl+r reloads)").format(error=error)})
        elif isinstance(error, CrmError):
            form.show_errors({"": str(error)})
        else:
            form.show_errors({"": error_text(error)})

    @on(FieldForm.Cancelled)
    def _form_cancelled(self, event: FieldForm.Cancelled) -> None:
        event.stop()
        self.action_cancel()

    def action_cancel(self) -> None:
        """Close without saving; unsaved edits are only dropped once the user says so."""
        if not self.has_unsaved_edits():
            self.dismiss(None)
            return
        from screens.modals.confirm import ConfirmModal

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(ConfirmModal(_("Discard your unsaved changes?"),
                                          _("y discards them, n returns to the form")),
                             answered)


def unsaved_forms(screens: list[Any]) -> bool:
    """Whether any of the screens is a form with unsaved edits."""
    return any(isinstance(screen, FormModal) and screen.has_unsaved_edits()
               for screen in screens)
