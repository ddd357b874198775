"""A form whose fields come from one service call and whose values go to another."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on

from crm_tui.i18n import _
from screens.modals.form_modal import FormModal
from screens.service_calls import run_service
from widgets.field_form import FieldForm

Describe = Callable[[], list[dict[str, Any]]]
"""Returns the fields (the shape of `forms.describe`); runs on a thread."""
Submit = Callable[[dict[str, str]], Any]
"""Takes the form's strings and does the work; runs on a thread; its result closes the form."""
Confirm = Callable[[dict[str, str]], str | None]
"""Returns a warning to confirm before `Submit` runs, or None; runs on a thread."""


class ServiceFormModal(FormModal):
    """Collect values, let a service use them; dismisses with its result, or None.

    Problems the service raises (ValidationFailed) are shown under the fields they name;
    nothing closes until the service accepts the values or the user cancels.
    """

    DEFAULT_CSS = """
    ServiceFormModal {
        align: center middle;
        & > #dialog {
            width: 76;
            max-width: 100%;
            height: auto;
            max-height: 95%;
            border: thick $primary 60%;
            background: $surface;
            & > #form-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & > #form-note {
                color: $text-muted;
                padding: 0 1;
                width: 100%;
            }
            & > #form-loading {
                color: $text-muted;
                padding: 1 2;
            }
            & > FieldForm {
                height: auto;
                max-height: 40;
            }
        }
        &.tall > #dialog {
            height: 95%;
            & > FieldForm {
                height: 1fr;
                max-height: 100%;
            }
        }
    }
    """

    def __init__(
        self,
        title: str,
        describe: Describe | list[dict[str, Any]],
        submit: Submit,
        *,
        confirm: Confirm | None = None,
        note: str = "",
        tall: bool = False,
        session: Any = None,
    ) -> None:
        """Create the dialog.

        Args:
            title: The dialog's title.
            describe: The fields, or a service call returning them.
            submit: The service call that takes the values.
            confirm: A service call returning a warning to accept first (or None).
            note: A line of explanation under the title.
            tall: Use most of the screen (long forms).
            session: The acting user, for forms with reference pickers.
        """
        super().__init__(title, note=note, session=session, classes="tall" if tall else None)
        self.describe = describe
        self.submit = submit
        self.confirm = confirm
        self._busy = False

    async def on_mount(self) -> None:
        """Ask for the fields (on a thread when they come from a service)."""
        if isinstance(self.describe, list):
            await self._show_form(self.describe)
        else:
            run_service(self, self.describe, done=self._show_form, failed=self._cannot_open,
                        group="service_form.describe")

    async def _show_form(self, descriptions: list[dict[str, Any]]) -> None:
        await self.query_one("#form-loading").remove()
        form = self.build_form(descriptions)
        await self.query_one("#dialog").mount(form)
        self.remember_values()
        self.call_after_refresh(self._focus_first)

    def _focus_first(self) -> None:
        form = self.form
        if form is not None and form.specs:
            form.focus_field(form.specs[0].key)

    @on(FieldForm.Submitted)
    def _submitted(self, event: FieldForm.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        self._busy = True
        values = dict(event.values)
        if self.confirm is None:
            self._run(values)
            return
        run_service(self, self.confirm, values, done=lambda q: self._ask(q, values),
                    failed=self._refused, group="service_form.confirm")

    def _ask(self, question: str | None, values: dict[str, str]) -> None:
        if not question:
            self._run(values)
            return
        from screens.modals.confirm import ConfirmModal

        def answered(yes: bool | None) -> None:
            if yes:
                self._run(values)
            else:
                self._busy = False

        self.app.push_screen(ConfirmModal(question, _("y goes ahead, n returns to the form")),
                             answered)

    def _run(self, values: dict[str, str]) -> None:
        run_service(self, self.submit, values, done=self._done, failed=self._refused,
                    group="service_form.submit")

    def _done(self, result: Any) -> None:
        self._busy = False
        self.dismiss(result)

    def _refused(self, error: BaseException) -> None:
        self._busy = False
        self.show_problems(error)


def field(key: str, label: str, value: str = "", *, kind: str = "text", help: str = "",
          required: bool = False, options: Any = ()) -> dict[str, Any]:
    """One field description for a ServiceFormModal (the shape of `forms.describe`)."""
    return {"key": key, "label": label, "kind": kind, "required": required,
            "options": options, "value": value, "help": help, "section": ""}
