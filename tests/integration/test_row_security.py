"""Row-level security on the real PostgreSQL server: each operator connects as his own role
(`crm db grant`), and `psql` with that role sees and changes what `crm` lets him.

The worked example of SPEC section 1 plus demo data (sales people, an invoice clerk, leads
without a company) is seeded once per module as the owner; the tests then talk to the server
only as the operators' roles, through `psql` and the `crm` command.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from tests.fixtures.postgres import fresh_database

PROJECT = Path(__file__).resolve().parents[2]
KINDS = ("company", "contact", "contract", "invoice", "lead")
#: The worked example's users and the demo's (sales manager, sales, invoice manager).
OPERATORS = ("user1", "manager1", "user2", "sales1", "sales2", "clerk1", "admin")
#: A suffix per test run: roles are the server's, shared by every database on it.
SUFFIX = secrets.token_hex(3)


@dataclass
class Team:
    """The seeded database: its owner URL and each operator's role URL."""

    owner_url: str
    urls: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    companies: dict[str, int] = field(default_factory=dict)


def _as_role(url: str, role: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, f"{role}:{password}@{host}", parts.path, "", ""))


def _crm(*args: str, db: str, data_dir: Path, env: dict | None = None
         ) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "CRM_DATA_DIR": str(data_dir), "PYTHONPATH": str(PROJECT),
                **(env or {})}
    full_env.pop("CRM_PASSWORD", None)
    # The demo's users each have a language (English or Spanish): the messages read here
    # are the English ones.
    return subprocess.run([sys.executable, "-m", "crm_tui", "--lang", "en", "--db", db, *args],
                          capture_output=True, text=True, env=full_env, timeout=120)


def psql(url: str, statement: str) -> subprocess.CompletedProcess:
    """Run one statement with the `psql` client (unaligned, tuples only)."""
    return subprocess.run(["psql", url, "-AtX", "-v", "ON_ERROR_STOP=1", "-c", statement],
                          capture_output=True, text=True, timeout=60)


def psql_ids(url: str, table: str) -> list[int]:
    result = psql(url, f'SELECT id FROM "{table}" ORDER BY id')
    assert result.returncode == 0, result.stderr
    return [int(line) for line in result.stdout.split()]


@pytest.fixture(scope="module")
def team(postgres_url: str, tmp_path_factory) -> Iterator[Team]:
    """The worked example and demo data, each operator with a role of his own."""
    if shutil.which("psql") is None:
        pytest.fail("psql (the PostgreSQL client) is needed for these tests")
    from crm_tui import db
    from crm_tui.demo import DemoSizes, generate
    from crm_tui.models import User
    from crm_tui.services.context import FrozenClock, Session
    from crm_tui.services.database import open_and_prepare
    from crm_tui.services.db_roles import grant_role
    from tests.conftest import seed_world

    data = tmp_path_factory.mktemp("rls-data")
    os.environ["CRM_DATA_DIR"] = str(data)
    with fresh_database(postgres_url) as url:
        clock = FrozenClock()
        open_and_prepare(url, clock)
        world = seed_world(clock)
        generate(DemoSizes(companies=24, contacts=40, contracts=16, invoices=30, leads=60,
                           seed=7))
        admin = Session(User.get(User.login == "admin"), clock)
        from crm_tui.services.records import get_kind

        # Mail templates: a general one, and one of each company people belong to.
        for name, company in (("General", None), ("Ours", world.cid("My company")),
                              ("Theirs", world.cid("Customer #A"))):
            get_kind("mail-template").create(admin, {
                "name": name, "subject": name, "body": "Hello",
                **({"company": str(company)} if company else {})})
        found = Team(owner_url=url, companies=dict(world.companies))
        for login in OPERATORS:
            password = f"{login}-{SUFFIX}-pw"
            role = f"crm_{login}_{SUFFIX}"
            grant_role(admin, login, role=role, password=password)
            found.roles[login] = role
            found.urls[login] = _as_role(url, role, password)
        db.close_database()
        yield found
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE datname = current_database() AND pid <> pg_backend_pid()")
    # Roles are the server's, not the database's: dropped once the database is gone.
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for role in found.roles.values():
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_worked_example_through_psql(team: Team):
    a, b = team.companies["Customer #A"], team.companies["Customer #B"]
    mine = team.companies["My company"]
    user1 = team.urls["user1"]
    seen = set(psql_ids(user1, "company"))
    assert {a, b} <= seen and mine not in seen

    # User #1 updates A; B (read-only to him) is refused; the parent he cannot see is
    # out of reach.
    done = psql(user1, f"UPDATE company SET comments = 'by user1' WHERE id IN ({a}, {mine})"
                       " RETURNING id")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(a), "UPDATE", "1"]
    refused = psql(user1, f"UPDATE company SET comments = 'by user1' WHERE id = {b}")
    assert refused.returncode != 0 and "permission denied" in refused.stderr
    owner = psql(team.owner_url, "SELECT id FROM company WHERE comments = 'by user1'")
    assert owner.stdout.split() == [str(a)]

    # Manager #1 (CM) updates both.
    done = psql(team.urls["manager1"], f"WITH u AS (UPDATE company SET comments = "
                                       f"'by manager1' WHERE id IN ({a}, {b}) RETURNING id) "
                                       "SELECT id FROM u ORDER BY id")
    assert done.stdout.split() == [str(a), str(b)]

    # User #2 has no CRM bits: no rows of any kind.
    for table in KINDS:
        assert psql_ids(team.urls["user2"], table) == [], table


