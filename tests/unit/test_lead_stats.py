"""Lead statistics against figures worked out by hand from tests/unit/lead_world.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

from crm_tui.services import lead_stats
from crm_tui.services.lead_stats import Group
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads, session_at


def test_every_statistic_for_the_superadmin(any_world):
    seed_leads(any_world)
    stats = lead_stats.summary(any_world.session("admin"))
    assert stats.total == 8
    assert stats.by_channel == [Group("web", 4, D("8300.50")), Group("phone", 2, D("1500.00")),
                                Group("(no channel)", 1, D("0.00")),
                                Group("fair", 1, D("300.25"))]
    assert stats.by_country == [Group("Spain", 4, D("8300.50")),
                                Group("France", 2, D("1500.00")),
                                Group("(no country)", 1, D("0.00")),
                                Group("Germany", 1, D("300.25"))]
    assert stats.per_user == [Group("user1", 4, D("8300.50")),
                              Group("manager1", 3, D("1800.25")), Group("admin", 1, D("0.00"))]
    assert (stats.conversion.won, stats.conversion.closed) == (1, 3)
    assert stats.conversion.rate == D("33.3")
    assert [(t.full_name, t.estimated_sale) for t in stats.top_sales] == [
        ("Cid Gamma", D("5000.00")), ("Fay Won", D("2000.00")), ("Ann Alpha", D("1200.50")),
        ("Ben Beta", D("800.00")), ("Gus Lost", D("700.00")), ("Dee Delta", D("300.25")),
        ("Hal Dead", D("100.00")), ("Eve Epsilon", D("0.00"))]
    weeks = [(str(day), n) for day, n in stats.new_per_week]
    assert weeks == [("2025-10-27", 0), ("2025-11-03", 1), ("2025-11-10", 0),
                     ("2025-11-17", 0), ("2025-11-24", 0), ("2025-12-01", 1),
                     ("2025-12-08", 0), ("2025-12-15", 0), ("2025-12-22", 1),
                     ("2025-12-29", 1), ("2026-01-05", 2), ("2026-01-12", 2)]


def test_statistics_follow_access_and_filters(any_world):
    seed_leads(any_world)
    user1 = any_world.session("user1")
    stats = lead_stats.summary(user1)
    assert stats.total == 7  # Eve's unmanaged lead is not his to see
    assert [g.label for g in stats.by_channel] == ["web", "phone", "fair"]
    spain = lead_stats.summary(user1, {"country": "Spain"})
    assert spain.total == 4
    assert (spain.conversion.won, spain.conversion.closed, spain.conversion.rate) == (
        1, 2, D("50.0"))
    assert lead_stats.summary(any_world.session("user2")).total == 0
    assert lead_stats.conversion(user1, {"closed": "0"}).rate is None


def test_top_ten_only_and_week_edges(any_world):
    admin = any_world.session("admin")
    kind = get_kind("lead")
    for n in range(12):
        kind.create(admin, {"full_name": f"L{n:02}", "estimated_sale": str(100 * n)})
    top = lead_stats.top_sales(admin)
    assert [t.full_name for t in top] == [f"L{n:02}" for n in range(11, 1, -1)]
    # Sunday late belongs to the week that began the Monday before.
    kind.create(session_at("admin", "2026-01-11 23:59"), {"full_name": "Sunday"})
    kind.create(session_at("admin", "2026-01-12 00:00"), {"full_name": "Monday"})
    weeks = dict(lead_stats.new_per_week(admin, {"q": "day"}, weeks=2))
    assert weeks == {dt.date(2026, 1, 5): 1, dt.date(2026, 1, 12): 1}
