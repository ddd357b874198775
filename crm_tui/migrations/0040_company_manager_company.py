"""Each company keeps its manager's company, so the access rule is two indexed equalities."""

from peewee import IntegerField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("company", "manager_company_id", IntegerField(null=True)),
    )
    db.execute_sql('UPDATE company SET manager_company_id = (SELECT u.company_id FROM "user" u '
                   "WHERE u.id = company.manager_id)")
    migrator.migrate(
        migrator.add_index("company", ("manager_company_id", "parent_id"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("company", "company_manager_company_id_parent_id"),
        migrator.drop_column("company", "manager_company_id"),
    )
