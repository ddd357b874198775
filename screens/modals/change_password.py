"""The change-password dialog: current password (when one is set), the new one twice.

It only collects the values; the service checks the current password and the new one's
length on a thread. The dialog closes once the password is changed, and a refusal stays
in it as one line. Dismisses with True when changed, None when cancelled.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from crm_tui.errors import error_text
from crm_tui.i18n import _
from crm_tui.services import users
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service

#: The fields in the order enter moves through them.
FIELDS = ("current", "new", "repeat")


class ChangePasswordModal(Dialog[bool | None]):
    """Change the acting user's own password."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Change", priority=True, id=keymap.SAVE_ID,
                tooltip="Change the password"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID,
                tooltip="Close without changing it"),
    ]
    """ctrl+s (or enter in the last field) changes the password; escape closes."""

    DEFAULT_CSS = """
    ChangePasswordModal {
        align: center middle;
        & > #dialog {
            width: 60;
            max-width: 100%;
            height: auto;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #password-title {
            text-style: bold;
            width: 100%;
            background: $panel;
        }
        & .password-row {
            height: 1;
            margin-top: 1;
            & > Label {
                width: 20;
                color: $text-muted;
            }
            & > Input {
                width: 1fr;
            }
        }
        & #password-note {
            margin-top: 1;
            color: $text-muted;
            width: 100%;
        }
        & #password-note.-error {
            color: $error;
        }
    }
    """

    def __init__(self, session: Session) -> None:
        """Create the dialog for the acting user of `session`."""
        super().__init__()
        self.session = session
        self._busy = False

    def compose(self) -> ComposeResult:
        """Title, the three password fields and a note."""
        with Vertical(id="dialog"):
            yield Label(_("Change the password of {login}").format(login=self.session.login), id="password-title",
                        markup=False)
            for name, text in zip(FIELDS, (_("Current password"), _("New password"),
                                           _("Repeat the new one")), strict=True):
                with Horizontal(classes="password-row", id=f"row-{name}"):
                    yield Label(text)
                    yield Input(id=name, password=True, compact=True)
            yield Label("", id="password-note", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Ask whether a password is set (then the current one is needed)."""
        self.query_one("#row-current").display = False
        self.query_one("#new", Input).focus()
        run_service(self, users.has_password, self.session, done=self._show_current,
                    failed=self._refused, group="password.has")

    def _show_current(self, has_one: bool) -> None:
        self.query_one("#row-current").display = has_one
        if has_one:
            self.query_one("#current", Input).focus()
        self._note(_("At least {MIN_PASSWORD_LENGTH} characters. Enter moves on, ctrl+s changes it.").format(MIN_PASSWORD_LENGTH=users.MIN_PASSWORD_LENGTH))

    def _note(self, text: str, *, error: bool = False) -> None:
        note = self.query_one("#password-note", Label)
        note.update(text)
        note.set_class(error, "-error")

    @on(Input.Submitted)
    def _next(self, event: Input.Submitted) -> None:
        """Enter: on to the next field, and from the last one change the password."""
        event.stop()
        index = FIELDS.index(event.input.id or "repeat")
        if index + 1 < len(FIELDS):
            self.query_one(f"#{FIELDS[index + 1]}", Input).focus()
        else:
            self.action_save()

    def action_save(self) -> None:
        """Hand the values to the service on a thread; close once it is done."""
        if self._busy:
            return
        values = {name: self.query_one(f"#{name}", Input).value for name in FIELDS}
        if values["new"] != values["repeat"]:
            self._note(_("The two new passwords differ."), error=True)
            self.query_one("#repeat", Input).value = ""
            self.query_one("#repeat", Input).focus()
            return
        self._busy = True
        current = values["current"] if self.query_one("#row-current").display else None
        self._note(_("Changing…"))
        run_service(self, users.change_own_password, self.session, current, values["new"],
                    done=self._changed, failed=self._refused, group="password.save")

    def _changed(self, _result: object) -> None:
        self._busy = False
        self.notify(_("Password changed."), timeout=5)
        self.dismiss(True)

    def _refused(self, error: BaseException) -> None:
        self._busy = False
        self._note(error_text(error), error=True)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)
