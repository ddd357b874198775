"""Email from a lead: the reply dialog (`r` on the lead detail) and the forward dialog (`f`).

Like the record form, each dialog calls the service itself (on a thread) and closes only
when the mail is queued in the outbox (the mail worker sends it), so a refused mail keeps
what was typed; the error shows in the dialog. Both dismiss with the service's `SentResult`, or None when cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select, TextArea

from crm_tui.errors import error_text
from crm_tui.i18n import _
from crm_tui.services import mailing
from crm_tui.services.context import Session
from screens import keymap
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.service_calls import run_service


@dataclass(frozen=True)
class MailRequest:
    """What a dialog collected: a reply (subject, body, template, files) or a forward."""

    kind: str
    """``reply`` or ``forward``."""
    lead_id: int
    subject: str = ""
    body: str = ""
    template: str | None = None
    attachments: tuple[str, ...] = ()
    """Local file paths to attach."""
    to: str = ""
    """Forward only: the recipient."""
    note: str = ""
    """Forward only: a few words above the lead's data."""


def split_paths(text: str) -> tuple[str, ...]:
    """File paths typed in one line, separated by ``;``."""
    return tuple(part.strip() for part in text.split(";") if part.strip())


def send_request(session: Session, request: MailRequest) -> mailing.SentResult:
    """Send what a dialog collected, through the mailing service (runs on a thread)."""
    if request.kind == "forward":
        return mailing.forward(session, request.lead_id, request.to, note=request.note)
    files = mailing.files_from_paths(request.attachments)
    return mailing.reply(session, request.lead_id, subject=request.subject or None,
                         body=request.body, template=request.template, attachments=files)


