"""`crm contract lines`, `crm contract expiring`, `billing_period` and
`contract.reminder_days` on the command line: what is shown, who may, exit codes."""

from __future__ import annotations

import datetime as dt
import json

from crm_tui.services.records import get_kind


def _today() -> dt.date:
    # The `crm` subprocess tells the time by the real clock.
    return dt.datetime.now(dt.UTC).date()


def test_billing_period_and_lines_from_the_command_line(any_world, any_db, run_crm):
    cid = str(get_kind("contract").create(any_world.session("admin"), {
        "name": "Support", "company": str(any_world.cid("Customer #A"))}))
    ok = run_crm("set", "contract", cid, "billing_period=quarterly", db=any_db)
    assert ok.returncode == 0, ok.stderr
    bad = run_crm("set", "contract", cid, "billing_period=weekly", db=any_db)
    assert bad.returncode == 1
    assert bad.stderr == ("crm: error: contract 'Support': field billing_period: value "
                          "'weekly': must be one of none, monthly, quarterly, yearly\n")
    lines = run_crm("--user", "user1", "contract", "lines", cid, "Support=100",
                    "Hosting = extra=20.5@10", "--json", db=any_db)
    assert lines.returncode == 0, lines.stderr
    assert json.loads(lines.stdout) == [
        {"description": "Support", "amount": "100.00", "tax_rate": ""},
        {"description": "Hosting = extra", "amount": "20.50", "tax_rate": "10"}]
    shown = json.loads(run_crm("show", "contract", cid, "--json", db=any_db).stdout)
    assert shown["billing_period"] == "quarterly" and len(shown["billing_lines"]) == 2
    table = run_crm("contract", "lines", cid, db=any_db).stdout.splitlines()
    assert table[0].split() == ["DESCRIPTION", "AMOUNT", "TAX_RATE"]
    # A bad line: one line naming it, exit 1, nothing written.
    bad = run_crm("contract", "lines", cid, "Support=1,5", db=any_db)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1
    assert "billing_lines[1].amount" in bad.stderr and "'1,5'" in bad.stderr
    bad = run_crm("contract", "lines", cid, "no amount", db=any_db)
    assert bad.returncode == 1 and "DESCRIPTION=AMOUNT" in bad.stderr
    assert run_crm("contract", "lines", cid, "x=1", "--clear", db=any_db).returncode == 2
    # User #2 sees nothing of Customer #A: like a missing contract.
    hidden = run_crm("--user", "user2", "contract", "lines", cid, "x=1", db=any_db)
    missing = run_crm("--user", "user2", "contract", "lines", "9999", "x=1", db=any_db)
    assert hidden.returncode == missing.returncode == 1
    assert hidden.stderr.replace(cid, "N") == missing.stderr.replace("9999", "N")
    assert len(json.loads(run_crm("contract", "lines", cid, "--json", db=any_db).stdout)) == 2
    assert run_crm("contract", "lines", cid, "--clear", db=any_db).returncode == 0
    assert run_crm("contract", "lines", cid, db=any_db).stdout == "(none)\n"


def test_expiring_lists_only_what_the_user_may_see(any_world, any_db, run_crm):
    admin = any_world.session("admin")
    today = _today()
    for name, company, days in (("A soon", "Customer #A", 10), ("B soon", "Customer #B", 3),
                                ("Mine soon", "My company", 5), ("A later", "Customer #A", 45),
                                ("A ended", "Customer #A", -1)):
        get_kind("contract").create(admin, {"name": name, "company": str(any_world.cid(company)),
                                            "date_end": (today + dt.timedelta(days)).isoformat()})
    rows = json.loads(run_crm("contract", "expiring", "--days", "30", "--json",
                              db=any_db).stdout)
    assert [(r["name"], r["days_left"]) for r in rows] == [
        ("B soon", 3), ("Mine soon", 5), ("A soon", 10)]
    user1 = run_crm("--user", "user1", "contract", "expiring", "--days", "30", db=any_db)
    assert user1.returncode == 0, user1.stderr
    assert "A soon" in user1.stdout and "B soon" in user1.stdout
    assert "Mine soon" not in user1.stdout and "Customer #B" in user1.stdout
    wide = json.loads(run_crm("contract", "expiring", "--days", "60", "--json",
                              db=any_db).stdout)
    assert [r["name"] for r in wide][-1] == "A later"
    none = run_crm("--user", "user2", "contract", "expiring", "--days", "30", db=any_db)
    assert none.stdout == "(none)\n"
    bad = run_crm("contract", "expiring", "--days", "soon", db=any_db)
    assert bad.returncode == 1
    assert bad.stderr == ("crm: error: contract expiring: field days: value 'soon': "
                          "a number of days, e.g. 30\n")
    assert run_crm("contract", "expiring", db=any_db).returncode == 2


def test_reminder_days_setting_is_checked(crm_db, world, run_crm):
    assert run_crm("config", "set", "contract.reminder_days", " 7, 30,7", db=crm_db).returncode == 0
    assert run_crm("config", "get", "contract.reminder_days", db=crm_db).stdout == "30,7\n"
    bad = run_crm("config", "set", "contract.reminder_days", "30,a week", db=crm_db)
    assert bad.returncode == 1 and "contract.reminder_days" in bad.stderr
    assert run_crm("config", "get", "contract.reminder_days", db=crm_db).stdout == "30,7\n"
