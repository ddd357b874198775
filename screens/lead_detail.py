"""A lead's detail view: every field, its tags, and its activity timeline, newest first."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.errors import StyleSyntaxError
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from crm_tui import formatting
from crm_tui.errors import NotFound
from crm_tui.i18n import N_, _
from crm_tui.services import attachments, leads, outbox, stored_lines
from crm_tui.services.changes import Change
from crm_tui.services.context import Session
from crm_tui.services.rows import cell_text
from crm_tui.services.settings import status_label
from screens import keymap
from screens.crm_screen import CrmScreen
from screens.detail import show_history
from screens.refusals import refusal_text

#: Fields shown elsewhere on the view (title line, description block) or not at all.
_NOT_IN_GRID = {"full_name", "description", "status", "tags"}


@lru_cache(maxsize=256)
def safe_colour(colour: str) -> str | None:
    """`colour` when Rich understands it as a colour, else None (tags are free text)."""
    try:
        style = Style.parse(colour)
    except StyleSyntaxError:
        return None
    return colour if style.color is not None else None


def tag_chip(name: str, colour: str) -> Text:
    """A tag as a coloured chip; unknown colours show reversed."""
    known = safe_colour(colour)
    if known is None:
        return Text(f" {name} ", style="reverse")
    red, green, blue = Style.parse(known).color.get_truecolor()
    text_colour = "black" if (red * 299 + green * 587 + blue * 114) / 1000 > 128 else "white"
    return Text(f" {name} ", style=f"{text_colour} on {known}")


#: How the timeline names its entries' kinds and an outgoing mail's state (stored in English).
ACTIVITY_KINDS = {"note": N_("note"), "email_in": N_("email in"), "email_out": N_("email out"),
                  "status": N_("status"), "change": N_("change"), "created": N_("created"),
                  "lead_activity": N_("lead activity")}
MAIL_STATES = {"queued": N_("queued"), "sent": N_("sent"), "failed": N_("failed"),
               "cancelled": N_("cancelled"), "waiting": N_("waiting")}


def size_text(size: int) -> str:
    """A file size in bytes, KB or MB, in the user's language (`formatting.size_text`)."""
    return formatting.size_text(size)


