"""Screen 4 driven by keys: issue and credit keys, the lock key, forms, downloads."""

from __future__ import annotations

import zipfile

import pytest

from crm_tui.services import documents_service, invoice_issue, invoices
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


async def test_issue_key_numbers_a_draft_and_the_lock_follows(clerks, clock):
    from crm_tui.app import make_app

    world = clerks
    with invoices.deferred_pdfs():
        invoice_id = get_kind("invoice").create(world.session("user1"), {
            "company": str(world.cid("Customer #A")), **MANUAL})
    app = make_app(world.session("user1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_invoices(app, pilot)
        assert screen.current_record_id() == invoice_id
        assert binding_state(screen, "C") == (True, False)  # a draft has nothing to credit
        assert binding_state(screen, "I") == (True, True)
        await pilot.press("I")
        await settle(pilot)
        assert type(app.screen).__name__ == "ConfirmModal"
        await pilot.press("y")
        await settle(pilot, 6)
        row = get_kind("invoice").get(world.session("admin"), invoice_id)
        assert (row["bill_id"], row["state"], row["locked"], row["locked_by"]) == (
            "15/1000", "issued", True, "user1")
        assert binding_state(screen, "I") == (True, False)  # issued once only
        assert binding_state(screen, "L") == (True, False)  # IW does not unlock

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


async def test_an_issued_invoice_refuses_legal_edits_in_the_form(world, clock, data_dir):
    from crm_tui.app import make_app

    admin = world.session("admin")
    invoice_id = get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A")),
                                                    **MANUAL})
    invoice_issue.issue(admin, invoice_id)
    first_pdf = documents_service._generated(invoice_id)[0].stored_name
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen.form
        form.focus_field("reference")
        await pilot.press(*"PO-9")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "ServiceFormModal"
        assert "credit note" in form.errors.get("reference", "")
        form.input_for("reference").value = ""
        form.focus_field("internal_note")
        await pilot.press(*"called the customer")
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert type(app.screen).__name__ == "InvoicesScreen"
    row = get_kind("invoice").get(admin, invoice_id)
    assert (row["reference"], row["internal_note"]) == ("", "called the customer")
    assert [a.stored_name for a in documents_service._generated(invoice_id)] == [first_pdf]


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
        form.input_for("company").choose(("Customer #B", str(world.cid("Customer #B"))))
        form.focus_field("lines")
        await pilot.press(*"Annual support", "enter", *"2400")
        form.focus_field("discounts")
        await pilot.press(*"promotion", "enter", *"240")
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert type(app.screen).__name__ == "InvoicesScreen"
        rows = get_kind("invoice").list(admin)
        assert [(r["state"], r["bill_id"], r["total"], r["locked"]) for r in rows] == [
            ("draft", None, "2613.60", False)]
        await settle(pilot)
        await pilot.press("I")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, 6)
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
        form.input_for("company").choose(("Customer #B", str(world.cid("Customer #B"))))
        form.focus_field("lines")
        await pilot.press(*"Support", "enter", *"24OO")
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
    invoice_issue.issue(admin, invoice_id)
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
            invoice_issue.issue(admin, get_kind("invoice").create(admin, {
                "company": str(world.cid("Customer #A")), **MANUAL}))
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
    clerk = world.session("user1")
    with invoices.deferred_pdfs():
        invoice_id = get_kind("invoice").create(clerk, {
            "company": str(world.cid("Customer #A")), **MANUAL})
        invoice_issue.issue(clerk, invoice_id)
    app = make_app(clerk, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert type(screen).__name__ == "InvoiceDetailScreen"
        text = " ".join(str(w.render()) for w in screen.query("Static"))
        assert "€2,613.60" in text and "€453.60" in text and "Annual support" in text
        assert "Tax 21 %" in text and "issued" in text
        assert "15/1000" in screen.screen_title() and "locked by user1" in screen.screen_title()
        for key in ("d", "L", "I"):
            assert binding_state(screen, key) == (True, False), key
        assert binding_state(screen, "e") == (True, True)  # payment fields by IW
        assert binding_state(screen, "p") == (True, True)
        assert binding_state(screen, "w") == (True, False)  # no PDF yet, no files
        # C issues a credit note of the chosen lines.
        assert binding_state(screen, "C") == (True, True)
        await pilot.press("C")
        await settle(pilot)
        assert type(app.screen).__name__ == "ServiceFormModal"
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert app.screen is screen
        await settle(pilot)
        assert "cancelled" in " ".join(str(w.render()) for w in screen.query("Static"))
    credit = invoices.find(world.session("admin"), "R15/1")
    assert credit["total"] == "-2613.60" and credit["credit_of"] == invoice_id


async def test_issuing_warns_of_characters_no_font_draws(world, clock):
    from crm_tui.services import settings
    from crm_tui.services.context import Session
    from tests.screens.crm_app_helpers import RecordingApp, until

    admin = world.session("admin")
    settings.set_value(admin, "documents.fallback_font", "none")
    company = get_kind("company").create(admin, {"name": "株式会社 東京商事",
                                                 "parent": str(world.cid("My company"))})
    with invoices.deferred_pdfs():
        get_kind("invoice").create(admin, {"company": str(company), **MANUAL})
    # Recorded, not read from the toasts: on a loaded machine the first toast may have
    # timed out before the second is shown.
    app = RecordingApp(Session(admin.user, clock))
    async with app.run_test(size=(100, 30)) as pilot:
        await open_invoices(app, pilot)
        await pilot.press("I")
        await settle(pilot)
        await pilot.press("y")
        await until(pilot, lambda: app.said("Issued invoice 15/1000", "information"))
        warned = [m for severity, m in app.notes if severity == "warning"]
        assert len(warned) == 1 and "no installed font can draw" in warned[0]
        assert all(char in warned[0] for char in "株式会社")
        # Marking it paid in the form makes the PAID version: its warning shows too.
        await pilot.press("e")
        await settle(pilot)
        modal = app.screen
        assert type(modal).__name__ == "ServiceFormModal"
        modal.form.input_for("status").value = "paid"
        await pilot.press("ctrl+s")

        def warnings() -> list[str]:
            return [m for severity, m in app.notes if severity == "warning"]

        await until(pilot, lambda: len(warnings()) == 2)
        assert all(char in warnings()[1] for char in "株式会社"), warnings()
    assert invoices.find(admin, "15/1000")["status"] == "paid"
