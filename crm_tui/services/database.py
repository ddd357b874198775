"""Opening a database for a face: connect, create or upgrade the schema, ensure the admin."""

from __future__ import annotations

from crm_tui import db, paths, schema
from crm_tui.services.context import Clock


def target_for(explicit: str | None, demo: bool = False) -> str:
    """Which database to open: --db, then the demo file, then CRM_DB, then the default."""
    return paths.database_target(explicit, demo)


def open_and_prepare(target: str, clock: Clock | None = None, *, admin: bool = True) -> list[str]:
    """Open `target`, apply pending migrations and (unless `admin` is false) make sure a new
    database gets its admin.

    Returns the names of the migrations applied.

    Raises:
        ServerUnreachable: the database could not be reached.
    """
    from crm_tui.services.users import ensure_admin

    db.open_database(target)
    applied = schema.upgrade() if schema.pending_migrations() else []
    if admin:
        ensure_admin(clock)
    return applied
