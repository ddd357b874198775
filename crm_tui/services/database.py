"""Opening a database for a face: connect, create or upgrade the schema, ensure the admin."""

from __future__ import annotations

from crm_tui import db, paths, schema
from crm_tui.errors import PermissionDenied
from crm_tui.i18n import _
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
    if operator_connection():
        # An operator's role may not change the schema nor make users: the owner does.
        role_user()
        if schema.pending_migrations():
            raise PermissionDenied(_("the database schema needs an upgrade: run `crm init` "
                                     "connected as the database's owner"))
        return []
    applied = schema.upgrade() if schema.pending_migrations() else []
    if admin:
        ensure_admin(clock)
    return applied


def operator_connection() -> bool:
    """True when connected to PostgreSQL as an operator's role (not the owner of the
    tables): row-level security applies and the role names the acting user."""
    if not db.is_postgres():
        return False
    restricted = _identity()[0]
    return restricted


def _identity() -> tuple[bool, int | None, str]:
    """rls.connection_identity of the bound database, asked once per database object (its
    connections all log in as the same role)."""
    from crm_tui import rls

    obj = db.database.obj
    cached = getattr(obj, "_crm_identity", None)
    if cached is None:
        with db.database.atomic():
            restricted, uid, role, settled = rls.connection_identity(obj)
        cached = (restricted, uid, role)
        if settled:
            obj._crm_identity = cached
    return cached


def role_user() -> int | None:
    """On PostgreSQL, the id of the user mapped to the connection's role (None when
    connected as the owner of the tables, or on SQLite).

    Raises:
        PermissionDenied: an operator's role that no enabled user is mapped to.
    """
    if not db.is_postgres():
        return None
    restricted, uid, role = _identity()
    if uid is None and restricted:
        raise PermissionDenied(
            _("the database role {role!r} is not linked to an enabled CRM user: a superadmin "
              "links it with `crm db grant LOGIN`").format(role=role))
    return uid
