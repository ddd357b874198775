"""Screen 3: contracts, with expiry, renewal, invoices and PDFs from templates (the types
and templates themselves are kept on screen 0)."""

from __future__ import annotations

from functools import partial
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from crm_tui.i18n import N_, _
from crm_tui.services import (
    contract_billing,
    contract_reminders,
    contracts,
    invoice_forms,
    invoices,
)
from crm_tui.services.context import Session
from crm_tui.services.rows import Column
from screens.crm_screen import CrmScreen
from screens.record_list import RecordListScreen
from screens.refusals import refusal_text
from widgets.filter_bar import FilterBar

COLUMNS = (
    Column("name", N_("Name"), 18), Column("contract_number", N_("Number"), 10),
    Column("company", N_("Company"), 16), Column("date_begin", N_("Begins"), 10),
    Column("date_end", N_("Ends"), 10), Column("status_name", N_("Status"), 10, translated=True),
)
"""The contract list's columns (79 cells with their separators)."""


# -- what the contract keys do, shared by the list and the detail screen --------------------


def renew(screen: CrmScreen, contract_id: int, done: Any) -> None:
    """Ask for the new period, then copy the contract (same terms, new dates)."""
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session

    def describe() -> list[dict[str, Any]]:
        start = contracts.renewal_defaults(session, contract_id)
        return [field("date_begin", _("Starts"), start["date_begin"], kind="date", required=True),
                field("date_end", _("Ends"), start["date_end"], kind="date", required=True),
                field("name", _("Name"), start["name"], required=True)]

    def submit(values: dict[str, str]) -> int:
        return contracts.copy(session, contract_id, values["date_begin"], values["date_end"],
                              name=values["name"])

    def copied(new_id: int | None) -> None:
        if new_id is not None:
            screen.notify(_("Renewed as contract #{new_id}").format(new_id=new_id))
            done(new_id)

    screen.app.push_screen(ServiceFormModal(
        _("Renew contract"), describe, submit,
        note=_("A copy with the same terms and custom values, for a new period.")), copied)


def edit_billing_lines(screen: CrmScreen, contract_id: int, done: Any) -> None:
    """The contract's recurring invoice lines as text, one DESCRIPTION=AMOUNT[@RATE] each."""
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session

    def describe() -> list[dict[str, Any]]:
        current = contract_billing.lines_text(contract_billing.lines(session, contract_id))
        return [field("billing_lines", _("Lines"), current, kind="textarea",
                      help=_("one per line: DESCRIPTION=AMOUNT, or DESCRIPTION=AMOUNT@RATE "
                           "(without a rate, the default tax rate)"))]

    def submit(values: dict[str, str]) -> int:
        items = contract_billing.lines_from_texts(contract_id,
                                                  values["billing_lines"].splitlines())
        return contract_billing.set_lines(session, contract_id, items)

    def saved(count: int | None) -> None:
        if count is not None:
            screen.notify(_("{count} recurring lines").format(count=count))
            done(contract_id)

    screen.app.push_screen(ServiceFormModal(
        _("Recurring invoice lines"), describe, submit,
        note=_("The worker makes a draft invoice of these lines each billing period.")), saved)


def generate_invoice(screen: CrmScreen, contract_id: int, done: Any) -> None:
    """The invoice form, filled in from the contract (company, reference, concept)."""
    from screens.modals.service_form import ServiceFormModal

    session = screen.session

    def describe() -> list[dict[str, Any]]:
        return invoice_forms.form_fields(session, None, contracts.invoice_draft(session, contract_id))

    def made(invoice_id: int | None) -> None:
        if invoice_id is not None:
            screen.notify(_("Draft invoice #{invoice_id} created from the contract").format(invoice_id=invoice_id))
            done(invoice_id)

    screen.app.push_screen(ServiceFormModal(
        _("Invoice from contract"), describe, partial(invoice_forms.submit_form, session, None),
        note=_("Set the concept's amount; the invoice is related to the contract."), tall=True,
        session=session),
        made)


def pdf_from_template(screen: CrmScreen, contract_id: int, done: Any) -> None:
    """Choose a template, render the contract with it and attach the PDF."""
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session

    def describe() -> list[dict[str, Any]]:
        choices = [(t["name"], str(t["id"])) for t in contracts.templates(session)]
        first = choices[0][1] if choices else ""
        return [field("template", _("Template"), first, kind="combo", options=choices,
                      required=True)]

    def submit(values: dict[str, str]) -> dict[str, Any]:
        return contracts.attach_pdf(session, contract_id, values["template"])

    def attached(result: dict[str, Any] | None) -> None:
        if result is not None:
            screen.notify(_("Attached {name}").format(name=result['name']))
            for warning in result.get("warnings") or ():
                screen.notify(warning, severity="warning", timeout=12)
            done(result)

    screen.app.push_screen(ServiceFormModal(
        _("Generate PDF from template"), describe, submit,
        note=_("The PDF is attached to the contract's files.")), attached)


# -- the list ----------------------------------------------------------------------------


