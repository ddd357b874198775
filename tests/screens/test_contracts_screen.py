"""Screen 3 driven by keys: expiry, renewal, invoices and PDFs; templates and types on
screen 0."""

from __future__ import annotations

from crm_tui.services import contracts, invoice_issue, invoices
from crm_tui.services.records import get_kind
from tests.screens.test_invoices_screen import binding_state, settle


async def open_contracts(app, pilot):
    await pilot.press("3")
    await settle(pilot)
    assert type(app.screen).__name__ == "ContractsScreen"
    app.screen.query_one("#records").focus()
    await settle(pilot)
    return app.screen


def add(world, **fields) -> int:
    return get_kind("contract").create(world.session("admin"),
                                       {k: str(v) for k, v in fields.items()})


def listed(screen) -> list[str]:
    table = screen.table
    return [table.get_row(i)[1][0] for i in range(table.row_count or 0)]


async def test_expiring_filter_and_renewal(world, clock):
    from crm_tui.app import make_app

    a = world.cid("Customer #A")
    soon = add(world, name="Soon", company=a, date_begin="2025-01-26", date_end="2026-01-25")
    add(world, name="Later", company=a, date_end="2026-09-01")
    app = make_app(world.session("admin"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contracts(app, pilot)
        assert listed(screen) == ["Later", "Soon"]
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("ctrl+s")  # 30 days
        await settle(pilot)
        assert listed(screen) == ["Soon"]
        assert "ending within 30 days" in screen.screen_title()
        await pilot.press("c")
        await settle(pilot)
        values = app.screen.form.values()
        assert (values["date_begin"], values["date_end"], values["name"]) == (
            "2026-01-26", "2027-01-25", "Soon")
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        await pilot.press("w")  # all contracts again
        await settle(pilot)
        assert listed(screen) == ["Later", "Soon", "Soon"]
    rows = get_kind("contract").list(world.session("admin"), {"name": "Soon"})
    assert sorted((r["date_end"], r["related_contract"]) for r in rows) == [
        ("2026-01-25", None), ("2027-01-25", soon)]


async def test_detail_pdf_and_related_invoices(world, clock):
    from crm_tui.app import make_app

    admin = world.session("admin")
    contract = add(world, name="Support", company=world.cid("Customer #A"))
    with invoices.deferred_pdfs():
        invoice_issue.issue(admin, get_kind("invoice").create(admin, {
            "company": str(world.cid("Customer #A")),
            "lines": [{"description": "Support", "amount": "100"}]}))
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contracts(app, pilot)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert type(detail).__name__ == "ContractDetailScreen"
        assert binding_state(detail, "w") == (True, False)  # no files yet
        await pilot.press("p")
        await settle(pilot)
        assert app.screen.form.values()["template"] == "1"  # Default
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert app.screen is detail
        assert [f["name"] for f in contracts.files(admin, contract)] == ["Support-Default.pdf"]
        assert binding_state(detail, "w") == (True, True)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"15/1000")
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert [r["bill_id"] for r in contracts.related_invoices(admin, contract)] == ["15/1000"]
        await pilot.press("right_square_bracket")  # the Invoices tab
        await settle(pilot)
        assert detail.invoices_table.row_count == 1
        assert binding_state(detail, "r") == (True, True)
        await pilot.press("r")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot, 6)
        assert contracts.related_invoices(admin, contract) == []


