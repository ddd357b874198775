"""The duplicate rule of each kind, through `crm add` (warn, or refuse with
--no-duplicates), hidden records never named, and every lookup served by an index — on
both backends."""

from __future__ import annotations

import pytest

from crm_tui.db import database, is_postgres
from crm_tui.models import Company, Contact, Lead
from crm_tui.services import duplicates
from crm_tui.services.records import get_kind
from tests.cli.in_process import crm


def test_companies_by_name_or_fiscal_id(any_world, any_db):
    first = crm(any_db, "add", "company", "name=Acme Iberia", "fiscal_id=ES-B123")
    assert first.exit_code == 0 and first.stderr == "", first.output
    acme = int(first.stdout)
    warned = crm(any_db, "add", "company", "name=Acme Spain", "fiscal_id= es-b123 ")
    assert warned.exit_code == 0, warned.output
    assert warned.stderr.splitlines() == [
        f"crm: warning: the new company resembles company #{acme} 'Acme Iberia' "
        "(same fiscal id)"]
    before = Company.select().count()
    refused = crm(any_db, "add", "company", "name=Acme Portugal", "fiscal_id=ES-B123",
                  "--no-duplicates")
    assert refused.exit_code == 1 and refused.stdout == ""
    assert f"company #{acme} 'Acme Iberia' (same fiscal id)" in refused.stderr
    assert Company.select().count() == before
    # The same name as people read it (case, width) is the other half of the rule.
    admin = any_world.session("admin")
    found = duplicates.find(admin, "company", {"name": "ACME IBERIA"})
    assert [(d.id, d.reason) for d in found] == [(acme, "same name")]


def test_contacts_by_email_and_hidden_ones_are_never_named(any_world, any_db):
    admin = any_world.session("admin")
    secret = get_kind("company").create(admin, {"name": "Secret Co"})
    assert not get_kind("company").can_view(any_world.session("user1"),
                                            Company.get_by_id(secret))
    hidden = get_kind("contact").create(admin, {"full_name": "Hidden Person",
                                                "email": "same@x.example",
                                                "company": str(secret)})
    company = str(any_world.cid("Customer #A"))
    quiet = crm(any_db, "add", "contact", "full_name=Ana", "email=Same@X.example",
                f"company={company}", "--no-duplicates", user="user1")
    assert quiet.exit_code == 0 and quiet.stderr == "", quiet.output
    ana = int(quiet.stdout)
    warned = crm(any_db, "add", "contact", "full_name=Ana B", "email= same@x.example",
                 f"company={company}", user="user1")
    assert warned.exit_code == 0
    assert warned.stderr.splitlines() == [
        f"crm: warning: the new contact resembles contact #{ana} 'Ana' (same email)"]
    assert str(hidden) not in warned.stderr and "Hidden" not in warned.stderr
    count = Contact.select().count()
    refused = crm(any_db, "add", "contact", "full_name=Ana C", "email=SAME@x.example",
                  f"company={company}", "--no-duplicates", user="user1")
    assert refused.exit_code == 1 and "Hidden" not in refused.stderr
    assert Contact.select().count() == count


def test_leads_through_crm_add(any_world, any_db):
    first = crm(any_db, "add", "lead", "full_name=Kim", "email=kim@k.example",
                "company_name=K Ltd")
    assert first.exit_code == 0 and first.stderr == ""
    kim = int(first.stdout)
    by_name = crm(any_db, "add", "lead", "full_name= kim ", "company_name=k ltd")
    assert by_name.exit_code == 0
    assert f"lead #{kim} 'Kim' (same company and name)" in by_name.stderr
    count = Lead.select().count()
    refused = crm(any_db, "add", "lead", "full_name=Other", "email=KIM@k.example",
                  "--no-duplicates")
    assert refused.exit_code == 1 and Lead.select().count() == count
    usage = crm(any_db, "add", "tag", "name=hot", "--no-duplicates")
    assert usage.exit_code == 2


INDEXES = {
    ("lead", "same email"): "lead_email_key",
    ("lead", "same company and name"): "lead_name_key",
    ("contact", "same email"): "contact_email_key",
    ("company", "same fiscal id"): "company_fiscal_id_key",
    ("company", "same name"): "company_name_lower",
}


