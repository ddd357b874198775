"""Through the keys: a company's detail shows its billing per currency."""

from __future__ import annotations

from tests.screens.crm_app_helpers import SIZE, app_for, press, settle
from tests.screens.test_hidden_values_screens import detail_text
from tests.unit.test_billing_per_currency import billed_in_two_currencies


async def test_company_detail_shows_billing_per_currency(world):
    a, b = billed_in_two_currencies(world)
    expected = {a: "2613.60 EUR; 121.00 USD", b: "121.00 EUR"}
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        screen = app.screen
        assert type(screen).__name__ == "CompanyDetailScreen"
        assert expected[screen.company_id] in detail_text(screen)
