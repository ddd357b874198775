"""The contract and invoice details, driven by keys: amounts and dates read in the user's
language (babel), times in the local zone, and `d` deletes the record and goes back."""

from __future__ import annotations

import time

import pytest

from crm_tui import i18n
from crm_tui.services import contract_billing, contracts, invoice_issue, invoices
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, settle


@pytest.fixture
def spanish_in_madrid(monkeypatch):
    """The user reads Spanish; the machine's zone is Madrid (UTC+1 in January)."""
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    i18n.override_language("es")
    yield
    i18n.clear_override()
    i18n.set_language(i18n.SOURCE_LANGUAGE)
    monkeypatch.undo()
    time.tzset()


def texts(screen, selector: str = "Static") -> str:
    """Every text the screen's widgets matching `selector` show, in one string."""
    return " | ".join(str(widget.render()) for widget in screen.query(selector))


async def test_contract_and_invoice_details_read_in_spanish(world, spanish_in_madrid,
                                                           tmp_path):
    admin = world.session("admin")
    company = str(world.cid("Customer #A"))
    contract = get_kind("contract").create(admin, {"name": "Soporte", "company": company,
                                                   "date_begin": "2026-03-04"})
    contract_billing.set_lines(admin, contract, [{"description": "Cuota",
                                                  "amount": "1234.56", "tax_rate": "21"}])
    with invoices.deferred_pdfs():
        invoice = get_kind("invoice").create(admin, {
            "company": company, "lines": [{"description": "Cuota", "amount": "1234.56"}]})
        invoice_issue.issue(admin, invoice)  # on the frozen clock: 2026-01-15
    contracts.add_invoices(admin, contract, "15/1000")
    document = tmp_path / "acta.txt"
    document.write_text("firmado")
    contracts.attach_file(admin, contract, str(document))  # at 09:30 UTC

    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        app.screen.query_one("#records").focus()
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert type(detail).__name__ == "ContractDetailScreen"
        details = texts(detail, "#details Static")
        # The begin date day first, the recurring line's amount with a decimal comma.
        assert "4/3/2026" in details and "1.234,56" in details
        assert "1234.56" not in details and "2026-03-04" not in details

        await pilot.press("right_square_bracket")  # the related invoices
        await settle(pilot)
        row = detail.invoices_table.get_row(0)
        assert row is not None and row[1][0] == "15/1000"
        assert "15/1/2026" in row[1] and "1.493,82" in row[1]  # created, total
        # Its type and status, stored in English, read in Spanish.
        assert "emitida" in row[1] and "pendiente de pago" in row[1]
        assert "submitted" not in row[1] and "pending" not in row[1]

        await pilot.press("right_square_bracket")  # the files
        await settle(pilot)
        # Attached at 09:30 UTC: 10:30 in Madrid, on a 24-hour clock.
        assert "15/1/2026 10:30" in texts(detail, "#files Static")

        await pilot.press("left_square_bracket")
        await settle(pilot)
        detail.invoices_table.focus()
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "InvoiceDetailScreen"
        shown = texts(screen)
        # Spanish puts the euro after the amount, past a no-break space.
        assert all(f"{amount}\xa0€" in shown for amount in ("1.234,56", "259,26", "1.493,82"))
        # The Issued row: the Spanish label, the date day first.
        assert "Emitida | 15/1/2026" in shown
        assert "Tipo | emitida" in shown and "Estado | pendiente de pago" in shown
        assert "2026-01-15" not in shown and "1234.56" not in shown


@pytest.mark.parametrize(("key", "kind", "list_screen"), [
    ("3", "contract", "ContractsScreen"), ("4", "invoice", "InvoicesScreen")])
async def test_delete_key_on_a_detail_deletes_and_goes_back(world, key, kind, list_screen):
    admin = world.session("admin")
    company = str(world.cid("Customer #A"))
    if kind == "contract":
        record = get_kind("contract").create(admin, {"name": "Caduco", "company": company})
        said = "Deleted contract 'Caduco'"
    else:
        with invoices.deferred_pdfs():
            record = get_kind("invoice").create(admin, {
                "company": company, "lines": [{"description": "Cuota", "amount": "10"}]})
        said = f"Deleted invoice #{record}"
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        app.screen.query_one("#records").focus()
        await pilot.press("enter")
        await settle(pilot)
        assert type(app.screen).__name__ == f"{kind.capitalize()}DetailScreen"
        assert app.screen.record_id == record
        await pilot.press("d")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("y")
        await settle(pilot)
        assert type(app.screen).__name__ == list_screen
        assert app.said(said)
    assert not get_kind(kind).query(admin).where(
        get_kind(kind).model.id == record).exists()