class MailDialog(Dialog["mailing.SentResult | None"]):
    """What both dialogs share: loading, sending on a thread, the error line, the keys."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "send", "Send", id=keymap.SAVE_ID, tooltip="Send the mail now"),
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close without sending"),
    ]
    """ctrl+s sends; escape closes without sending."""

    DEFAULT_CSS = """
    MailDialog {
        align: center middle;
        & > #dialog {
            width: 78;
            max-width: 100%;
            height: auto;
            max-height: 100%;
            border: thick $primary 60%;
            background: $surface;
            padding: 0 1;
        }
        & #mail-title {
            text-style: bold;
            width: 100%;
            background: $panel;
            margin-bottom: 1;
        }
        /* One line per field, its label beside it (the label column is as wide as the
           longest label in the user's language: see `_label_width`). */
        & .row {
            height: auto;
            margin-bottom: 1;
        }
        & .row > .field-label {
            height: 1;
            padding: 0 1 0 0;
        }
        & .row > Input, & .row > Select {
            width: 1fr;
        }
        & .row > .fixed {
            color: $text-muted;
            width: 1fr;
            height: auto;
            max-height: 2;
        }
        & TextArea {
            height: 8;
            margin-bottom: 1;
        }
        & #mail-error {
            color: $error;
            width: 100%;
        }
    }
    """

    def __init__(self, session: Session, lead_id: int) -> None:
        """Create the dialog for lead ``lead_id``, acting as ``session``'s user."""
        super().__init__()
        self.session = session
        self.lead_id = lead_id
        self._sending = False

    def on_mount(self) -> None:
        """Size the label column to the longest label, so no label wraps or is cut in any
        language (Textual runs this beside each dialog's own mount handler)."""
        labels = list(self.query(".field-label").results(Label))
        width = max((cell_len(str(label.content)) for label in labels), default=0) + 1
        for label in labels:
            label.styles.width = max(width, 8)

    def show_error(self, text: str) -> None:
        """Show one line of trouble in the dialog."""
        self.query_one("#mail-error", Label).update(text)

    def request(self) -> MailRequest:
        """The parameters as typed (each dialog builds its own)."""
        raise NotImplementedError

    def action_send(self) -> None:
        """Queue the mail on a thread; close when it is in the outbox."""
        if self._sending:
            return
        self._sending = True
        self.show_error(_("Queuing…"))
        run_service(self, send_request, self.session, self.request(), done=self._sent,
                    failed=self._refused, group="mail.send")

    def _sent(self, result: mailing.SentResult) -> None:
        self._sending = False
        self.dismiss(result)

    def _refused(self, error: BaseException) -> None:
        self._sending = False
        self.show_error(error_text(error))

    def _cannot_open(self, error: BaseException) -> None:
        self.notify(error_text(error), severity="error", timeout=8)
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without sending."""
        self.dismiss(None)


class MailReplyModal(MailDialog):
    """Write to the lead: To and Cc are fixed, a template fills subject and body."""

    def compose(self) -> ComposeResult:
        """Recipients, template, subject, body, files, and the error line."""
        with Vertical(id="dialog"):
            yield Label(_("Email lead #{lead_id}").format(lead_id=self.lead_id), id="mail-title", markup=False)
            with Horizontal(classes="row"):
                yield Label(_("To"), classes="field-label")
                yield Label("…", id="mail-to", classes="fixed", markup=False)
            with Horizontal(classes="row"):
                yield Label(_("Template"), classes="field-label")
                yield Select([], prompt=_("(none)"), id="mail-template", compact=True)
            with Horizontal(classes="row"):
                yield Label(_("Subject"), classes="field-label")
                yield Input(id="mail-subject", compact=True)
            yield TextArea(id="mail-body", placeholder=_("Message"))
            with Horizontal(classes="row"):
                yield Label(_("Attach"), classes="field-label")
                yield Input(id="mail-attach", compact=True,
                            placeholder=_("files to attach, separated by ;"))
            yield Label("", id="mail-error", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Ask the service who receives it and which templates fit."""
        run_service(self, mailing.compose_defaults, self.session, self.lead_id,
                    done=self._fill, failed=self._cannot_open, group="mail.defaults")

    def _fill(self, defaults: dict[str, Any]) -> None:
        to = defaults["to"] or _("(the lead has no email address)")
        if defaults["cc"]:
            to += _("   Cc: {cc}").format(cc=defaults['cc'])
        self.query_one("#mail-to", Label).update(to)
        self.query_one("#mail-subject", Input).value = defaults["subject"]
        options = [(f"{t['name']} ({t['language']})", t["name"]) for t in defaults["templates"]
                   if t["in_lead_language"]]
        self.query_one("#mail-template", Select).set_options(options)
        self.query_one("#mail-body", TextArea).focus()

    @on(Select.Changed, "#mail-template")
    def _apply_template(self, event: Select.Changed) -> None:
        if not isinstance(event.value, str):
            return
        run_service(self, mailing.render_template, self.session, self.lead_id, event.value,
                    done=self._rendered, failed=self._refused, group="mail.template",
                    exclusive=True)

    def _rendered(self, rendered: tuple[str, str]) -> None:
        subject, body = rendered
        self.query_one("#mail-subject", Input).value = subject
        self.query_one("#mail-body", TextArea).text = body
        self.show_error("")

    def request(self) -> MailRequest:
        """The reply as typed; the template only filled the fields, so it is not resent."""
        return MailRequest(
            "reply",
            self.lead_id,
            subject=self.query_one("#mail-subject", Input).value.strip(),
            body=self.query_one("#mail-body", TextArea).text,
            attachments=split_paths(self.query_one("#mail-attach", Input).value),
        )


class ForwardLeadModal(MailDialog):
    """Send the lead's data to someone, with an optional note."""

    def compose(self) -> ComposeResult:
        """Recipient, note and the error line."""
        with Vertical(id="dialog"):
            yield Label(_("Forward lead #{lead_id}").format(lead_id=self.lead_id), id="mail-title", markup=False)
            with Horizontal(classes="row"):
                yield Label(_("To"), classes="field-label")
                yield Input(id="mail-to", compact=True, placeholder="name@example.org")
            yield TextArea(id="mail-note", placeholder=_("A note above the lead's data"))
            yield Label("", id="mail-error", markup=False)
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Check the user may mail for this lead before anything is typed."""
        self.query_one("#mail-to", Input).focus()
        run_service(self, mailing.compose_defaults, self.session, self.lead_id,
                    failed=self._cannot_open, group="mail.defaults")

    @on(Input.Submitted, "#mail-to")
    def _send_on_enter(self) -> None:
        self.action_send()

    def request(self) -> MailRequest:
        """The forward as typed."""
        return MailRequest(
            "forward",
            self.lead_id,
            to=self.query_one("#mail-to", Input).value.strip(),
            note=self.query_one("#mail-note", TextArea).text,
        )
