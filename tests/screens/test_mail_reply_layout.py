"""The reply and forward dialogs at 80x24 in English, Spanish and the pseudo-locale: every
field, label, the body editor and the footer keys inside the screen, none cut or wrapped."""

from __future__ import annotations

import pytest
from rich.cells import cell_len
from textual.widgets import Label, TextArea

from crm_tui import i18n
from screens.modals.mail_reply import ForwardLeadModal, MailReplyModal
from tests import i18n_pseudo
from tests.integration.mail_helpers import CLIENT, REFERENCE, configure, make_lead
from tests.screens.crm_app_helpers import SIZE, settle
from tests.screens.lead_harness import LeadHarness


@pytest.fixture(scope="module")
def pseudo_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pseudo-locale")
    i18n_pseudo.install(directory)
    yield directory
    i18n_pseudo.uninstall(directory)


def screen_lines(app) -> list[str]:
    return [strip.text for strip in app.screen._compositor.render_strips()]


def check_fits(app, dialog) -> list[str]:
    """What lies outside the screen or the dialog, and each label not shown whole on one line."""
    problems = []
    screen = app.screen.region
    box = dialog.query_one("#dialog")
    inner = set(box.query("*"))
    assert screen.width == SIZE[0] and screen.height == SIZE[1]
    for widget in dialog.query("*"):
        region = widget.region
        if not widget.display or region.area == 0:
            continue
        if not screen.contains_region(region):
            problems.append(f"{widget!r} at {region} leaves the screen")
        if widget in inner and not box.region.contains_region(region):
            problems.append(f"{widget!r} at {region} leaves the dialog {box.region}")
    for label in dialog.query(".field-label").results(Label):
        text = str(label.content)
        if label.region.height != 1 or label.content_region.width < cell_len(text):
            problems.append(f"label {text!r} cut or wrapped in {label.content_region}")
    return problems


@pytest.mark.parametrize("language", ["en", "es", i18n_pseudo.PSEUDO])
async def test_reply_dialog_fits_80x24(world, pseudo_dir, language):
    configure(world)  # the reference address is copied: To and Cc both show
    lead_id = make_lead(world)
    if language != "en":
        i18n.override_language(language)
    try:
        app = LeadHarness(lambda: MailReplyModal(world.session("admin"), lead_id))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, MailReplyModal)
            assert check_fits(app, dialog) == []
            lines = screen_lines(app)
            text = "\n".join(lines)
            # Each label beside its field, on the field's line.
            for name, field in (("To", "#mail-to"), ("Template", "#mail-template"),
                                ("Subject", "#mail-subject"), ("Attach", "#mail-attach")):
                row = dialog.query_one(field).region.y
                assert i18n.gettext(name) in lines[row], (name, text)
            to_line = lines[dialog.query_one("#mail-to").region.y]
            assert CLIENT in to_line and REFERENCE in text
            assert f"[Lead#{lead_id}] Customer A Ltd" in text
            assert i18n.gettext("(none)") in text
            body = dialog.query_one("#mail-body", TextArea)
            assert body.region.height >= 6 and body.content_region.width >= 60
            # The footer's keys, whole, on the last line.
            footer = lines[-1]
            for key in (i18n.gettext("Send"), i18n.gettext("Cancel")):
                assert key in footer, footer
            if language != "en":
                problems = i18n_pseudo.screen_problems(
                    text, language, set(i18n_pseudo.WORD.findall(
                        f"{CLIENT} {REFERENCE} Lead Customer Ltd")),
                    set() if language == i18n_pseudo.PSEUDO
                    else i18n_pseudo.catalog_words(language))
                assert problems == [], text
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)


@pytest.mark.parametrize("language", ["en", "es"])
async def test_forward_dialog_fits_80x24(world, language):
    lead_id = make_lead(world)
    if language != "en":
        i18n.override_language(language)
    try:
        app = LeadHarness(lambda: ForwardLeadModal(world.session("admin"), lead_id))
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ForwardLeadModal)
            assert check_fits(app, dialog) == []
            assert i18n.gettext("Send") in screen_lines(app)[-1]
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)
