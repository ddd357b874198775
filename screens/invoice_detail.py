"""One invoice: its fields, concepts, discounts and totals, lock, files and contracts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Label, Static

from crm_tui import formatting
from crm_tui.i18n import N_, _
from crm_tui.services import invoice_forms
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind
from screens.detail import DetailScreen, detail_block
from screens.invoices import (
    credit_invoice,
    issue_invoice,
    open_invoice_form,
    save_pdf,
    toggle_lock,
)
from screens.refusals import permission_refusal

# The fields shown in the Invoice block, in order, with their labels.
#: Facts shown as dates in the user's language.
DATES = ("created", "issued", "expires", "paid_on")
FACTS = (("bill_id", N_("Bill ID")), ("state", N_("State")), ("credit_of_bill_id", N_("Credit note of")),
         ("company_name", N_("Company")), ("type", N_("Type")),
         ("status", N_("Status")), ("reference", N_("Reference")), ("created", N_("Created")),
         ("issued", N_("Issued")),
         ("expires", N_("Expires")), ("paid_on", N_("Paid on")), ("currency", N_("Currency")),
         ("language", N_("Language")), ("description", N_("Description")),
         ("internal_note", N_("Internal note")))
TRANSLATED = {"state"}
"""Facts whose values are the services' words (draft, issued), shown in the user's language."""
TOTALS = (("tax_base", N_("Tax base")), ("discount_total", N_("Discounts")),
          ("subtotal", N_("Subtotal")), ("total_tax", N_("Tax")), ("withholding", N_("Withholding")),
          ("total", N_("Total")))


class InvoiceDetailScreen(DetailScreen):
    """An invoice's detail; e, d, I, C, L, p and w act on it as the services allow."""

    SCREEN_TITLE = N_("4 Invoice")

    record_kind = "invoice"
    record_id_attr = "invoice_id"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_invoice", "Edit", id="record.edit", tooltip="Edit this invoice"),
        Binding("d", "delete_invoice", "Delete", id="record.delete",
                tooltip="Delete this invoice (asks first; IM or superadmin)"),
        Binding("I", "issue_invoice", "Issue", id="invoice.issue",
                tooltip="Issue the draft: next number, today's date, lock and PDF"),
        Binding("C", "credit_invoice", "Credit", id="invoice.credit",
                tooltip="Cancel the issued invoice (or some lines) by a credit note"),
        Binding("L", "toggle_lock", "Lock/Unlock", id="invoice.lock",
                tooltip="Lock the invoice (IW, IM) or unlock it (IM)"),
        Binding("p", "invoice_pdf", "PDF", id="invoice.pdf",
                tooltip="Save the invoice as PDF (or ZIP with its attachments)"),
        Binding("w", "save_file", "Save file", id="invoice.save_file",
                tooltip="Save a copy of one of the invoice's files on this machine"),
    ]
    """The invoice keys; each is greyed when the services say no."""

    DEFAULT_CSS = """
    InvoiceDetailScreen {
        & .detail-label {
            width: 16;
        }
        & .amount {
            width: 16;
            text-align: right;
        }
    }
    """

    def __init__(self, session: Session, invoice_id: int, *,
                 on_change: Callable[[], Any] | None = None) -> None:
        """Create the screen for one invoice.

        Args:
            session: The acting user.
            invoice_id: The invoice shown.
            on_change: Called after the invoice was changed or deleted here.
        """
        super().__init__(session)
        self.invoice_id = invoice_id
        self.on_change = on_change
        self.data: dict[str, Any] | None = None

    def compose_body(self) -> ComposeResult:
        """The blocks, filled once the invoice is read."""
        with VerticalScroll(id="details"):
            yield Label(_("Loading…"), classes="placeholder")

    def screen_title(self) -> str:
        """The bill ID and lock state once known."""
        if not self.data:
            return _(self.SCREEN_TITLE)
        lock = ""
        if self.data["locked"]:
            lock = _("  [locked by {login}]").format(login=self.data["locked_by"] or "?")
        bill = self.data["bill_id"] or _("draft #{id}").format(id=self.data["id"])
        return _("4 Invoice · {bill}").format(bill=bill) + lock

    def on_mount(self) -> None:
        """Read the invoice."""
        self.reload()

    def read_data(self) -> dict[str, Any]:
        """Read the record, its files and what the user may do with it (on a thread)."""
        return invoice_forms.detail(self.session, self.invoice_id)

    def show_data(self, data: dict[str, Any]) -> None:
        """Show what `read_data` returned."""
        self.data = data
        self.set_title(self.screen_title())
        box = self.query_one("#details", VerticalScroll)
        box.remove_children()
        blocks = [
            detail_block(_("Invoice"), [(_(label), _(data[key]) if key in TRANSLATED
                                        else formatting.date_text(data[key]) if key in DATES
                                        else str(data.get(key) or ""))
                                       for key, label in FACTS if data.get(key)]),
            self._amounts(_("Concepts"), data["lines"], data["currency"]),
        ]
        if data["discounts"]:
            blocks.append(self._amounts(_("Discounts"), data["discounts"], data["currency"]))
        currency = data["currency"]
        rates = [(_("Tax {rate} %").format(rate=formatting.number_text(part["rate"])),
                  _("{tax} on {base}").format(tax=formatting.money_text(part["tax"], currency),
                                              base=formatting.amount_text(part["base"])))
                 for part in data.get("tax_rates", [])]
        rates.append((_("Withholding rate"),
                      f"{formatting.number_text(data['withholding_rate'])} %"))
        blocks.append(detail_block(_("Totals"), rates + [
            (_(label), formatting.money_text(data[key], currency)) for key, label in TOTALS
            if key in ("tax_base", "total", "total_tax") or data[key] not in ("0.00", "0")]))
        files = [(f["name"], _("{size} bytes").format(size=formatting.count_text(f["size"]))
                  + (_("  (generated)") if f["generated"] else "")) for f in data["files"]]
        blocks.append(detail_block(_("Files"), files or [("", _("none"))]))
        contracts = [(f"#{cid}", name) for cid, name in data["contract_names"]]
        blocks.append(detail_block(_("Related contracts"), contracts or [("", _("none"))]))
        box.mount_all(blocks)
        self.refresh_bindings()

    @staticmethod
    def _amounts(title: str, items: list[dict[str, str]], currency: str) -> Vertical:
        rows = [Horizontal(Static(f"{item['description']}  "
                                  f"({formatting.number_text(item.get('tax_rate', '0'))} %)",
                                  classes="detail-value", markup=False),
                           Static(formatting.money_text(item["amount"], currency), classes="amount",
                                  markup=False), classes="detail-row") for item in items]
        block = Vertical(*(rows or [Label(_("none"), classes="detail-value")]),
                         classes="detail-section")
        block.border_title = title
        return block

    # -- keys -----------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Grey each key unless the services allow it for this invoice."""
        permissions = (self.data or {}).get("permissions")
        if action == "edit_invoice":
            return True if permissions and permissions.get("edit") else None
        if action == "delete_invoice":
            return True if permissions and permissions.get("delete") else None
        if action in ("issue_invoice", "credit_invoice"):
            key = "issue" if action == "issue_invoice" else "credit"
            return True if permissions and permissions.get(key) else None
        if action == "toggle_lock":
            allowed = permissions and (permissions.get("lock") or permissions.get("unlock"))
            return True if allowed else None
        if action == "invoice_pdf":
            return True if self.data else None
        if action == "save_file":
            return True if self.data and self.data.get("files") else None
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Edit and delete on an invoice the user may not change."""
        if self.data is None:
            return None
        name = self.data["bill_id"] or _("draft #{id}").format(id=self.data["id"])
        return permission_refusal(self.data.get("permissions") or {}, action, name,
                                  ("edit_invoice",), ("delete_invoice",))

    def _changed(self, result: Any = None) -> None:
        if result is None:
            return
        self.reload()
        if self.on_change is not None:
            self.on_change()

    def action_edit_invoice(self) -> None:
        """Edit this invoice (warns when its PDF will be replaced)."""
        open_invoice_form(self, self.invoice_id, self._changed)

    def action_issue_invoice(self) -> None:
        """Issue this draft."""
        issue_invoice(self, self.invoice_id, self._changed)

    def action_credit_invoice(self) -> None:
        """Cancel this issued invoice by a credit note."""
        credit_invoice(self, self.invoice_id, self._changed)

    def action_toggle_lock(self) -> None:
        """Lock or unlock this invoice."""
        toggle_lock(self, self.invoice_id, self._changed)

    def action_invoice_pdf(self) -> None:
        """Save this invoice as PDF (or ZIP)."""
        save_pdf(self, self.invoice_id)

    def action_save_file(self) -> None:
        """Save a copy of one of this invoice's files (its PDF included)."""
        from screens.modals.save_attachment import SaveAttachmentModal

        bill = (self.data or {}).get("bill_id") or f"#{self.invoice_id}"
        self.app.push_screen(SaveAttachmentModal(self.session, "invoice", self.invoice_id,
                                                 _("Save a file of invoice {bill}").format(bill=bill)))

    def action_delete_invoice(self) -> None:
        """Ask, then delete this invoice and go back."""
        from screens.modals.confirm import ConfirmModal

        bill = (self.data or {}).get("bill_id") or f"#{self.invoice_id}"

        def deleted(_: Any) -> None:
            self.notify(_("Deleted invoice {bill}").format(bill=bill))
            if self.on_change is not None:
                self.on_change()
            self.app.pop_screen()

        def confirmed(yes: bool | None) -> None:
            if yes:
                self.call_service(get_kind("invoice").delete, self.session, self.invoice_id,
                                  done=deleted)

        self.app.push_screen(ConfirmModal(_("Delete invoice {bill}?").format(bill=bill),
                                          _("Its PDF and attachments go too.")), confirmed)
