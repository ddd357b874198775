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
