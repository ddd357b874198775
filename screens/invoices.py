"""Screen 4: invoices, with issue (I), credit note (C), lock/unlock (L), PDF download (p)
and monthly PDF batches (b)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input

from crm_tui.i18n import N_, _
from crm_tui.services import documents_service, invoice_forms, invoice_issue, invoices
from crm_tui.services.context import Session
from crm_tui.services.rows import Column
from screens.crm_screen import CrmScreen
from screens.record_list import RecordListScreen
from widgets.filter_bar import FilterBar

COLUMNS = (
    Column("bill_id", N_("Bill ID"), 12), Column("company", N_("Company"), 10),
    Column("state", N_("State"), 9, translated=True), Column("status", N_("Status"), 9, translated=True),
    Column("created", N_("Created"), 10), Column("total", N_("Total"), 10, "right"),
    Column("currency", N_("Cur"), 5), Column("locked", N_("Lock"), 6),
)
"""The invoice list's columns (78 cells with their separators; short headers such as "Cur"
get room for other languages' longer ones)."""


# -- what the invoice keys do, shared by the list and the detail screen ---------------------


def _key_states(session: Session, invoice_id: int) -> tuple[dict[str, bool], dict[str, str]]:
    """What the user may do with an invoice, and why not where a right is missing."""
    return invoices.permissions(session, invoice_id), invoices.refusals(session, invoice_id)


def open_invoice_form(screen: CrmScreen, invoice_id: int | None, done: Any,
                      initial: dict[str, Any] | None = None) -> None:
    """The invoice form (fields, concepts, discounts); an edit that replaces the PDF asks."""
    from screens.modals.service_form import ServiceFormModal

    session = screen.session
    if invoice_id is None:
        modal = ServiceFormModal(
            _("New invoice"), partial(invoice_forms.form_fields, session, None, initial),
            partial(invoice_forms.submit_form, session, None), tall=True, session=session,
            note=_("A Submitted invoice is a draft until issued (I): then it gets its bill ID, "
                 "a lock and a PDF."))
    else:
        modal = ServiceFormModal(
            _("Edit invoice #{invoice_id}").format(invoice_id=invoice_id),
            partial(invoice_forms.form_fields, session, invoice_id),
            partial(_submit_edit, screen, invoice_id),
            confirm=partial(documents_service.replace_warning, session, invoice_id), tall=True,
            session=session)
    screen.app.push_screen(modal, done)


def _submit_edit(screen: CrmScreen, invoice_id: int, values: dict[str, str]) -> int:
    """Save an edit (on the form's thread); a payment status change makes a new PDF
    version, and what making it warned about is shown like any document's warnings."""
    with documents_service.collect_warnings() as warnings:
        result = invoice_forms.submit_form(screen.session, invoice_id, values)
    if warnings:
        screen.app.call_from_thread(notify_warnings, screen, list(warnings))
    return result


def toggle_lock(screen: CrmScreen, invoice_id: int, done: Any) -> None:
    """Lock or unlock an invoice on a thread; `done(locked)` gets the new state."""

    def finished(locked: bool) -> None:
        screen.notify(_("Invoice locked") if locked else _("Invoice unlocked"))
        done(locked)

    screen.call_service(invoices.toggle_lock, screen.session, invoice_id, done=finished)


def notify_warnings(screen: CrmScreen, warnings: Any) -> None:
    """Show what making a document warned about (characters no font could draw)."""
    for warning in warnings or ():
        screen.notify(warning, severity="warning", timeout=12)


def issue_invoice(screen: CrmScreen, invoice_id: int, done: Any) -> None:
    """Ask, then issue a draft: its number, date, lock and PDF; `done(bill_id)` after."""
    from screens.modals.confirm import ConfirmModal

    def issued(result: invoice_issue.Issued) -> None:
        screen.notify(_("Issued invoice {bill_id}").format(bill_id=result.bill_id))
        notify_warnings(screen, result.warnings)
        done(result.bill_id)

    def confirmed(yes: bool | None) -> None:
        if yes:
            screen.call_service(invoice_issue.issue, screen.session, invoice_id, done=issued)

    screen.app.push_screen(ConfirmModal(
        _("Issue invoice #{invoice_id}?").format(invoice_id=invoice_id),
        _("It takes the next number and today's date, is locked, and can then only be "
        "cancelled by a credit note.")), confirmed)


