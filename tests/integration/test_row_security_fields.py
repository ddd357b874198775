"""The server guards invoices by field, and leads by their creator: what `crm set` and
`crm delete` refuse an operator, his role's direct writes (`psql`, psycopg) fail at the
server too, and what they allow succeeds both ways (crm_tui.rls_fields, crm_tui.rls).

Billing Co is managed by the invoice manager (clerk1, IM); the sales manager (sales1: CM
and the invoice clerk's IW, not IM) may modify it too. Sales (sales2: LW, not LM) makes leads.
"""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest

from tests.integration import test_row_security as rows
from tests.integration.test_row_security import Team, _crm, psql

#: The seeded team of the row-level security tests (its own copy for this module).
team = rows.team

LINES = json.dumps([{"description": "Consulting", "amount": "2400"}])


def crm(team: Team, login: str, *args: str, tmp_path: Path):
    return _crm(*args, db=team.urls[login], data_dir=tmp_path)


def owner_value(team: Team, statement: str) -> str:
    done = psql(team.owner_url, statement)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture(scope="module")
def billing(team: Team, tmp_path_factory) -> dict[str, int]:
    """Billing Co (managed by clerk1) and its invoices: `issued` (made and issued by
    sales1, so locked by him), `draft` (a Submitted draft of sales1 with a line) and
    `received` (a supplier's invoice)."""
    tmp = tmp_path_factory.mktemp("billing")
    mine = team.companies["My company"]
    made = crm(team, "admin", "add", "company", "name=Billing Co", f"parent={mine}",
               "manager=clerk1", tmp_path=tmp)
    assert made.returncode == 0, made.stderr
    company = int(made.stdout)
    setting = _crm("config", "set", "invoice.id_pattern", "RLS/[1]", db=team.owner_url,
                   data_dir=tmp)
    assert setting.returncode == 0, setting.stderr
    out = {"company": company}
    for name in ("issued", "draft"):
        made = crm(team, "sales1", "add", "invoice", f"company={company}", f"lines={LINES}",
                   f"description={name}", tmp_path=tmp)
        assert made.returncode == 0, made.stderr
        out[name] = int(made.stdout)
    issued = crm(team, "sales1", "invoice", "issue", str(out["issued"]), tmp_path=tmp)
    assert issued.returncode == 0, issued.stderr
    made = crm(team, "sales1", "add", "invoice", f"company={company}", "type=received",
               "bill_id=SUP-1", f"lines={LINES}", tmp_path=tmp)
    assert made.returncode == 0, made.stderr
    out["received"] = int(made.stdout)
    return out


def test_iw_issues_his_draft_and_the_server_seals_it(team: Team, billing: dict[str, int]):
    """IW writes a draft with its lines and issues it (number, date, lock, seal) through
    the server's field rules."""
    row = owner_value(team, "SELECT bill_id, issued IS NOT NULL, locked, chain_hash IS NOT NULL,"
                            " (SELECT login FROM \"user\" WHERE id = locked_by_id), "
                            "(SELECT count(*) FROM invoice_line WHERE invoice_id = i.id) "
                            f"FROM invoice i WHERE id = {billing['issued']}")
    assert row.split("|") == ["RLS/1", "t", "t", "t", "sales1", "1"]


