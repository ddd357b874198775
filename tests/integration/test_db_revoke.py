"""Roles on the real PostgreSQL server: `crm db revoke LOGIN` takes an operator's role back,
`crm db grant` sends the server a password verifier, never the password, and a superadmin's
role changes users and settings where an operator's may not."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.integration import test_row_security as rows
from tests.integration.test_row_security import SUFFIX, Team, _as_role, _crm, psql

#: The seeded team of the row-level security tests (its own copy for this module).
team = rows.team


def owner_value(team: Team, statement: str) -> str:
    done = psql(team.owner_url, statement)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_revoke_unlinks_the_role_and_stops_its_login(team: Team, tmp_path: Path):
    role = team.roles["user1"]
    refused = _crm("db", "revoke", "user1", db=team.urls["manager1"], data_dir=tmp_path)
    assert refused.returncode == 3 and "superadmins only" in refused.stderr
    assert psql(team.urls["user1"], "SELECT count(*) FROM company").returncode == 0

    done = _crm("db", "revoke", "user1", db=team.owner_url, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"revoked role {role!r} of user 'user1'" in done.stderr
    assert owner_value(team, "SELECT db_role IS NULL FROM \"user\" WHERE login = 'user1'") == "t"
    assert owner_value(team, "SELECT rolcanlogin, has_table_privilege(rolname, 'company', "
                             f"'SELECT') FROM pg_roles WHERE rolname = '{role}'") == "f|f"
    gone = psql(team.urls["user1"], "SELECT 1")
    assert gone.returncode != 0 and "not permitted to log in" in gone.stderr
    # Nothing left to revoke; the user and the backend must exist.
    again = _crm("db", "revoke", "user1", db=team.owner_url, data_dir=tmp_path)
    assert again.returncode == 1 and "has no database role" in again.stderr
    missing = _crm("db", "revoke", "nobody", db=team.owner_url, data_dir=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr

    # Granted again, he is back, with the same rows as before.
    regranted = _crm("db", "grant", "user1", "--role", role, db=team.owner_url,
                     data_dir=tmp_path, env={"CRM_ROLE_PASSWORD": f"user1-{SUFFIX}-pw"})
    assert regranted.returncode == 0, regranted.stderr
    back = psql(team.urls["user1"], "SELECT count(*) FROM company")
    assert back.returncode == 0 and int(back.stdout) > 0


def test_revoke_is_for_postgresql(tmp_path: Path, data_dir: Path):
    sqlite = _crm("db", "revoke", "admin", db=str(data_dir / "crm.sqlite3"), data_dir=data_dir)
    assert sqlite.returncode == 1 and "PostgreSQL only" in sqlite.stderr


def test_the_password_reaches_the_server_as_a_verifier(team: Team, caplog):
    from crm_tui import db
    from crm_tui.models import User
    from crm_tui.services.context import FrozenClock, Session
    from crm_tui.services.db_roles import grant_role

    role, password = f"crm_verifier_{SUFFIX}", "it's a \"secret\" pw"
    db.open_database(team.owner_url)
    try:
        admin = Session(User.get(User.login == "admin"), FrozenClock())
        with caplog.at_level(logging.DEBUG, logger="peewee"):
            grant_role(admin, "user2", role=role, password=password)
        statements = [str(record.msg) for record in caplog.records]
    finally:
        db.close_database()
    try:
        assert any("ALTER ROLE" in s or "CREATE ROLE" in s for s in statements), statements
        assert not any("secret" in s for s in statements), [s for s in statements if "secret" in s]
        assert owner_value(team, "SELECT left(rolpassword, 14) FROM pg_authid "
                                 f"WHERE rolname = '{role}'") == "SCRAM-SHA-256$"
        # The password (quotes and all) logs in.
        done = psql(_as_role(team.owner_url, role, password.replace("'", "%27")
                             .replace('"', "%22").replace(" ", "%20")),
                    "SELECT crm_acl_login()")
        assert done.returncode == 0 and done.stdout.strip() == "user2", done.stderr
    finally:
        psql(team.owner_url, f"UPDATE \"user\" SET db_role = '{team.roles['user2']}' "
                             "WHERE login = 'user2'")
        psql(team.owner_url, f'DROP OWNED BY "{role}"; DROP ROLE IF EXISTS "{role}"')


def test_a_superadmins_role_changes_users_and_settings_an_operators_does_not(
        team: Team, tmp_path: Path):
    admin, user1 = team.urls["admin"], team.urls["user1"]
    done = _crm("config", "set", "invoice.tax_name", "VAT", db=admin, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _crm("set", "user", "user2", "real_name=User Two", db=admin, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    done = _crm("set", "user", "user2", "profiles=Standard user", db=admin, data_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert owner_value(team, "SELECT real_name FROM \"user\" WHERE login = 'user2'"
                       ) == "User Two"
    try:
        # Through the CRM, an operator is refused; at the server, aloud.
        refused = _crm("config", "set", "invoice.tax_name", "IVA", db=user1, data_dir=tmp_path)
        assert refused.returncode == 3, refused.stderr
        for statement in ("UPDATE setting SET value = 'IVA'",
                          "UPDATE \"user\" SET real_name = 'x' WHERE login = 'user2'",
                          "DELETE FROM user_profile",
                          "INSERT INTO setting (key, value) VALUES ('x', 'y')"):
            direct = psql(user1, statement)
            assert direct.returncode != 0, statement
            assert ("permission denied" in direct.stderr
                    or "row-level security" in direct.stderr), (statement, direct.stderr)
        # No role but the owner's maps roles to users.
        mapped = psql(admin, "UPDATE \"user\" SET db_role = NULL WHERE login = 'user2'")
        assert mapped.returncode != 0 and "permission denied" in mapped.stderr
        assert owner_value(team, "SELECT value FROM setting WHERE key = 'invoice.tax_name'"
                           ) == "VAT"
    finally:
        # user2 keeps the worked example's profile (no CRM bits).
        _crm("set", "user", "user2", "profiles=Support operator", db=admin, data_dir=tmp_path)
