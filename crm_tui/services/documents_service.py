"""Invoice documents: the PDF of record, downloads (PDF or ZIP) and monthly PDF batches."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm_tui import acl
from crm_tui.db import database, write_transaction
from crm_tui.documents import collect_warnings  # noqa: F401 - the faces show these warnings
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.i18n import _
from crm_tui.models import Attachment, Company, Invoice, InvoiceDiscount, InvoiceLine
from crm_tui.services import attachments, settings
from crm_tui.services.context import Session
from crm_tui.services.records import get_kind

log = logging.getLogger(__name__)

#: Called as progress(done, total, bill_id) after each PDF of a batch.
Progress = Callable[[int, int, str], None]

# A stored name attachments.pending_file generates: 32 hex digits and a short extension.
_STORED_NAME = re.compile(r"[0-9a-f]{32}(\.[a-z0-9]{1,8})?")


# --- plain data for the documents layer ------------------------------------------------


def _amounts(model: type, invoice_ids: list[int]) -> dict[int, list[dict]]:
    """Lines or discounts of many invoices in one query per 500: {invoice id: [{…}]}."""
    out: dict[int, list[dict]] = {}
    for start in range(0, len(invoice_ids), 500):
        query = (model.select(model.invoice, model.description, model.amount, model.tax_rate)
                 .where(model.invoice.in_(invoice_ids[start:start + 500]))
                 .order_by(model.invoice, model.position, model.id).tuples())
        for invoice_id, description, amount, rate in query:
            out.setdefault(invoice_id, []).append(
                {"description": description, "amount": amount, "tax_rate": rate})
    return out


def _invoice_dict(invoice: Invoice, lines: list[dict], discounts: list[dict]) -> dict[str, Any]:
    """What the invoice PDF prints (never the internal note)."""
    return {
        "bill_id": invoice.bill_id,
        "type": invoice.type,
        "reference": invoice.reference,
        "status": invoice.status,
        "created": invoice.created,
        "issued": invoice.issued,
        "credit_of": (Invoice.get_by_id(invoice.credit_of_id).bill_id
                      if invoice.credit_of_id else None),
        "expires": invoice.expires,
        "paid_on": invoice.paid_on,
        "currency": invoice.currency,
        "language": invoice.language,
        "description": invoice.description,
        "lines": lines,
        "discounts": discounts,
        "tax_rate": invoice.tax_rate,
        "withholding_rate": invoice.withholding_rate,
    }


def _company_dict(company: Company) -> dict[str, Any]:
    return {"name": company.name, "fiscal_id": company.fiscal_id,
            "address": company.address, "country": company.country}


def invoice_data(invoice_id: int) -> tuple[dict, dict]:
    """The plain (invoice, company) dicts an invoice PDF is made from (no access check)."""
    invoice = Invoice.get_by_id(invoice_id)
    lines = _amounts(InvoiceLine, [invoice_id]).get(invoice_id, [])
    discounts = _amounts(InvoiceDiscount, [invoice_id]).get(invoice_id, [])
    return _invoice_dict(invoice, lines, discounts), _company_dict(invoice.company)


_TEXT_KEYS = ("header", "tax_name", "payment_methods", "footer", "currency")


def seller() -> dict[str, str]:
    """Our company as printed on every invoice and contract (settings `seller.*`)."""
    stored = settings.values("seller.")
    return {key: stored.get(f"seller.{key}", "")
            for key in ("name", "fiscal_id", "address", "country")}


def pdf_settings() -> dict[str, Any]:
    """The invoice settings the PDF prints: header, tax name, payment methods, footer (each
    also per language, e.g. "tax_name.es"), currency, and the seller."""
    stored = settings.values("invoice.")
    config: dict[str, Any] = {key: stored.get(f"invoice.{key}", "") for key in _TEXT_KEYS}
    for key, value in stored.items():
        name = key.removeprefix("invoice.")
        if name.split(".")[0] in _TEXT_KEYS and "." in name:
            config[name] = value
    config["seller"] = seller()
    return config


def invoice_template() -> str | None:
    """The user's invoice template (setting `invoice.template`), None for the shipped one."""
    text = settings.raw_value("invoice.template", "")
    return text if text.strip() else None


def fallback_fonts() -> bool:
    """Whether documents may use a system font for what DejaVu cannot draw."""
    return settings.raw_value("documents.fallback_font", "auto") != "none"


