"""One company: every field and custom-field section, its contacts, contracts, invoices and
leads (counts and paged lists), its activity notes and its files."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static, TabbedContent, TabPane

from crm_tui.errors import CrmError, error_text
from crm_tui.i18n import N_, _, kind_name
from crm_tui.services import attachments, companies, forms, stored_lines
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from crm_tui.services.rows import Column, RecordRows, cell_text
from screens import keymap
from screens.detail import DetailScreen, detail_block, files_block
from screens.dialog import Dialog
from screens.footer import KeyFooter
from screens.refusals import permission_refusal
from screens.service_calls import run_service
from screens.tables import reload_table, translated_columns
from widgets.field_form import FieldForm, FieldSpec
from widgets.lazy_table import LazyTable

#: The related lists: tab id, record kind, tab label, and the columns shown.
RELATED: tuple[tuple[str, str, str, tuple[Column, ...]], ...] = (
    ("contacts", "contact", N_("Contacts"), (
        Column("full_name", N_("Full name"), 24), Column("email", N_("Email"), 26),
        Column("phone", N_("Phone"), 12), Column("position", N_("Position"), 10))),
    ("contracts", "contract", N_("Contracts"), (
        Column("name", N_("Name"), 22), Column("contract_number", N_("Number"), 12),
        Column("date_begin", N_("Begins"), 10), Column("date_end", N_("Ends"), 10),
        Column("status_name", N_("Status"), 10, translated=True))),
    ("invoices", "invoice", N_("Invoices"), (
        Column("bill_id", N_("Bill ID"), 14), Column("type", N_("Type"), 10, translated=True),
        Column("status", N_("Status"), 10, translated=True), Column("created", N_("Created"), 10),
        Column("total", N_("Total"), 14, "right"), Column("currency", N_("Cur"), 3))),
    ("leads", "lead", N_("Leads"), (
        Column("full_name", N_("Name"), 22), Column("status_name", N_("Status"), 20, translated=True),
        Column("owner", N_("Owner"), 10), Column("estimated_sale", N_("Est. sale"), 12, "right"))),
)


def load_company(session: Session, company_id: int) -> dict[str, Any]:
    """Everything the detail screen shows, read in one go on a thread."""
    return {
        "fields": forms.display(session, "company", company_id),
        "summary": companies.summary(session, company_id),
        "activity": companies.activity(session, company_id),
        "files": attachments.files_of(session, "company", company_id),
        "permissions": forms.permissions(session, "company", company_id),
    }


class CompanyDetailScreen(DetailScreen):
    """A company's detail: tabs for its fields, related records and notes."""

    SCREEN_TITLE = N_("Company")
    AUTO_FOCUS = "#details"  # arrows and page keys scroll the Details tab at once
    FOOTER_PALETTE = False  # ctrl+p still works (and `?` lists it): 80 columns hold the keys

    record_kind = "company"
    record_id_attr = "company_id"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_company", "Edit", id=keymap.EDIT_ID, tooltip="Edit this company"),
        Binding("d", "delete_company", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete this company (asks first)"),
        Binding("M", "merge_company", "Merge", id=keymap.MERGE_ID, show=False,
                tooltip="Merge a duplicate company into this one"),
        Binding("a", "add_note", "Add note", id=keymap.ADD_NOTE_ID,
                tooltip="Add a note to the company's activity"),
        Binding(keymap.ATTACH, "attach_file", "Attach", id=keymap.ATTACH_ID,
                tooltip="Attach a file from this machine to the company"),
        Binding("w", "save_file", "Save file", id=keymap.SAVE_FILE_ID,
                tooltip="Save a copy of one of the company's files on this machine"),
        Binding("enter", "open_contact", "Open", priority=True, id=keymap.OPEN_ID,
                tooltip="Open the contact under the cursor"),
        Binding("right_square_bracket", "next_tab", "Next tab", id=keymap.NEXT_TAB_ID,
                tooltip="Show the next tab (left/right also work on the tab row)"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False,
                id=keymap.PREVIOUS_TAB_ID, tooltip="Show the previous tab"),
    ]
    """Edit, delete, notes, files; enter opens a contact; ] and [ change tabs."""

    DEFAULT_CSS = """
    CompanyDetailScreen .note-head {
        color: $accent;
        text-style: bold;
        margin-top: 1;
    }
    """

    def __init__(
        self,
        session: Session,
        company_id: int,
        *,
        on_change: Callable[[], Any] | None = None,
    ) -> None:
        """Create the screen for one company.

        Args:
            session: The acting user.
            company_id: The company shown.
            on_change: Called after the company was changed or deleted here.
        """
        super().__init__(session)
        self.company_id = company_id
        self.on_change = on_change
        self.company_name = ""
        self.permissions: dict[str, bool] | None = None
        self.files: list[dict[str, Any]] = []

    def compose_body(self) -> ComposeResult:
        """Tabs: details, the related lists, notes, files."""
        with TabbedContent(initial="tab-details"):
            with TabPane(_("Details"), id="tab-details"):
                with VerticalScroll(id="details"):
                    yield Label(_("Loading…"), classes="placeholder")
            for tab_id, kind, label, columns in RELATED:
                with TabPane(_(label), id=f"tab-{tab_id}"):
                    source = RecordRows(self.session, kind, {"company": str(self.company_id)},
                                        translated_columns(columns), mark_readonly=False)
                    yield LazyTable(source, id=tab_id,
                                    empty_text=_("No {kinds}").format(kinds=kind_name(tab_id)))
            with TabPane(_("Notes"), id="tab-notes"):
                with VerticalScroll(id="notes"):
                    yield Label(_("Loading…"), classes="placeholder")
            with TabPane(_("Files"), id="tab-files"):
                with VerticalScroll(id="files"):
                    yield Label(_("Loading…"), classes="placeholder")

    def screen_title(self) -> str:
        """The company's name once known."""
        return (_("1 Company · {name}").format(name=self.company_name) if self.company_name
                else _("1 Company"))

    def on_mount(self) -> None:
        """Read the company."""
        self.reload()

    def read_data(self) -> dict[str, Any]:
        """Read the record, its files and what the user may do with it (on a thread)."""
        return load_company(self.session, self.company_id)

    def show_data(self, data: dict[str, Any]) -> None:
        """Show what `read_data` returned."""
        fields: list[dict[str, str]] = data["fields"]
        self.company_name = next((f["text"] for f in fields if f["key"] == "name"), "")
        self.permissions = data["permissions"]
        summary = data["summary"]
        if not summary.get("modifiable"):
            self.company_name += _("  (read-only)")
        self.set_title(self.screen_title())
        self._show_fields(fields, summary)
        self._show_notes(data["activity"])
        self.files = data["files"]
        self._show_files(self.files)
        self._counts = {tab_id: summary.get(tab_id, 0) for tab_id, *_rest in RELATED}
        self._counts.update(notes=len(data["activity"]), files=len(self.files))
        self._label_tabs()
        self.refresh_bindings()

    def on_resize(self) -> None:
        """Label the tabs for the new width."""
        self._label_tabs()

    def _label_tabs(self) -> None:
        """Each tab's label with its count when the tab bar holds them all at this width,
        else the labels alone (each list shows its rows): a tab is never cut off, whatever
        the language's words."""
        counts = getattr(self, "_counts", None)
        if counts is None or not self.is_mounted:
            return
        counted = {"tab-details": _("Details")}
        plain = dict(counted)
        for tab_id, _kind, label, _columns in RELATED:
            counted[f"tab-{tab_id}"] = f"{_(label)} {counts[tab_id]}"
            plain[f"tab-{tab_id}"] = _(label)
        counted["tab-notes"] = _("Notes {count}").format(count=counts["notes"])
        counted["tab-files"] = _("Files {count}").format(count=counts["files"])
        plain.update({"tab-notes": _("Notes"), "tab-files": _("Files")})
        # A tab is its label and one cell of padding either side.
        wanted = sum(cell_len(text) + 2 for text in counted.values())
        chosen = counted if wanted <= self.size.width else plain
        tabs = self.query_one(TabbedContent)
        for tab_id, text in chosen.items():
            tabs.get_tab(tab_id).label = text

    def _show_fields(self, fields: list[dict[str, str]], summary: dict[str, Any]) -> None:
        box = self.query_one("#details", VerticalScroll)
        box.remove_children()
        sections: dict[str, list[dict[str, str]]] = {}
        for field in fields:
            sections.setdefault(field["section"] or _("Company"), []).append(field)
        children = []
        for title, items in sections.items():
            children.append(detail_block(title, [(_(i["label"]), i["text"]) for i in items]))
        counts = ", ".join(
            f"{summary.get(key, 0)} {_(noun)}"
            for key, noun in (("children", N_("children")), ("contacts", N_("contacts")),
                              ("contracts", N_("contracts")), ("invoices", N_("invoices")),
                              ("leads", N_("leads")))
        )
        related = Vertical(Static(counts, markup=False), classes="detail-section")
        related.border_title = _("Related")
        children.append(related)
        box.mount_all(children)

    def _show_notes(self, activity: list[dict[str, Any]]) -> None:
        box = self.query_one("#notes", VerticalScroll)
        box.remove_children()
        if not activity:
            box.mount(Label(_("No notes yet. Press a to add one."), classes="placeholder"))
            return
        widgets = []
        for note in activity:
            when = cell_text(note.get("created"), "datetime")
            widgets.append(Label(f"{when}  {note.get('author', '')}", classes="note-head",
                                 markup=False))
            # A merge's note is the CRM's own (stored in English); people's notes as written.
            widgets.append(Static(stored_lines.readable(str(note.get("text", ""))),
                                  markup=False))
        box.mount_all(widgets)

    def _show_files(self, files: list[dict[str, Any]]) -> None:
        box = self.query_one("#files", VerticalScroll)
        box.remove_children()
        box.mount(files_block(files))

    # -- keys -------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey edit, delete and notes unless the services allow them."""
        permissions = self.permissions
        if action in ("edit_company", "add_note", "attach_file", "merge_company"):
            return None if permissions is None or not permissions.get("edit") else True
        if action == "save_file":
            return True if self.files else None
        if action == "delete_company":
            return None if permissions is None or not permissions.get("delete") else True
        if action == "open_contact":
            focused = self.focused
            return isinstance(focused, LazyTable) and focused.id == "contacts"
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Edit, notes, files, merge and delete on a company the user may not change."""
        return permission_refusal(
            self.permissions, action,
            self.company_name.removesuffix(_("  (read-only)")) or f"#{self.company_id}",
            ("edit_company", "add_note", "attach_file", "merge_company"), ("delete_company",))

    def action_edit_company(self) -> None:
        """Edit this company."""
        from screens.modals.record_form import RecordFormModal

        self.app.push_screen(RecordFormModal(self.session, "company", self.company_id),
                             self._changed)

    def _changed(self, result: Any) -> None:
        if result is None or result is False:
            return
        self.notify(_("Saved {name}").format(name=self.company_name or kind_name("company")))
        self.reload()
        for table in self.query(LazyTable).results(LazyTable):
            reload_table(table)
        if self.on_change is not None:
            self.on_change()

    def action_delete_company(self) -> None:
        """Ask, then delete this company and go back."""
        from screens.modals.confirm import ConfirmModal

        name = self.company_name.removesuffix(_("  (read-only)"))

        def deleted(_result: Any) -> None:
            self.notify(_("Deleted company {name!r}").format(name=name))
            if self.on_change is not None:
                self.on_change()
            self.app.pop_screen()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(get_kind("company").delete, self.session, self.company_id,
                                  done=deleted)

        self.app.push_screen(
            ConfirmModal(_("Delete company {name!r}?").format(name=name), _("This cannot be undone.")), confirmed)

    def action_merge_company(self) -> None:
        """Pick a duplicate company and merge it into this one (asks first)."""
        from screens.modals.merge_picker import pick_and_merge

        name = self.company_name.removesuffix(_("  (read-only)"))

        def merged(result: Any) -> None:
            self.notify(result.summary())
            self.reload()
            for table in self.query(LazyTable).results(LazyTable):
                reload_table(table)
            if self.on_change is not None:
                self.on_change()

        pick_and_merge(self, "company", self.company_id,
                       _("company #{company_id} {name!r}").format(company_id=self.company_id, name=name), merged)

    def action_add_note(self) -> None:
        """Write a note into the company's activity."""
        self.app.push_screen(NoteModal(self.session, self.company_id), self._noted)

    def _noted(self, note_id: int | None) -> None:
        if note_id is not None:
            self.notify(_("Note added"))
            self.reload()

    def action_open_contact(self) -> None:
        """Open the contact under the cursor of the contacts list."""
        table = self.query_one("#contacts", LazyTable)
        table.action_select_row()

    @on(LazyTable.RowSelected, "#contacts")
    def _contact_selected(self, event: LazyTable.RowSelected) -> None:
        from screens.contact_detail import ContactDetailScreen

        # Its own screen, as from the contact list: edit, merge and history are there (and
        # greyed as the company's access says: contacts inherit it).
        self.app.push_screen(ContactDetailScreen(
            self.session, event.row_id, on_change=lambda: reload_table(event.table)))

    def action_attach_file(self) -> None:
        """Attach a local file to this company."""
        from screens.modals.service_form import ServiceFormModal, field

        session, company_id = self.session, self.company_id
        self.app.push_screen(ServiceFormModal(
            _("Attach a file"), [field("file", _("File"), required=True,
                                    help=_("path of a file on this computer"))],
            lambda values: attachments.attach_local_file(session, "company", company_id,
                                                         values["file"])),
            self._attached)

    def _attached(self, attachment_id: int | None) -> None:
        if attachment_id is not None:
            self.notify(_("File attached"))
            self.reload()

    def action_save_file(self) -> None:
        """Save a copy of one of this company's files."""
        from screens.modals.save_attachment import SaveAttachmentModal

        name = self.company_name or f"#{self.company_id}"
        self.app.push_screen(SaveAttachmentModal(self.session, "company", self.company_id,
                                                 _("Save a file of {name}").format(name=name)))


