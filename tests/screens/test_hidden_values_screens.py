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


async def test_admin_sees_the_parent_by_name(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        details = detail_text(app.screen)
        assert "My company" in details and "(not visible)" not in details
