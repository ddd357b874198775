"""80x24 snapshots of the lead screens on the fixed lead data (frozen clock, UTC).

Review a changed snapshot in the report pytest writes, then accept it with
`pytest tests/snapshots --snapshot-update`.
"""

from __future__ import annotations

import time

import pytest

from screens.lead_detail import LeadDetailScreen
from screens.leads import LeadsScreen
from screens.pipeline import PipelineScreen
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads


@pytest.fixture
def utc(monkeypatch):
    """Times show in local time: make that UTC so the pictures do not depend on the host."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def ids(world, utc):
    ids = seed_leads(world)
    from crm_tui.services import leads

    user1 = world.session("user1")
    leads.set_status(user1, ids["Cid Gamma"], 2)
    leads.add_note(user1, ids["Cid Gamma"], "Called: wants 40 seats.\nSend the offer by Friday.")
    leads.attach_file(user1, ids["Cid Gamma"], "offer.pdf", b"%PDF-1.4 " + b"x" * 2000)
    return ids


def test_pipeline_board(snap_compare, world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_pipeline_board_scrolled_to_the_right(snap_compare, world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))

    async def move(pilot):
        await settle(pilot)
        await pilot.press("l", "l", "l")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=move)


def test_pipeline_board_closed_columns_of_my_leads(snap_compare, world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))

    async def show(pilot):
        await settle(pilot)
        await pilot.press("c", "m")
        await settle(pilot)
        await pilot.press(*["l"] * 8)
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=show)


async def open_dialog(pilot, key: str) -> None:
    """Press a board key that opens a dialog once a card is highlighted (the key is greyed
    until then: on a busy machine the first highlight may come after the first press)."""
    for _ in range(40):
        await settle(pilot)
        await pilot.press(key)
        await settle(pilot)
        if not isinstance(pilot.app.screen, PipelineScreen):
            return
    raise AssertionError(f"{key} opened no dialog")


def test_pipeline_status_picker(snap_compare, world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))

    async def pick(pilot):
        await open_dialog(pilot, "g")
        await pilot.press(*"clo", "down")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=pick)


def test_pipeline_lost_reason(snap_compare, world, ids):
    app = LeadHarness(lambda: PipelineScreen(world.session("user1")))

    async def ask(pilot):
        await open_dialog(pilot, "X")
        await pilot.press(*"No budget")
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=ask)


def test_lead_detail(snap_compare, world, ids):
    app = LeadHarness(lambda: LeadDetailScreen(world.session("user1"), ids["Cid Gamma"]))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_lead_list(snap_compare, world, ids):
    app = LeadHarness(lambda: LeadsScreen(world.session("user1")))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)


def test_mail_reply_dialog(snap_compare, world, ids):
    from screens.modals.mail_reply import MailReplyModal

    app = LeadHarness(lambda: MailReplyModal(world.session("user1"), ids["Cid Gamma"]))
    assert snap_compare(app, terminal_size=(80, 24), run_before=settle)