class NoteModal(Dialog[int | None]):
    """A note for a company's activity log; dismisses with the note's id or None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id=keymap.BACK_ID, tooltip="Close without saving"),
    ]
    """Escape closes (the form adds ctrl+s Save)."""

    DEFAULT_CSS = """
    NoteModal {
        align: center middle;
        & > #dialog {
            width: 70;
            max-width: 100%;
            height: 12;
            border: thick $primary 60%;
            background: $surface;
            & > #note-title {
                text-style: bold;
                padding: 0 1;
                width: 100%;
                background: $panel;
            }
            & FieldForm .form-row > TextArea {
                height: 5;
            }
        }
    }
    """

    def __init__(self, session: Session, company_id: int) -> None:
        """Create the dialog for one company."""
        super().__init__()
        self.session = session
        self.company_id = company_id

    def compose(self) -> ComposeResult:
        """A one-field form."""
        with Vertical(id="dialog"):
            yield Label(_("Add a note (ctrl+s saves)"), id="note-title")
            yield FieldForm([FieldSpec("text", _("Note"), "textarea", required=True)], id="form")
        yield KeyFooter(show_command_palette=False)

    def on_mount(self) -> None:
        """Start typing at once."""
        self.query_one(FieldForm).focus_field("text")

    @on(FieldForm.Submitted)
    def _save(self, event: FieldForm.Submitted) -> None:
        event.stop()
        run_service(self, companies.add_note, self.session, self.company_id,
                    event.values.get("text", ""), done=self.dismiss, failed=self._refused)

    def _refused(self, error: BaseException) -> None:
        form = self.query_one(FieldForm)
        if isinstance(error, CrmError) and hasattr(error, "problems"):
            form.show_errors({"text": "; ".join(p.reason for p in error.problems)})
        else:
            form.show_errors({"": error_text(error)})

    @on(FieldForm.Cancelled)
    def _cancelled(self, event: FieldForm.Cancelled) -> None:
        event.stop()
        self.dismiss(None)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)
