"""Amounts on the lead list, the board and the company list's billing, times and sizes on
the mail lists, as the user reads them: babel in Spanish (1.200,50) and English
(1,200.50), times in the local zone, never Python's own formatting."""

from __future__ import annotations

import datetime as dt
import time

import pytest

from crm_tui import i18n
from crm_tui.mail import quarantine
from crm_tui.mail.message import parse_message
from crm_tui.services import mail_filing
from screens.leads import LeadsScreen
from screens.pipeline import PipelineScreen
from tests.screens.crm_app_helpers import SIZE, app_for, press
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads
from tests.unit.test_billing_per_currency import billed_in_two_currencies
from widgets.kanban import KanbanBoard
from widgets.lazy_table import LazyTable

CASES = [("en", "1,200.50", "2,000.50"), ("es", "1.200,50", "2.000,50")]


@pytest.fixture
def speak():
    def choose(code: str) -> None:
        i18n.override_language(code)

    yield choose
    i18n.clear_override()
    i18n.set_language(i18n.SOURCE_LANGUAGE)


@pytest.mark.parametrize(("language", "ann", "_column"), CASES)
async def test_the_lead_list_shows_amounts_in_the_users_language(world, speak, language, ann,
                                                                  _column):
    seed_leads(world)
    speak(language)
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#records", LazyTable)
        row = table.get_row(0)
        assert row is not None and row[1][0] == "Ann Alpha"
        assert ann in row[1]  # the Est. sale cell
        assert ann in table.render_line(1).text


@pytest.mark.parametrize(("language", "ann", "column"), CASES)
async def test_the_board_shows_amounts_in_the_users_language(world, speak, language, ann,
                                                              column):
    ids = seed_leads(world)
    speak(language)
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        first = app.screen.query_one(KanbanBoard).kanban_columns[0]
        # New: Ann Alpha (1200.50) and Ben Beta (800.00).
        assert first.data.subtitle.endswith(f"· {column}")
        cards = {card.key: card for card in first.cards}
        assert f"Spain · {ann}" in cards[ids["Ann Alpha"]].lines


@pytest.fixture
def madrid(monkeypatch):
    """Show times in Madrid's zone (UTC+1 in January): times are stored in UTC."""
    monkeypatch.setenv("TZ", "Europe/Madrid")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# Babel puts a no-break space between a Spanish amount and its symbol.
BILLING = [("en", "€2,613.60; $121.00", "€121.00"),
           ("es", "2.613,60\u00a0€; 121,00\u00a0US$", "121,00\u00a0€")]


@pytest.mark.parametrize(("language", "customer_a", "customer_b"), BILLING)
async def test_the_company_list_shows_billing_as_money_in_the_users_language(
        world, speak, language, customer_a, customer_b):
    a, b = billed_in_two_currencies(world)
    speak(language)
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        table = app.screen.query_one("#records", LazyTable)
        billing = [c.key for c in table.source.columns()].index("billing")
        rows = dict(table.get_row(index) for index in range(table.row_count))
        assert rows[a][billing] == customer_a
        # Customer #B: 242.00 EUR less a credit note of 121.00.
        assert rows[b][billing] == customer_b


def _quarantined(world) -> quarantine.Kept:
    raw = (b"From: Pat <pat@elsewhere.example>\r\nSubject: big\r\n\r\n" + b"x" * 12_345)
    quarantine.quarantine(raw, 7, 42, "could not be parsed: boom")
    [kept] = quarantine.kept()
    return kept


@pytest.mark.parametrize("language", ["en", "es"])
async def test_the_mail_lists_show_times_and_sizes_in_the_users_language(
        world, speak, madrid, language):
    raw = (b"From: Pat <pat@elsewhere.example>\r\nTo: crm@crm.example\r\nSubject: who?\r\n"
           b"Message-ID: <who@elsewhere.example>\r\n\r\nHello.\r\n")
    [filed] = mail_filing.file_incoming(
        [mail_filing.IncomingMail(parse_message(raw), raw=raw)], clock=world.clock)
    assert filed.outcome == "unmatched"
    kept = _quarantined(world)
    # The frozen clock says 09:30 UTC on 15 January 2026: 10:30 in Madrid.
    arrived = {"en": "1/15/2026 10:30 AM", "es": "15/1/2026 10:30"}[language]
    local = kept.kept_at.replace(tzinfo=dt.UTC).astimezone()
    kept_at = (f"{local.month}/{local.day}/{local.year} {local:%I:%M %p}".replace(" 0", " ")
               if language == "en" else f"{local.day}/{local.month}/{local.year} {local.hour}:{local:%M}")
    size = {"en": f"{kept.size // 1000},{kept.size % 1000:03}",
            "es": f"{kept.size // 1000}.{kept.size % 1000:03}"}[language]
    speak(language)
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "9")
        unmatched = app.screen.query_one("#unmatched", LazyTable)
        _id, cells = unmatched.get_row(0)
        assert cells[0] == arrived and cells[2] == "who?"
        assert arrived in unmatched.render_line(1).text
        await press(pilot, "right_square_bracket")
        quarantined = app.screen.query_one("#quarantine", LazyTable)
        _id, cells = quarantined.get_row(0)
        assert cells[0] == kept_at and cells[2] == size
        assert size in quarantined.render_line(1).text


@pytest.mark.parametrize(("language", "shown"), [("en", "2.5 KB"), ("es", "2,5 KB")])
async def test_attachment_sizes_in_the_users_language(world, speak, language, shown):
    from crm_tui.services import leads
    from screens.lead_detail import LeadDetailScreen
    from screens.modals.save_attachment import SaveAttachmentModal

    ids = seed_leads(world)
    user1 = world.session("user1")
    leads.attach_file(user1, ids["Cid Gamma"], "offer.pdf", b"%PDF-1.4 " + b"x" * 2551)
    speak(language)
    app = LeadHarness(lambda: LeadDetailScreen(user1, ids["Cid Gamma"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)

        def screen_text() -> str:
            return "\n".join(s.text for s in app.screen._compositor.render_strips())

        assert f"offer.pdf ({shown})" in screen_text()
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, SaveAttachmentModal)
        assert shown in screen_text()
