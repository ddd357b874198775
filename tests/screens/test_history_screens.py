"""H on every detail screen (company, contact, contract, invoice, lead) shows who changed
which field of that record, newest first; a record the user may not view shows no history
(both backends)."""

from __future__ import annotations

import pytest
from textual.widgets import Static

from crm_tui.services.records import get_kind
from screens.company_detail import CompanyDetailScreen
from screens.contact_detail import ContactDetailScreen
from screens.contract_detail import ContractDetailScreen
from screens.invoice_detail import InvoiceDetailScreen
from screens.lead_detail import LeadDetailScreen
from screens.modals.history import HistoryModal
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import grant_lead_bits

SCREENS = {
    "company": lambda s, i: CompanyDetailScreen(s, i),
    "contact": lambda s, i: ContactDetailScreen(s, i),
    "contract": lambda s, i: ContractDetailScreen(s, i),
    "invoice": lambda s, i: InvoiceDetailScreen(s, i),
    "lead": lambda s, i: LeadDetailScreen(s, i),
}


def _record(world, kind: str) -> tuple[int, str, str]:
    """A record of `kind` changed once by manager1 (an invoice by admin): (id, field,
    new value)."""
    admin = world.session("admin")
    company = str(world.cid("Customer #B"))  # manager1 manages it
    raw = {
        "company": {"name": "Histco", "parent": str(world.cid("My company")),
                    "manager": "manager1"},
        "contact": {"full_name": "Hal Story", "email": "hal@h.example", "company": company},
        "contract": {"name": "Support 2026", "company": company},
        "invoice": {"company": company},
        "lead": {"full_name": "Lea Story", "email": "lea@h.example", "company": company},
    }[kind]
    record_id = get_kind(kind).create(admin, raw)
    field, value = {"company": ("country", "Chile"), "contact": ("phone", "+56 2"),
                    "contract": ("description", "Gold level"),
                    "invoice": ("reference", "PO-7"),
                    "lead": ("country", "Chile")}[kind]
    # Invoices take invoice rights, which only the superadmin has in the example.
    changer = "admin" if kind == "invoice" else "manager1"
    get_kind(kind).update(world.session(changer), record_id, {field: value})
    return record_id, field, value


@pytest.mark.parametrize("kind", list(SCREENS))
async def test_h_shows_the_history_on_every_detail_screen(any_world, kind: str) -> None:
    grant_lead_bits(any_world)
    record_id, field, value = _record(any_world, kind)
    # Whoever may view it: user1 sees what Customer #B holds, manager1 the company he
    # manages, the superadmin the invoice.
    viewer = {"company": "manager1", "invoice": "admin"}.get(kind, "user1")
    changer = "admin" if kind == "invoice" else "manager1"
    app = LeadHarness(lambda: SCREENS[kind](any_world.session(viewer), record_id))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("H")
        await settle(pilot)
        assert isinstance(app.screen, HistoryModal)
        text = str(app.screen.query_one("#history-lines", Static).render())
        lines = text.splitlines()
        # Newest first: manager1's change, then admin's create.
        assert f"{changer} (cli)  change" in lines[0]
        assert f"{field}: " in lines[1] and value in lines[1]
        assert any("admin (cli)  create" in line for line in lines)
        await pilot.press("escape")
        await settle(pilot)
        assert not isinstance(app.screen, HistoryModal)


async def _shown(session, record_id: int) -> str:
    modal = HistoryModal(session, "contact", record_id, "a contact")
    app = LeadHarness(lambda: modal)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        return str(modal.query_one("#history-lines", Static).render())


async def test_history_of_a_hidden_record_reads_as_one_that_does_not_exist(any_world) -> None:
    record_id, _field, _value = _record(any_world, "contact")
    hidden = await _shown(any_world.session("user2"), record_id)
    missing = await _shown(any_world.session("user2"), 999999)
    assert "does not exist" in hidden and "Hal" not in hidden and "phone" not in hidden
    assert hidden.replace(str(record_id), "N") == missing.replace("999999", "N")
    assert "phone" in await _shown(any_world.session("manager1"), record_id)


async def test_a_contact_opens_from_its_company_with_its_history(any_world) -> None:
    contact, field, value = _record(any_world, "contact")
    session = any_world.session("manager1")
    app = LeadHarness(lambda: CompanyDetailScreen(session, any_world.cid("Customer #B")))
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("right_square_bracket")  # the Contacts tab, its list focused
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ContactDetailScreen)
        assert app.screen.contact_id == contact
        await pilot.press("H")
        await settle(pilot)
        text = str(app.screen.query_one("#history-lines", Static).render())
        assert f"{field}: " in text and value in text
