"""The whole app driven by keys: switching screens, help, the palette, the status line."""

from __future__ import annotations

from textual.widgets import Label

from crm_tui.app import make_app
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text

SCREENS = [
    ("2", "ContactsScreen", "2 Contacts"),
    ("3", "ContractsScreen", "3 Contracts"),
    ("4", "InvoicesScreen", "4 Invoices"),
    ("5", "LeadsScreen", "5 Leads"),
    ("6", "PipelineScreen", "6 Pipeline"),
    ("7", "StatisticsScreen", "7 Statistics"),
    ("8", "SettingsScreen", "8 Settings"),
    ("1", "CompaniesScreen", "1 Companies"),
]


def title_of(app) -> str:
    return str(app.screen.query_one("#top-title", Label).content)


async def test_number_keys_switch_screens(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert type(app.screen).__name__ == "CompaniesScreen"
        for key, screen_class, title in SCREENS:
            await press(pilot, key)
            assert type(app.screen).__name__ == screen_class
            assert title_of(app).startswith(title)
        # Screens are built once: going back finds the same screen, state and all.
        companies = app.screen
        await press(pilot, "2", "1")
        assert app.screen is companies
        assert not app.said("", "error")


async def test_make_app_freezes_the_clock_and_keeps_the_user(world, clock):
    app = make_app(world.session("user1"), clock)
    assert app.session.login == "user1"
    assert app.session.clock is clock


async def test_question_mark_lists_the_keys_of_the_screen(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        listed = {(k.key, k.description, k.scope) for k in app.screen.keys}
        assert ("e", "Edit", "This screen") in listed
        assert ("n", "New", "This screen") in listed
        assert ("7", "Statistics", "Everywhere") in listed
        assert any(k.key == "^p" for k in app.screen.keys)
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "CompaniesScreen"


def footer_more(app) -> list[str]:
    """The footer's `?` entry, as drawn (empty where it offers none)."""
    from textual.widgets._footer import FooterKey

    return [key.description for key in app.screen.query(FooterKey) if key.key == "question_mark"]


async def test_question_mark_lists_a_dialogs_keys_except_where_it_is_typed(world):
    from textual.widgets import Input, OptionList

    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "M")
        dialog = app.screen
        assert type(dialog).__name__ == "MergePickerModal"
        search = dialog.query_one("#merge-search", Input)
        # The search field has the focus: ? is a character there, and not offered.
        assert dialog.focused is search
        assert footer_more(app) == []
        await press(pilot, "question_mark")
        assert app.screen is dialog and search.value == "?"
        await press(pilot, "backspace")
        await settle(pilot)
        await press(pilot, "down")  # to the candidates: ? lists the dialog's keys again
        assert isinstance(dialog.focused, OptionList)
        await pilot.pause(0.1)
        assert footer_more(app) == ["more"]
        await press(pilot, "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        listed = {(k.description, k.scope) for k in app.screen.keys}
        assert ("Cancel", "This dialog") in listed
        assert not any(k.scope == "This screen" for k in app.screen.keys)
        assert ("Edit", "This dialog") not in listed  # the company's keys stay behind it
        assert "Merge" in str(app.screen.query_one("#help-title").content)
        await press(pilot, "escape")  # closes the help, back to the dialog
        assert app.screen is dialog
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "CompanyDetailScreen"


async def test_q_goes_back_from_a_detail_then_quits(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        await press(pilot, "q")
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert app.return_code is None  # the first q only went back
        await pilot.press("q")
        await pilot.pause()
        # The second q, on a main screen, asked the app to exit (return code set, status 0).
        assert app.return_code == 0


async def test_palette_goes_to_a_company_and_switches_screens(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, "#B")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        assert app.screen.company_id == world.cid("Customer #B")
        await press(pilot, "ctrl+p")
        await type_text(pilot, "to Conta")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "ContactsScreen"


async def test_palette_offers_new_import_and_the_company_search(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "ctrl+p")
        await type_text(pilot, "go to comp")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        screen = app.screen
        assert type(screen).__name__ == "CompaniesScreen" and screen.view == "list"
        assert screen.filter_bar.is_open
        await press(pilot, "escape", "ctrl+p")
        await type_text(pilot, "new contact")
        await pilot.pause(0.3)
        await press(pilot, "enter")
        # The new-record form that looks for duplicates before saving.
        assert type(app.screen).__name__ == "NewRecordModal"
        assert app.screen.kind == "contact"
