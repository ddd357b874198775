"""Operators on PostgreSQL connect as roles of their own: each user may name his role, and
row-level security enforces the access rules in the server (crm_tui.rls)."""

from peewee import CharField, PostgresqlDatabase


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("user", "db_role", CharField(max_length=63, null=True)),
        migrator.add_index("user", ("db_role",), True),
    )
    if isinstance(db, PostgresqlDatabase):
        from crm_tui import rls

        rls.install(db)


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        from crm_tui import rls

        rls.uninstall(db)
    migrator.migrate(
        migrator.drop_index("user", "user_db_role"),
        migrator.drop_column("user", "db_role"),
    )