def render_header(detail: dict) -> Text:
    """Name, status and tags on one line."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(detail["full_name"], style="bold")
    text.append(f"  · {status_label(detail['status_name'])}", style="bold")
    for name, colour in detail["tag_chips"]:
        text.append(" ")
        text.append_text(tag_chip(name, colour))
    if not detail["modifiable"]:
        text.append(_("  (read-only)"), style="dim")
    return text


def render_fields(fields: list[dict[str, str]]) -> RenderableType:
    """Every field as label/value pairs, two pairs to a line."""
    shown = [f for f in fields if f["key"] not in _NOT_IN_GRID and f["section"] == ""]
    custom = [f for f in fields if f["section"] != ""]
    grid = Table.grid(padding=(0, 1), expand=True)
    # Labels as wide as the longest (other languages' are longer); the values take the rest.
    grid.add_column(style="dim", min_width=15, no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    grid.add_column(style="dim", min_width=15, no_wrap=True)
    grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
    pairs = [(_(f["label"]), cell_text(f["text"], f.get("kind", "text"))) for f in shown + custom]
    for start in range(0, len(pairs), 2):
        left = pairs[start]
        right = pairs[start + 1] if start + 1 < len(pairs) else ("", "")
        grid.add_row(left[0], left[1], right[0], right[1])
    return grid


def render_description(detail: dict) -> Text:
    """The description block (or a dim placeholder)."""
    description = (detail.get("description") or "").strip()
    if not description:
        return Text(_("No description"), style="dim")
    return Text(description)


def render_timeline(entries: list[dict[str, Any]], files: list[dict[str, Any]]) -> Text:
    """The activity entries, newest first, each with its attachments."""
    text = Text()
    text.append(_("Activity"), style="bold underline")
    if files:
        text.append("\n" + _("Files: "), style="bold")
        text.append(", ".join(f"{f['name']} ({size_text(f['size'])})" for f in files))
    if not entries:
        text.append("\n" + _("No activity yet"), style="dim")
    for entry in entries:
        text.append("\n")
        text.append(cell_text(entry["created"], "datetime"), style="dim")
        text.append(f"  {entry['author']}", style="bold")
        text.append(f"  {_(ACTIVITY_KINDS.get(entry['kind'], entry['kind'].replace('_', ' ')))}",
                    style="italic")
        mail = entry.get("mail")
        if mail:
            # Outgoing mail: queued, sent or failed, and what the server last answered.
            style = {"sent": "green", "failed": "bold red"}.get(mail["status"], "yellow")
            text.append(f"  [{_(MAIL_STATES.get(mail['status'], mail['status']))}]", style=style)
            if mail["answer"]:
                text.append(f" {outbox.answer_text(mail['answer'])}", style="dim")
        body = entry["text"] or ""
        if entry["kind"] != "note":  # a note is the user's own words
            body = stored_lines.readable(body)
        for line in body.splitlines() or [""]:
            text.append(f"\n  {line}")
        for attachment in entry["attachments"]:
            text.append(f"\n  + {attachment['name']} ({size_text(attachment['size'])})",
                        style="cyan")
    return text


class LeadDetailScreen(CrmScreen):
    """One lead: fields, tags, timeline; e edits, a adds a note, t attaches a file, w saves
    a copy of one, > and < move it to the next or previous status."""

    SCREEN_TITLE = N_("5 Leads")
    AUTO_FOCUS = "#lead-body"
    FOOTER_PALETTE = False
    """Eight keys fill 80 columns: ctrl+p is listed by `?` instead of the footer."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "back", "Back", id=keymap.BACK_ID, tooltip="Back to where you came from"),
        Binding("e", "edit_lead", "Edit", id=keymap.EDIT_ID, tooltip="Edit the lead's fields"),
        Binding("H", "show_history", "History", id=keymap.HISTORY_ID, show=False,
                tooltip="Who changed what, and when"),
        Binding("M", "merge_lead", "Merge", id=keymap.MERGE_ID, show=False,
                tooltip="Merge a duplicate lead into this one"),
        Binding("C", "convert_lead", "Convert", id="lead.convert", show=False,
                tooltip="Won: make the lead a customer company and contact"),
        Binding("a", "add_note", "Note", id=keymap.ADD_NOTE_ID, tooltip="Add a note to the timeline"),
        Binding("t", "attach_file", "Attach", id=keymap.ATTACH_ID, tooltip="Attach a file"),
        Binding("w", "save_file", "Save file", id=keymap.SAVE_FILE_ID,
                tooltip="Save a copy of one of the lead's files on this machine"),
        Binding("greater_than_sign", "step_status(1)", "Next status", id="lead.next_status",
                tooltip="Move the lead to the next status"),
        Binding("less_than_sign", "step_status(-1)", "Prev. status", show=False,
                id="lead.previous_status", tooltip="Move the lead to the previous status"),
        Binding("r", "email_reply", "Reply", id="lead.reply",
                tooltip="Email the lead, copied to the reference mailbox"),
        Binding("f", "forward_lead", "Forward", id="lead.forward",
                tooltip="Send the lead's data to someone by email"),
    ]
    """The lead's keys; the services decide, the footer greys what the user may not do."""

    DEFAULT_CSS = """
    LeadDetailScreen {
        & #lead-body {
            height: 1fr;
            padding: 0 1;
            scrollbar-size-vertical: 1;
        }
        & #lead-header {
            margin-bottom: 1;
        }
        & #lead-description {
            margin: 1 0;
            color: $text;
        }
    }
    """

    def __init__(self, session: Session, lead_id: int, *, name: str | None = None,
                 id: str | None = None, classes: str | None = None) -> None:
        """Create the view of lead `lead_id`."""
        super().__init__(session, name=name, id=id, classes=classes)
        self.lead_id = lead_id
        self.detail: dict | None = None

    def compose_body(self) -> ComposeResult:
        """Header, fields, description and timeline in one scrolling column."""
        with VerticalScroll(id="lead-body"):
            yield Static(_("Loading…"), id="lead-header")
            yield Static("", id="lead-fields")
            yield Static("", id="lead-description")
            yield Static("", id="lead-timeline")

    def screen_title(self) -> str:
        """The list's title, then the lead."""
        if self.detail is None:
            return f"{_(self.SCREEN_TITLE)} › #{self.lead_id}"
        return f"{_(self.SCREEN_TITLE)} › #{self.lead_id} {self.detail['full_name']}"

    def on_mount(self) -> None:
        """Read the lead."""
        self.load()

    def load(self) -> None:
        """Read the lead again (after a change) and redraw."""
        self.call_service(self._read, done=self._show, group="lead.detail", exclusive=True)

    def live_refresh(self, change: Change) -> None:
        """Another process committed a change: redraw if the lead's view changed (the
        texts are updated in place, so the scroll position stays; screens.live)."""
        self.call_service(self._read, done=self._show_if_changed, failed=self._live_failed,
                          group="lead.detail", exclusive=True)

    def _show_if_changed(self, detail: dict) -> None:
        if detail != self.detail:
            self._show(detail)

    def _live_failed(self, error: BaseException) -> None:
        if isinstance(error, NotFound):
            self.notify(_("This lead was deleted or is no longer visible to you"),
                        severity="warning", timeout=8)
            if self.is_current:
                self.dismiss()
            return
        self.show_error(error)

    def _read(self) -> dict:
        detail = leads.detail(self.session, self.lead_id)
        # The timeline shows the latest entries only; `w` must know of every file.
        detail["file_count"] = len(attachments.files_of(self.session, "lead", self.lead_id))
        return detail

    def _show(self, detail: dict) -> None:
        fields = detail["fields"]
        self.detail = detail
        self.set_title(self.screen_title())
        self.query_one("#lead-header", Static).update(render_header(detail))
        self.query_one("#lead-fields", Static).update(render_fields(fields))
        self.query_one("#lead-description", Static).update(render_description(detail))
        self.query_one("#lead-timeline", Static).update(
            Group(render_timeline(detail["activity"], detail["files"])))
        self.refresh_bindings()

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey the changing keys until the lead is read, and on a read-only lead;
        grey `w` while the lead has no files."""
        if action == "save_file":
            return True if self.detail is not None and self.detail.get("file_count") else None
        if action in ("edit_lead", "add_note", "attach_file", "step_status", "email_reply",
                      "forward_lead", "merge_lead", "convert_lead"):
            if self.detail is None or not self.detail["modifiable"]:
                return None
            if action == "step_status":
                step = parameters[0] if parameters else 1
                target = self.detail["status"] + (step if isinstance(step, int) else 1)
                return True if 0 <= target <= 8 else None
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """The changing keys on a lead the user may not change."""
        if self.detail is None or self.detail["modifiable"]:
            return None
        if action in ("edit_lead", "add_note", "attach_file", "step_status", "email_reply",
                      "forward_lead", "merge_lead", "convert_lead"):
            return refusal_text("edit", self.detail["full_name"] or f"#{self.lead_id}")
        return None

    def action_back(self) -> None:
        """Close the view."""
        self.dismiss()

    def action_show_history(self) -> None:
        """Show who changed this lead, what and when."""
        show_history(self, "lead", self.lead_id)

    def action_merge_lead(self) -> None:
        """Pick a duplicate lead and merge it into this one (asks first)."""
        from screens.modals.merge_picker import pick_and_merge

        name = self.detail["full_name"] if self.detail else ""
        pick_and_merge(self, "lead", self.lead_id, _("lead #{lead_id} {name!r}").format(lead_id=self.lead_id, name=name),
                       lambda result: self._changed(result.summary()))

    def action_convert_lead(self) -> None:
        """Ask, then turn the lead into a customer company and contact (closed successfully)."""
        from crm_tui.services import conversion
        from screens.modals.confirm import ConfirmModal

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(conversion.convert, self.session, self.lead_id,
                                  done=lambda done: self._changed(done.summary()))

        self.app.push_screen(ConfirmModal(
            _("Convert lead #{lead_id} into a customer?").format(lead_id=self.lead_id),
            _("Its company and contact are found or created, and the lead is closed "
            "successfully.")), confirmed)

    def action_edit_lead(self) -> None:
        """Edit the lead in the record form."""
        from screens.modals.record_form import RecordFormModal

        def saved(record_id: int | None) -> None:
            if record_id is not None:
                self.notify(_("Lead saved"), timeout=3)
                self.load()

        self.app.push_screen(RecordFormModal(self.session, "lead", self.lead_id), saved)

    def action_add_note(self) -> None:
        """Write a note for the timeline."""
        from screens.modals.lead_note import LeadNoteModal

        def written(text: str | None) -> None:
            if text is not None:
                self.call_service(leads.add_note, self.session, self.lead_id, text,
                                  done=lambda _: self._changed(_("Note added")))

        self.app.push_screen(LeadNoteModal(_("Note on lead #{lead_id}").format(lead_id=self.lead_id)), written)

    def action_attach_file(self) -> None:
        """Attach a file from this machine (it shows in the timeline)."""
        from screens.modals.lead_note import AttachPathModal

        def chosen(path: str | None) -> None:
            if path:
                self.call_service(leads.attach_local_file, self.session, self.lead_id, path,
                                  done=lambda _: self._changed(_("File attached")))

        self.app.push_screen(AttachPathModal(_("Attach a file to lead #{lead_id}").format(lead_id=self.lead_id)), chosen)

    def action_save_file(self) -> None:
        """Save a copy of one of the lead's files (its timeline's included)."""
        from screens.modals.save_attachment import SaveAttachmentModal

        self.app.push_screen(SaveAttachmentModal(self.session, "lead", self.lead_id,
                                                 _("Save a file of lead #{lead_id}").format(lead_id=self.lead_id)))

    def action_step_status(self, step: int) -> None:
        """Move the lead to the next (1) or previous (-1) status."""
        if self.detail is None:
            return
        target = self.detail["status"] + step
        if 0 <= target <= 8:
            self.call_service(leads.set_status, self.session, self.lead_id, target,
                              done=lambda _: self._changed(_("Status changed")))

    def action_email_reply(self) -> None:
        """Write an email to the lead (logged in its timeline)."""
        from screens.modals.mail_reply import MailReplyModal

        self.app.push_screen(MailReplyModal(self.session, self.lead_id), self._mailed)

    def action_forward_lead(self) -> None:
        """Send the lead's data to someone (logged in its timeline)."""
        from screens.modals.mail_reply import ForwardLeadModal

        self.app.push_screen(ForwardLeadModal(self.session, self.lead_id), self._mailed)

    def _mailed(self, result: Any) -> None:
        if result is not None:
            self._changed(_("Mail queued for {recipients}").format(
                recipients=", ".join(result.recipients)))

    def _changed(self, message: str) -> None:
        self.notify(message, timeout=3)
        self.load()
