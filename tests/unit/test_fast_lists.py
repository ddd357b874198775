"""Lists stay fast for every operator: the lead list counts up to a probe before painting,
pages of a list with many matches are read along the sort index (no sort of every match),
and exports report their progress page by page."""

from __future__ import annotations

import io

from crm_tui.db import database
from crm_tui.demo import DemoSizes, generate
from crm_tui.models import User
from crm_tui.services import exports
from crm_tui.services.context import Session
from crm_tui.services.lead_rows import LeadRows


def _plan(query) -> str:
    sql, params = query.sql()
    return "\n".join(row[-1] for row in
                     database.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall())


def test_the_salesperson_s_first_page_walks_the_sort_index(crm_db, clock):
    generate(DemoSizes(companies=20, contacts=0, contracts=0, invoices=0, leads=600))
    database.execute_sql("ANALYZE")
    seller = Session(User.get(User.login == "sales2"), clock)
    rows = LeadRows(seller, {"closed": "0"}, probe=50)
    assert rows.count() == 51 and rows.estimated
    first = rows.page(0, 20)
    assert len(first) == 20
    # In id order, as the list shows them.
    ids = [row_id for row_id, _ in first]
    assert ids == sorted(ids)
    query = rows.query(dense=True).order_by(rows.kind.model.id).limit(20)
    plan = _plan(query)
    assert "TEMP B-TREE" not in plan
    assert "MULTI-INDEX OR" not in plan.split("LIST SUBQUERY")[0]
    # The exact count comes later and agrees with a plain count of the rule.
    exact = rows.exact_count()
    assert exact == LeadRows(seller, {"closed": "0"}).count() > 50


def test_a_few_matches_are_found_through_the_indexes_and_sorted(crm_db, clock):
    generate(DemoSizes(companies=20, contacts=0, contracts=0, invoices=0, leads=600))
    admin = Session(User.get(User.login == "admin"), clock)
    rows = LeadRows(admin, {"owner": "clerk1", "status": "8"}, probe=200)
    total = rows.count()
    assert not rows.estimated and total < 200
    assert [r for r, _ in rows.page(0, 500)] == sorted(r for r, _ in rows.page(0, 500))
    assert len(rows.page(0, 500)) == total


def test_exports_report_progress_page_by_page(crm_db, clock):
    generate(DemoSizes(companies=5, contacts=0, contracts=0, invoices=0, leads=1200))
    admin = Session(User.get(User.login == "admin"), clock)
    seen: list[int] = []
    out = io.StringIO(newline="")
    count = exports.write(admin, "leads", out, None, seen.append)
    assert count == 1200
    assert seen == [500, 1000, 1200]
    assert out.getvalue().count("\n") == 1201


def test_the_salesperson_s_statistics_read_covering_indexes(crm_db, clock):
    import peewee

    from crm_tui.models import Lead
    from crm_tui.services import lead_stats

    generate(DemoSizes(companies=40, contacts=0, contracts=0, invoices=0, leads=300))
    database.execute_sql("ANALYZE")
    seller = Session(User.get(User.login == "sales2"), clock)
    query = (lead_stats._leads(seller, None)
             .select(Lead.channel, peewee.fn.COUNT(Lead.id),
                     lead_stats.money_sum(Lead.estimated_sale))
             .group_by(Lead.channel))
    plan = _plan(query)
    assert "MULTI-INDEX OR" not in plan
    assert "COVERING INDEX lead_channel_estimated_sale_owner_id_company_id" in plan
    # The figures are those of the leads he may see.
    admin = Session(User.get(User.login == "admin"), clock)
    assert sum(g.count for g in lead_stats.by_channel(seller)) == (
        LeadRows(seller, {}).count())
    assert sum(g.count for g in lead_stats.by_channel(admin)) == 300
