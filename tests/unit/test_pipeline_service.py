"""The pipeline board's service: columns counted and summed by GROUP BY, ordered pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crm_tui.errors import ValidationFailed
from crm_tui.services import pipeline, settings
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads, session_at


@pytest.fixture
def ids(any_world):
    ids = seed_leads(any_world)
    kind = get_kind("lead")
    ids["Ord One"] = kind.create(session_at("admin", "2026-01-15 08:00"), {
        "full_name": "Ord One", "estimated_sale": "50", "estimated_close": "2026-01-16"})
    ids["Ord Two"] = kind.create(session_at("admin", "2026-01-10 08:00"), {
        "full_name": "Ord Two", "estimated_sale": "9000"})
    return ids


def test_columns_count_and_sum_per_status(any_world, ids):
    cols = pipeline.columns(any_world.session("admin"))
    assert [(c.status, c.name, c.count, c.total) for c in cols] == [
        (0, "New", 4, Decimal("11050.50")),
        (1, "Meeting arranged", 1, Decimal("5000.00")),
        (2, "Needs discovered", 1, Decimal("300.25")),
        (3, "Proposal delivered", 1, Decimal("0.00")),
        (4, "Offer accepted", 0, Decimal("0.00")),
    ]
    closed = pipeline.columns(any_world.session("admin"), show_closed=True)[5:]
    assert [(c.status, c.count, c.total, c.closed) for c in closed] == [
        (5, 1, Decimal("100.00"), True), (6, 1, Decimal("700.00"), True),
        (7, 0, Decimal("0.00"), True), (8, 1, Decimal("2000.00"), True)]


def test_columns_respect_access_and_renamed_statuses(any_world, ids):
    settings.set_value(any_world.session("admin"), "lead.status.3", "Quote sent")
    cols = pipeline.columns(any_world.session("user1"))
    # user1 sees the leads of Customer #A and #B, not the unmanaged ones.
    assert [(c.name, c.count, c.total) for c in cols] == [
        ("New", 2, Decimal("2000.50")), ("Meeting arranged", 1, Decimal("5000.00")),
        ("Needs discovered", 1, Decimal("300.25")), ("Quote sent", 0, Decimal("0.00")),
        ("Offer accepted", 0, Decimal("0.00"))]
    assert all(c.count == 0 for c in pipeline.columns(any_world.session("user2")))


def test_sums_stay_exact_over_many_cents(any_world):
    admin = any_world.session("admin")
    kind = get_kind("lead")
    for _ in range(30):
        kind.create(admin, {"full_name": "Cent", "estimated_sale": "0.10"})
    assert pipeline.columns(admin)[0].total == Decimal("3.00")


@pytest.mark.parametrize(("order", "expected"), [
    ("estimated_sale", ["Ord Two", "Ann Alpha", "Ben Beta", "Ord One"]),
    ("updated", ["Ord One", "Ann Alpha", "Ben Beta", "Ord Two"]),
    ("estimated_close", ["Ord One", "Ann Alpha", "Ben Beta", "Ord Two"]),
])
def test_column_orders(any_world, ids, order, expected):
    admin = any_world.session("admin")
    cards = pipeline.column_page(admin, 0, order, 0, 10)
    assert [c.full_name for c in cards] == expected
    # Any page of the same order is the matching slice.
    for offset in range(4):
        for limit in (1, 2, 3):
            page = pipeline.column_page(admin, 0, order, offset, limit)
            assert [c.full_name for c in page] == expected[offset:offset + limit]


def test_cards_carry_what_the_board_shows(any_world, ids):
    cards = pipeline.column_page(any_world.session("user1"), 1, "estimated_sale", 0, 5)
    (card,) = cards
    assert (card.full_name, card.company_name, card.country, card.estimated_sale) == (
        "Cid Gamma", "Gamma Ltd", "Spain", Decimal("5000.00"))
    assert card.tags == (("hot", "red"), ("vip", "yellow"))
    assert pipeline.card(any_world.session("user1"), ids["Cid Gamma"]) == card


def test_order_cycle_and_bad_arguments(any_world):
    assert pipeline.next_order("estimated_sale") == "updated"
    assert pipeline.next_order("updated") == "estimated_close"
    assert pipeline.next_order("estimated_close") == "estimated_sale"
    admin = any_world.session("admin")
    with pytest.raises(ValidationFailed, match="order"):
        pipeline.column_page(admin, 0, "name", 0, 5)
    with pytest.raises(ValidationFailed, match="status"):
        pipeline.column_page(admin, 9, "updated", 0, 5)


def test_cards_show_their_owner(any_world, ids):
    user1 = any_world.session("user1")
    cards = pipeline.column_page(user1, 0, "estimated_sale", 0, 10)
    assert [(c.full_name, c.owner) for c in cards] == [
        ("Ann Alpha", "user1"), ("Ben Beta", "manager1")]
    assert pipeline.card(user1, ids["Ben Beta"]).owner == "manager1"
    admin = any_world.session("admin")
    get_kind("lead").update(admin, ids["Ord One"], {"owner": ""})
    orphan = [c for c in pipeline.column_page(admin, 0, "updated", 0, 10)
              if c.full_name == "Ord One"]
    assert [c.owner for c in orphan] == [""]


def test_my_leads_only(any_world, ids):
    user1 = any_world.session("user1")
    mine = pipeline.columns(user1, show_closed=True, mine=True)
    # user1 sees Ben Beta and Dee Delta (Customer #B) too, but owns neither.
    assert [(c.status, c.count, c.total) for c in mine if c.count] == [
        (0, 1, Decimal("1200.50")), (1, 1, Decimal("5000.00")), (5, 1, Decimal("100.00")),
        (8, 1, Decimal("2000.00"))]
    assert [c.full_name for c in pipeline.column_page(user1, 0, "updated", 0, 10,
                                                      mine=True)] == ["Ann Alpha"]
    assert pipeline.column_page(user1, 2, "estimated_sale", 0, 10, mine=True) == []
    # The same user without the filter sees the other owners' leads.
    assert [c.count for c in pipeline.columns(user1)][:3] == [2, 1, 1]


def _status_trail(lead_id):
    from crm_tui.models import History, LeadActivity

    entries = [e.text for e in LeadActivity.select().where(
        LeadActivity.lead == lead_id, LeadActivity.kind == "status").order_by(LeadActivity.id)]
    changes = [h.changes for h in History.select().where(
        History.kind == "lead", History.record_id == lead_id, History.action == "change")
        .order_by(History.id)]
    return entries, changes


def test_won_from_offer_accepted_is_one_status_change(any_world, ids):
    from crm_tui.models import Lead
    from crm_tui.services import leads

    user1 = any_world.session("user1")
    leads.set_status(user1, ids["Ann Alpha"], 4)
    before = _status_trail(ids["Ann Alpha"])
    leads.mark_won(user1, ids["Ann Alpha"])
    entries, changes = _status_trail(ids["Ann Alpha"])
    assert entries[len(before[0]):] == ["status Offer accepted -> Closed successfully"]
    assert len(changes) == len(before[1]) + 1 and '"status": [4, 8]' in changes[-1]
    assert Lead.get_by_id(ids["Ann Alpha"]).status == 8


def test_lost_records_the_reason_and_needs_one(any_world, ids):
    from crm_tui.errors import PermissionDenied
    from crm_tui.models import Lead
    from crm_tui.services import leads

    user1 = any_world.session("user1")
    with pytest.raises(ValidationFailed, match="reason"):
        leads.mark_lost(user1, ids["Cid Gamma"], "   ")
    with pytest.raises(ValidationFailed, match="reason"):
        leads.mark_lost(user1, ids["Cid Gamma"], "x" * 501)
    assert Lead.get_by_id(ids["Cid Gamma"]).status == 1
    leads.mark_lost(user1, ids["Cid Gamma"], "  Went with   a cheaper offer ")
    entries, changes = _status_trail(ids["Cid Gamma"])
    assert entries == ["status Meeting arranged -> Closed – lost\n"
                       "Reason: Went with a cheaper offer"]
    assert len(changes) == 1 and Lead.get_by_id(ids["Cid Gamma"]).status == 6
    # A lead user1 may only look at: refused with the usual message, nothing written.
    with pytest.raises(PermissionDenied, match="may not modify lead 'Ben Beta'"):
        leads.mark_lost(user1, ids["Ben Beta"], "no budget")
    with pytest.raises(PermissionDenied, match="may not modify lead 'Ben Beta'"):
        leads.mark_won(user1, ids["Ben Beta"])
    assert _status_trail(ids["Ben Beta"]) == ([], [])
    assert Lead.get_by_id(ids["Ben Beta"]).status == 0
