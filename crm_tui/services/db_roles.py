"""`crm db grant` / `crm db revoke`: a PostgreSQL role of his own for an operator, mapped to
his CRM user, and taking it back."""

from __future__ import annotations

from dataclasses import dataclass, field

import peewee

from crm_tui import acl, db, rls
from crm_tui.errors import NotFound, PermissionDenied, ValidationFailed
from crm_tui.i18n import _, kind_name
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
    user = role_target(session, login, "grant")
    label = f"{kind_name('user')} {login!r}"
    role = role or user.os_login or user.login
    if not rls.ROLE_NAME.match(role):
        raise ValidationFailed.one(label, "role", role,
                                   _("a role name is letters, digits and _ . @ - (at most "
                                     "63), starting with a letter or _"))
    if password is not None and len(password) < 8:
        raise ValidationFailed.one(label, "password", "(hidden)",
                                   _("must have at least 8 characters"))
    taken = User.get_or_none(User.db_role == role, User.id != user.id)
    if taken is not None:
        raise ValidationFailed.one(label, "role", role,
                                   _("is already the role of user {login!r}").format(login=taken.login))
    conn = db.database.connection()
    try:
        with db.write_transaction():
            created = _create_or_alter(conn, role, password)
            User.update(db_role=None).where(User.id == user.id).execute()
            User.update(db_role=role).where(User.id == user.id).execute()
            rls.grant_privileges(db.database.obj, role)
    except peewee.ProgrammingError as error:
        first = str(error).strip().splitlines()[0]
        raise PermissionDenied(_("the server refused to create or change role {role!r}: "
                                 "{first}").format(role=role, first=first)) from None
    made = (_("created role {role!r} for user {login!r}") if created
            else _("updated role {role!r} for user {login!r}"))
    notes = [made.format(role=role, login=login)]
    if password is None:
        notes.append(_("{login} connects by peer authentication: his OS account must be named "
                       "{role!r} and pg_hba.conf needs a `local DATABASE {role} peer` line; his "
                       "CRM_DB is postgresql:///DATABASE (the Unix socket)").format(
                           login=login, role=role))
    else:
        notes.append(_("{login} connects with CRM_DB=postgresql://{role}@HOST/DATABASE "
                       "(password in ~/.pgpass or PGPASSWORD)").format(login=login, role=role))
    return Grant(role, created, notes)


def role_target(session: Session, login: str, verb: str) -> User:
    """The user whose role `crm db grant` / `crm db revoke` changes, once the acting user
    and the connection may change roles.

    Raises:
        PermissionDenied, ValidationFailed (not PostgreSQL), NotFound.
    """
    if not acl.is_admin(session.user):
        raise PermissionDenied(_("{login} may not {verb} database roles (superadmins only)").format(login=session.login, verb=verb))
    if not db.is_postgres():
        raise ValidationFailed.one(f"user {login!r}", "database", "sqlite",
                                   _("database roles exist on PostgreSQL only; on SQLite the "
                                     "database file's permissions decide who may open it"))
    from crm_tui.services.database import operator_connection

    if operator_connection():
        raise PermissionDenied(_("crm db {verb} needs a connection as the owner of the CRM "
                                 "tables (it {verb}s their privileges)").format(verb=verb))
    user = User.get_or_none(User.login == login)
    if user is None:
        raise NotFound(_("no user {login!r}").format(login=login))
    return user


def _powerful(role: str) -> bool:
    """Whether `role` is a superuser, bypasses row-level security or owns the CRM tables."""
    row = db.database.execute_sql(
        "SELECT rolsuper, rolbypassrls, pg_has_role(%s, c.relowner, 'MEMBER') "
        "FROM pg_roles r, pg_class c WHERE r.rolname = %s AND c.oid = '\"user\"'::regclass",
        (role, role)).fetchone()
    return row is not None and any(row)


def revoke_role(session: Session, login: str) -> list[str]:
    """Take user `login`'s PostgreSQL role back: the user is no longer mapped to it, it
    loses its privileges on the CRM's tables and it may no longer log in (the role itself
    stays, with whatever it owns). Returns notes for the operator.

    Raises:
        PermissionDenied: not a superadmin, or not connected as the owner of the tables.
        NotFound: no such user.
        ValidationFailed: not PostgreSQL, the user has no role, or it is a role with
            powers beyond an operator's (the owner's, a superuser's).
    """
    user = role_target(session, login, "revoke")  # refuses SQLite before the driver is needed
    from psycopg import sql

    label = f"{kind_name('user')} {login!r}"
    role = user.db_role
    if not role:
        raise ValidationFailed.one(label, "role", "", _("has no database role to revoke"))
    if _powerful(role):
        raise ValidationFailed.one(label, "role", role,
                                   _("is a superuser, bypasses row-level security or owns "
                                     "the CRM tables: it is not revoked from here"))
    exists = db.database.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                     (role,)).fetchone() is not None
    try:
        with db.write_transaction():
            User.update(db_role=None).where(User.id == user.id).execute()
            if exists:
                rls.revoke_privileges(db.database.obj, role)
                statement = sql.SQL("ALTER ROLE {} NOLOGIN").format(sql.Identifier(role))
                db.database.execute_sql(statement.as_string(db.database.connection()))
    except peewee.ProgrammingError as error:
        first = str(error).strip().splitlines()[0]
        raise PermissionDenied(_("the server refused to change role {role!r}: {first}").format(role=role, first=first)) from None
    notes = [_("revoked role {role!r} of user {login!r}").format(role=role, login=login)]
    if exists:
        notes.append(_("role {role!r} may no longer log in; sessions already open see no "
                       "CRM data (no user is mapped to it)").format(role=role))
    return notes


def password_verifier(role: str, password: str) -> str:
    """The SCRAM-SHA-256 verifier of `password` for `role`, computed by libpq on the
    client: the server stores and logs the verifier, never the password."""
    conn = db.database.connection()
    return conn.pgconn.encrypt_password(password.encode(), role.encode(),
                                        b"scram-sha-256").decode()


def _create_or_alter(conn, role: str, password: str | None) -> bool:
    """CREATE ROLE or ALTER ROLE; a role with powers beyond an operator's is refused.
    Returns True when the role was created."""
    from psycopg import sql

    if _powerful(role):
        raise ValidationFailed.one(f"role {role!r}", "role", role,
                                   _("is a superuser, bypasses row-level security or owns "
                                     "the CRM tables: choose another role"))
    exists = db.database.execute_sql("SELECT 1 FROM pg_roles WHERE rolname = %s",
                                     (role,)).fetchone() is not None
    verb = "ALTER" if exists else "CREATE"
    statement = sql.SQL("{} ROLE {} LOGIN").format(sql.SQL(verb), sql.Identifier(role))
    if password is not None:
        # The verifier, quoted by psycopg: the password itself is in no statement.
        statement = sql.SQL("{} PASSWORD {}").format(
            statement, sql.Literal(password_verifier(role, password)))
    db.database.execute_sql(statement.as_string(conn))
    return not exists
