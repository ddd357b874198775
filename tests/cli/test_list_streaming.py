"""`crm list` without --limit reads and prints a page at a time: the same records in the same
order as one big page, as JSON, JSON Lines or a table; filters go through the search index."""

from __future__ import annotations

import json

from crm_tui.demo import DemoSizes, generate
from crm_tui.services.records import get_kind
from tests.unit.lead_world import grant_lead_bits


def _ok(result):
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_streamed_lists_match_one_big_page(any_world, any_db, run_crm):
    # 1,300 leads: three pages of the stream; manager1 (LM) sees those of his colleagues'
    # companies.
    grant_lead_bits(any_world)
    generate(DemoSizes(companies=20, contacts=0, contracts=0, invoices=0, leads=1300))
    for login in ("admin", "manager1"):
        whole = json.loads(_ok(run_crm("--user", login, "list", "lead", "--json", "--limit",
                                       "100000", db=any_db)))
        assert len(whole) > 1000
        streamed = json.loads(_ok(run_crm("--user", login, "list", "lead", "--json",
                                          db=any_db)))
        assert streamed == whole
        lines = _ok(run_crm("--user", login, "list", "lead", "--jsonl", db=any_db)).splitlines()
        assert [json.loads(line) for line in lines] == whole
        table = _ok(run_crm("--user", login, "list", "lead", db=any_db)).splitlines()
        assert table[0].split()[:2] == ["ID", "FULL_NAME"]
        assert [int(line.split()[0]) for line in table[1:]] == [r["id"] for r in whole]
    # An offset skips into the stream; companies stream in name order.
    everything = json.loads(_ok(run_crm("list", "lead", "--json", "--limit", "100000",
                                        db=any_db)))
    skipped = json.loads(_ok(run_crm("list", "lead", "--json", "--offset", "700", db=any_db)))
    assert [r["id"] for r in skipped] == [r["id"] for r in everything[700:]]
    companies = json.loads(_ok(run_crm("list", "company", "--json", db=any_db)))
    assert companies == json.loads(_ok(run_crm("list", "company", "--json", "--limit", "999",
                                               db=any_db)))
    assert len(companies) > 20


def test_filters_and_bad_input_when_streaming(any_world, any_db, run_crm):
    admin = any_world.session("admin")
    get_kind("lead").create(admin, {"full_name": "Ana García", "company_name": "Nova ENERGÍA"})
    get_kind("lead").create(admin, {"full_name": "Luis Müller"})
    found = json.loads(_ok(run_crm("list", "lead", "--json", "--filter", "full_name=garcia",
                                   db=any_db)))
    assert [r["full_name"] for r in found] == ["Ana García"]
    lines = _ok(run_crm("list", "lead", "--jsonl", "--filter", "company_name=energia",
                        db=any_db)).splitlines()
    assert [json.loads(line)["full_name"] for line in lines] == ["Ana García"]
    assert _ok(run_crm("list", "lead", "--json", "--filter", "full_name=nobody",
                       db=any_db)) == "[]\n"
    bad = run_crm("list", "lead", "--jsonl", "--filter", "colour=red", db=any_db)
    assert bad.returncode == 1 and bad.stdout == "" and "colour" in bad.stderr
    both = run_crm("list", "lead", "--json", "--jsonl", db=any_db)
    assert both.returncode == 2