def invoice_template_problem(template: str) -> str | None:
    """Why an invoice template cannot be used (rendered and laid out with sample data), in
    one line, or None when it renders."""
    from crm_tui.documents import DocumentError
    from crm_tui.documents.fonts import shared_font_cache
    from crm_tui.documents.invoice_pdf import render_invoice_pdf, sample_invoice

    invoice, customer, config = sample_invoice()
    try:
        render_invoice_pdf(invoice, customer, config, font_cache=shared_font_cache(),
                           template=template, fallback=False)
    except DocumentError as exc:
        return str(exc)
    return None


def logo_bytes() -> bytes | None:
    """The configured logo, only ever a file stored in the CRM.

    `invoice.logo` names an attachment by id (or by its stored name); any other value
    (a path, a URL) is ignored, so no file from outside is ever opened as given.
    """
    ref = settings.raw_value("invoice.logo", "").strip()
    if not ref:
        return None
    stored = None
    if ref.isdigit():
        row = Attachment.get_or_none(Attachment.id == int(ref))
        stored = row.stored_name if row is not None else None
    elif _STORED_NAME.fullmatch(ref):
        stored = ref
    if stored is None:
        log.warning("invoice.logo %r is not an attachment stored in the CRM; no logo", ref)
        return None
    try:
        return attachments.path_of(stored).read_bytes()
    except OSError as exc:
        log.warning("invoice logo unreadable: %s", exc)
        return None


@dataclass
class Look:
    """Everything an invoice PDF takes from settings, read once (per batch)."""

    config: dict[str, Any]
    logo: bytes | None
    template: str | None
    fallback: bool

    @classmethod
    def current(cls) -> Look:
        return cls(pdf_settings(), logo_bytes(), invoice_template(), fallback_fonts())


def _render(invoice: dict, company: dict, font_cache: Any = None,
            look: Look | None = None) -> bytes:
    from crm_tui.documents.invoice_pdf import render_invoice_pdf

    look = look or Look.current()
    return render_invoice_pdf(invoice, company, look.config, logo_bytes=look.logo,
                              font_cache=font_cache, template=look.template,
                              fallback=look.fallback)


def pdf_name(bill_id: str) -> str:
    """The file name of an invoice's PDF: "invoice-15_1000.pdf"."""
    from crm_tui.documents.bundle import safe_archive_name

    return safe_archive_name(f"invoice-{bill_id}.pdf")


# --- the stored PDF of a Submitted invoice ---------------------------------------------


def _generated(invoice_id: int) -> list[Attachment]:
    return list(Attachment.select().where(
        Attachment.owner_kind == "invoice", Attachment.owner_id == invoice_id,
        Attachment.generated == True).order_by(Attachment.id))  # noqa: E712


def has_generated_pdf(session: Session, invoice_id: int | str) -> bool:
    """True when the invoice already has a generated PDF (a new save will replace it)."""
    invoice = get_kind("invoice").load(session, invoice_id)
    return bool(_generated(invoice.id))


def replace_warning(session: Session, invoice_id: int | str,
                    values: dict[str, str] | None = None) -> str | None:
    """The warning to show before an edit replaces the invoice's PDF, or None.

    `values` are the form's values: an invoice that stays (or becomes) Submitted and
    already has a generated PDF gets a new one when saved.
    """
    invoice = get_kind("invoice").load(session, invoice_id)
    new_type = (values or {}).get("type") or invoice.type
    # An issued invoice keeps the PDF it was issued with; a draft has none yet.
    if new_type != "submitted" or invoice.issued is not None or not _generated(invoice.id):
        return None
    return _("Saving replaces the PDF of invoice {bill_id} with a new one. Continue?").format(
        bill_id=invoice.bill_id)


def refresh_invoice_pdf(session: Session, invoice_id: int, *, font_cache: Any = None) -> int | None:
    """Render a Submitted invoice's PDF and store it as its newest version (replacing that
    version, never the earlier ones: the PDF of issue is kept).

    Called after an invoice save has committed (never inside the save's transaction, so a
    rolled-back save cannot leave a file behind). Returns the new attachment id, or None
    when nothing was stored (not Submitted, gone, or changed meanwhile).
    """
    invoice = Invoice.get_or_none(Invoice.id == invoice_id)
    if invoice is None or invoice.type != "submitted" or invoice.issued is None:
        return None
    data = invoice_data(invoice_id)
    return _store_generated(session, invoice_id, invoice.bill_id, data,
                            _render(*data, font_cache))


