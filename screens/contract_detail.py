"""One contract: its fields, related invoices and files, with the contract keys."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import TabbedContent, TabPane

from crm_tui import formatting
from crm_tui.i18n import N_, _
from crm_tui.services import contracts
from crm_tui.services.rows import Column, RecordRows
from screens import keymap
from screens.billing_detail import BillingDetailScreen, loading_box
from screens.contracts import edit_billing_lines, generate_invoice, pdf_from_template, renew
from screens.detail import detail_block, files_block
from screens.tables import translated_columns
from widgets.lazy_table import LazyTable

INVOICE_COLUMNS = (
    Column("bill_id", N_("Bill ID"), 14), Column("type", N_("Type"), 10, translated=True),
    Column("status", N_("Status"), 10, translated=True),
    Column("created", N_("Created"), 10), Column("total", N_("Total"), 14, "right"),
    Column("currency", N_("Cur"), 3), Column("locked", N_("Lock"), 4),
)
"""The related invoices' columns."""


class ContractDetailScreen(BillingDetailScreen):
    """A contract's detail in tabs: details, related invoices, files."""

    SCREEN_TITLE = N_("3 Contract")

    record_kind = "contract"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_contract", "Edit", id=keymap.EDIT_ID, tooltip="Edit this contract"),
        Binding("d", "delete_contract", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete this contract (asks first)"),
        Binding("c", "renew", "Renew", id="contract.copy",
                tooltip="Copy the contract with the same terms for new dates"),
        Binding("b", "billing_lines", "Billing lines", show=False, id="contract.billing_lines",
                tooltip="The recurring invoice lines of this contract"),
        Binding("g", "generate_invoice", "Invoice", id="contract.invoice",
                tooltip="Generate an invoice from this contract"),
        Binding("p", "contract_pdf", "PDF", id="contract.pdf",
                tooltip="Generate a PDF from a template and attach it"),
        Binding("a", "link_invoices", "Add invoices", id="contract.link",
                tooltip="Relate invoices (by bill ID) to this contract"),
        Binding("r", "unlink_invoice", "Remove", id="contract.unlink",
                tooltip="Remove the invoice under the cursor from the related invoices"),
        Binding(keymap.ATTACH, "attach_file", "Attach", id=keymap.ATTACH_ID,
                tooltip="Attach a file to this contract"),
        Binding("w", "save_file", "Save file", id=keymap.SAVE_FILE_ID,
                tooltip="Save a copy of one of the contract's files on this machine"),
        Binding("enter", "open_invoice", "Open", priority=True, id=keymap.OPEN_ID,
                tooltip="Open the invoice under the cursor"),
        Binding("right_square_bracket", "next_tab", "Next tab", id=keymap.NEXT_TAB_ID,
                tooltip="Show the next tab"),
        Binding("left_square_bracket", "previous_tab", "Previous tab", show=False,
                id=keymap.PREVIOUS_TAB_ID, tooltip="Show the previous tab"),
    ]
    """Contract keys; each is greyed when the services say no."""

    NAME_KEY = "name"
    MODIFY_ACTIONS = ("edit_contract", "contract_pdf", "link_invoices", "attach_file",
                      "billing_lines", "unlink_invoice")
    DELETE_ACTIONS = ("delete_contract",)

    @property
    def contract_id(self) -> int:
        """The contract shown."""
        return self.record_id

    def compose_body(self) -> ComposeResult:
        """Tabs: details, related invoices, files."""
        with TabbedContent(initial="tab-details"):
            with TabPane(_("Details"), id="tab-details"):
                yield loading_box("details")
            with TabPane(_("Invoices"), id="tab-invoices"):
                source = RecordRows(self.session, "invoice",
                                    {"contract_id": str(self.contract_id)},
                                    translated_columns(INVOICE_COLUMNS))
                yield LazyTable(source, id="invoices", empty_text=_("No related invoices"))
            with TabPane(_("Files"), id="tab-files"):
                yield loading_box("files")

    def titled(self, data: dict[str, Any]) -> str:
        """The contract's name."""
        return _("3 Contract · {name}").format(name=self.shown_name(data))

    def read_data(self) -> dict[str, Any]:
        """Read the record, its files and what the user may do with it (on a thread)."""
        return contracts.detail(self.session, self.contract_id)

    def detail_blocks(self, data: dict[str, Any]) -> list[Vertical]:
        """The fields by section, and the recurring invoice lines."""
        sections: dict[str, list[dict[str, str]]] = {}
        for item in data["fields"]:
            if item["key"] == "invoices":
                continue  # the Invoices tab lists them
            sections.setdefault(item["section"] or _("Contract"), []).append(item)
        blocks = [detail_block(title, [(_(i["label"]), i["text"]) for i in items])
                  for title, items in sections.items()]
        if data.get("billing_lines"):
            blocks.append(detail_block(_("Recurring invoice lines"), [
                (line["description"], _("{amount}  tax {rate}").format(
                    amount=formatting.amount_text(line["amount"]),
                    rate=(f"{formatting.number_text(line['tax_rate'])}%" if line["tax_rate"] != ""
                          else _("default"))))
                for line in data["billing_lines"]]))
        return blocks

    def show_more(self, data: dict[str, Any]) -> None:
        """The Files tab, and the counts in the tabs' labels."""
        files = self.query_one("#files", VerticalScroll)
        files.remove_children()
        files.mount(files_block(data["files"]))
        tabs = self.query_one(TabbedContent)
        tabs.get_tab("tab-invoices").label = _("Invoices {count}").format(
            count=data["invoice_count"])
        tabs.get_tab("tab-files").label = _("Files {count}").format(count=len(data["files"]))

    def delete_texts(self, name: str) -> tuple[str, str, str]:
        """Deleting a contract takes its files, not its invoices."""
        return (_("Delete contract {name!r}?").format(name=name),
                _("Its files go too; invoices stay."),
                _("Deleted contract {name!r}").format(name=name))

    def save_file_title(self, name: str) -> str:
        """Saving one of the contract's files."""
        return _("Save a file of contract {name}").format(name=name)

    # -- keys -------------------------------------------------------------------------------

    @property
    def invoices_table(self) -> LazyTable:
        """The related invoices."""
        return self.query_one("#invoices", LazyTable)

    def _on_invoices(self) -> bool:
        focused = self.focused
        return isinstance(focused, LazyTable) and focused.id == "invoices"

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey each key unless the services allow it here."""
        data = self.data
        if action == "renew":
            permissions = (data or {}).get("permissions") or {}
            return True if permissions.get("create") else None
        if action == "generate_invoice":
            return True if data and data.get("can_invoice") else None
        if action == "unlink_invoice":
            if not self._on_invoices():
                return False
            if self.invoices_table.cursor_row_id is None:
                return None
        if action == "open_invoice":
            return self._on_invoices()
        return super().check_action(action, parameters)

    def _changed(self, result: Any = None) -> None:
        if result is not False:  # False: nothing was changed
            super()._changed(result)

    def reload_related(self) -> None:
        """The related invoices."""
        self.invoices_table.reload()

    def action_edit_contract(self) -> None:
        """Edit this contract (its type's custom fields included)."""
        from screens.modals.record_form import RecordFormModal

        self.app.push_screen(RecordFormModal(self.session, "contract", self.contract_id),
                             self._changed)

    def action_delete_contract(self) -> None:
        """Ask, then delete this contract and go back."""
        self.delete_record()

    def action_renew(self) -> None:
        """Copy this contract for a new period."""
        renew(self, self.contract_id, self._changed)

    def action_billing_lines(self) -> None:
        """Edit the recurring invoice lines of this contract."""
        edit_billing_lines(self, self.contract_id, self._changed)

    def action_generate_invoice(self) -> None:
        """Generate an invoice from this contract."""
        generate_invoice(self, self.contract_id, self._changed)

    def action_contract_pdf(self) -> None:
        """Attach a PDF of this contract from a template."""
        pdf_from_template(self, self.contract_id, self._changed)

    def action_attach_file(self) -> None:
        """Attach a local file to this contract."""
        from screens.modals.service_form import ServiceFormModal, field

        session, contract_id = self.session, self.contract_id
        self.app.push_screen(ServiceFormModal(
            _("Attach a file"), [field("file", _("File"), required=True,
                                    help=_("path of a file on this computer"))],
            lambda values: contracts.attach_file(session, contract_id, values["file"])),
            self._changed)

    def action_link_invoices(self) -> None:
        """Relate invoices to this contract by bill ID."""
        from screens.modals.service_form import ServiceFormModal, field

        session, contract_id = self.session, self.contract_id

        def linked(count: int | None) -> None:
            if count is not None:
                self.notify(_("{count} invoice(s) added").format(count=count))
                self._changed(count)

        self.app.push_screen(ServiceFormModal(
            _("Add related invoices"), [field("invoices", _("Bill IDs"), required=True,
                                           help=_("comma-separated, e.g. 15/1000, 15/1001"))],
            lambda values: contracts.add_invoices(session, contract_id, values["invoices"])),
            linked)

    def action_unlink_invoice(self) -> None:
        """Remove the invoice under the cursor from this contract (asks first)."""
        from screens.modals.confirm import ConfirmModal

        row = self.invoices_table.get_row(self.invoices_table.cursor_index)
        if row is None:
            return
        invoice_id, cells = row
        bill = cells[0] if cells else f"#{invoice_id}"

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(contracts.remove_invoices, self.session, self.contract_id,
                                  [str(invoice_id)], done=self._changed)

        self.app.push_screen(ConfirmModal(_("Remove invoice {bill} from this contract?").format(bill=bill),
                                          _("The invoice itself stays.")), confirmed)

    def action_open_invoice(self) -> None:
        """Open the invoice under the cursor."""
        self.invoices_table.action_select_row()

    @on(LazyTable.RowSelected, "#invoices")
    def _invoice_selected(self, event: LazyTable.RowSelected) -> None:
        from screens.invoice_detail import InvoiceDetailScreen

        self.app.push_screen(InvoiceDetailScreen(self.session, event.row_id,
                                                 on_change=self._invoice_changed))

    def _invoice_changed(self) -> None:
        self.reload()
        self.invoices_table.reload()

    @on(LazyTable.CursorMoved, "#invoices")
    def _cursor_moved(self, event: LazyTable.CursorMoved) -> None:
        self.refresh_bindings()

    def on_descendant_focus(self) -> None:
        """Keys depend on which tab has the focus."""
        self.refresh_bindings()
