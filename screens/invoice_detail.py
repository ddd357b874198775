"""One invoice: its fields, concepts, discounts and totals, lock, files and contracts."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from crm_tui import formatting
from crm_tui.i18n import N_, _
from crm_tui.services import invoice_forms
from crm_tui.services.words import service_word
from screens import keymap
from screens.billing_detail import BillingDetailScreen, loading_box
from screens.detail import detail_block
from screens.invoices import (
    credit_invoice,
    issue_invoice,
    open_invoice_form,
    save_pdf,
    toggle_lock,
)

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
TRANSLATED = {"state", "type", "status"}
"""Facts whose values are the services' words (draft, issued, paid), shown in the user's
language."""
TOTALS = (("tax_base", N_("Tax base")), ("discount_total", N_("Discounts")),
          ("subtotal", N_("Subtotal")), ("total_tax", N_("Tax")), ("withholding", N_("Withholding")),
          ("total", N_("Total")))


class InvoiceDetailScreen(BillingDetailScreen):
    """An invoice's detail; e, d, I, C, L, p and w act on it as the services allow."""

    SCREEN_TITLE = N_("4 Invoice")

    record_kind = "invoice"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "edit_invoice", "Edit", id=keymap.EDIT_ID, tooltip="Edit this invoice"),
        Binding("d", "delete_invoice", "Delete", id=keymap.DELETE_ID,
                tooltip="Delete this invoice (asks first; IM or superadmin)"),
        Binding("I", "issue_invoice", "Issue", id="invoice.issue",
                tooltip="Issue the draft: next number, today's date, lock and PDF"),
        Binding("C", "credit_invoice", "Credit", id="invoice.credit",
                tooltip="Cancel the issued invoice (or some lines) by a credit note"),
        Binding("L", "toggle_lock", "Lock/Unlock", id="invoice.lock",
                tooltip="Lock the invoice (IW, IM) or unlock it (IM)"),
        Binding("p", "invoice_pdf", "PDF", id="invoice.pdf",
                tooltip="Save the invoice as PDF (or ZIP with its attachments)"),
        Binding("w", "save_file", "Save file", id=keymap.SAVE_FILE_ID,
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

    NAME_KEY = "bill_id"
    MODIFY_ACTIONS = ("edit_invoice",)
    DELETE_ACTIONS = ("delete_invoice",)

    @property
    def invoice_id(self) -> int:
        """The invoice shown."""
        return self.record_id

    def compose_body(self) -> ComposeResult:
        """The blocks, filled once the invoice is read."""
        yield loading_box("details")

    def titled(self, data: dict[str, Any]) -> str:
        """The bill ID and lock state."""
        lock = ""
        if data["locked"]:
            lock = _("  [locked by {login}]").format(login=data["locked_by"] or "?")
        return _("4 Invoice · {bill}").format(bill=self.shown_name(data)) + lock

    def shown_name(self, data: dict[str, Any]) -> str:
        """The bill ID, or the draft's id."""
        return data["bill_id"] or _("draft #{id}").format(id=data["id"])

    def read_data(self) -> dict[str, Any]:
        """Read the record, its files and what the user may do with it (on a thread)."""
        return invoice_forms.detail(self.session, self.invoice_id)

    def detail_blocks(self, data: dict[str, Any]) -> list[Vertical]:
        """The facts, concepts, discounts, totals, files and related contracts."""
        blocks = [
            detail_block(_("Invoice"), [(_(label), service_word(data[key]) if key in TRANSLATED
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
        return blocks

    def delete_texts(self, name: str) -> tuple[str, str, str]:
        """Deleting an invoice takes its PDF and attachments."""
        return (_("Delete invoice {bill}?").format(bill=name),
                _("Its PDF and attachments go too."),
                _("Deleted invoice {bill}").format(bill=name))

    def save_file_title(self, name: str) -> str:
        """Saving one of the invoice's files (its PDF included)."""
        return _("Save a file of invoice {bill}").format(bill=name)

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
        permissions = (self.data or {}).get("permissions") or {}
        if action in ("issue_invoice", "credit_invoice"):
            key = "issue" if action == "issue_invoice" else "credit"
            return True if permissions.get(key) else None
        if action == "toggle_lock":
            allowed = permissions.get("lock") or permissions.get("unlock")
            return True if allowed else None
        if action == "invoice_pdf":
            return True if self.data else None
        return super().check_action(action, parameters)

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

    def action_delete_invoice(self) -> None:
        """Ask, then delete this invoice and go back."""
        self.delete_record()
