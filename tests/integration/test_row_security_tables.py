"""For every table with access rules beyond the kinds themselves (a record's lines,
reminders, billing runs, unseen mail, redirects, activity, attachments, history …), the rows
`psql` returns as an operator's role are exactly those the CRM's own rules give him.

The CRM's side is computed by the services on the owner's connection (no row-level
security in the way), acting as each worked-example and demo user; the server's side is
`psql` as that user's role. Rows of every such table are seeded first, so no comparison
holds for want of data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration import test_row_security as rows
from tests.integration.test_row_security import OPERATORS, Team, psql

#: The seeded team of the row-level security tests (its own copy for this module).
team = rows.team

#: The kinds whose records other tables hang from, and the catalogue kinds.
DATA_KINDS = ("company", "contact", "contract", "invoice", "lead", "mail-template")
CATALOGUE = ("role", "contract-type", "lead-type", "tag", "field", "section", "template")

#: Tables whose rows belong to one record: (table, its key, the record's column, kind).
OWNED = [
    ("company_activity", "id", "company_id", "company"),
    ("contract_billing_line", "id", "contract_id", "contract"),
    ("contract_reminder", "id", "contract_id", "contract"),
    ("contract_billing_run", "id", "contract_id", "contract"),
    ("invoice_line", "id", "invoice_id", "invoice"),
    ("invoice_discount", "id", "invoice_id", "invoice"),
    ("lead_activity", "id", "lead_id", "lead"),
    ("lead_tag", "id", "lead_id", "lead"),
    ("lead_unseen_mail", "lead_id", "lead_id", "lead"),
    ("outbox_mail", "id", "lead_id", "lead"),
    ("sent_mail", "id", "lead_id", "lead"),
]
#: Tables naming a record by kind and id: (table, kind column, id column).
NAMED = [
    ("redirect", "kind", "new_id"),
    ("attachment", "owner_kind", "owner_id"),
    ("history", "kind", "record_id"),
    ("search_word", "kind", "record_id"),
]

#: Seeding, as the owner: a row of each table for every record it may hang from.
SEED = """
INSERT INTO contract_billing_line (contract_id, position, description, amount, tax_rate)
    SELECT id, 0, 'Monthly fee', 100, 21 FROM contract;
INSERT INTO contract_reminder (contract_id, days, date_end, created)
    SELECT id, 30, '2026-12-31', now() FROM contract;
INSERT INTO contract_billing_run (contract_id, period_start, created)
    SELECT id, '2026-01-01', now() FROM contract;
INSERT INTO lead_unseen_mail (lead_id, owner_id, count, since)
    SELECT id, owner_id, 1, now() FROM lead WHERE owner_id IS NOT NULL;
INSERT INTO company_activity (company_id, author, created, text)
    SELECT id, 'admin', now(), 'Called' FROM company;
INSERT INTO sent_mail (lead_id, message_id, recipients, created)
    SELECT id, '<rls-' || id || '@example.com>', 'a@example.com', now() FROM lead;
INSERT INTO outbox_mail (lead_id, message_id, sender, recipients, subject, message, status,
                         attempts, next_attempt, answer, author, created)
    SELECT id, '<out-' || id || '@example.com>', 'crm@example.com', 'a@example.com', 'Hi',
           'Hi'::bytea, 'sent', 1, now(), '', 'admin', now() FROM lead
    UNION ALL SELECT NULL, '<notice@example.com>', 'crm@example.com', 'a@example.com', 'Hi',
           'Hi'::bytea, 'sent', 1, now(), '', 'admin', now();
INSERT INTO import_batch (kind, login, at, file, created, undone_by)
    VALUES ('lead', 'sales1', now(), 'a.csv', 0, ''), ('company', 'manager1', now(), 'b.csv', 0, '');
INSERT INTO invoice_discount (invoice_id, position, description, amount, tax_rate)
    SELECT id, 0, 'Promotion', 1, 0 FROM invoice;
