"""Through the keys: a company list and detail never name a parent the user may not see,
and show no billing without an invoice bit."""

from __future__ import annotations

import html
import re

from tests.screens.crm_app_helpers import SIZE, app_for, press, settle


def screen_text(app) -> str:
    """Every character the terminal shows now, line by line."""
    svg = app.export_screenshot()
    lines = re.findall(r"<text[^>]*>(.*?)</text>", svg, flags=re.S)
    return html.unescape("".join(lines)).replace("\xa0", " ")


def detail_text(screen) -> str:
    """The text of every label in the detail tab (including rows below the fold)."""
    from textual.widgets import Label, Static

    return "\n".join(str(widget.content) for widget in screen.query("#details *")
                     if isinstance(widget, Label | Static))


async def test_user1_sees_no_hidden_parent_and_no_billing(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        shown = screen_text(app)
        assert "Customer #A" in shown and "Customer #B" in shown
        assert "My company" not in shown
        assert "(not visible)" in shown  # the billing column
        await press(pilot, "enter")
        screen = app.screen
        assert type(screen).__name__ == "CompanyDetailScreen"
        details = detail_text(screen)
        assert "My company" not in details and "My company" not in screen_text(app)
        assert details.count("(not visible)") >= 2  # parent and billing


async def test_a_spanish_user_reads_no_visible(world):
    from crm_tui import i18n

    i18n.override_language("es")
    try:
        app = app_for(world, "user1")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "v")
            shown = screen_text(app)
            assert "(no visible)" in shown and "(not visible)" not in shown  # billing
            await press(pilot, "enter")
            details = detail_text(app.screen)
            assert details.count("(no visible)") >= 2 and "(not visible)" not in details
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)


async def test_admin_sees_the_parent_by_name(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        details = detail_text(app.screen)
        assert "My company" in details and "(not visible)" not in details


async def test_deleting_a_contract_type_in_use_asks_with_the_count_then_forces(world):
    from crm_tui.models import Contract, ContractType
    from crm_tui.services.records import get_kind
    from tests.screens.test_admin_screen import to_row
    from tests.screens.test_contracts_screen import open_contracts

    admin = world.session("admin")
    ctype = get_kind("contract-type").create(admin, {"name": "Aardvark care"})
    contract = get_kind("contract").create(admin, {
        "name": "Zoo", "company": str(world.cid("Customer #A")), "contract_type": str(ctype)})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_contracts(app, pilot)
        await press(pilot, "y")  # the types, on screen 0
        types = app.screen
        assert types.catalogue.kind == "contract-type"
        await to_row(pilot, "Aardvark care")
        await press(pilot, "d")
        assert type(app.screen).__name__ == "DeleteEntryModal"
        assert "Used by 1 contract" in screen_text(app)
        await press(pilot, "y")
        assert app.screen is types
    assert ContractType.get_or_none(ContractType.id == ctype) is None
    assert Contract.get(Contract.id == contract).contract_type_id is None


async def test_a_type_used_by_hidden_contracts_is_kept_and_no_count_is_shown(world):
    from crm_tui.models import ContractType
    from crm_tui.services.records import get_kind
    from tests.screens.test_admin_screen import to_row
    from tests.screens.test_contracts_screen import open_contracts

    admin = world.session("admin")
    ctype = get_kind("contract-type").create(admin, {"name": "Aardvark care"})
    get_kind("contract").create(admin, {
        "name": "Zoo", "company": str(world.cid("My company")), "contract_type": str(ctype)})
    app = app_for(world, "manager1")
    async with app.run_test(size=SIZE) as pilot:
        await open_contracts(app, pilot)
        await press(pilot, "y")
        await to_row(pilot, "Aardvark care")
        await press(pilot, "d")
        assert type(app.screen).__name__ == "AdminScreen"  # no dialog to force it
        assert [text for level, text in app.notes if level == "warning"] == [
            "contract type 'Aardvark care' is in use by records you may not see"]
    assert ContractType.get_or_none(ContractType.id == ctype) is not None


async def test_statistics_show_no_invoiced_amounts_without_an_invoice_bit(world):
    from crm_tui.services import invoice_issue, invoices
    from crm_tui.services.records import get_kind

    admin = world.session("admin")
    with invoices.deferred_pdfs():  # billed once issued (a draft is not)
        invoice_issue.issue(admin, get_kind("invoice").create(admin, {
            "company": str(world.cid("Customer #A")), "tax_rate": "21",
            "lines": [{"description": "Support", "amount": "4321"}]}))
    for login, sees in (("user1", False), ("admin", True)):
        app = app_for(world, login)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "7")
            assert type(app.screen).__name__ == "StatisticsScreen"
            await press(pilot, "down", "down", "down")
            shown = screen_text(app)
            assert "Top 10 by invoiced amount" in shown
            assert ("5,228.41" in shown) is sees
            assert ("(not visible)" in shown) is not sees
