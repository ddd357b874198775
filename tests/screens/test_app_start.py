"""Start-up: the first frame is drawn before the database opens, and a failed open ends the
app with the error kept for the command line to report."""

from __future__ import annotations

import threading

from textual.widgets import Label, Static

from crm_tui.app import make_app
from crm_tui.errors import ServerUnreachable
from tests.screens.crm_app_helpers import SIZE, press, settle


def title_of(app) -> str:
    return str(app.screen.query_one("#top-title", Label).content)


async def test_start_screen_shows_until_the_session_opens(world):
    opened = threading.Event()

    def open_session():
        # Held open by the test: the app must draw and answer keys meanwhile.
        assert opened.wait(10), "the test never let the session open"
        return world.session("admin")

    app = make_app(None, open_session=open_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert type(app.screen).__name__ == "StartScreen"
        assert title_of(app) == "1 Companies"
        message = str(app.screen.query_one("#start-message", Static).content)
        assert message == "Opening the database…"
        # Screen keys wait for the session: nothing switches, nothing fails.
        await pilot.press("2", "question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "StartScreen"
        assert app.starting

        opened.set()
        await settle(pilot)
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert title_of(app).startswith("1 Companies")
        assert "start" not in app._screen_stacks  # the start screen is gone
        await press(pilot, "2")
        assert type(app.screen).__name__ == "ContactsScreen"
        assert app.start_error is None


async def test_a_failed_open_ends_the_app_and_keeps_the_error(world):
    def open_session():
        raise ServerUnreachable("database error: could not connect to 127.0.0.1:1")

    app = make_app(None, open_session=open_session)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
    assert isinstance(app.start_error, ServerUnreachable)
    assert "127.0.0.1:1" in str(app.start_error)
    assert app.return_code == 1


def test_a_session_given_needs_no_start_screen(world):
    app = make_app(world.session("admin"), open_session=lambda: None)
    assert not app.starting
    assert app.open_session is None


async def test_the_start_screen_speaks_the_language_known_before_the_user(world):
    # Before the user (and their language) is known: --lang, else the OS locale.
    from crm_tui import i18n

    opened = threading.Event()

    def open_session():
        assert opened.wait(10), "the test never let the session open"
        return world.session("admin")

    i18n.override_language("es")
    try:
        app = make_app(None, open_session=open_session)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            assert type(app.screen).__name__ == "StartScreen"
            status = str(app.screen.query_one("#top-status", Label).content)
            assert status == "iniciando…"
            message = str(app.screen.query_one("#start-message", Static).content)
            assert message == "Abriendo la base de datos…"
            opened.set()
            await settle(pilot)
    finally:
        i18n.clear_override()
        i18n.set_language("en")
