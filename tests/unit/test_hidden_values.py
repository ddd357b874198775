"""Nothing about a record the user may not see shows anywhere: a hidden parent or related
record reads "(not visible)", and counts and sums cover only what the user may see (amounts
from invoices only with an invoice bit). Figures worked out by hand on the worked example."""

from __future__ import annotations

import json
from decimal import Decimal as D

from crm_tui.services import companies, forms, leads, pipeline, stats
from crm_tui.services.records import get_kind
from crm_tui.services.references import NOT_VISIBLE
from tests.unit.lead_world import grant_lead_bits


def add_clerk(world) -> None:
    """An invoice clerk (CR, CW, IR, IW) of My company: sees A and B and their invoices."""
    get_kind("user").create(world.session("admin"), {
        "login": "clerk", "real_name": "Clerk", "profiles": "Invoice clerk",
        "company": str(world.cid("My company")), "password": "clerk-pw"})


def add_invoices(world) -> None:
    """Issued Submitted invoices: My company 1210.00, Customer #A 121.00 + 60.50, Customer #B
    242.00; a draft and a Received invoice, which billing leaves out."""
    from crm_tui.services import invoice_issue, invoices

    admin = world.session("admin")
    kind = get_kind("invoice")
    with invoices.deferred_pdfs():
        for company, amount in (("My company", "1000"), ("Customer #A", "100"),
                                ("Customer #A", "50"), ("Customer #B", "200")):
            invoice_issue.issue(admin, kind.create(admin, {
                "company": str(world.cid(company)), "tax_rate": "21",
                "lines": [{"description": "Support", "amount": amount}]}))
    kind.create(admin, {"company": str(world.cid("Customer #B")), "tax_rate": "21",
                        "lines": [{"description": "Draft", "amount": "777"}]})
    kind.create(admin, {"company": str(world.cid("Customer #B")), "type": "received",
                        "bill_id": "SUP-1", "tax_rate": "21",
                        "lines": [{"description": "Parts", "amount": "999"}]})


def billing(world, login: str) -> dict[str, object]:
    return {row["name"]: row["billing"]
            for row in get_kind("company").list(world.session(login))}


def record_lines(text: str) -> dict[str, str]:
    """`crm show` text output as {field: value}."""
    out = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        out[key] = value.strip()
    return out


def test_a_hidden_parent_is_never_named_by_the_services(any_world):
    a = any_world.cid("Customer #A")
    user1_fields = {f["key"]: f["text"] for f in forms.display(any_world.session("user1"),
                                                               "company", a)}
    assert user1_fields["parent"] == NOT_VISIBLE
    admin_fields = {f["key"]: f["text"] for f in forms.display(any_world.session("admin"),
                                                               "company", a)}
    assert admin_fields["parent"] == "My company"
    # The edit form keeps the hidden parent by its id, labelled without its name.
    described = forms.describe(any_world.session("user1"), "company", a)
    parent = next(f for f in described if f["key"] == "parent")
    assert parent["value"] == str(any_world.cid("My company"))
    assert all("My company" not in str(option) for option in parent["options"])


def test_a_hidden_parent_is_never_named_on_the_command_line(any_world, any_db, run_crm):
    my, a = any_world.cid("My company"), any_world.cid("Customer #A")
    listed = run_crm("--user", "user1", "list", "company", db=any_db)
    assert listed.returncode == 0, listed.stderr
    assert "Customer #A" in listed.stdout and "Customer #B" in listed.stdout
    assert "My company" not in listed.stdout and NOT_VISIBLE in listed.stdout
    shown = run_crm("--user", "user1", "show", "company", str(a), db=any_db)
    lines = record_lines(shown.stdout)
    assert lines["parent"] == NOT_VISIBLE
    assert "My company" not in shown.stdout
    # --json keeps the id (a column of the row he sees), never the name.
    as_json = run_crm("--user", "user1", "show", "company", str(a), "--json", db=any_db)
    assert json.loads(as_json.stdout)["parent"] == my
    assert "My company" not in as_json.stdout
    # The superadmin sees the parent's id as before.
    admin = run_crm("show", "company", str(a), db=any_db)
    lines = record_lines(admin.stdout)
    assert lines["parent"] == str(my)


