"""Invoice PDFs per second in a monthly batch, against fpdf2's minimal one-page document.

Usage: python bench/invoice_pdf.py [--invoices N] [--baseline K]

A fresh, migrated SQLite database gets N Submitted invoices of one month (two concepts, a
discount, 21 % tax, a Greek or Cyrillic customer name). The batch is the real use case,
`documents_service.pdf_batch` (data read in bulk, one parsed font for the batch, each PDF
written to a directory), timed from the call to the last file.

Baselines in the same run, each timed over K documents of plain fpdf2:
- "minimal, shipped font": FPDF(), add_font(DejaVu Sans), add_page, one cell, output().
  Every CRM PDF must print any Unicode, so this is the like-for-like floor (goal: the batch
  makes at least 0.5x as many documents per second);
- "minimal, core font": the same with Helvetica, which prints Latin-1 only; shown for
  scale, not as the goal.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MONTH = "2026-01"


def seed(count: int) -> None:
    """N issued invoices in January 2026 (PDFs deferred: the batch makes them)."""
    import datetime as dt

    from crm_tui.models import User
    from crm_tui.services import invoice_issue, invoices
    from crm_tui.services.context import FrozenClock, Session
    from crm_tui.services.records import get_kind

    admin = Session(User.get(User.login == "admin"), FrozenClock(dt.datetime(2026, 1, 31, 12)))
    names = ["Ελληνική Εταιρεία Α.Ε.", "Компания Ромашка", "Müller & Söhne GmbH",
             "Société Générale de Café"]
    companies = [get_kind("company").create(admin, {"name": n, "fiscal_id": f"X-{i}",
                                                     "address": "Calle Mayor 1\n28013 Madrid",
                                                     "country": "Spain"})
                 for i, n in enumerate(names)]
    kind = get_kind("invoice")
    with invoices.deferred_pdfs():
        for n in range(count):
            draft = kind.create(admin, {
                "company": str(companies[n % len(companies)]),
                "created": f"2026-01-{n % 28 + 1:02d}",
                "language": ("en", "es")[n % 2],
                "reference": f"PO-{n:05d}",
                "description": "Support and maintenance, January 2026",
                "tax_rate": "21",
                "lines": [{"description": "Annual support", "amount": "2400"},
                          {"description": "On-site visit", "amount": f"{100 + n % 50}.50"}],
                "discounts": [{"description": "promotion", "amount": "240"}],
            })
            invoice_issue.issue(admin, draft)  # the batch renders issued invoices


def minimal(count: int, ttf: bool) -> float:
    """Seconds for `count` minimal one-page documents of plain fpdf2."""
    from fpdf import FPDF

    from crm_tui.documents.fonts import FACES

    start = time.perf_counter()
    for _ in range(count):
        pdf = FPDF()
        if ttf:
            pdf.add_font("dejavu", "", str(FACES[""]))
        pdf.add_page()
        pdf.set_font("dejavu" if ttf else "helvetica", size=12)
        pdf.cell(0, 10, "Hello")
        pdf.output()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, default=500)
    parser.add_argument("--baseline", type=int, default=50,
                        help="documents per baseline (the shipped-font one is slow)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CRM_DATA_DIR"] = tmp
        from crm_tui.models import User
        from crm_tui.services import documents_service
        from crm_tui.services.context import Session
        from crm_tui.services.database import open_and_prepare

        open_and_prepare(str(Path(tmp) / "crm.sqlite3"))
        print(f"seeding {args.invoices} invoices…", file=sys.stderr)
        seed(args.invoices)
        admin = Session(User.get(User.login == "admin"))

        ttf = minimal(args.baseline, ttf=True) / args.baseline
        core = minimal(args.baseline * 10, ttf=False) / (args.baseline * 10)

        out = Path(tmp) / "out"
        start = time.perf_counter()
        report = documents_service.pdf_batch(admin, MONTH, out)
        batch = time.perf_counter() - start
        assert len(report.written) == args.invoices and not report.failed, report

    per_doc = batch / args.invoices
    print(f"batch of {args.invoices} invoice PDFs: {batch:.1f} s, "
          f"{1 / per_doc:.2f} PDFs/s ({per_doc * 1000:.0f} ms each)")
    print(f"fpdf2 minimal one-page, shipped font: {1 / ttf:.2f} docs/s "
          f"({ttf * 1000:.0f} ms each)")
    print(f"fpdf2 minimal one-page, core font:    {1 / core:.1f} docs/s "
          f"({core * 1000:.1f} ms each)")
    ratio = ttf / per_doc
    print(f"ratio vs minimal (shipped font): {ratio:.2f}x  (goal >= 0.5x: "
          f"{'met' if ratio >= 0.5 else 'NOT met'})")
    print(f"ratio vs minimal (core font):    {core / per_doc:.3f}x  (for scale)")


if __name__ == "__main__":
    main()