@pytest.mark.parametrize("kind", ["lead", "contact", "company"])
def test_every_lookup_uses_an_index(any_db, kind):
    values = {"email": "a@b.example", "full_name": "A", "company_name": "B", "name": "B",
              "fiscal_id": "X1"}
    model = get_kind(kind).model
    for reason, condition in duplicates._queries(kind, values):
        sql, params = model.select(model.id).where(condition).sql()
        if is_postgres():
            database.execute_sql("SET enable_seqscan = off")
            plan = " ".join(r[0] for r in database.execute_sql("EXPLAIN " + sql, params))
            database.execute_sql("SET enable_seqscan = on")
        else:
            plan = " ".join(str(r[-1]) for r in
                            database.execute_sql("EXPLAIN QUERY PLAN " + sql, params))
        assert INDEXES[(kind, reason)] in plan, (reason, plan)


def test_an_import_reports_duplicates_of_stored_records_and_within_the_file(
        any_world, any_db, tmp_path):
    admin = any_world.session("admin")
    company = any_world.cid("Customer #A")
    ana = get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@x.example",
                                             "company": str(company)})
    path = tmp_path / "contacts.csv"
    path.write_text("full_name,email,company\n"
                    f"Ana Two,ANA@x.example,{company}\n"
                    f"Bea,bea@x.example,{company}\n"
                    f"Bea Again, bea@X.example,{company}\n", encoding="utf-8")
    count = Contact.select().count()
    done = crm(any_db, "import", "contacts", str(path), "--dry-run")
    assert done.exit_code == 0, done.output
    warnings = [line for line in done.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 2, done.stderr
    assert "line 2" in warnings[0] and f"resembles contact #{ana} 'Ana' (same email)" \
        in warnings[0]
    assert "line 4" in warnings[1] and "same email as the contact on line 3" in warnings[1]
    assert Contact.select().count() == count


def test_the_batch_lookup_agrees_with_the_one_row_rule(any_world):
    from tests.unit.lead_world import seed_leads

    seed_leads(any_world)
    get_kind("company").create(any_world.session("admin"), {"name": "Gamma Ltd",
                                                            "fiscal_id": "G-1"})
    for login in ("admin", "user1"):
        session = any_world.session(login)
        rows = {
            "lead": [{"email": " ANN@example.com"}, {"full_name": "cid gamma",
                                                     "company_name": " GAMMA LTD"},
                     {"full_name": "Nobody", "email": "no@x.example"}],
            "company": [{"name": "gamma ltd"}, {"name": "X", "fiscal_id": " g-1"},
                        {"name": "Customer #A"}],
            "contact": [{"email": "nobody@x.example"}],
        }
        # Small parts too: the statement rendered for the first part of a length is
        # reused, the next parts' keys bound in its place (the user's rule after them).
        for kind, values in rows.items():
            one = {n: duplicates.find(session, kind, v) for n, v in enumerate(values)}
            for chunk in (200, 1, 2):
                many = duplicates.find_many(session, kind, values, chunk=chunk)
                assert {n: [(d.id, d.reason) for d in found] for n, found in many.items()} == {
                    n: [(d.id, d.reason) for d in found] for n, found in one.items() if found
                }, (login, kind, chunk)
        assert duplicates.find_many(session, "lead", rows["lead"])  # some match


def test_an_import_can_skip_the_duplicates(any_world, any_db, tmp_path):
    admin = any_world.session("admin")
    company = any_world.cid("Customer #A")
    get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@x.example",
                                       "company": str(company)})
    path = tmp_path / "contacts.csv"
    path.write_text("full_name,email,company\n"
                    f"Ana Two,ANA@x.example,{company}\n"
                    f"Bea,bea@x.example,{company}\n"
                    f"Bea Again, bea@X.example,{company}\n"
                    f"Cy,cy@x.example,{company}\n", encoding="utf-8")
    count = Contact.select().count()
    dry = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "skip", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "would create 2 contacts from 4 rows, would skip 2 duplicates" in dry.stdout
    assert [line.split(":")[0] for line in dry.stdout.splitlines()[:-1]] == ["line 3", "line 5"]
    assert Contact.select().count() == count
    done = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "skip")
    assert done.exit_code == 0, done.output
    assert "created 2 contacts from 4 rows, skipped 2 duplicates" in done.stdout
    emails = sorted(c.email.lower().strip() for c in Contact.select().where(
        Contact.email.contains("@x.example")))
    assert emails == ["ana@x.example", "bea@x.example", "cy@x.example"]
    bad = crm(any_db, "import", "contacts", str(path), "--on-duplicate", "merge")
    assert bad.exit_code == 2
