"""SVG snapshots of the key screens at 80x24 (pytest-textual-snapshot).

Deterministic: the worked example's data, a frozen clock, times shown in UTC, no cursor
blink. After a deliberate change, review the report and run
`pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

import time

import pytest
from textual.widgets import Input

from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import app_for, press, settle, type_text

SIZE = (80, 24)


@pytest.fixture
def utc(monkeypatch):
    """Show times in UTC whatever the machine's zone."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def data(world, admin, utc):
    """The worked example plus a few contacts, a note and an invoice-free custom value."""
    contact = get_kind("contact")
    for name, email, company in (("Ana García", "ana@example.com", "Customer #A"),
                                 ("Bo Berg", "bo@example.com", "Customer #A"),
                                 ("Chen Li", "chen@example.com", "Customer #B")):
        contact.create(admin, {"full_name": name, "email": email,
                               "company": str(world.cid(company)), "phone": "+34 600 000 000"})
    get_kind("company").update(admin, world.cid("Customer #A"), {
        "country": "Spain", "fiscal_id": "B12345678", "website": "https://a.example",
        "payment_conditions": "30", "custom": {"Office Phone": "+34 910 000 000"}})
    from crm_tui.services import companies

    companies.add_note(admin, world.cid("Customer #A"), "Renewal meeting booked for March.")
    return world


def _no_blink(pilot) -> None:
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False


def test_company_tree(snap_compare, data):
    async def run_before(pilot) -> None:
        await settle(pilot)

    assert snap_compare(app_for(data, "user1"), terminal_size=SIZE, run_before=run_before)


def test_company_tree_as_admin(snap_compare, data):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "down")

    assert snap_compare(app_for(data, "admin"), terminal_size=SIZE, run_before=run_before)


def test_company_detail(snap_compare, data):
    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "down", "enter")

    assert snap_compare(app_for(data, "admin"), terminal_size=SIZE, run_before=run_before)


def test_import_dialog_with_problems(snap_compare, data, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad.csv").write_text(
        "Empresa prueba,,,España,,,,,admin,0000-00-00 00:00:00,,Integria,20\n"
        "Test company,,,Spain,,,,admin,0000-00-00 00:00:00,,Integria,20\n", encoding="utf-8")

    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "i")
        _no_blink(pilot)
        await type_text(pilot, "bad.csv")
        await press(pilot, "enter")
        _no_blink(pilot)

    assert snap_compare(app_for(data, "admin"), terminal_size=SIZE, run_before=run_before)


def test_statistics(snap_compare, data, admin):
    company = get_kind("company")
    for n, (country, manager, role) in enumerate(
            [("Spain", "user1", "Customer"), ("France", "user1", "Customer"),
             ("Spain", "manager1", "Supplier"), ("Portugal", "admin", "Customer"),
             ("Spain", "user1", "Partner")]):
        company.create(admin, {"name": f"Branch {n}", "parent": str(data.cid("Customer #A")),
                               "country": country, "manager": manager, "role": role})

    async def run_before(pilot) -> None:
        await settle(pilot)
        await press(pilot, "7")

    assert snap_compare(app_for(data, "admin"), terminal_size=SIZE, run_before=run_before)
