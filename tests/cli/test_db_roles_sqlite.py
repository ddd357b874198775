"""`crm db grant` and `crm db revoke` on SQLite: one line saying roles are PostgreSQL's, exit 1,
before anything needs PostgreSQL's driver."""

from __future__ import annotations

import pytest

from tests.cli.in_process import crm


@pytest.mark.parametrize("verb", ["grant", "revoke"])
def test_roles_are_refused_on_sqlite_in_one_line(world, crm_db, verb):
    result = crm(crm_db, "db", verb, "user1")
    assert result.exit_code == 1
    assert result.stderr == (
        "crm: error: user 'user1': field database: value 'sqlite': database roles exist on "
        "PostgreSQL only; on SQLite the database file's permissions decide who may open it\n")
