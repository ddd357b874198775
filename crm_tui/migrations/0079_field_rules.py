"""On PostgreSQL the server guards fields too (crm_tui.rls_fields): an operator role changes
an issued invoice's payment fields and note only, never its lines, and edits Submitted
drafts only with IM; a company keeps its manager's company; history changes only by erasing
personal values. Nothing to do on SQLite. (The upgrade lays the policies of
crm_tui.rls again after it, with their fixes: custom values of typed fields, unmatched mail
for LW, a new lead its creator may change.)"""

from peewee import PostgresqlDatabase


def up(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        from crm_tui import rls, rls_fields

        rls_fields.install(db, rls.ident(rls.schema_name(db)))


def down(migrator, db):
    if isinstance(db, PostgresqlDatabase):
        from crm_tui import rls, rls_fields

        rls_fields.uninstall(db, rls.ident(rls.schema_name(db)))
