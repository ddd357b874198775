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
        from textual.widgets._footer import FooterKey

        # The footer offers the help on its new key.
        assert [(k.key, k.description) for k in app.screen.query(FooterKey)
                if k.key == "f1"] == [("f1", "more")]
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


async def test_a_shared_jobs_override_moves_it_on_every_screen(world):
    from tests.unit.lead_world import seed_leads

    seed_leads(world)
    path = preferences.path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # add-note is one job on every screen; leads.closed is the lead list's own key; attach
    # onto e would take edit's key: refused, attach keeps t.
    path.write_text('[keymap]\nadd-note = "n"\n"leads.closed" = "C"\nattach = "e"\n')
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        refused = [text for level, text in app.notes if level == "warning"]
        assert refused == [
            f"{path}: keymap.attach = 'e' refused: 'e' already does 'Edit' (edit) on a screen "
            "with attach; attach stays on 't'"]

        await press(pilot, "enter")  # the first company
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        await press(pilot, "a")  # the old key no longer adds a note
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        await press(pilot, "n")
        assert type(app.screen).__name__ == "NoteModal"
        await press(pilot, "escape")
        await press(pilot, "t")  # the refused override left attach on its key
        assert type(app.screen).__name__ == "ServiceFormModal"
        await press(pilot, "escape", "escape")

        await press(pilot, "5")
        leads_screen = app.screen
        assert not leads_screen.show_closed
        await press(pilot, "c")  # moved to C on this screen only
        assert not leads_screen.show_closed
        await press(pilot, "C")
        await settle(pilot)
        assert leads_screen.show_closed
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "LeadDetailScreen"
        await press(pilot, "a")
        assert type(app.screen).__name__ == "LeadDetailScreen"
        await press(pilot, "n")
        assert type(app.screen).__name__ == "LeadNoteModal"
        await press(pilot, "escape", "escape")

        await press(pilot, "6")
        board = app.screen
        assert not board.show_closed
        await press(pilot, "c")  # the board's own key did not move
        await settle(pilot)
        assert board.show_closed