def version_state(name: str) -> str:
    """The payment state a stored PDF version shows, from its name: "paid", "cancelled",
    else "pending" (the PDF of issue carries no mark)."""
    stem = name.rsplit(".", 1)[0]
    for state in ("paid", "cancelled", "pending"):
        if stem.endswith(f"-{state}"):
            return state
    return "pending"


def status_version(session: Session, invoice_id: int) -> int | None:
    """After an issued invoice's payment status changed: a new PDF version showing it (a
    "PAID" / "CANCELLED" mark), stored beside the earlier versions, which are all kept
    (the first is the PDF of issue). Nothing when the newest version already shows the
    status. Returns the new attachment id or None.

    Called once the change has committed; a PDF that cannot be made is logged (the status
    change itself stands).
    """
    from crm_tui.documents import DocumentError

    invoice = Invoice.get_or_none(Invoice.id == invoice_id)
    if invoice is None or invoice.type != "submitted" or invoice.issued is None:
        return None
    versions = _generated(invoice_id)
    state = invoice.status if invoice.status in ("paid", "cancelled") else "pending"
    if not versions or version_state(versions[-1].original_name) == state:
        return None
    data = invoice_data(invoice_id)
    name = pdf_name(invoice.bill_id)[:-4] + f"-{state}.pdf"
    try:
        return _store_generated(session, invoice_id, invoice.bill_id, data, _render(*data),
                                name=name, replace=False)
    except (DocumentError, OSError) as exc:
        log.warning("invoice %s is %s, but its new PDF could not be made: %s",
                    invoice.bill_id, state, exc)
        return None


def pdf_versions(session: Session, bill_id_or_id: str | int) -> list[dict]:
    """An issued invoice's PDF versions, oldest first: [{id, name, state, created}]. The
    download gives the newest; `crm attachment save ID` any of them."""
    invoice = get_kind("invoice").load(session, bill_id_or_id)
    return [{"id": a.id, "name": a.original_name, "state": version_state(a.original_name),
             "created": a.created} for a in _generated(invoice.id)]


def _store_generated(session: Session, invoice_id: int, bill_id: str,
                     data: tuple[dict, dict], pdf: bytes, *, name: str | None = None,
                     replace: bool = True) -> int | None:
    """Store a rendered PDF as the invoice's newest generated version.

    With `replace`, it takes the place of the newest version (same name); else it is added
    beside the earlier ones. The new file is written under a temporary name first, then one
    transaction swaps the attachment rows; the old file is removed only after that commits,
    and any failure removes the new file again.
    If the invoice no longer matches `data` (another save changed it while this one
    rendered), this PDF is stale and dropped: that save stores its own.
    """
    old: list[str] = []
    try:
        previous = _generated(invoice_id)[-1:] if replace else []
        if name is None:
            name = previous[0].original_name if previous else pdf_name(bill_id)
        with attachments.pending_file(pdf, name) as stored, write_transaction():
            current = Invoice.get_or_none(Invoice.id == invoice_id)
            if current is None or current.type != "submitted" or invoice_data(invoice_id) != data:
                raise _Stale
            previous = _generated(invoice_id)[-1:] if replace else []
            old = [a.stored_name for a in previous]
            if previous:
                Attachment.delete().where(Attachment.id.in_([a.id for a in previous])).execute()
            row = Attachment.create(
                owner_kind="invoice", owner_id=invoice_id, original_name=name,
                stored_name=stored, content_type="application/pdf", size=len(pdf),
                author=session.login, created=session.clock.now(), generated=True)
    except _Stale:
        return None
    for stale in old:
        attachments.path_of(stale).unlink(missing_ok=True)
    return row.id


class _Stale(Exception):
    """The invoice changed while its PDF was rendered: that PDF is dropped."""


# --- downloads ---------------------------------------------------------------------------


def invoice_pdf(session: Session, bill_id_or_id: str | int) -> tuple[str, bytes]:
    """The invoice's PDF (file name, bytes): the stored one of record, else a fresh render.

    Raises:
        NotFound, PermissionDenied.
    """
    invoice = get_kind("invoice").load(session, bill_id_or_id)
    label = get_kind("invoice").label(invoice)
    if invoice.type == "received":
        return _supplier_document(invoice, label)
    if invoice.issued is None:
        raise ValidationFailed.one(label, "issued", "", _(
            "is a draft and has no PDF yet; issue it first (crm invoice issue {id})").format(
                id=invoice.id))
    for att in reversed(_generated(invoice.id)):
        try:
            return att.original_name, attachments.path_of(att.stored_name).read_bytes()
        except OSError:
            log.warning("stored PDF of invoice %s is missing; rendering it again",
                        invoice.bill_id)
    return pdf_name(invoice.bill_id), _render(*invoice_data(invoice.id))


