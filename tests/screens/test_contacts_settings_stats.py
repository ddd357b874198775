"""Screens 2, 7 and 8 by keys: contacts (list, search, create, edit, delete), statistics,
and settings (superadmins change them, others only read)."""

from __future__ import annotations

from crm_tui.models import Contact, Setting
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, footer_keys, press, settle, type_text


def add_contacts(world, admin) -> None:
    contact = get_kind("contact")
    contact.create(admin, {"full_name": "Ana García", "email": "ana@example.com",
                           "company": str(world.cid("Customer #A"))})
    contact.create(admin, {"full_name": "Bo Berg", "email": "bo@example.com",
                           "company": str(world.cid("Customer #B"))})


async def test_contacts_list_search_and_edit(world, admin):
    add_contacts(world, admin)
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        table = app.screen.table
        assert table.row_count == 2
        assert [table.get_row(i)[1][:3] for i in range(2)] == [
            ("Ana García", "ana@example.com", "Customer #A"),
            ("Bo Berg", "bo@example.com", "Customer #B"),
        ]
        await press(pilot, "slash")
        await type_text(pilot, "bo@")
        await press(pilot, "enter")
        assert table.row_count == 1
        # Bo works for Customer #B, which user1 sees read-only: no edit, no delete.
        keys = footer_keys(app)
        assert keys["e"] is False and keys["d"] is False
        await press(pilot, "enter")  # his detail: shown, not editable
        assert type(app.screen).__name__ == "ContactDetailScreen"
        assert "Bo Berg" in app.screen.screen_title()
        keys = footer_keys(app)
        assert keys["e"] is False and keys["d"] is False and keys["M"] is False
        await press(pilot, "q", "slash", "ctrl+u", "enter")
        assert table.row_count == 2
        assert footer_keys(app)["e"] is True  # Ana's company is his own
        await press(pilot, "e", "tab")
        await press(pilot, "ctrl+u")
        await type_text(pilot, "not an address")
        await press(pilot, "ctrl+s")
        assert app.screen.form.errors == {"email": "not an email address: 'not an address'"}
        await press(pilot, "ctrl+u")
        await type_text(pilot, "ana.garcia@example.com")
        await press(pilot, "ctrl+s")
        assert Contact.get(Contact.full_name == "Ana García").email == "ana.garcia@example.com"
        assert table.get_row(0)[1][1] == "ana.garcia@example.com"
        # The save reloaded the list under a cursor that did not move: its keys still work.
        keys = footer_keys(app)
        assert keys["e"] is True and keys["d"] is True


async def test_a_new_contact_needs_name_email_and_company(world, admin):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "n")
        form = app.screen.form
        assert [spec.key for spec in form.specs if spec.required] == [
            "full_name", "email", "company"]
        await press(pilot, "ctrl+s")
        assert set(form.errors) == {"full_name", "email", "company"}
        await type_text(pilot, "Chen Li")
        await press(pilot, "tab")
        await type_text(pilot, "chen@example.com")
        # The company is a pick list (three companies): open it and take the second.
        await press(pilot, "tab", "enter", "down", "enter")
        await press(pilot, "ctrl+s")
        assert type(app.screen).__name__ == "ContactsScreen"
        created = Contact.get(Contact.full_name == "Chen Li")
        assert created.company.name == "Customer #A"
        await press(pilot, "d", "y")
        assert Contact.select().count() == 0
        assert app.screen.table.row_count == 0


async def test_statistics_are_drawn_from_the_database(world, admin):
    add_contacts(world, admin)
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "7")
        chart = app.screen.query_one("#chart")
        assert chart.title == "Companies per manager"
        assert sorted(chart.data) == [("admin", 1), ("manager1", 1), ("user1", 1)]
        await press(pilot, "down")
        assert chart.title == "Companies per role"
        assert chart.data == [("(no role)", 3)]


async def test_settings_change_only_as_superadmin(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "8")
        form = app.screen.query_one(".settings-form")
        assert form.disabled
        assert "ctrl+s" not in footer_keys(app)

    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "8")
        form = app.screen.query_one(".settings-form")
        assert not form.disabled
        await press(pilot, "tab", "tab")  # from the tab row: auto_id, id_pattern
        await press(pilot, "ctrl+u")
        await type_text(pilot, "no brackets")
        await press(pilot, "ctrl+s")
        assert "invoice.id_pattern" in form.errors
        assert Setting.get_by_id("invoice.id_pattern").value == "15/[1000]"
        await press(pilot, "ctrl+u")
        await type_text(pilot, "INV-[1]")
        await press(pilot, "ctrl+s")
        assert Setting.get_by_id("invoice.id_pattern").value == "INV-[1]"
        assert app.said("Saved 1 setting(s): invoice.id_pattern")


async def test_settings_lead_owner_is_picked_from_the_users(world):
    from widgets.ref_picker import RefPicker

    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "8")
        await press(pilot, "right", "right")  # the tab row: Invoices, Lead statuses, Mail
        picker = app.screen.query_one(RefPicker)  # the Mail tab's form, built on showing
        picker.focus()  # far down the Mail tab
        await type_text(pilot, "user #2")
        assert [str(o.prompt) for o in picker.options.options] == ["user2 (User #2)"]
        await press(pilot, "enter")
        await press(pilot, "ctrl+s")
        assert Setting.get_by_id("mail.lead_owner").value == "user2"
