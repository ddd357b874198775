"""The footer at 80x24, in English and Spanish, on every screen and dialog: its line fits,
no key is cut, `? more` is offered where keys are left out, and `?` lists them (and none of
Textual's own plumbing)."""

from __future__ import annotations

import pytest
from textual.widgets._footer import FooterKey

from crm_tui import i18n
from crm_tui.demo import DemoSizes, generate
from screens.footer import KeyFooter
from tests.screens.crm_app_helpers import SIZE, RecordingApp, press, settle
from tests.screens.test_key_map import ROUTES

#: What `?` must not list: Textual's copy keys and its palette's inner workings.
INTERNALS = {"super+c", "ctrl+c"}


@pytest.fixture
def demo(admin):
    generate(DemoSizes(companies=8, contacts=12, contracts=4, invoices=6, leads=12, seed=3))
    return admin


def footer_line(app) -> str:
    """The footer's row as drawn on the terminal."""
    strips = app.screen._compositor.render_strips()
    footer = app.screen.query_one(KeyFooter)
    return strips[footer.region.y].text


def _cases():
    for language in ("en", "es"):
        for name, keys, _end in ROUTES:
            yield pytest.param(language, name, keys, id=f"{name}-{language}")


@pytest.mark.parametrize(("language", "name", "keys"), list(_cases()))
async def test_the_footer_fits_and_question_mark_lists_the_rest(demo, language, name, keys):
    i18n.override_language(language)
    try:
        app = RecordingApp(demo)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            for key in keys:
                await press(pilot, key)
            await pilot.pause(0.1)
            await settle(pilot)
            screen = app.screen
            footer = screen.query_one(KeyFooter)
            line = footer_line(app)
            shown = list(footer.query(FooterKey))
            assert shown, f"{name}: an empty footer"
            for key in shown:
                # Whole: inside the screen, and drawn in full on the footer's row.
                assert key.region.right <= SIZE[0], f"{name}: {key.key_display} cut: {line!r}"
                assert key.region.width >= len(key.key_display) + 1 + len(key.description), (
                    f"{name}: {key.key_display} {key.description} squeezed: {line!r}")
                assert f"{key.key_display} {key.description}".strip() in line, (
                    f"{name}: {key.key_display} {key.description!r} not whole in {line!r}")
            described = {active.binding.description for active in screen.active_bindings.values()
                         if active.binding.show and active.binding.description}
            in_footer = {key.description for key in shown}
            hidden = described - in_footer
            more = [key for key in shown if key.key == "question_mark"]
            question = screen.active_bindings.get("question_mark")
            help_works = (question is not None and question.enabled
                          and question.binding.action in ("help", "app.help"))
            if not help_works:
                # A text field has the focus (`?` is typed there), or this is the help
                # itself: every key must fit.
                assert not hidden, f"{name}: left out of the dialog's footer: {hidden}"
                return
            assert more and more[0].description == i18n.gettext("more"), (
                f"{name}: no '? more' in {line!r}")
            await press(pilot, "question_mark")
            assert type(app.screen).__name__ == "HelpScreen"
            listed = {item.description for item in app.screen.keys}
            assert hidden <= listed, f"{name}: ? does not list {hidden - listed}"
            keys_listed = {item.key for item in app.screen.keys}
            assert not keys_listed & INTERNALS, f"{name}: ? lists {keys_listed & INTERNALS}"
            assert not any(item.description == i18n.gettext("Copy selected text")
                           for item in app.screen.keys)
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)
