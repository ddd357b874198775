"""Creating and upgrading the schema by running the numbered migrations in order."""

from __future__ import annotations

from pathlib import Path

from crm_tui.db import database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _runner():
    from playhouse.migrations import Runner

    return Runner(database.obj, directory=str(MIGRATIONS_DIR), table_name="schema_migration")


def pending_migrations() -> list[str]:
    """Names of migrations not yet applied to the bound database."""
    return [m.name for m in _runner().status() if not m.applied and m.path is not None]


def upgrade() -> list[str]:
    """Apply every pending migration; returns the names applied."""
    return _runner().up()