def test_writes_the_rule_forbids_fail_at_the_server(team: Team):
    b = team.companies["Customer #B"]
    user1 = team.urls["user1"]
    manager1_id = psql(team.owner_url, "SELECT id FROM \"user\" WHERE login = 'manager1'"
                       ).stdout.strip()
    # A company for a colleague to manage: not one User #1 may modify, refused outright.
    made = psql(user1, "INSERT INTO company (name, address, fiscal_id, country, website, "
                       "comments, manager_id, parent_id, payment_conditions, manager_company_id)"
                       f" VALUES ('Sneaky', '', '', '', '', '', {manager1_id}, "
                       f"{team.companies['My company']}, 0, "
                       f"(SELECT company_id FROM \"user\" WHERE id = {manager1_id}))")
    assert made.returncode != 0
    assert "row-level security" in made.stderr
    # Taking B over (becoming its manager) fails: B is his to view, not to modify; so
    # does deleting B's contacts.
    psql(team.owner_url, "INSERT INTO contact (full_name, email, company_id, phone, mobile, "
                         f"position, description) VALUES ('Bob', '', {b}, '', '', '', '')")
    me = psql(team.owner_url, "SELECT id FROM \"user\" WHERE login = 'user1'").stdout.strip()
    for statement in (f"UPDATE company SET manager_id = {me} WHERE id = {b}",
                      f"DELETE FROM contact WHERE company_id = {b}",
                      f"DELETE FROM company WHERE id = {b}"):
        refused = psql(user1, statement)
        assert refused.returncode != 0, statement
        assert "permission denied: the access rules forbid" in refused.stderr
    # A row he may not see is out of reach without a word (the parent, My company).
    hidden = psql(user1, f"UPDATE company SET comments = 'x' WHERE id = "
                         f"{team.companies['My company']}")
    assert hidden.returncode == 0 and hidden.stdout.split() == ["UPDATE", "0"]
    assert psql(team.owner_url, f"SELECT manager_id FROM company WHERE id = {b}"
                ).stdout.strip() == manager1_id
    assert psql(team.owner_url, f"SELECT count(*) FROM contact WHERE company_id = {b}"
                ).stdout.strip() != "0"
    # A contact moved onto a company he may only view is refused.
    psql(team.owner_url, f"INSERT INTO contact (full_name, email, company_id, phone, mobile, "
                         f"position, description) VALUES ('Ann', '', "
                         f"{team.companies['Customer #A']}, '', '', '', '')")
    moved = psql(user1, f"UPDATE contact SET company_id = {b} WHERE company_id = "
                        f"{team.companies['Customer #A']}")
    assert moved.returncode != 0 and "row-level security" in moved.stderr
    # No CRM bits: nothing to change either; and nobody reads the password hashes.
    changed = psql(team.urls["user2"], "UPDATE lead SET description = 'x' RETURNING id")
    assert changed.returncode == 0 and changed.stdout.split() == ["UPDATE", "0"]
    hashes = psql(user1, 'SELECT password_hash FROM "user"')
    assert hashes.returncode != 0 and "permission denied" in hashes.stderr
    # Nor may an operator make himself a superadmin, or change the rules' tables.
    assert psql(user1, 'UPDATE "user" SET superadmin = true').returncode != 0
    assert psql(user1, "UPDATE profile SET bits = 'CR,CW,CM'").returncode != 0


def test_invoice_and_lead_bits_at_the_server(team: Team):
    # Standard user (CR+CW) has no invoice or lead bit: no invoices, no leads.
    assert psql_ids(team.urls["user1"], "invoice") == []
    assert psql_ids(team.urls["user1"], "lead") == []
    # The invoice manager sees invoices, Sales (LR, LW) sees leads; without IM nobody
    # deletes an invoice.
    assert psql_ids(team.urls["clerk1"], "invoice")
    assert psql_ids(team.urls["sales1"], "lead")
    before = psql_ids(team.owner_url, "invoice")
    psql(team.urls["sales2"], "DELETE FROM invoice")
    assert psql_ids(team.owner_url, "invoice") == before


