"""Creating and upgrading the schema by running the numbered migrations in order."""

from __future__ import annotations

from pathlib import Path

from crm_tui.db import database

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _runner():
    from playhouse.migrations import Runner

    return Runner(database.obj, directory=str(MIGRATIONS_DIR), table_name="schema_migration")


def migration_names() -> list[str]:
    """The names of the shipped migrations, in order."""
    names = [p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py")]
    return sorted(names, key=lambda name: int(name.split("_", 1)[0]))


def pending_migrations() -> list[str]:
    """Names of migrations not yet applied to the bound database.

    Every command asks this, so it reads the history table directly instead of loading the
    migration runner (which imports and parses every migration script).
    """
    import peewee

    try:
        with database.atomic():
            rows = database.execute_sql("SELECT name FROM schema_migration").fetchall()
    except (peewee.OperationalError, peewee.ProgrammingError):
        return migration_names()
    applied = {name for (name,) in rows}
    return [name for name in migration_names() if name not in applied]


def upgrade() -> list[str]:
    """Apply every pending migration; returns the names applied.

    Tables that a migration created after 0018 get the never-reused id key too, and on
    PostgreSQL the change notification of open screens (services.changes).
    """
    from crm_tui.services.changes import install_triggers
    from crm_tui.sqlite_ids import never_reuse_ids

    applied = _runner().up()
    if applied:
        never_reuse_ids(database.obj)
        install_triggers(database.obj)
        _reinstall_lead_tally(applied)
        _reinstall_row_security(applied)
    return applied


#: The migration that creates the lead tally and its triggers.
TALLY_MIGRATION = "0090_lead_tally"


def _reinstall_lead_tally(applied: list[str]) -> None:
    """Lay the lead tally's triggers again: a later migration that rebuilds `lead` on
    SQLite drops them with the old table."""
    from crm_tui.services import lead_tally

    if applied[-1] != TALLY_MIGRATION and _applied(TALLY_MIGRATION):
        with database.atomic():
            lead_tally.install(database.obj)


def _reinstall_row_security(applied: list[str]) -> None:
    """On PostgreSQL, lay the row-level security of crm_tui.rls again over what later
    migrations changed (new tables get their rules, or refuse operators until they have
    some); the migration that installs it first did so already when it ran last."""
    from crm_tui import db, rls

    if db.is_postgres() and applied[-1] != RLS_MIGRATION and _applied(RLS_MIGRATION):
        with database.atomic():
            rls.install(database.obj)


#: The migration that installs row-level security on PostgreSQL.
RLS_MIGRATION = "0065_database_roles"


def _applied(name: str) -> bool:
    rows = database.execute_sql(
        f"SELECT 1 FROM schema_migration WHERE name = {database.obj.param}", (name,)).fetchall()
    return bool(rows)
