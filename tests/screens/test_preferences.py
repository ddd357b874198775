"""The user's preferences file: keys rebound by binding id, the theme kept between runs, and
a file with mistakes reported without stopping the app."""

from __future__ import annotations

from crm_tui import preferences
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle


async def test_keymap_rebinds_a_key_by_its_binding_id(world):
    path = preferences.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('# mine\n[keymap]\n"screen.leads" = "f5"\n"app.help" = "f1"\n')
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "f5")
        assert type(app.screen).__name__ == "LeadsScreen"
        await press(pilot, "f1")
        assert type(app.screen).__name__ == "HelpScreen"


async def test_theme_is_kept_in_the_users_file_with_their_comments(world):
    path = preferences.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# my settings\n[keymap]\n")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.theme = "nord"
        await settle(pilot)
    text = path.read_text()
    assert 'theme = "nord"' in text and "# my settings" in text
    again = app_for(world, "admin")
    async with again.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert again.theme == "nord"


async def test_a_broken_preferences_file_is_reported_and_ignored(world):
    path = preferences.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('theme = "no-such-theme"\n[keymap]\n"app.help" = 3\n')
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.said("theme 'no-such-theme' is not known", "warning")
        assert app.said("keymap.app.help = 3 ignored", "warning")
        await press(pilot, "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
    path.write_text("theme = \n")
    broken = app_for(world, "admin")
    async with broken.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert broken.said("ignored", "warning")
        assert type(broken.screen).__name__ == "CompaniesScreen"