@pytest.mark.parametrize("login", OPERATORS)
def test_psql_shows_what_crm_list_shows(team: Team, login: str, tmp_path: Path):
    for kind in (*KINDS, "mail-template"):
        listed = _crm("list", kind, "--json", db=team.urls[login], data_dir=tmp_path)
        assert listed.returncode == 0, listed.stderr
        crm_ids = sorted(row["id"] for row in json.loads(listed.stdout))
        assert psql_ids(team.urls[login], kind.replace("-", "_")) == crm_ids, (login, kind)


def _server_modifiable(url: str, table: str, column: str) -> list[int]:
    """The visible rows of `table` the role may change, each tried and rolled back."""
    ids = []
    with psycopg.connect(url) as conn:
        for (row_id,) in conn.execute(f"SELECT id FROM {table} ORDER BY id").fetchall():
            try:
                with conn.transaction():
                    conn.execute(f"UPDATE {table} SET {column} = {column} WHERE id = %s",
                                 (row_id,))
                    ids.append(row_id)
                    raise _Undo
            except _Undo:
                pass
            except psycopg.errors.InsufficientPrivilege:
                pass
        conn.rollback()
    return ids


class _Undo(Exception):
    """Rolls a tried change back."""


@pytest.mark.parametrize("login", OPERATORS)
def test_psql_changes_what_crm_set_may_change(team: Team, login: str, tmp_path: Path):
    for kind, column in (("company", "comments"), ("lead", "description")):
        listed = _crm("list", kind, "--json", "--filter", "modifiable=true",
                      db=team.urls[login], data_dir=tmp_path)
        assert listed.returncode == 0, listed.stderr
        crm_ids = sorted(row["id"] for row in json.loads(listed.stdout))
        assert _server_modifiable(team.urls[login], kind, column) == crm_ids, (login, kind)


