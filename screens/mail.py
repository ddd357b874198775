"""Screen 9: mail the CRM could not file. Unmatched messages (read, assign to a lead, make a
lead, discard) and quarantined raw copies (replay), each with the reason."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import TabbedContent, TabPane

from crm_tui import formatting
from crm_tui.i18n import N_, _
from crm_tui.services import mail_unmatched
from crm_tui.services.context import Session
from crm_tui.services.rows import Column, ListRows
from screens import keymap
from screens.crm_screen import CrmScreen
from screens.tables import translated_columns
from widgets.lazy_table import LazyTable

UNMATCHED_COLUMNS = (
    Column("arrived", N_("Arrived"), 19),
    Column("sender", N_("From"), 22),
    Column("subject", N_("Subject"), 20),
    Column("reason", N_("Why"), 60),
)
QUARANTINE_COLUMNS = (
    Column("kept", N_("Kept"), 19),
    Column("subject", N_("Subject"), 22),
    Column("size", N_("Bytes"), 11, "right"),
    Column("reason", N_("Why"), 60),
)


def _cells(row: dict[str, Any], columns: tuple[Column, ...]) -> tuple[str, ...]:
    """A row's cells: times in the local zone and sizes grouped, in the user's language."""
    out = []
    for column in columns:
        value = row.get(column.key)
        if column.key in ("arrived", "kept"):
            text = formatting.datetime_text(value) if value else ""
        elif column.key == "size":
            text = formatting.count_text(value) if isinstance(value, int) else str(value or "")
        else:
            text = str(value if value is not None else "")
        out.append(" ".join(text.split()))
    return tuple(out)


class MailScreen(CrmScreen):
    """Unmatched and quarantined mail: enter reads, A assigns, n makes a lead, d discards,
    R replays; `[`/`]` switch between the two lists."""

    SCREEN_TITLE = N_("9 Mail")
    AUTO_FOCUS = "#unmatched"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "read_message", "Read", priority=True, id=keymap.OPEN_ID,
                tooltip="Read the message under the cursor"),
        Binding("A", "assign", "Assign", id="mail.assign",
                tooltip="File the message on a lead you pick"),
        Binding("n", "new_lead", "New lead", id=keymap.NEW_ID,
                tooltip="Make a lead of the sender and file the message on it"),
        Binding("d", "discard", "Discard", id=keymap.DELETE_ID,
                tooltip="Throw the message away (asks first)"),
        Binding("R", "replay", "Replay", id="mail.replay",
                tooltip="Read the quarantined copy again with the limits as now set, and file it"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False,
                id=keymap.PREVIOUS_TAB_ID, tooltip="Unmatched / quarantined"),
        Binding("right_square_bracket", "next_tab", "Next tab", show=False,
                id=keymap.NEXT_TAB_ID, tooltip="Unmatched / quarantined"),
    ]
    """The mail keys; each has a stable id for keymaps and help."""

    DEFAULT_CSS = """
    MailScreen {
        & TabbedContent {
            height: 1fr;
        }
        & TabPane {
            padding: 0;
        }
        & LazyTable {
            height: 1fr;
            scrollbar-size-vertical: 1;
        }
    }
    """

    def __init__(self, session: Session, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        """Create the screen for the acting user's `session`."""
        super().__init__(session, name=name, id=id, classes=classes)
        self._unmatched: dict[int, dict[str, Any]] = {}
        self._kept: dict[int, dict[str, Any]] = {}
        self._rights = {"handle": False, "discard": False, "replay": False}

    def compose_body(self) -> ComposeResult:
        """Two tabs, a list each."""
        with TabbedContent(initial="unmatched-tab"):
            with TabPane(_("Unmatched"), id="unmatched-tab"):
                yield LazyTable(ListRows(translated_columns(UNMATCHED_COLUMNS), []), id="unmatched",
                                empty_text=_("No unmatched mail"))
            with TabPane(_("Quarantined"), id="quarantine-tab"):
                yield LazyTable(ListRows(translated_columns(QUARANTINE_COLUMNS), []), id="quarantine",
                                empty_text=_("No quarantined mail"))

    def on_mount(self) -> None:
        """Read the lists (on a thread)."""
        self.reload()

    def on_screen_resume(self) -> None:
        """Mail may have come in while another screen was shown."""
        super().on_screen_resume()
        self.reload()

    # -- loading ----------------------------------------------------------------------------

    def reload(self) -> None:
        """Read both lists again (what the user may not handle stays empty)."""
        self.call_service(_load, self.session, done=self._loaded, group="mail.load",
                          exclusive=True)

    def _loaded(self, loaded: dict[str, Any]) -> None:
        self._rights = loaded["rights"]
        self._unmatched = {row["id"]: row for row in loaded["unmatched"]}
        self._kept = {index: row for index, row in enumerate(loaded["kept"], start=1)}
        unmatched = self.query_one("#unmatched", LazyTable)
        unmatched.set_source(ListRows(translated_columns(UNMATCHED_COLUMNS), [
            (row_id, _cells(row, UNMATCHED_COLUMNS)) for row_id, row in self._unmatched.items()]))
        quarantine = self.query_one("#quarantine", LazyTable)
        quarantine.set_source(ListRows(translated_columns(QUARANTINE_COLUMNS), [
            (index, _cells(row, QUARANTINE_COLUMNS)) for index, row in self._kept.items()]))
        self.set_title(_("{title} · {unmatched} unmatched, {kept} quarantined").format(
            title=_(self.SCREEN_TITLE), unmatched=len(self._unmatched), kept=len(self._kept)))
        self.refresh_bindings()

    # -- where the cursor is ------------------------------------------------------------------

    def _tab(self) -> str:
        return self.query_one(TabbedContent).active

    def _current_mail(self) -> dict[str, Any] | None:
        if self._tab() != "unmatched-tab":
            return None
        row_id = self.query_one("#unmatched", LazyTable).cursor_row_id
        return self._unmatched.get(row_id) if row_id is not None else None

    def _current_kept(self) -> dict[str, Any] | None:
        if self._tab() != "quarantine-tab":
            return None
        row_id = self.query_one("#quarantine", LazyTable).cursor_row_id
        return self._kept.get(row_id) if row_id is not None else None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Hide what the user may never do; grey what does not apply to the cursor row, and
        discard for one who handles mail but may not discard it (`refusal` says why)."""
        if action in ("assign", "new_lead", "discard"):
            if not self._rights.get("handle"):
                return False
            if action == "discard" and not self._rights.get("discard"):
                return None
            return True if self._current_mail() is not None else None
        if action == "replay":
            if not self._rights.get("replay"):
                return False
            return True if self._current_kept() is not None else None
        if action == "read_message":
            return isinstance(self.focused, LazyTable) and (
                self._current_mail() is not None or self._current_kept() is not None)
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """d on a message the user sees and may not discard (that needs LM)."""
        mail = self._current_mail()
        if action != "discard" or mail is None or self._rights.get("discard"):
            return None
        # The wording of refusal_text ("you may not delete X"), with the verb of the key.
        return _("you may not discard mail {id}").format(id=mail["id"])

    @on(LazyTable.CursorMoved)
    def _cursor_moved(self, _event: LazyTable.CursorMoved) -> None:
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self, _event: TabbedContent.TabActivated) -> None:
        self.refresh_bindings()

    def action_next_tab(self) -> None:
        """Show the other list."""
        self._switch_tab()

    def action_previous_tab(self) -> None:
        """Show the other list."""
        self._switch_tab()

    def _switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "quarantine-tab" if tabs.active == "unmatched-tab" else "unmatched-tab"
        self.query_one("#quarantine" if tabs.active == "quarantine-tab" else "#unmatched",
                       LazyTable).focus()
        self.refresh_bindings()

    # -- actions ----------------------------------------------------------------------------

    def action_read_message(self) -> None:
        """Show the message under the cursor."""
        from screens.modals.mail_text import MailTextModal

        mail = self._current_mail()
        if mail is not None:
            def shown(item: dict[str, Any]) -> None:
                title = _("Mail {id} from {sender}: {subject}").format(
                    id=item["id"], sender=item["sender"] or "?", subject=item["subject"])
                self.app.push_screen(MailTextModal(
                    title, mail_unmatched.readable_reason(item["reason"]), item["text"]))

            self.call_service(mail_unmatched.show, self.session, mail["id"], done=shown,
                              group="mail.read")
            return
        kept = self._current_kept()
        if kept is not None:
            text = (_("From: {sender}\nSubject: {subject}\nSize: {size} bytes\n\nReplay it (R) to read it in full.").format(sender=kept['sender'], subject=kept['subject'], size=kept['size']))
            self.app.push_screen(MailTextModal(_("Quarantined {id}").format(id=kept['id']), kept["reason"],
                                               text))

    def action_assign(self) -> None:
        """Pick a lead and file the message on it."""
        from screens.modals.lead_pick import LeadPickModal

        mail = self._current_mail()
        if mail is None:
            return

        def picked(lead_id: int | None) -> None:
            if lead_id is not None:
                self.call_service(mail_unmatched.assign, self.session, mail["id"], lead_id,
                                  done=lambda done: self._done(
                                      _("Mail {id} filed on lead {lead}").format(id=done['id'], lead=done['lead'])),
                                  group="mail.change")

        self.app.push_screen(LeadPickModal(self.session, _("File mail {id} on lead…").format(id=mail['id'])),
                             picked)

    def action_new_lead(self) -> None:
        """Make a lead of the sender and file the message on it."""
        mail = self._current_mail()
        if mail is not None:
            self.call_service(mail_unmatched.new_lead, self.session, mail["id"],
                              done=lambda done: self._done(
                                  _("Mail {id} filed on new lead {lead}").format(id=done['id'], lead=done['lead'])),
                              group="mail.change")

    def action_discard(self) -> None:
        """Throw the message away, after asking."""
        from screens.modals.confirm import ConfirmModal

        mail = self._current_mail()
        if mail is None:
            return

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(mail_unmatched.discard, self.session, mail["id"],
                                  done=lambda done: self._done(_("Mail {id} discarded").format(id=done['id'])),
                                  group="mail.change")

        self.app.push_screen(ConfirmModal(_("Discard mail {id}?").format(id=mail['id']),
                                          f"{mail['sender']}: {mail['subject']}"), confirmed)

    def action_replay(self) -> None:
        """Read the quarantined copy again and file it."""
        kept = self._current_kept()
        if kept is None:
            return

        def replayed(done: dict[str, Any]) -> None:
            where = f" on lead {done['lead']}" if done.get("lead") else ""
            self._done(_("Quarantined {id}: {outcome}{where}").format(id=done['id'], outcome=done['outcome'], where=where))

        self.call_service(mail_unmatched.replay, self.session, kept["id"], done=replayed,
                          group="mail.change")

    def _done(self, text: str) -> None:
        self.notify(text)
        self.reload()
        refresh = getattr(self.app, "refresh_mail_status", None)
        if refresh is not None:
            refresh()


def _load(session: Session) -> dict[str, Any]:
    """Both lists and the user's rights (one thread call)."""
    rights = {"handle": mail_unmatched.may_handle(session),
              "discard": mail_unmatched.may_discard(session),
              "replay": mail_unmatched.may_replay(session)}
    unmatched = mail_unmatched.list_unmatched(session) if rights["handle"] else []
    kept = mail_unmatched.list_quarantine(session) if rights["replay"] else []
    for row in (*unmatched, *kept):
        row["reason"] = mail_unmatched.readable_reason(row["reason"])
    return {
        "rights": rights,
        "unmatched": unmatched,
        "kept": kept,
    }