def test_not_visible_reads_in_the_user_s_language_and_json_stays_the_same(any_world, any_db,
                                                                          run_crm):
    a = str(any_world.cid("Customer #A"))
    for command in (("list", "company"), ("show", "company", a)):
        english = run_crm("--user", "user1", *command, db=any_db)
        spanish = run_crm("--user", "user1", "--lang", "es", *command, db=any_db)
        assert english.returncode == spanish.returncode == 0, spanish.stderr
        assert "(not visible)" in english.stdout and "(no visible)" not in english.stdout
        assert "(no visible)" in spanish.stdout and "(not visible)" not in spanish.stdout
        # --json is the scripting contract: the same bytes in every language, no marker.
        as_json = [run_crm("--user", "user1", *lang, *command, "--json", db=any_db).stdout
                   for lang in ((), ("--lang", "es"))]
        assert as_json[0] == as_json[1]
        assert "visible" not in as_json[0]
    assert record_lines(run_crm("--user", "user1", "--lang", "es", "show", "company", a,
                                db=any_db).stdout)["parent"] == "(no visible)"
    # So is a CSV export: the same in every language, no marker.
    exported = [run_crm("--user", "user1", *lang, "export", "companies", db=any_db)
                for lang in ((), ("--lang", "es"))]
    assert exported[0].returncode == 0, exported[0].stderr
    assert "Customer #A" in exported[0].stdout and exported[0].stdout == exported[1].stdout
    assert "visible" not in exported[0].stdout


def test_a_leads_hidden_company_is_never_named(any_world):
    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    lead_id = get_kind("lead").create(admin, {
        "full_name": "Olga Owner", "email": "olga@example.com", "owner": "user1",
        "company": str(any_world.cid("My company"))})
    shown = leads.detail(any_world.session("user1"), lead_id)
    assert shown["company_label"] == NOT_VISIBLE
    assert "My company" not in json.dumps(shown["fields"])
    assert leads.detail(admin, lead_id)["company_label"] == "My company"


def test_related_contracts_and_invoices_are_not_named_when_hidden(any_world):
    from crm_tui.services import invoice_forms

    add_clerk(any_world)
    admin = any_world.session("admin")
    contract = get_kind("contract")
    hidden = contract.create(admin, {"name": "Secret frame deal",
                                     "company": str(any_world.cid("My company"))})
    shown = contract.create(admin, {"name": "Support A", "related_contract": str(hidden),
                                    "company": str(any_world.cid("Customer #A"))})
    fields = {f["key"]: f["text"] for f in forms.display(any_world.session("user1"),
                                                         "contract", shown)}
    assert fields["related_contract"] == NOT_VISIBLE
    invoice = get_kind("invoice").create(admin, {
        "company": str(any_world.cid("Customer #A")), "tax_rate": "21",
        "lines": [{"description": "Support", "amount": "10"}],
        "contracts": f"{hidden},{shown}"})
    detail = invoice_forms.detail(any_world.session("clerk"), invoice)
    # A linked contract the user may not see is left out of the invoice's links altogether.
    assert sorted(name for _, name in detail["contract_names"]) == ["Support A"]
    assert "Secret" not in json.dumps(detail, default=str)
    assert sorted(name for _, name in invoice_forms.detail(admin, invoice)["contract_names"]) == [
        "Secret frame deal", "Support A"]


def test_billing_counts_visible_invoices_and_needs_an_invoice_bit(any_world, any_db, run_crm):
    add_clerk(any_world)
    add_invoices(any_world)
    assert billing(any_world, "admin") == {"My company": "1210.00 EUR",
                                           "Customer #A": "181.50 EUR",
                                           "Customer #B": "242.00 EUR"}
    assert billing(any_world, "clerk") == {"Customer #A": "181.50 EUR",
                                           "Customer #B": "242.00 EUR"}
    # Standard user: no invoice bit, so no amount derived from invoices.
    assert billing(any_world, "user1") == {"Customer #A": None, "Customer #B": None}
    assert billing(any_world, "user2") == {}
    a = any_world.cid("Customer #A")
    fields = {f["key"]: f["text"] for f in forms.display(any_world.session("user1"),
                                                         "company", a)}
    assert fields["billing"] == NOT_VISIBLE
    shown = run_crm("--user", "user1", "show", "company", str(a), db=any_db)
    assert any(line.startswith("billing") and line.endswith(NOT_VISIBLE)
               for line in shown.stdout.splitlines()), shown.stdout
    assert "181.50" not in shown.stdout