INSERT INTO filed_message (key, folder, lead_id, outcome, reason, created, sender, subject,
                           digest)
    SELECT '<filed-' || id || '@example.com>', 'INBOX', id, 'filed', '', now(),
           'a@example.com', 'Hi', md5('filed' || id) FROM lead;
INSERT INTO filed_message (key, folder, outcome, reason, created, sender, subject, digest,
                           raw)
    SELECT '<unmatched-' || n || '@example.com>', 'INBOX', 'unmatched', 'unknown sender',
           now(), 'stranger' || n || '@example.com', 'Hello ' || n, md5('unmatched' || n),
           convert_to('From: stranger' || n || E'@example.com\r\nTo: crm@example.com\r\n'
                      || 'Subject: Hello ' || n || E'\r\nMessage-ID: <unmatched-' || n
                      || E'@example.com>\r\n\r\nHello\r\n', 'UTF8')
    FROM generate_series(1, 3) AS n;
INSERT INTO custom_field (name, kind, entity, entity_type_id, options, visible, position)
    VALUES ('Size', 'text', 'company', NULL, '', false, 0),
           ('Role', 'text', 'contact', NULL, '', false, 0),
           ('Budget', 'text', 'lead_type', (SELECT min(id) FROM lead_type), '', false, 0),
           ('Seats', 'text', 'contract_type', (SELECT min(id) FROM contract_type), '', false,
            0);
INSERT INTO custom_value (field_id, record_id, value)
    SELECT f.id, r.id, 'x' FROM custom_field f
    JOIN (SELECT 'company' AS entity, id FROM company
          UNION ALL SELECT 'contact', id FROM contact
          UNION ALL SELECT 'lead_type', id FROM lead
          UNION ALL SELECT 'contract_type', id FROM contract) AS r ON r.entity = f.entity
    WHERE f.name IN ('Size', 'Role', 'Budget', 'Seats');
INSERT INTO lead_activity (lead_id, kind, author, created, text)
    SELECT id, 'note', 'admin', now(), 'Called' FROM lead;
INSERT INTO lead_tag (lead_id, tag_id)
    SELECT l.id, (SELECT min(id) FROM tag) FROM lead l
    WHERE NOT EXISTS (SELECT 1 FROM lead_tag t WHERE t.lead_id = l.id);
INSERT INTO redirect (kind, old_id, new_id, login, at)
    SELECT 'company', id + 1000000, id, 'admin', now() FROM company
    UNION ALL SELECT 'contact', id + 1000000, id, 'admin', now() FROM contact
    UNION ALL SELECT 'contract', id + 1000000, id, 'admin', now() FROM contract
    UNION ALL SELECT 'invoice', id + 1000000, id, 'admin', now() FROM invoice
    UNION ALL SELECT 'lead', id + 1000000, id, 'admin', now() FROM lead;
INSERT INTO attachment (owner_kind, owner_id, original_name, stored_name, content_type,
                        size, author, created, generated)
    SELECT k, id, 'a.txt', k || '-rls-' || id, 'text/plain', 1, 'admin', now(), false
    FROM (SELECT 'company' AS k, id FROM company UNION ALL SELECT 'lead', id FROM lead
          UNION ALL SELECT 'invoice', id FROM invoice
          UNION ALL SELECT 'contract', id FROM contract) AS records;
