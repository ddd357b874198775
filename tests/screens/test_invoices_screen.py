"""Screen 4 driven by keys: the lock key, the PDF replace warning, forms, downloads."""

from __future__ import annotations

import zipfile

import pytest

from crm_tui.services import documents_service, invoices
from crm_tui.services.records import get_kind

MANUAL = {"lines": [{"description": "Annual support", "amount": "2400"}],
          "discounts": [{"description": "promotion", "amount": "240"}], "tax_rate": "21"}


async def settle(pilot, rounds: int = 4) -> None:
    """Let service threads finish and their results reach the screen."""
    for _ in range(rounds):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def binding_state(screen, key: str):
    """(present, enabled) of a key in the screen's active bindings."""
    active = screen.active_bindings.get(key)
    return (active is not None, active.enabled if active is not None else None)


async def open_invoices(app, pilot):
    await pilot.press("4")
    await settle(pilot)
    assert type(app.screen).__name__ == "InvoicesScreen"
    app.screen.query_one("#records").focus()
    await settle(pilot)
    return app.screen


@pytest.fixture
def clerks(world):
    """user1 becomes an invoice clerk (IW) and manager1 an invoice manager (IM, and CM to
    modify the companies of his colleagues)."""
    admin = world.session("admin")
    get_kind("user").update(admin, "user1", {"profiles": "Invoice clerk"})
    get_kind("user").update(admin, "manager1", {"profiles": "Invoice manager,CRM manager"})
    get_kind("company").update(admin, world.cid("Customer #A"), {"manager": "user1"})
    return world


async def test_lock_key_greyed_for_iw_on_a_submitted_invoice(clerks, clock):
    from crm_tui.app import make_app

    world = clerks
    with invoices.deferred_pdfs():
        invoice_id = get_kind("invoice").create(world.session("user1"), {
            "company": str(world.cid("Customer #A")), **MANUAL})
    app = make_app(world.session("user1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_invoices(app, pilot)
        assert screen.current_record_id() == invoice_id
        assert binding_state(screen, "L") == (True, False)  # shown, greyed
        await pilot.press("L")
        await settle(pilot)
        assert get_kind("invoice").get(world.session("admin"), invoice_id)["locked"] is True
        # Editing is greyed too: IW sees Submitted invoices read-only.
        assert binding_state(screen, "e") == (True, False)

    # The invoice manager of the same company may unlock it with the same key.
    app = make_app(world.session("manager1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_invoices(app, pilot)
        assert binding_state(screen, "L") == (True, True)
        await pilot.press("L")
        await settle(pilot)
        row = get_kind("invoice").get(world.session("admin"), invoice_id)
        assert row["locked"] is False
        await settle(pilot)
        assert binding_state(screen, "L") == (True, True)  # now he may lock it again


async def test_edit_warns_before_replacing_the_pdf(world, clock, data_dir):
    from crm_tui.app import make_app

    admin = world.session("admin")
    invoice_id = get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                                    **MANUAL})
    first_pdf = documents_service._generated(invoice_id)[0].stored_name
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_invoices(app, pilot)
        await pilot.press("e")
        await settle(pilot)
        app.screen.form.focus_field("reference")
        await pilot.press(*"PO-9")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"
        assert "replaces the PDF" in app.screen.question
        await pilot.press("n")  # back to the form, nothing saved
        await settle(pilot)
        assert type(app.screen).__name__ == "ServiceFormModal"
        assert get_kind("invoice").get(admin, invoice_id)["reference"] == ""
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, 6)
        assert app.screen is screen
    assert get_kind("invoice").get(admin, invoice_id)["reference"] == "PO-9"
    stored = documents_service._generated(invoice_id)
    assert len(stored) == 1 and stored[0].stored_name != first_pdf
    assert not (data_dir / "files" / first_pdf).exists()


async def test_new_invoice_with_concepts_from_the_form(world, clock):
    from crm_tui.app import make_app

    admin = world.session("admin")
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert type(modal).__name__ == "ServiceFormModal"
        form = modal.form
        form.input_for("company").value = str(world.cid("Customer #B"))
        form.focus_field("lines")
        await pilot.press(*"2400 Annual support")
        form.focus_field("discounts")
        await pilot.press(*"240 promotion")
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert type(app.screen).__name__ == "InvoicesScreen"
    rows = get_kind("invoice").list(admin)
    assert [(r["bill_id"], r["total"], r["locked"]) for r in rows] == [
        ("15/1000", "2613.60", True)]


async def test_bad_concept_line_is_shown_in_the_form(world, clock):
    from crm_tui.app import make_app

    app = make_app(world.session("admin"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        form = app.screen.form
        form.input_for("company").value = str(world.cid("Customer #B"))
        form.focus_field("lines")
        await pilot.press(*"Support 2400")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "ServiceFormModal"
        assert "lines[1]" in form.errors.get("lines", "")
    assert get_kind("invoice").list(world.session("admin")) == []


async def test_pdf_key_saves_a_zip_with_attachments(world, clock, tmp_path, monkeypatch):
    from crm_tui.app import make_app
    from crm_tui.services import attachments

    admin = world.session("admin")
    invoice_id = get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                                    **MANUAL})
    attachments.add(admin, "invoice", invoice_id, "order.txt", b"PO")
    monkeypatch.chdir(tmp_path)
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("p")
        await settle(pilot)
        assert app.screen.form.values()["file"] == str(tmp_path / "invoice-15_1000.zip")
        await pilot.press("ctrl+s")
        await settle(pilot)
    with zipfile.ZipFile(tmp_path / "invoice-15_1000.zip") as archive:
        assert archive.namelist() == ["invoice-15_1000.pdf", "order.txt"]


async def test_pdf_batch_runs_with_a_progress_bar(world, clock, tmp_path, monkeypatch):
    from crm_tui.app import make_app

    admin = world.session("admin")
    with invoices.deferred_pdfs():
        for _ in range(3):
            get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                               **MANUAL})
    monkeypatch.chdir(tmp_path)
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("b")
        await settle(pilot)
        assert app.screen.form.values()["month"] == "2026-01"
        await pilot.press("ctrl+s")
        await settle(pilot, 10)
        assert type(app.screen).__name__ == "InvoicesScreen"
    written = sorted(p.name for p in (tmp_path / "invoices-2026-01").iterdir())
    assert written == ["invoice-15_1000.pdf", "invoice-15_1001.pdf", "invoice-15_1002.pdf"]


async def test_detail_screen_shows_totals_and_greys_keys(clerks, clock):
    from crm_tui.app import make_app

    world = clerks
    with invoices.deferred_pdfs():
        get_kind("invoice").create(world.session("user1"), {
            "company": str(world.cid("Customer #A")), **MANUAL})
    app = make_app(world.session("user1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "InvoiceDetailScreen"
        text = " ".join(str(w.render()) for w in screen.query("Static"))
        assert "2613.60 EUR" in text and "453.60 EUR" in text and "Annual support" in text
        assert "locked by user1" in screen.screen_title()
        for key in ("e", "d", "L"):
            assert binding_state(screen, key) == (True, False), key
        assert binding_state(screen, "p") == (True, True)
        assert binding_state(screen, "w") == (True, False)  # no PDF yet, no files
