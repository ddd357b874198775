"""A `crm` command on SQLite does not load PostgreSQL's driver; one on PostgreSQL gets it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

# Runs the crm command in-process, then says which driver modules were loaded.
_PROBE = """
import json, sys
from crm_tui.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "psycopg": "psycopg" in sys.modules}), file=sys.stderr)
"""


def _probe(target: str, tmp_path) -> dict:
    """Create the database (the migration runner loads every driver), then list in a
    fresh process."""
    env = {**os.environ, "CRM_DATA_DIR": str(tmp_path), "CRM_USER": "admin"}
    for args in (["init"], ["list", "company", "--json"]):
        result = subprocess.run([sys.executable, "-c", _PROBE, "--db", target, *args],
                                capture_output=True, text=True, env=env, timeout=120)
    return json.loads(result.stderr.strip().splitlines()[-1])


def test_a_sqlite_run_does_not_load_psycopg(tmp_path):
    assert _probe(str(tmp_path / "crm.sqlite3"), tmp_path) == {"code": 0, "psycopg": False}


@pytest.mark.postgres
def test_a_postgresql_run_attaches_psycopg(tmp_path, fresh_pg_database):
    assert _probe(fresh_pg_database, tmp_path) == {"code": 0, "psycopg": True}