"""


def owner_ids(team: Team, statement: str) -> set[tuple]:
    done = psql(team.owner_url, statement)
    assert done.returncode == 0, done.stderr
    return {tuple(line.split("|")) for line in done.stdout.splitlines()}


def role_ids(team: Team, login: str, statement: str) -> set[tuple]:
    done = psql(team.urls[login], statement)
    assert done.returncode == 0, (login, done.stderr)
    return {tuple(line.split("|")) for line in done.stdout.splitlines()}


@pytest.fixture(scope="module")
def crm_sees(team: Team) -> Iterator[dict[str, dict[str, set[int]]]]:
    """Per login and kind, the ids the CRM's services give that user (on the owner's
    connection, so only the services' rules apply); the extra tables seeded first."""
    seeded = psql(team.owner_url, SEED)
    assert seeded.returncode == 0, seeded.stderr
    from crm_tui import db
    from crm_tui.models import User
    from crm_tui.services import import_batches, mail_unmatched, saved_searches
    from crm_tui.services.context import FrozenClock, Session
    from crm_tui.services.records import get_kind

    db.open_database(team.owner_url)
    try:
        clock = FrozenClock()
        out: dict[str, dict[str, set[int]]] = {}
        for login in OPERATORS:
            session = Session(User.get(User.login == login), clock)
            if login != "user2":
                saved_searches.save(session, f"mine-{login}", {"status": "0"})
            seen = {kind: {i for (i,) in get_kind(kind).query(session)
                           .select(get_kind(kind).model.id).tuples()}
                    for kind in (*DATA_KINDS, *CATALOGUE)}
            seen["saved_search"] = set(saved_searches.names(session))
            seen["import_batch"] = {row["batch"] for row in import_batches.listing(session)}
            seen["unmatched"] = ({row["id"] for row in mail_unmatched.list_unmatched(session)}
                                 if mail_unmatched.may_handle(session) else set())
            out[login] = seen
    finally:
        db.close_database()
    yield out


@pytest.mark.parametrize(("table", "key", "column", "kind"), OWNED,
                         ids=[row[0] for row in OWNED])
def test_rows_of_a_record_are_those_of_the_records_the_crm_shows(
        team: Team, crm_sees, table: str, key: str, column: str, kind: str):
    everything = owner_ids(team, f"SELECT {key}, {column} FROM {table}")
    assert everything, f"nothing seeded in {table}"
    counts = set()
    for login in OPERATORS:
        # A superadmin sees every row, also those of no record (the CRM's own notices).
        expected = {k for (k, parent) in everything if login == "admin" or (
            parent and int(parent) in crm_sees[login][kind])}
        got = {k for (k,) in role_ids(team, login, f"SELECT {key} FROM {table}")}
        assert got == expected, (table, login)
        counts.add(len(got))
    # Not all or nothing for everyone: the rule tells users apart.
    assert len(counts) > 1, (table, counts)


@pytest.mark.parametrize(("table", "kind_column", "id_column"), NAMED,
                         ids=[row[0] for row in NAMED])
def test_rows_naming_a_record_are_those_of_the_records_the_crm_shows(
        team: Team, crm_sees, table: str, kind_column: str, id_column: str):
    kinds = ", ".join(f"'{k}'" for k in DATA_KINDS)
    statement = (f"SELECT id, {kind_column}, {id_column} FROM {table} "
                 f"WHERE {kind_column} IN ({kinds})")
    everything = owner_ids(team, statement)
    assert everything, f"nothing seeded in {table}"
    counts = set()
    for login in OPERATORS:
        expected = {(i,) for (i, kind, record) in everything
                    if int(record) in crm_sees[login][kind]}
        got = {(i,) for (i, _kind, _record) in role_ids(team, login, statement)}
        assert got == expected, (table, login)
        counts.add(len(got))
    assert len(counts) > 1, (table, counts)


def test_invoice_contract_links_need_both_records(team: Team, crm_sees):
    everything = owner_ids(team, "SELECT id, invoice_id, contract_id FROM contract_invoice")
    if not everything:
        psql(team.owner_url, "INSERT INTO contract_invoice (contract_id, invoice_id) "
                             "SELECT c.id, i.id FROM contract c JOIN invoice i "
                             "ON i.company_id = c.company_id ON CONFLICT DO NOTHING")
        everything = owner_ids(team, "SELECT id, invoice_id, contract_id FROM "
                                     "contract_invoice")
    assert everything
    for login in OPERATORS:
        expected = {(i,) for (i, invoice, contract) in everything
                    if int(invoice) in crm_sees[login]["invoice"]
                    and int(contract) in crm_sees[login]["contract"]}
        assert role_ids(team, login, "SELECT id FROM contract_invoice") == expected, login


