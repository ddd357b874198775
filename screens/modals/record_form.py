"""The create / edit form of any record kind: fields from the services, errors beside them."""

from __future__ import annotations

from functools import partial
from typing import ClassVar

from textual import on
from textual.binding import Binding, BindingType
from textual.widgets import Label, Select

from crm_tui.i18n import _, kind_name
from crm_tui.services import forms
from crm_tui.services.context import Session
from screens.modals.form_modal import FormModal
from screens.service_calls import run_service
from widgets.field_form import FieldForm
from widgets.ref_picker import RefPicker


class RecordFormModal(FormModal):
    """A form for one record; dismisses with the saved record's id, or None if cancelled.

    The fields come from `forms.describe`, the values go to `forms.submit`, and the
    service's problems are shown under the fields they name.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "reload", "Reload", id="form.reload",
                tooltip="Read the record again (after someone else changed it)"),
    ]
    """Escape closes, asking first about unsaved edits (the form's own keys add ctrl+s Save)."""

    DEFAULT_CSS = """
    RecordFormModal {
        align: center middle;
        & > #dialog {
            /* The whole width of an 80-column terminal: no sliver of the list behind (a
               header cut at the dialog's edge) shows beside it. */
            width: 80;
            max-width: 100%;
            height: 90%;
            border: thick $primary 60%;
            background: $surface;
            & > #form-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & > #form-loading {
                color: $text-muted;
                padding: 1 2;
            }
        }
    }
    """

    def __init__(
        self,
        session: Session,
        kind: str,
        record_id: int | None,
        *,
        initial: dict[str, str] | None = None,
        title: str | None = None,
        read_only: bool = False,
    ) -> None:
        """Create the form.

        Args:
            session: The acting user.
            kind: The record kind.
            record_id: The record to edit, or None for a new one.
            initial: Values to prefill (new records).
            title: Dialog title; default "New KIND" / "Edit KIND #ID".
            read_only: Show the record without letting it be changed (the user may view
                but not modify it).
        """
        super().__init__("", session=session)
        self.kind = kind
        self.record_id = record_id
        self.initial = dict(initial or {})
        self.title_text = title or (
            _("New {kind}").format(kind=kind_name(kind)) if record_id is None
            else _("Edit {kind} #{id}").format(kind=kind_name(kind), id=record_id)
        )
        self.read_only = read_only
        if read_only:
            self.title_text = title or _("View {kind} #{id}").format(kind=kind_name(kind),
                                                                     id=record_id)
            self.title_text += _("  (read-only)")
        self._saving = False
        # Fields whose choice changes the form (a contract's type brings its own fields),
        # with the value the form was last built for.
        self._reshaping: dict[str, str] = {}

    def on_mount(self) -> None:
        """Ask the services for the fields."""
        self._load()

    def _load(self) -> None:
        # What others change from this moment on is what a save must not undo.
        self._opened_at = self.session.clock.now()
        run_service(self, forms.describe, self.session, self.kind, self.record_id,
                    self.initial, done=self._show_form, failed=self._cannot_open,
                    group="form.describe")

    async def action_reload(self) -> None:
        """Read the record again, dropping this form's edits (offered after a conflict)."""
        if self.record_id is None or self.read_only or self._saving:
            return
        form = self.form
        if form is not None:
            await form.remove()
        await self.query_one("#dialog").mount(Label(_("Loading…"), id="form-loading"))
        self._load()

    async def _show_form(self, descriptions: list[dict]) -> None:
        await self.query_one("#form-loading").remove()
        form = await self._mount_form(descriptions)
        self.remember_values()
        if not self.read_only and form.specs:
            form.focus_field(form.specs[0].key)

    async def _mount_form(self, descriptions: list[dict]) -> FieldForm:
        form = self.build_form(descriptions)
        self._reshaping = {d["key"]: str(d.get("value") or "") for d in descriptions
                           if d.get("reshapes")}
        await self.query_one("#dialog").mount(form)
        return form

    @on(Select.Changed)
    @on(RefPicker.Changed)
    def _choice_changed(self, event: Select.Changed | RefPicker.Changed) -> None:
        """A new type: ask the services for the form again, keeping what was typed."""
        form = self.form
        if form is None or self.read_only:
            return
        values = form.values()
        for key, built_for in self._reshaping.items():
            if form.input_for(key) is event.control and values.get(key, "") != built_for:
                run_service(self, forms.describe, self.session, self.kind, self.record_id,
                            {**self.initial, **values}, done=self._reshape,
                            failed=self._refused, group="form.describe", exclusive=True)
                return

    async def _reshape(self, descriptions: list[dict]) -> None:
        old = self.form
        if old is None:
            return
        focused = next((key for key in self._reshaping), None)
        await old.remove()
        form = await self._mount_form(descriptions)
        if focused is not None:
            form.focus_field(focused)

    @on(FieldForm.Submitted)
    def _save(self, event: FieldForm.Submitted) -> None:
        event.stop()
        if self._saving or self.read_only:
            return
        if self.record_id is not None and event.values == self._initial_values:
            # Nothing changed: nothing to write, nothing to report.
            self.dismiss(None)
            return
        self._saving = True
        submit = partial(forms.submit, initial=self._initial_values, opened=self._opened_at)
        run_service(self, submit, self.session, self.kind, self.record_id, event.values,
                    done=self._saved, failed=self._refused, group="form.submit")

    def _saved(self, record_id: int) -> None:
        self._saving = False
        self.dismiss(record_id)

    def _refused(self, error: BaseException) -> None:
        self._saving = False
        self.show_problems(error)