def _supplier_document(invoice: Invoice, label: str) -> tuple[str, bytes]:
    """A Received invoice's own document: the supplier's file attached to it (the last
    PDF, else the last file); the CRM never makes one."""
    files = list(Attachment.select().where(
        Attachment.owner_kind == "invoice", Attachment.owner_id == invoice.id,
        Attachment.generated == False).order_by(Attachment.id))  # noqa: E712
    files.sort(key=lambda a: (a.original_name.lower().endswith(".pdf"), a.id))
    for att in reversed(files):
        try:
            return att.original_name, attachments.path_of(att.stored_name).read_bytes()
        except OSError:
            log.warning("attachment %s of %s is missing from files/", att.id, label)
    raise ValidationFailed.one(label, "attachments", "", _(
        "is a Received invoice: the CRM makes no PDF of it, and no supplier document is "
        "attached (crm attach invoice {id} FILE)").format(id=invoice.id))


def invoice_attachments(session: Session, bill_id_or_id: str | int) -> list[dict]:
    """The files attached to an invoice by people (not its generated PDF)."""
    invoice = get_kind("invoice").load(session, bill_id_or_id)
    query = Attachment.select().where(
        Attachment.owner_kind == "invoice", Attachment.owner_id == invoice.id,
        Attachment.generated == False).order_by(Attachment.id)  # noqa: E712
    return [{"id": a.id, "name": a.original_name, "size": a.size, "stored": a.stored_name}
            for a in query]


def invoice_download(session: Session, bill_id_or_id: str | int,
                     as_zip: bool | None = None) -> tuple[str, bytes]:
    """The invoice for download: the PDF alone, or a ZIP of the PDF and its attachments.

    `as_zip` None means: a ZIP when there are attachments, else the PDF.

    Raises:
        NotFound, PermissionDenied.
    """
    from crm_tui.documents.bundle import zip_bundle

    name, pdf = invoice_pdf(session, bill_id_or_id)
    files = invoice_attachments(session, bill_id_or_id)
    invoice = get_kind("invoice").load(session, bill_id_or_id)
    if invoice.type == "received":
        # The supplier's document is the main file; the ZIP carries it once.
        files = [f for f in files if f["name"] != name]
        name = pdf_name(invoice.bill_id)[:-4] + "-" + name if as_zip or files else name
    if as_zip is None:
        as_zip = bool(files)
    if not as_zip:
        return name, pdf
    members = []
    for item in files:
        try:
            members.append((item["name"], attachments.path_of(item["stored"]).read_bytes()))
        except OSError:
            log.warning("attachment %s (%s) is missing from files/", item["id"], item["name"])
    zip_name = name.rsplit(".", 1)[0] + ".zip"
    return zip_name, zip_bundle(name, pdf, members, when=session.clock.now())