def test_payment_fields_of_an_issued_invoice_change_both_ways(
        team: Team, billing: dict[str, int], tmp_path: Path):
    invoice = str(billing["issued"])
    done = crm(team, "sales1", "set", "invoice", invoice, "status=paid", "paid_on=2026-01-20",
               "internal_note=paid by transfer", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert owner_value(team, f"SELECT status, paid_on, internal_note FROM invoice "
                             f"WHERE id = {invoice}") == "paid|2026-01-20|paid by transfer"
    direct = psql(team.urls["sales1"], "UPDATE invoice SET status = 'pending', paid_on = NULL, "
                                       f"internal_note = 'by psql' WHERE id = {invoice}")
    assert direct.returncode == 0, direct.stderr
    assert direct.stdout.split() == ["UPDATE", "1"]
    assert owner_value(team, f"SELECT status, paid_on IS NULL, internal_note FROM invoice "
                             f"WHERE id = {invoice}") == "pending|t|by psql"


#: Fields of an issued invoice (the `crm set` value, and the column and SQL value).
ISSUED_FIELDS = [
    ("description", "changed", "description", "'changed'"),
    ("reference", "PO-9", "reference", "'PO-9'"),
    ("currency", "USD", "currency", "'USD'"),
    ("created", "2025-01-01", "created", "'2025-01-01'"),
    ("expires", "2030-01-01", "expires", "'2030-01-01'"),
    ("tax_rate", "10", "tax_rate", "10"),
    ("withholding_rate", "15", "withholding_rate", "15"),
    ("language", "OTHER", "language", "'OTHER'"),
    ("bill_id", "RLS/77", "bill_id", "'RLS/77'"),
    ("company", "MINE", "company_id", "MINE"),
    (None, None, "total", "total + 1"),
    (None, None, "issued", "NULL"),
    (None, None, "bill_number", "bill_number + 1"),
    (None, None, "chain_hash", "'0'"),
    (None, None, "type", "'received'"),
]


@pytest.mark.parametrize(("field", "value", "column", "sql_value"), ISSUED_FIELDS,
                         ids=[f[2] for f in ISSUED_FIELDS])
def test_an_issued_invoice_refuses_other_fields_both_ways(
        team: Team, billing: dict[str, int], tmp_path: Path, field, value, column, sql_value):
    invoice = billing["issued"]
    before = owner_value(team, f"SELECT {column} FROM invoice WHERE id = {invoice}")
    # Values it has not: another customer, the other language.
    mine = str(team.companies["Customer #A"])
    sql_value = sql_value.replace("OTHER", "en" if before == "es" else "es")
    if field is not None:
        value = value.replace("OTHER", "en" if before == "es" else "es")
        refused = crm(team, "sales1", "set", "invoice", str(invoice),
                      f"{field}={value.replace('MINE', mine)}", tmp_path=tmp_path)
        assert refused.returncode == 1, refused.stderr
        assert "cannot change once the invoice is issued" in refused.stderr
    for login in ("sales1", "clerk1"):  # IW, and IM (the company's manager)
        direct = psql(team.urls[login], f"UPDATE invoice SET {column} = "
                                        f"{sql_value.replace('MINE', mine)} WHERE id = {invoice}")
        assert direct.returncode != 0, (login, direct.stdout)
        assert "permission denied" in direct.stderr, direct.stderr
    assert owner_value(team, f"SELECT {column} FROM invoice WHERE id = {invoice}") == before


def test_the_lines_of_an_issued_invoice_never_change_both_ways(
        team: Team, billing: dict[str, int], tmp_path: Path):
    invoice = billing["issued"]
    other = json.dumps([{"description": "Consulting", "amount": "1"}])
    refused = crm(team, "sales1", "set", "invoice", str(invoice), f"lines={other}",
                  tmp_path=tmp_path)
    assert refused.returncode == 1 and "cannot change once the invoice is issued" in \
        refused.stderr
    discount = json.dumps([{"description": "Promotion", "amount": "240"}])
    refused = crm(team, "sales1", "set", "invoice", str(invoice), f"discounts={discount}",
                  tmp_path=tmp_path)
    assert refused.returncode == 1 and "cannot change once the invoice is issued" in \
        refused.stderr
    before = owner_value(team, "SELECT string_agg(description || amount, ',') "
                               f"FROM invoice_line WHERE invoice_id = {invoice}")
    for login in ("sales1", "clerk1"):
        for statement in (
                f"UPDATE invoice_line SET amount = 1 WHERE invoice_id = {invoice}",
                f"DELETE FROM invoice_line WHERE invoice_id = {invoice}",
                "INSERT INTO invoice_line (invoice_id, position, description, amount, tax_rate)"
                f" VALUES ({invoice}, 5, 'More', 100, 0)",
                "INSERT INTO invoice_discount (invoice_id, position, description, amount, "
                f"tax_rate) VALUES ({invoice}, 0, 'Promotion', 240, 0)"):
            direct = psql(team.urls[login], statement)
            assert direct.returncode != 0, (login, statement)
            assert "permission denied" in direct.stderr and "is issued" in direct.stderr, \
                direct.stderr
    assert owner_value(team, "SELECT string_agg(description || amount, ',') "
                             f"FROM invoice_line WHERE invoice_id = {invoice}") == before
    assert owner_value(team, "SELECT count(*) FROM invoice_discount "
                             f"WHERE invoice_id = {invoice}") == "0"


def test_an_issued_invoice_is_never_deleted_both_ways(
        team: Team, billing: dict[str, int], tmp_path: Path):
    invoice = str(billing["issued"])
    # The lock holder (IW) may not delete at all; the invoice manager (IM) unlocks it
    # first, and still may not delete it.
    refused = crm(team, "sales1", "delete", "invoice", invoice, tmp_path=tmp_path)
    assert refused.returncode == 3 and "may not delete" in refused.stderr
    unlocked = crm(team, "clerk1", "invoice", "unlock", invoice, tmp_path=tmp_path)
    assert unlocked.returncode == 0, unlocked.stderr
    try:
        refused = crm(team, "clerk1", "delete", "invoice", invoice, tmp_path=tmp_path)
        assert refused.returncode == 3, refused.stderr
        assert "an issued invoice is never deleted" in refused.stderr
        for login in ("sales1", "clerk1"):
            direct = psql(team.urls[login], f"DELETE FROM invoice WHERE id = {invoice}")
            assert direct.returncode != 0 and "permission denied" in direct.stderr, login
        # Unlocked, it still changes only its payment fields (by IM too).
        direct = psql(team.urls["clerk1"], f"UPDATE invoice SET description = 'x' "
                                           f"WHERE id = {invoice}")
        assert direct.returncode != 0 and "is issued" in direct.stderr
        note = psql(team.urls["clerk1"], f"UPDATE invoice SET internal_note = 'unlocked' "
                                         f"WHERE id = {invoice}")
        assert note.returncode == 0 and note.stdout.split() == ["UPDATE", "1"], note.stderr
    finally:
        # Back to sales1's lock, as the module's other tests expect.
        assert crm(team, "sales1", "invoice", "lock", invoice,
                   tmp_path=tmp_path).returncode == 0
    assert owner_value(team, f"SELECT count(*) FROM invoice WHERE id = {invoice}") == "1"


def test_only_im_unlocks_both_ways(team: Team, billing: dict[str, int], tmp_path: Path):
    invoice = str(billing["issued"])
    refused = crm(team, "sales1", "invoice", "unlock", invoice, tmp_path=tmp_path)
    assert refused.returncode == 3 and "may not unlock" in refused.stderr
    direct = psql(team.urls["sales1"], "UPDATE invoice SET locked = false, locked_by_id = NULL "
                                       f"WHERE id = {invoice}")
    assert direct.returncode != 0 and "only IM unlocks" in direct.stderr
    # Nor does he hand his lock to another.
    other = owner_value(team, "SELECT id FROM \"user\" WHERE login = 'clerk1'")
    direct = psql(team.urls["sales1"], f"UPDATE invoice SET locked_by_id = {other} "
                                       f"WHERE id = {invoice}")
    assert direct.returncode != 0 and "permission denied" in direct.stderr
    assert owner_value(team, f"SELECT locked FROM invoice WHERE id = {invoice}") == "t"


def test_a_submitted_draft_is_edited_only_with_im_both_ways(
        team: Team, billing: dict[str, int], tmp_path: Path):
    draft = billing["draft"]
    refused = crm(team, "sales1", "set", "invoice", str(draft), "description=by IW",
                  tmp_path=tmp_path)
    assert refused.returncode == 3, refused.stderr
    assert "Submitted invoices are edited only with IM" in refused.stderr
    for statement in (f"UPDATE invoice SET description = 'by IW' WHERE id = {draft}",
                      f"UPDATE invoice SET description = description WHERE id = {draft}",
                      f"UPDATE invoice_line SET amount = 1 WHERE invoice_id = {draft}",
                      f"DELETE FROM invoice_line WHERE invoice_id = {draft}",
                      "INSERT INTO invoice_line (invoice_id, position, description, amount, "
                      f"tax_rate) VALUES ({draft}, 5, 'More', 100, 0)"):
        direct = psql(team.urls["sales1"], statement)
        assert direct.returncode != 0, statement
        assert "Submitted invoices are edited only with IM" in direct.stderr, direct.stderr
    # IM edits it both ways.
    done = crm(team, "clerk1", "set", "invoice", str(draft), "description=by IM",
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    direct = psql(team.urls["clerk1"], "UPDATE invoice_line SET description = 'Advice' "
                                       f"WHERE invoice_id = {draft}")
    assert direct.returncode == 0 and direct.stdout.split() == ["UPDATE", "1"], direct.stderr
    assert owner_value(team, "SELECT description FROM invoice_line "
                             f"WHERE invoice_id = {draft}") == "Advice"


def test_iw_writes_lines_only_of_the_draft_he_creates(team: Team, billing: dict[str, int]):
    """A new draft with its lines in one transaction (as `crm add` writes it) passes; the
    same lines added once it is committed, or after locking it, are refused."""
    company = billing["company"]
    with psycopg.connect(team.urls["sales1"]) as conn:
        with conn.transaction():
            (invoice,) = conn.execute(
                "INSERT INTO invoice (company_id, type, reference, status, created, currency, "
                "language, tax_rate, withholding_rate, internal_note, description, total, "
                f"locked) VALUES ({company}, 'submitted', '', 'pending', '2026-01-15', 'EUR', "
                "'en', 0, 0, '', 'by psql', 0, false) RETURNING id").fetchone()
            with conn.transaction():  # in a savepoint, as a nested service call writes
                conn.execute("INSERT INTO invoice_line (invoice_id, position, description, "
                             "amount, tax_rate) VALUES (%s, 0, 'Work', 100, 0)", (invoice,))
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only with IM"):
            conn.execute("INSERT INTO invoice_line (invoice_id, position, description, "
                         "amount, tax_rate) VALUES (%s, 1, 'More', 100, 0)", (invoice,))
        conn.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="only with IM"):
            with conn.transaction():
                me = conn.execute("SELECT crm_acl_uid()").fetchone()[0]
                conn.execute("UPDATE invoice SET locked = true, locked_by_id = %s "
                             "WHERE id = %s", (me, invoice))
                conn.execute("INSERT INTO invoice_line (invoice_id, position, description, "
                             "amount, tax_rate) VALUES (%s, 1, 'More', 100, 0)", (invoice,))
        # A new invoice is a draft: not issued, numbered or locked.
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="is a draft"):
            conn.execute(
                "INSERT INTO invoice (company_id, type, reference, status, created, issued, "
                "bill_id, currency, language, tax_rate, withholding_rate, internal_note, "
                f"description, total, locked) VALUES ({company}, 'submitted', '', 'pending', "
                "'2026-01-15', '2026-01-15', 'FAKE/1', 'EUR', 'en', 0, 0, '', '', 0, false)")
    assert owner_value(team, "SELECT count(*) FROM invoice_line "
                             f"WHERE invoice_id = {invoice}") == "1"