def credit_invoice(screen: CrmScreen, invoice_id: int, done: Any) -> None:
    """Ask which lines, then cancel an issued invoice by a credit note."""
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session
    fields = [field("lines", _("Lines to credit"), "",
                    help=_("line numbers such as 1,3; empty: the whole invoice"))]

    def submit(values: dict[str, str]) -> invoice_issue.Issued:
        from crm_tui.errors import ValidationFailed

        text = values.get("lines", "").strip()
        numbers = None
        if text:
            words = [w.strip() for w in text.split(",") if w.strip()]
            if not all(w.isdigit() for w in words):
                raise ValidationFailed.one("credit note", "lines", text,
                                           _("line numbers separated by commas, e.g. 1,3"))
            numbers = [int(w) for w in words]
        return invoice_issue.credit(session, invoice_id, numbers)

    def credited(result: invoice_issue.Issued | None) -> None:
        if result is not None:
            screen.notify(_("Issued credit note {bill_id}").format(bill_id=result.bill_id))
            notify_warnings(screen, result.warnings)
            done(result.bill_id)

    screen.app.push_screen(ServiceFormModal(
        _("Credit note for invoice #{invoice_id}").format(invoice_id=invoice_id), fields, submit,
        note=_("The credit note is issued at once in the credit-note series.")), credited)


def save_pdf(screen: CrmScreen, invoice_id: int) -> None:
    """Ask where, then write the invoice's PDF (or a ZIP with its attachments) there."""
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session

    def describe() -> list[dict[str, Any]]:
        name = documents_service.download_name(session, invoice_id)
        return [field("file", _("Save as"), str(Path.cwd() / name), required=True,
                      help=_("a name ending in .zip gets the PDF and the attachments"))]

    def submit(values: dict[str, str]) -> Path:
        return documents_service.save_invoice_download(session, invoice_id, values["file"])

    def saved(path: Path | None) -> None:
        if path is not None:
            screen.notify(_("Saved {path}").format(path=path))

    screen.app.push_screen(ServiceFormModal(_("Download invoice"), describe, submit), saved)


def start_pdf_batch(screen: CrmScreen) -> None:
    """Ask for a month and a folder, then render the month's PDFs with a progress bar."""
    from screens.modals.progress import ProgressModal, ProgressOutcome
    from screens.modals.service_form import ServiceFormModal, field

    session = screen.session
    month = session.clock.today().strftime("%Y-%m")
    fields = [
        field("month", _("Month"), month, required=True, help=_("YYYY-MM: invoices created then")),
        field("directory", "Folder", str(Path.cwd() / f"invoices-{month}"), required=True),
        field("store", _("Replace stored PDFs"), "0", kind="checkbox",
              help=_("also renew each invoice's own PDF (IM)")),
    ]

    def check(values: dict[str, str]) -> dict[str, str]:
        documents_service.month_range(values["month"])
        return values

    def chosen(values: dict[str, str] | None) -> None:
        if values is None:
            return

        def job(progress: Any, cancelled: Any) -> documents_service.BatchReport:
            return documents_service.pdf_batch(
                session, values["month"], values["directory"], store=values["store"] == "1",
                progress=lambda done, total, _bill: progress(done, total), cancelled=cancelled)

        def finished(outcome: ProgressOutcome | None) -> None:
            if outcome is None:
                return
            if outcome.error is not None:
                screen.show_error(outcome.error)
                return
            report = outcome.value
            severity = "warning" if report.failed or report.cancelled else "information"
            screen.notify(documents_service.describe(report), severity=severity, timeout=8)

        screen.app.push_screen(ProgressModal(_("Invoice PDFs of {month}").format(month=values['month']), job,
                                             unit="invoices"), finished)

    screen.app.push_screen(ServiceFormModal(_("PDF batch"), fields, check,
                                            note=_("One PDF per issued invoice of the month.")),
                           chosen)


# -- the list ----------------------------------------------------------------------------