def test_crm_acts_as_the_user_of_the_role(team: Team, tmp_path: Path):
    a, b = team.companies["Customer #A"], team.companies["Customer #B"]
    url = team.urls["user1"]
    done = _crm("set", "company", str(a), "website=https://a.example", db=url,
                data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    refused = _crm("set", "company", str(b), "website=https://b.example", db=url,
                   data_dir=tmp_path)
    assert refused.returncode == 3 and "may not modify" in refused.stderr
    # The role decides who acts: --user cannot pick another user.
    other = _crm("--user", "manager1", "list", "company", db=url, data_dir=tmp_path,
                 env={"CRM_PASSWORD": "manager1-pw"})
    assert other.returncode == 3 and "database role" in other.stderr
    # A role no user is linked to gets nothing.
    stranger = f"crm_stranger_{SUFFIX}"
    with psycopg.connect(team.owner_url, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{stranger}" LOGIN PASSWORD \'stranger-pw\'')
    try:
        nobody = _crm("list", "company", db=_as_role(team.owner_url, stranger, "stranger-pw"),
                      data_dir=tmp_path)
        assert nobody.returncode == 3 and "crm db grant" in nobody.stderr
    finally:
        with psycopg.connect(team.owner_url, autocommit=True) as conn:
            conn.execute(f'DROP ROLE "{stranger}"')


def test_grant_is_for_superadmins_only(team: Team, tmp_path: Path):
    refused = _crm("db", "grant", "user2", "--peer", db=team.urls["manager1"],
                   data_dir=tmp_path)
    assert refused.returncode == 3, refused.stderr
    assert "superadmins only" in refused.stderr


def test_every_table_has_row_security_or_a_reason(team: Team):
    from crm_tui import rls

    rows = psql(team.owner_url, "SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity "
                                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                                "WHERE n.nspname = current_schema() AND c.relkind = 'r'")
    assert rows.returncode == 0, rows.stderr
    rules = rls.policies('"public"')
    for line in rows.stdout.splitlines():
        name, enabled, forced = line.split("|")
        if name in rls.ALLOW_LIST:
            continue
        assert name in rules, f"table {name} has no access rules in crm_tui.rls"
        assert enabled == "t", name
        assert forced == ("f" if name in rls.NOT_FORCED else "t"), name


def test_rules_are_laid_again_over_a_new_table(team: Team):
    from crm_tui import db, rls

    made = psql(team.owner_url, "CREATE TABLE later_probe (id serial PRIMARY KEY, note text);"
                                "INSERT INTO later_probe (note) VALUES ('x')")
    assert made.returncode == 0, made.stderr
    try:
        db.open_database(team.owner_url)
        try:
            for _ in range(2):  # runs again cleanly
                with db.database.atomic():
                    rls.install(db.database.obj)
        finally:
            db.close_database()
        flags = psql(team.owner_url, "SELECT relrowsecurity, relforcerowsecurity FROM pg_class "
                                     "WHERE oid = 'later_probe'::regclass")
        assert flags.stdout.split() == ["t|t"]
        # No rules for it yet: operators get nothing, the superadmin everything.
        assert psql_ids(team.urls["manager1"], "later_probe") == []
        assert psql_ids(team.urls["admin"], "later_probe") == [1]
        assert psql(team.urls["manager1"], "DELETE FROM later_probe").stdout.split() == [
            "DELETE", "0"]
    finally:
        psql(team.owner_url, "DROP TABLE later_probe")


def test_a_refusal_of_the_server_is_told_as_one(team: Team):
    """What the server refuses (a service looser than the rules would meet it) is a
    permission error that the command line reports with exit 3."""
    import peewee

    from crm_tui import db
    from crm_tui.cli import _refused_by_server
    from crm_tui.models import Company

    db.open_database(team.urls["user1"])
    try:
        with pytest.raises(peewee.DatabaseError) as raised:
            with db.database.atomic():
                Company.update(comments="sneaky").where(
                    Company.id == team.companies["Customer #B"]).execute()
    finally:
        db.close_database()
    assert _refused_by_server(raised.value)
    assert "permission denied" in str(raised.value)


def test_passwd_is_the_roles_on_a_role_connection(team: Team, tmp_path: Path):
    done = _crm("passwd", db=team.urls["sales2"], data_dir=tmp_path,
                env={"CRM_NEW_PASSWORD": "another-password"})
    assert done.returncode == 3
    assert "your password is the role's" in done.stderr
    assert "Traceback" not in done.stderr


def test_grant_by_peer_and_its_refusals(team: Team, tmp_path: Path, data_dir: Path):
    owner = team.owner_url
    role = f"crm_peer_{SUFFIX}"
    try:
        done = _crm("db", "grant", "sales2", "--peer", "--role", role, db=owner,
                    data_dir=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == role
        assert "peer authentication" in done.stderr
        # No password: the role logs in by peer authentication only.
        flags = psql(owner, "SELECT rolcanlogin, rolpassword IS NULL, rolsuper, rolbypassrls "
                            f"FROM pg_authid WHERE rolname = '{role}'")
        assert flags.stdout.split() == ["t|t|f|f"]
        assert psql(owner, "SELECT db_role FROM \"user\" WHERE login = 'sales2'"
                    ).stdout.strip() == role
        # One role, one user.
        taken = _crm("db", "grant", "sales1", "--peer", "--role", role, db=owner,
                     data_dir=tmp_path)
        assert taken.returncode == 1 and "already the role of user 'sales2'" in taken.stderr
        # Never a superuser's role, nor the owner's.
        powerful = _crm("db", "grant", "sales1", "--peer", "--role", "postgres", db=owner,
                        data_dir=tmp_path)
        assert powerful.returncode == 1 and "choose another role" in powerful.stderr
        bad = _crm("db", "grant", "sales1", "--peer", "--role", "x; DROP TABLE lead", db=owner,
                   data_dir=tmp_path)
        assert bad.returncode == 1 and "field role" in bad.stderr
        missing = _crm("db", "grant", "nobody", "--peer", db=owner, data_dir=tmp_path)
        assert missing.returncode == 1
    finally:
        # sales2 keeps the role the module gave him: the others' tests rely on it.
        psql(owner, f"UPDATE \"user\" SET db_role = '{team.roles['sales2']}' "
                    "WHERE login = 'sales2'")
        psql(owner, f'DROP OWNED BY "{role}"; DROP ROLE IF EXISTS "{role}"')
    # On SQLite there are no roles to grant.
    sqlite = _crm("db", "grant", "admin", "--peer", db=str(data_dir / "crm.sqlite3"),
                  data_dir=data_dir)
    assert sqlite.returncode == 1 and "PostgreSQL only" in sqlite.stderr


async def test_the_app_on_a_role_connection(team: Team):
    """The full-screen app as User #1's role: his companies, B read-only, no errors."""
    from crm_tui import db
    from crm_tui.services.users import session_for
    from screens.companies import READ_ONLY_MARK
    from tests.screens.crm_app_helpers import SIZE, RecordingApp, settle
    from tests.screens.test_companies_screen import tree_labels

    db.open_database(team.urls["user1"])
    try:
        app = RecordingApp(session_for(None))
        assert app.session.login == "user1"
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            labels = tree_labels(app)
            await pilot.press("5")  # leads: none for a user without lead bits
            await settle(pilot)
    finally:
        db.close_database()
    assert "Customer #A" in labels and "Customer #B" + READ_ONLY_MARK in labels
    assert "My company" not in labels
    assert [note for note in app.notes if note[0] == "error"] == []