@pytest.mark.parametrize("kind", CATALOGUE)
def test_catalogues_are_what_the_crm_lists(team: Team, crm_sees, kind: str):
    from crm_tui.services.records import get_kind

    table = get_kind(kind).model._meta.table_name
    for login in OPERATORS:
        got = {int(i) for (i,) in role_ids(team, login, f'SELECT id FROM "{table}"')}
        assert got == crm_sees[login][kind], (kind, login)


def test_saved_searches_and_import_batches_are_the_users_own(team: Team, crm_sees):
    every = {n for (n,) in owner_ids(team, "SELECT name FROM saved_search")}
    for login in OPERATORS:
        names = {n for (n,) in role_ids(team, login, "SELECT name FROM saved_search")}
        # Saved searches are personal; a superadmin's role reads every table whole.
        assert names == (every if login == "admin" else crm_sees[login]["saved_search"]), \
            login
        batches = {int(i) for (i,) in role_ids(team, login, "SELECT id FROM import_batch")}
        assert batches == crm_sees[login]["import_batch"], login
    assert crm_sees["sales1"]["saved_search"] == {"mine-sales1"}


def test_filed_mail_is_that_of_the_leads_and_the_unmatched_mail_the_crm_shows(
        team: Team, crm_sees, tmp_path):
    """Mail filed on a lead follows the lead; unmatched mail is handled with LW or LM
    (services.mail_unmatched.may_handle), at the server as in the CRM."""
    everything = owner_ids(team, "SELECT id, lead_id FROM filed_message")
    unmatched = {int(i) for (i, lead) in everything if not lead}
    assert unmatched and len(everything) > len(unmatched)
    for login in OPERATORS:
        expected = {int(i) for (i, lead) in everything
                    if (lead and int(lead) in crm_sees[login]["lead"])
                    or (not lead and int(i) in crm_sees[login]["unmatched"])}
        got = {int(i) for (i,) in role_ids(team, login, "SELECT id FROM filed_message")}
        assert got == expected, login
    # Sales (LW, not LM) lists and assigns it through his role, and may not discard it.
    assert crm_sees["sales2"]["unmatched"] == unmatched
    assert crm_sees["user1"]["unmatched"] == set()
    url = team.urls["sales2"]
    listed = rows._crm("mail", "unmatched", "list", "--json", db=url, data_dir=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert {row["id"] for row in json.loads(listed.stdout)} == unmatched
    made = rows._crm("add", "lead", "full_name=Stranger One", "email=stranger1@example.com",
                     db=url, data_dir=tmp_path)
    assert made.returncode == 0, made.stderr
    first = min(unmatched)
    assigned = rows._crm("mail", "unmatched", "assign", str(first), made.stdout.strip(),
                         db=url, data_dir=tmp_path)
    assert assigned.returncode == 0, assigned.stderr
    assert owner_ids(team, f"SELECT outcome, lead_id FROM filed_message WHERE id = {first}"
                     ) == {("filed", made.stdout.strip())}
    second = sorted(unmatched)[1]
    refused = rows._crm("mail", "unmatched", "discard", str(second), db=url, data_dir=tmp_path)
    assert refused.returncode == 3 and "needs LM" in refused.stderr
    direct = psql(url, f"UPDATE filed_message SET outcome = 'discarded' WHERE id = {second}")
    assert direct.returncode != 0 and "row-level security" in direct.stderr, direct.stderr


def test_custom_values_are_those_of_the_records_the_crm_shows(team: Team, crm_sees):
    kinds = {"company": "company", "contact": "contact", "lead_type": "lead",
             "contract_type": "contract"}
    everything = owner_ids(team, "SELECT v.id, f.entity, v.record_id FROM custom_value v "
                                 "JOIN custom_field f ON f.id = v.field_id")
    assert {entity for (_i, entity, _r) in everything} == set(kinds)
    counts = set()
    for login in OPERATORS:
        expected = {int(i) for (i, entity, record) in everything
                    if int(record) in crm_sees[login][kinds[entity]]}
        got = {int(i) for (i,) in role_ids(team, login, "SELECT id FROM custom_value")}
        assert got == expected, login
        counts.add(len(got))
    assert len(counts) > 1