class InvoicesScreen(RecordListScreen):
    """The invoices the user may see, searchable, with the lock and PDF keys."""

    KIND = "invoice"
    CSV_KIND = "invoices"
    SCREEN_TITLE = N_("4 Invoices")
    IMPORTABLE = False
    EMPTY_TEXT = N_("No invoices")
    AUTO_FOCUS = "#records"
    COLUMNS = COLUMNS
    FILTER_HINT = N_("bill ID/company words, type= status= created_from= total_min= contract=")

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("I", "issue_invoice", "Issue", id="invoice.issue",
                tooltip="Issue the draft: next number, today's date, lock and PDF"),
        Binding("C", "credit_invoice", "Credit", id="invoice.credit",
                tooltip="Cancel the issued invoice (or some lines) by a credit note"),
        Binding("L", "toggle_lock", "Lock/Unlock", id="invoice.lock",
                tooltip="Lock the invoice (IW, IM) or unlock it (IM)"),
        Binding("p", "invoice_pdf", "PDF", id="invoice.pdf",
                tooltip="Save the invoice as PDF (or ZIP with its attachments)"),
        Binding("b", "pdf_batch", "PDF batch", id="invoice.pdf_batch",
                tooltip="Render the PDFs of every Submitted invoice of a month"),
    ]
    """Invoice keys on top of the list keys."""

    def __init__(self, session: Session, **kwargs: Any) -> None:
        """Create the list for the acting user's session."""
        super().__init__(session, **kwargs)
        self._lock_states: dict[int, dict[str, bool]] = {}
        self._lock_refusals: dict[int, dict[str, str]] = {}
        self._lock_pending: set[int] = set()

    # -- key states from the services ---------------------------------------------------

    def _typing_filter(self) -> bool:
        focused = self.focused
        return isinstance(focused, Input) and isinstance(focused.parent, FilterBar)

    def extra_check(self, action: str, record_id: int | None) -> bool | None:
        """`L` is greyed unless the services let this user lock or unlock the row."""
        if action in ("toggle_lock", "invoice_pdf", "pdf_batch", "issue_invoice",
                      "credit_invoice") and self._typing_filter():
            return False
        if action in ("toggle_lock", "issue_invoice", "credit_invoice"):
            if record_id is None:
                return None
            state = self._lock_states.get(record_id)
            if state is None:
                self._load_lock_state(record_id)
                return None
            if action == "issue_invoice":
                return True if state.get("issue") else None
            if action == "credit_invoice":
                return True if state.get("credit") else None
            return True if state.get("lock") or state.get("unlock") else None
        if action == "invoice_pdf":
            return None if record_id is None else True
        return True

    def _load_lock_state(self, record_id: int) -> None:
        if record_id in self._lock_pending:
            return
        self._lock_pending.add(record_id)

        def loaded(answer: tuple[dict[str, bool], dict[str, str]]) -> None:
            self._lock_pending.discard(record_id)
            self._lock_states[record_id], self._lock_refusals[record_id] = answer
            self.refresh_bindings()

        def failed(error: BaseException) -> None:
            self._lock_pending.discard(record_id)
            self._lock_states[record_id] = {}

        self.call_service(_key_states, self.session, record_id, done=loaded,
                          failed=failed, group="permissions.lock")

    def refusal(self, action: str, parameters: tuple[object, ...]) -> str | None:
        """Issue, credit and lock keys greyed for want of a right say why when pressed."""
        key = {"issue_invoice": "issue", "credit_invoice": "credit",
               "toggle_lock": "lock"}.get(action)
        record_id = self.current_record_id()
        if key is not None and record_id is not None:
            return self._lock_refusals.get(record_id, {}).get(key)
        return super().refusal(action, parameters)

    def reload(self) -> None:
        """Read the list and the lock states again."""
        # The table forgets its rows while it reloads: ask for the row we are on now.
        record_id = self.current_record_id()
        self._lock_states.clear()
        self._lock_refusals.clear()
        super().reload()
        if record_id is not None:
            self._load_lock_state(record_id)

    # -- records ----------------------------------------------------------------------------

    def open_record(self, record_id: int) -> None:
        """Show the invoice's detail."""
        from screens.invoice_detail import InvoiceDetailScreen

        self.app.push_screen(InvoiceDetailScreen(self.session, record_id,
                                                 on_change=self.records_changed))

    def action_new_record(self) -> None:
        """The invoice form, with concepts and discounts."""
        open_invoice_form(self, None, self._saved)

    def edit_record(self, record_id: int) -> None:
        """Edit an invoice (warns first when the PDF will be replaced)."""
        open_invoice_form(self, record_id, self._saved)

    # -- invoice keys -----------------------------------------------------------------------

    def action_toggle_lock(self) -> None:
        """Lock or unlock the invoice under the cursor."""
        record_id = self.current_record_id()
        if record_id is not None:
            toggle_lock(self, record_id, lambda _locked: self.records_changed())

    def action_issue_invoice(self) -> None:
        """Issue the draft under the cursor."""
        record_id = self.current_record_id()
        if record_id is not None:
            issue_invoice(self, record_id, lambda _bill: self.records_changed())

    def action_credit_invoice(self) -> None:
        """Cancel the issued invoice under the cursor by a credit note."""
        record_id = self.current_record_id()
        if record_id is not None:
            credit_invoice(self, record_id, lambda _bill: self.records_changed())

    def action_invoice_pdf(self) -> None:
        """Save the invoice under the cursor as PDF or ZIP."""
        record_id = self.current_record_id()
        if record_id is not None:
            save_pdf(self, record_id)

    def action_pdf_batch(self) -> None:
        """Render a month of invoice PDFs in the background."""
        start_pdf_batch(self)

