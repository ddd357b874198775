"""`crm db grant`: a PostgreSQL role of his own for an operator, mapped to his CRM user."""

from __future__ import annotations

from dataclasses import dataclass, field

import peewee

from crm_tui import acl, db, rls
from crm_tui.errors import NotFound, PermissionDenied, ValidationFailed
from crm_tui.models import User
from crm_tui.services.context import Session


@dataclass
class Grant:
    """What `grant_role` did: the role, whether it was new, and notes for the operator."""

    role: str
    created: bool
    notes: list[str] = field(default_factory=list)


def default_role(login: str) -> str:
    """The role a user gets unless one is named: the user's OS login when linked (so that
    peer authentication, which names the role after the OS account, works), else the login."""
    user = User.get_or_none(User.login == login)
    return (user.os_login or user.login) if user is not None else login


def grant_role(session: Session, login: str, *, role: str | None = None,
               password: str | None = None) -> Grant:
    """Create (or update) the PostgreSQL role of user `login` and map the user to it.

    Without `password` the role logs in by peer authentication only (a new role gets no
    password; an existing one keeps its own). The role gets the table privileges of an
    operator; row-level security (crm_tui.rls) decides the rows.

    Raises:
        PermissionDenied: not a superadmin, or not connected as the owner of the tables,
            or the server refuses to create roles for this connection.
        NotFound: no such user.
        ValidationFailed: not PostgreSQL, a bad role name, or a role taken by another user
            or owning the database.
    """
    if not acl.is_admin(session.user):
        raise PermissionDenied(f"{session.login} may not grant database roles "
                               "(superadmins only)")
    label = f"user {login!r}"
    if not db.is_postgres():
        raise ValidationFailed.one(label, "database", "sqlite",
                                   "database roles exist on PostgreSQL only; on SQLite the "
                                   "database file's permissions decide who may open it")
    from crm_tui.services.database import operator_connection

    if operator_connection():
        raise PermissionDenied("crm db grant needs a connection as the owner of the CRM "
                               "tables (it grants their privileges)")
    user = User.get_or_none(User.login == login)
    if user is None:
        raise NotFound(f"no user {login!r}")
    role = role or user.os_login or user.login
    if not rls.ROLE_NAME.match(role):
        raise ValidationFailed.one(label, "role", role,
                                   "a role name is letters, digits and _ . @ - (at most 63), "
                                   "starting with a letter or _")
    if password is not None and len(password) < 8:
        raise ValidationFailed.one(label, "password", "(hidden)",
                                   "must have at least 8 characters")
    taken = User.get_or_none(User.db_role == role, User.id != user.id)
    if taken is not None:
        raise ValidationFailed.one(label, "role", role,
                                   f"is already the role of user {taken.login!r}")
    conn = db.database.connection()
    try:
        with db.write_transaction():
            created = _create_or_alter(conn, role, password)
            User.update(db_role=None).where(User.id == user.id).execute()
            User.update(db_role=role).where(User.id == user.id).execute()
            rls.grant_privileges(db.database.obj, role)
    except peewee.ProgrammingError as error:
        first = str(error).strip().splitlines()[0]
        raise PermissionDenied(f"the server refused to create or change role {role!r}: "
                               f"{first}") from None
    notes = [f"{'created' if created else 'updated'} role {role!r} for user {login!r}"]
    if password is None:
        notes.append(f"{login} connects by peer authentication: his OS account must be named "
                     f"{role!r} and pg_hba.conf needs a `local DATABASE {role} peer` line; "
                     f"his CRM_DB is postgresql:///DATABASE (the Unix socket)")
    else:
        notes.append(f"{login} connects with CRM_DB=postgresql://{role}@HOST/DATABASE "
                     "(password in ~/.pgpass or PGPASSWORD)")
    return Grant(role, created, notes)


def _create_or_alter(conn, role: str, password: str | None) -> bool:
    """CREATE ROLE or ALTER ROLE; a role with powers beyond an operator's is refused.
    Returns True when the role was created."""
    from psycopg import sql

    row = db.database.execute_sql(
        "SELECT rolsuper, rolbypassrls, pg_has_role(%s, c.relowner, 'MEMBER') "
        "FROM pg_roles r, pg_class c WHERE r.rolname = %s AND c.oid = '\"user\"'::regclass",
        (role, role)).fetchone()
    if row is not None and any(row):
        raise ValidationFailed.one(f"role {role!r}", "role", role,
                                   "is a superuser, bypasses row-level security or owns the "
                                   "CRM tables: choose another role")
    verb = "CREATE" if row is None else "ALTER"
    statement = sql.SQL("{} ROLE {} LOGIN").format(sql.SQL(verb), sql.Identifier(role))
    if password is not None:
        statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
    db.database.execute_sql(statement.as_string(conn))
    return row is None