class ContractsScreen(RecordListScreen):
    """The contracts the user may see, filtered by company, type, status and expiry."""

    KIND = "contract"
    CSV_KIND = "contracts"
    SCREEN_TITLE = N_("3 Contracts")
    EMPTY_TEXT = N_("No contracts")
    AUTO_FOCUS = "#records"
    COLUMNS = COLUMNS
    FILTER_HINT = N_("words, company=ID contract_type=ID status=0|1 expiring=DAYS expired=1")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "renew", "Renew", id="contract.copy",
                tooltip="Copy the contract with the same terms for new dates"),
        Binding("g", "generate_invoice", "Invoice", id="contract.invoice",
                tooltip="Generate an invoice from the contract"),
        Binding("p", "contract_pdf", "PDF", id="contract.pdf",
                tooltip="Generate a PDF from a template and attach it"),
        Binding("w", "expiring", "Expiring", id="contract.expiring",
                tooltip="Show only contracts ending within N days (again: all)"),
        Binding("t", "templates", "Templates", id="contract.templates",
                tooltip="Contract templates, on screen 0 Admin"),
        Binding("y", "types", "Types", id="contract.types",
                tooltip="Contract types, on screen 0 Admin"),
    ]
    """Contract keys on top of the list keys."""

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the list for the acting user's session."""
        super().__init__(session, **kwargs)
        self.expiring_days: int | None = None
        self.soon_count: int | None = None
        self._can_invoice: bool | None = None

    def screen_title(self) -> str:
        """The title, with how many contracts end within 30 days, and saying when only
        expiring contracts show."""
        title = _(self.SCREEN_TITLE)
        if self.soon_count:
            title += _(" ({soon_count} end within {SOON_DAYS} days)").format(soon_count=self.soon_count, SOON_DAYS=contract_reminders.SOON_DAYS)
        if self.expiring_days is not None:
            title += _(" · ending within {expiring_days} days").format(expiring_days=self.expiring_days)
        return title

    def _count_soon(self) -> None:
        def counted(count: int) -> None:
            self.soon_count = count
            self.set_title(self.screen_title())

        self.call_service(contract_reminders.expiring_count, self.session, done=counted,
                          group="contracts.soon", exclusive=True)

    def records_changed(self) -> None:
        """Reload the rows and the count of contracts ending soon."""
        super().records_changed()
        self._count_soon()

    def base_filters(self) -> dict[str, str]:
        """Expiry tracking: contracts ending within the chosen number of days."""
        if self.expiring_days is None:
            return {}
        return {"expiring": str(self.expiring_days)}

    def on_mount(self) -> None:
        """Ask the services what the user may do (contracts, and invoices for `g`)."""
        super().on_mount()

        def known(allowed: bool) -> None:
            self._can_invoice = allowed
            self.refresh_bindings()

        self.call_service(invoices.can_create, self.session, done=known,
                          group="permissions.invoice")
        self._count_soon()

    # -- key states -------------------------------------------------------------------------

    def extra_check(self, action: str, record_id: int | None) -> bool | None:
        """Row keys are greyed without a row or without the right the services report."""
        focused = self.focused
        if isinstance(focused, Input) and isinstance(focused.parent, FilterBar) and action in (
                "renew", "generate_invoice", "contract_pdf", "expiring", "templates", "types"):
            return False
        if action == "renew":
            return None if record_id is None or not self.permission("create") else True
        if action == "generate_invoice":
            if self._can_invoice is False:
                return False
            return None if record_id is None or not self._can_invoice else True
        if action == "contract_pdf":
            return None if record_id is None or not self.permission("edit", record_id) else True
        return True

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Renew and PDF keys greyed for want of a right say why when pressed (the invoice
        key is hidden, not greyed, from a user who may not make invoices)."""
        record_id = self.current_record_id()
        if record_id is not None:
            name = self.current_record_title() or f"#{record_id}"
            if action == "renew" and self.permission("create") is False:
                return _("you may not create contracts, so you may not renew {name}").format(
                    name=name)
            if action == "contract_pdf" and self.permission("edit", record_id) is False:
                return refusal_text("edit", name)
        return super().refusal(action, parameters)

    # -- records ----------------------------------------------------------------------------

    def open_record(self, record_id: int) -> None:
        """Show the contract's detail."""
        from screens.contract_detail import ContractDetailScreen

        self.app.push_screen(ContractDetailScreen(self.session, record_id,
                                                  on_change=self.records_changed))

    # -- contract keys ----------------------------------------------------------------------

    def action_renew(self) -> None:
        """Renew the contract under the cursor."""
        record_id = self.current_record_id()
        if record_id is not None:
            renew(self, record_id, lambda _new: self.records_changed())

    def action_generate_invoice(self) -> None:
        """Generate an invoice from the contract under the cursor."""
        record_id = self.current_record_id()
        if record_id is not None:
            generate_invoice(self, record_id, lambda _id: None)

    def action_contract_pdf(self) -> None:
        """Attach a PDF of the contract under the cursor, from a template."""
        record_id = self.current_record_id()
        if record_id is not None:
            pdf_from_template(self, record_id, lambda _result: None)

    def action_expiring(self) -> None:
        """Ask for a number of days and show the contracts ending by then; again: all."""
        from screens.modals.service_form import ServiceFormModal, field

        if self.expiring_days is not None:
            self._show_expiring(None)
            return

        self.app.push_screen(ServiceFormModal(
            _("Contracts ending soon"),
            [field("days", _("Within days"), "30", kind="numeric", required=True)],
            lambda values: contracts.expiry_days(values["days"])), self._show_expiring)

    def _show_expiring(self, days: int | None) -> None:
        if days is None and self.expiring_days is None:
            return
        self.expiring_days = days
        self.set_title(self.screen_title())
        self.apply_filter(self.filter_text)

    async def action_templates(self) -> None:
        """The contract templates, where every catalogue is kept (screen 0)."""
        await self.app.show_catalogue("template")

    async def action_types(self) -> None:
        """The contract types, where every catalogue is kept (screen 0)."""
        await self.app.show_catalogue("contract-type")
