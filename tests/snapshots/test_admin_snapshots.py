"""SVG snapshots of screen 0 (the catalogues) at 80x24: a superadmin's, who is offered users
and profiles, and an operator's, who is not. After a deliberate change, review the report and
run `pytest tests/snapshots --snapshot-update`."""

from __future__ import annotations

from tests.screens.crm_app_helpers import app_for, press, settle

SIZE = (80, 24)


def test_admin_screen_of_a_superadmin(snap_compare, world):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "0")

    assert snap_compare(app_for(world, "admin"), terminal_size=SIZE, run_before=run_before)


def test_admin_screen_of_an_operator_on_the_status_names(snap_compare, world):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "0", "left_square_bracket")

    assert snap_compare(app_for(world, "manager1"), terminal_size=SIZE, run_before=run_before)