def test_company_statistics_per_user(any_world):
    add_clerk(any_world)
    add_invoices(any_world)
    admin = any_world.session("admin")
    for company in ("My company", "Customer #A", "Customer #A"):
        get_kind("contract").create(admin, {"name": f"C {company}",
                                            "company": str(any_world.cid(company))})
    for company in ("My company", "My company", "Customer #B"):
        companies.add_note(admin, any_world.cid(company), "called")

    def charts(login):
        return {c.key: c for c in stats.company_statistics(any_world.session(login))}

    everything = charts("admin")
    assert everything["per_manager"].bars == [("admin", 1), ("user1", 1), ("manager1", 1)]
    assert everything["top_invoiced"].bars == [("My company (EUR)", D("1210.00")),
                                               ("Customer #B (EUR)", D("242.00")),
                                               ("Customer #A (EUR)", D("181.50"))]
    assert everything["top_contracts"].bars == [("Customer #A", 2), ("My company", 1)]
    assert everything["top_activity"].bars == [("My company", 2), ("Customer #B", 1)]

    user1 = charts("user1")
    assert user1["per_manager"].bars == [("user1", 1), ("manager1", 1)]
    assert user1["per_role"].bars == [("(no role)", 2)]
    assert user1["top_invoiced"].bars == [] and NOT_VISIBLE in user1["top_invoiced"].note
    assert user1["top_contracts"].bars == [("Customer #A", 2)]
    assert user1["top_activity"].bars == [("Customer #B", 1)]

    clerk = charts("clerk")
    assert clerk["top_invoiced"].bars == [("Customer #B (EUR)", D("242.00")),
                                          ("Customer #A (EUR)", D("181.50"))]
    assert clerk["top_invoiced"].note == ""

    user2 = charts("user2")
    assert all(chart.bars == [] for chart in user2.values())


def test_lead_figures_leave_out_leads_of_hidden_companies(any_world):
    from crm_tui.services import lead_stats

    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    kind = get_kind("lead")
    for name, company, owner, sale in (("Ann", "Customer #A", "user1", "100"),
                                       ("Bob", "Customer #B", "manager1", "200"),
                                       ("Hid", "My company", "admin", "5000"),
                                       ("Own", "My company", "user1", "7")):
        kind.create(admin, {"full_name": name, "email": f"{name.lower()}@example.com",
                            "owner": owner, "estimated_sale": sale,
                            "company": str(any_world.cid(company))})
    user1 = any_world.session("user1")
    # He sees A's and B's leads and his own lead of My company, never admin's one there.
    first = pipeline.columns(user1)[0]
    assert (first.count, first.total) == (3, D("307.00"))
    first = pipeline.columns(admin)[0]
    assert (first.count, first.total) == (4, D("5307.00"))
    figures = lead_stats.summary(user1)
    assert figures.total == 3
    assert [(g.label, g.count, g.total) for g in figures.per_user] == [
        ("user1", 2, D("107.00")), ("manager1", 1, D("200.00"))]
    assert "Hid" not in [t.full_name for t in figures.top_sales]
    assert stats.top_by_leads(user1) == [("Customer #A", 1), ("Customer #B", 1)]
    assert stats.top_by_leads(admin) == [("My company", 2), ("Customer #A", 1),
                                         ("Customer #B", 1)]


def test_crm_stats_shows_no_invoiced_amounts_without_an_invoice_bit(any_world, any_db, run_crm):
    add_invoices(any_world)
    shown = run_crm("--user", "user1", "stats", "companies", db=any_db)
    assert shown.returncode == 0, shown.stderr
    assert "181.50" not in shown.stdout and NOT_VISIBLE in shown.stdout
    as_json = json.loads(run_crm("--user", "user1", "stats", "companies", "--json",
                                 db=any_db).stdout)
    invoiced = next(c for c in as_json if c["key"] == "top_invoiced")
    assert invoiced["bars"] == [] and NOT_VISIBLE in invoiced["note"]
    admin = run_crm("stats", "companies", db=any_db)
    assert "1,210.00" in admin.stdout and "181.50" in admin.stdout  # grouped, as people read it