def download_name(session: Session, bill_id_or_id: str | int) -> str:
    """The file name a download gets: the PDF's, or a .zip when there are attachments."""
    invoice = get_kind("invoice").load(session, bill_id_or_id)
    if invoice.type == "received" or invoice.issued is None:
        return invoice_download(session, invoice.id)[0]
    name = pdf_name(invoice.bill_id)
    return name[:-4] + ".zip" if invoice_attachments(session, invoice.id) else name


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file whole or not at all (a temporary file renamed over the target)."""
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent or ".", prefix=".crm-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def save_invoice_download(session: Session, bill_id_or_id: str | int, target: str | Path) -> Path:
    """Write the invoice's PDF to `target`, or a ZIP of PDF + attachments if it ends in .zip.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (the target cannot be written).
    """
    path = Path(target).expanduser()
    _name, data = invoice_download(session, bill_id_or_id, path.suffix.lower() == ".zip")
    try:
        write_atomically(path, data)
    except OSError as exc:
        raise ValidationFailed.one("invoice download", "file", str(target),
                                   exc.strerror or str(exc)) from None
    return path


# --- batches -------------------------------------------------------------------------------


@dataclass
class BatchReport:
    """What a PDF batch did."""

    total: int = 0
    written: list[Path] = field(default_factory=list)
    stored: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    cancelled: bool = False


def month_range(month: str) -> tuple[str, str]:
    """First and last day (ISO) of a `YYYY-MM` month.

    Raises:
        ValidationFailed: not a month.
    """
    import calendar

    match = re.fullmatch(r"(\d{4})-(\d{2})", (month or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise ValidationFailed.one("invoice batch", "month", month,
                                   _("use YYYY-MM, e.g. 2026-01"))
    year, number = int(match.group(1)), int(match.group(2))
    last = calendar.monthrange(year, number)[1]
    return f"{year:04d}-{number:02d}-01", f"{year:04d}-{number:02d}-{last:02d}"


@contextlib.contextmanager
def own_connection() -> Iterator[None]:
    """A database connection for this thread (a worker's), closed again only if opened here."""
    opened = database.is_closed()
    if opened:
        database.connect()
    try:
        yield
    finally:
        if opened and not database.is_closed():
            database.close()


def batch_invoice_ids(session: Session, month: str) -> list[int]:
    """The issued Submitted invoices of a month the user may see, by creation date."""
    first, last = month_range(month)
    kind = get_kind("invoice")
    query = kind.query(session, {"created_from": first, "created_to": last, "state": "issued"})
    return [i for (i,) in query.select(Invoice.id).order_by(Invoice.created, Invoice.id).tuples()]


def pdf_batch(
    session: Session,
    month: str,
    out_dir: str | Path | None,
    *,
    store: bool = False,
    progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> BatchReport:
    """Render the PDFs of every Submitted invoice of a month, in one run.

    Writes `<invoice-bill>.pdf` files into `out_dir` (when given) and, with `store`, replaces
    each invoice's stored PDF (IM or superadmin). One parsed font serves the whole batch and
    data is read in bulk. Runs on any thread (it opens its own connection there); reports
    after each invoice and stops early when `cancelled()` says so.

    Raises:
        ValidationFailed: bad month, or the directory cannot be used.
        PermissionDenied: `store` without IM.
    """
    from crm_tui.documents import DocumentError
    from crm_tui.documents.fonts import shared_font_cache

    if store and not (acl.is_admin(session.user) or acl.has(session.user, "IM")):
        raise PermissionDenied(_("{login} may not regenerate stored invoice PDFs").format(
            login=session.login))
    target = Path(out_dir).expanduser() if out_dir is not None else None
    if target is not None:
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ValidationFailed.one("invoice batch", "directory", str(out_dir),
                                       exc.strerror or str(exc)) from None
    report = BatchReport()
    with own_connection():
        ids = batch_invoice_ids(session, month)
        report.total = len(ids)
        look = Look.current()
        cache = shared_font_cache()
        done = 0
        for start in range(0, len(ids), 200):
            chunk = ids[start:start + 200]
            invoices = {i.id: i for i in Invoice.select().where(Invoice.id.in_(chunk))}
            company_ids = {i.company_id for i in invoices.values()}
            companies = {c.id: c for c in Company.select().where(Company.id.in_(company_ids))}
            lines = _amounts(InvoiceLine, chunk)
            discounts = _amounts(InvoiceDiscount, chunk)
            for invoice_id in chunk:
                if cancelled is not None and cancelled():
                    report.cancelled = True
                    return report
                invoice = invoices[invoice_id]
                data = (_invoice_dict(invoice, lines.get(invoice_id, []),
                                      discounts.get(invoice_id, [])),
                        _company_dict(companies[invoice.company_id]))
                try:
                    pdf = _render(*data, cache, look)
                    if target is not None:
                        path = target / pdf_name(invoice.bill_id)
                        write_atomically(path, pdf)
                        report.written.append(path)
                    if store and _store_generated(session, invoice_id, invoice.bill_id, data,
                                                  pdf) is not None:
                        report.stored += 1
                except (DocumentError, OSError) as exc:
                    report.failed.append((invoice.bill_id, str(exc)))
                done += 1
                if progress is not None:
                    progress(done, report.total, invoice.bill_id)
    return report


def describe(report: BatchReport) -> str:
    """One line saying what a batch did."""
    parts = [f"{len(report.written)} of {report.total} PDFs written"]
    if report.stored:
        parts.append(f"{report.stored} stored")
    if report.failed:
        parts.append(f"{len(report.failed)} failed ({report.failed[0][0]}: "
                     f"{report.failed[0][1]})")
    if report.cancelled:
        parts.append("cancelled")
    return ", ".join(parts)

