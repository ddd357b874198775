"""The lead tally stays exact through every kind of lead write, and the statistics read
from it equal those counted over the leads, for every user, on both backends."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_tui.db import database
from crm_tui.services import imports, lead_mass, lead_stats, lead_tally, leads, merging, pipeline
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads, session_at

_ROWS = ("SELECT dimension, value, company_id, owner_id, leads, sale FROM lead_tally "
         "WHERE leads <> 0 OR sale <> 0 ORDER BY 1, 2, 3, 4")


class _Undo(Exception):
    pass


def recounted() -> list[tuple]:
    """The tally as counting every lead again gives it (the recount is rolled back)."""
    rows: list[tuple] = []
    try:
        with database.atomic():
            lead_tally.rebuild(database.obj)
            rows = database.execute_sql(_ROWS).fetchall()
            raise _Undo
    except _Undo:
        pass
    return rows


def assert_exact(step: str) -> None:
    kept = database.execute_sql(_ROWS).fetchall()
    assert kept == recounted(), step
    assert kept, step


def test_the_tally_follows_every_lead_write(any_world):
    seed_leads(any_world)
    assert_exact("seeded")
    admin = any_world.session("admin")
    kind = get_kind("lead")
    ids = {row["full_name"]: row["id"] for row in kind.list(admin)}
    new = kind.create(admin, {"full_name": "Ivy New", "country": "Italy", "channel": "fair",
                              "estimated_sale": "99.99",
                              "company": str(any_world.cid("Customer #A"))})
    assert_exact("create")
    kind.update(admin, new, {"country": "Portugal", "estimated_sale": "10.01"})
    assert_exact("country and sale")
    kind.update(admin, ids["Ann Alpha"], {"owner": "manager1", "company": ""})
    assert_exact("owner and company")
    kind.update(admin, ids["Ben Beta"], {"full_name": "Ben Beta-Renamed"})
    assert_exact("a column the tally does not count")
    leads.set_status(admin, ids["Cid Gamma"], 8)
    assert_exact("board move")
    lead_mass.mass_update(admin, [ids["Dee Delta"], new], "owner", "user1")
    assert_exact("mass edit of owners")
    lead_mass.mass_update(admin, [ids["Dee Delta"], ids["Ben Beta"]], "status", 6)
    assert_exact("mass edit")
    lead_mass.mass_update(admin, [ids["Dee Delta"], ids["Ben Beta"]], "company",
                          str(any_world.cid("Customer #A")))
    assert_exact("mass edit of companies")
    merging.merge(admin, "lead", ids["Fay Won"], ids["Gus Lost"])
    assert_exact("merge")
    kind.delete(admin, ids["Hal Dead"])
    assert_exact("delete")
    data = (b"full_name,email,country,channel,estimated_sale,status\n"
            b"Jo Import,jo@example.com,Spain,web,12.50,3\n"
            b"Kim Import,kim@example.com,,phone,0,0\n")
    imports.run(admin, "leads", data, dry_run=False)
    assert_exact("import")


def test_statistics_from_the_tally_equal_those_counted(any_world):
    seed_leads(any_world)
    for login in any_world.users:
        session = any_world.session(login)
        assert lead_stats.summary(session) == lead_stats.summary(session, from_leads=True), login
        board = pipeline.columns(session, show_closed=True)
        counted = pipeline.columns(session, show_closed=True, filters={"full_name": ""})
        assert board == counted, login


@pytest.mark.parametrize("week_day", [0, 6])
def test_a_lead_counts_in_the_week_of_its_monday(any_world, week_day):
    admin = any_world.session("admin")
    monday = lead_stats.week_start(admin.clock.today()) - dt.timedelta(weeks=1)
    when = dt.datetime.combine(monday + dt.timedelta(days=week_day),
                               dt.time(0, 0) if week_day == 0 else dt.time(23, 59, 59))
    get_kind("lead").create(session_at("admin", when.isoformat()), {"full_name": "Wendy"})
    weeks = dict(lead_stats.new_per_week(admin, weeks=2))
    assert weeks[monday] == 1
    assert weeks == dict(lead_stats.new_per_week(admin, weeks=2, from_leads=True))