def test_a_received_invoice_is_edited_with_iw_but_never_issued(
        team: Team, billing: dict[str, int], tmp_path: Path):
    received = billing["received"]
    done = crm(team, "sales1", "set", "invoice", str(received), "reference=PO-1",
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    direct = psql(team.urls["sales1"], f"UPDATE invoice SET reference = 'PO-2' "
                                       f"WHERE id = {received}")
    assert direct.returncode == 0, direct.stderr
    direct = psql(team.urls["sales1"], "UPDATE invoice_line SET amount = 2000 "
                                       f"WHERE invoice_id = {received}")
    assert direct.returncode == 0, direct.stderr
    # Made a Submitted one, it is IM's; issued, it is not by an UPDATE of its date.
    refused = crm(team, "sales1", "set", "invoice", str(received), "type=submitted",
                  tmp_path=tmp_path)
    assert refused.returncode == 3 and "only with IM" in refused.stderr
    for statement in (f"UPDATE invoice SET type = 'submitted' WHERE id = {received}",
                      f"UPDATE invoice SET issued = created WHERE id = {received}"):
        direct = psql(team.urls["sales1"], statement)
        assert direct.returncode != 0 and "permission denied" in direct.stderr, statement


def test_a_lead_without_company_is_its_creators_unless_he_holds_lm(
        team: Team, tmp_path: Path):
    # Sales (LW, no LM): his own lead, yes; one nobody owns, neither way.
    own = crm(team, "sales2", "add", "lead", "full_name=Own Lead", tmp_path=tmp_path)
    assert own.returncode == 0, own.stderr
    refused = crm(team, "sales2", "add", "lead", "full_name=Nobody's Lead", "owner=",
                  tmp_path=tmp_path)
    assert refused.returncode == 3, refused.stderr
    assert "without a managing company for another owner" in refused.stderr
    sales1 = owner_value(team, "SELECT id FROM \"user\" WHERE login = 'sales1'")
    for owner in ("NULL", sales1):
        direct = psql(team.urls["sales2"], "INSERT INTO lead (full_name, email, company_name, "
                                           "country, position, phone, language, owner_id, "
                                           "status, description, channel, created, updated) "
                                           f"VALUES ('Sneaky', '', '', '', '', '', 'en', {owner},"
                                           " 0, '', '', now(), now())")
        assert direct.returncode != 0 and "row-level security" in direct.stderr, direct.stderr
    # The sales manager (LM) may leave it to nobody.
    done = crm(team, "sales1", "add", "lead", "full_name=Pool Lead", "owner=",
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert owner_value(team, "SELECT count(*) FROM lead WHERE full_name IN "
                             "('Sneaky', 'Nobody''s Lead')") == "0"


def test_a_company_keeps_its_managers_company_both_ways(team: Team, tmp_path: Path):
    a = team.companies["Customer #A"]
    b = team.companies["Customer #B"]
    # Through the CRM the field is derived, never set; at the server it cannot be made
    # to point elsewhere (it decides who sees the company).
    user2_company = owner_value(team, "SELECT company_id FROM \"user\" WHERE login = 'user2'")
    direct = psql(team.urls["user1"], f"UPDATE company SET manager_company_id = {user2_company}"
                                      f" WHERE id = {a}")
    assert direct.returncode != 0 and "manager_company_id" in direct.stderr, direct.stderr
    # A change of manager (by a manager who may modify both) carries the new one's company.
    manager1 = owner_value(team, "SELECT id FROM \"user\" WHERE login = 'manager1'")
    moved = psql(team.urls["manager1"], f"UPDATE company SET manager_id = {manager1}, "
                                        "manager_company_id = manager_company_id "
                                        f"WHERE id = {a}")
    assert moved.returncode == 0, moved.stderr  # the same company: My company's people
    done = crm(team, "manager1", "set", "company", str(a), "manager=user1", tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert owner_value(team, f"SELECT manager_company_id = {team.companies['My company']} "
                             f"FROM company WHERE id IN ({a}, {b})") == "t\nt"


def test_history_changes_only_by_erasing_personal_values(team: Team, tmp_path: Path):
    # Sales (LW) owns a lead and changes it: its history holds the old e-mail.
    made = crm(team, "sales2", "add", "lead", "full_name=Erin Erase", "email=erin@example.com",
               tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    lead = made.stdout.strip()
    done = crm(team, "sales2", "set", "lead", lead, "email=erin@example.org", "status=1",
               tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    change = owner_value(team, f"SELECT id FROM history WHERE kind = 'lead' AND record_id = "
                               f"{lead} AND action = 'change'")
    url = team.urls["sales2"]
    for statement in (
            f"UPDATE history SET login = 'someone' WHERE id = {change}",
            f"UPDATE history SET changes = '{{}}' WHERE id = {change}",
            "UPDATE history SET changes = replace(changes, 'erin@example.com', 'x@example.com')"
            f" WHERE id = {change}",
            # The status is not personal: not forgotten either.
            "UPDATE history SET changes = jsonb_set(changes::jsonb, '{status}', "
            f"'[\"(erased)\", \"(erased)\"]')::text WHERE id = {change}"):
        direct = psql(url, statement)
        assert direct.returncode != 0, statement
        assert "history changes only where crm privacy erase" in direct.stderr, direct.stderr
    # Of a company he may modify, User #1 changes no history either.
    company_row = owner_value(team, "SELECT min(id) FROM history WHERE kind = 'company' AND "
                                    f"record_id = {team.companies['Customer #A']}")
    direct = psql(team.urls["user1"], f"UPDATE history SET changes = '{{}}' "
                                      f"WHERE id = {company_row}")
    assert direct.returncode != 0 and "permission denied" in direct.stderr
    # Erasing the lead forgets the e-mail in its history, through his role.
    erased = crm(team, "sales2", "privacy", "erase", "lead", lead, "--yes", tmp_path=tmp_path)
    assert erased.returncode == 0, erased.stderr
    text = owner_value(team, f"SELECT changes FROM history WHERE id = {change}")
    assert "erin@example" not in text and "(erased)" in text


def test_iw_credits_an_issued_invoice_through_the_server(
        team: Team, billing: dict[str, int], tmp_path: Path):
    """A credit note is a new draft with its lines, issued in the same transaction, and
    the original's status becomes cancelled: all through the IW role's field rules."""
    setting = _crm("config", "set", "invoice.credit_pattern", "RLSC/[1]", db=team.owner_url,
                   data_dir=tmp_path)
    assert setting.returncode == 0, setting.stderr
    made = crm(team, "sales1", "add", "invoice", f"company={billing['company']}",
               f"lines={LINES}", tmp_path=tmp_path)
    assert made.returncode == 0, made.stderr
    invoice = made.stdout.strip()
    assert crm(team, "sales1", "invoice", "issue", invoice, tmp_path=tmp_path).returncode == 0
    credited = crm(team, "sales1", "invoice", "credit", invoice, tmp_path=tmp_path)
    assert credited.returncode == 0, credited.stderr
    assert owner_value(team, f"SELECT status FROM invoice WHERE id = {invoice}") == "cancelled"
    note = owner_value(team, "SELECT bill_id, total, chain_hash IS NOT NULL, "
                             "(SELECT count(*) FROM invoice_line l WHERE l.invoice_id = i.id) "
                             f"FROM invoice i WHERE credit_of_id = {invoice}")
    assert note.split("|") == ["RLSC/1", "-2904.00", "t", "1"]