async def test_read_only_contract_greys_its_keys(world, clock):
    from crm_tui.app import make_app

    add(world, name="B's contract", company=world.cid("Customer #B"))
    app = make_app(world.session("user1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contracts(app, pilot)
        assert binding_state(screen, "p") == (True, False)
        assert binding_state(screen, "g") == (False, None)  # no invoice bits: hidden
        await pilot.press("enter")
        await settle(pilot)
        for key in ("e", "d", "p", "a"):
            assert binding_state(app.screen, key) == (True, False), key


async def test_t_edits_templates_on_screen_0_which_refuses_unknown_macros(world, clock):
    from crm_tui.app import make_app
    from tests.screens.crm_app_helpers import until
    from tests.screens.test_admin_screen import to_row

    app = make_app(world.session("admin"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contracts(app, pilot)
        await pilot.press("t")
        await settle(pilot)
        admin_screen = app.screen
        assert type(admin_screen).__name__ == "AdminScreen"
        assert admin_screen.catalogue.kind == "template"
        await to_row(pilot, "Default")
        await pilot.press("e")
        await until(pilot, lambda: getattr(app.screen, "form", None) is not None)
        form = app.screen
        body = form.form.input_for("body")
        assert "_company_name_" in body.text
        body.text = "<p>Dear _compny_name_</p>"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is form
        assert "_compny_name_" in " ".join(form.form.errors.values())
        body.text = "<h1>_name_contract_</h1><p>For _company_name_</p>"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is admin_screen)
    row = get_kind("template").get(world.session("admin"), 1)
    assert row["body"] == "<h1>_name_contract_</h1><p>For _company_name_</p>"


async def test_y_shows_the_contract_types_on_screen_0(world, clock):
    from crm_tui.app import make_app

    app = make_app(world.session("admin"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contracts(app, pilot)
        await pilot.press("y")
        await settle(pilot)
        assert type(app.screen).__name__ == "AdminScreen"
        assert app.screen.catalogue.kind == "contract-type"
        assert app.focused is app.screen.table
        # Back on screen 3, the list is as it was.
        await pilot.press("3")
        await settle(pilot)
        assert type(app.screen).__name__ == "ContractsScreen"


async def test_choosing_a_type_in_a_new_contract_brings_its_fields(world, clock):
    from crm_tui.app import make_app
    from crm_tui.models import Contract, ContractType

    services = ContractType.get(ContractType.name == "Services contract")
    get_kind("field").create(world.session("admin"), {
        "name": "Hours", "kind": "numeric", "entity": f"contract_type:{services.id}"})
    app = make_app(world.session("admin"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contracts(app, pilot)
        await pilot.press("n")
        await settle(pilot)
        modal = app.screen
        assert type(modal).__name__ == "RecordFormModal"
        assert not [k for k in modal.form.values() if k.startswith("custom.")]
        await pilot.press(*"Support 2026")
        modal.form.focus_field("contract_type")
        # Open the list of types, pick the second ("Services contract").
        await pilot.press("enter", "down", "down", "enter")
        await settle(pilot)
        values = modal.form.values()
        assert values["contract_type"] == str(services.id)
        assert values["name"] == "Support 2026"  # what was typed survives the new form
        assert "custom.Hours" in values
        modal.form.focus_field("custom.Hours")
        await pilot.press(*"40")
        modal.form.focus_field("company")
        await pilot.press("enter", "down", "enter")
        await settle(pilot)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "ContractsScreen", modal.form.errors
    contract = Contract.get(Contract.name == "Support 2026")
    assert contract.contract_type_id == services.id
    assert get_kind("contract").get(world.session("admin"), contract.id)["custom"] == {
        "Hours": "40"}


async def test_title_and_status_line_count_contracts_ending_soon(world, clock):
    """Clock: 2026-01-15. User #1 sees A's and B's contracts, not My company's."""
    import asyncio

    from crm_tui.app import make_app
    from crm_tui.services import contract_billing

    a, b = world.cid("Customer #A"), world.cid("Customer #B")
    add(world, name="A soon", company=a, date_end="2026-02-01")
    add(world, name="B soon", company=b, date_end="2026-02-14")
    add(world, name="Hidden soon", company=world.cid("My company"), date_end="2026-01-20")
    add(world, name="Later", company=a, date_end="2026-03-01")
    monthly = add(world, name="Monthly", company=a, billing_period="monthly")
    contract_billing.set_lines(world.session("admin"), monthly, [
        {"description": "Support", "amount": "100"},
        {"description": "Hosting", "amount": "20", "tax_rate": "10"}])
    app = make_app(world.session("user1"), clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_contracts(app, pilot)
        assert screen.screen_title() == "3 Contracts (2 end within 30 days)"
        for _ in range(30):  # the status line is read a second after start
            if "contracts end" in app.status_text:
                break
            await asyncio.sleep(0.1)
        assert app.status_text.endswith("2 contracts end within 30 days")
        # The detail shows the billing period and the recurring lines.
        for _ in range(listed(screen).index("Monthly")):
            await pilot.press("down")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert type(detail).__name__ == "ContractDetailScreen"
        shown = " ".join(str(w.render()) for w in detail.query(".detail-value"))
        labels = " ".join(str(w.render()) for w in detail.query(".detail-label"))
        # The period and its first start (today, as English reads it).
        assert "monthly" in shown and "1/15/2026" in shown
        assert "100.00  tax default" in shown and "20.00  tax 10%" in shown
        assert "Support" in labels and "Hosting" in labels


async def test_recurring_lines_are_edited_on_the_detail(world, clock):
    from crm_tui.app import make_app
    from crm_tui.services import contract_billing

    admin = world.session("admin")
    contract = add(world, name="Support", company=world.cid("Customer #A"))
    contract_billing.set_lines(admin, contract, [{"description": "Support", "amount": "100"}])
    app = make_app(admin, clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_contracts(app, pilot)
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert binding_state(detail, "b") == (True, True)
        await pilot.press("b")
        await settle(pilot)
        form = app.screen.form
        assert form.values()["billing_lines"] == "Support=100.00"
        form.input_for("billing_lines").text = "Support=100.00\nHosting = extra=20.5@10\n"
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert app.screen is detail
        # A line that does not read as DESCRIPTION=AMOUNT is refused, naming it; nothing kept.
        await pilot.press("b")
        await settle(pilot)
        app.screen.form.input_for("billing_lines").text = "Support 100"
        await pilot.press("ctrl+s")
        await settle(pilot, 6)
        assert type(app.screen).__name__ == "ServiceFormModal"
        await pilot.press("escape")
        await settle(pilot)
    assert contract_billing.lines(admin, contract) == [
        {"description": "Support", "amount": "100.00", "tax_rate": ""},
        {"description": "Hosting = extra", "amount": "20.50", "tax_rate": "10"}]
