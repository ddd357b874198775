"""A mail template's name is unique per language and managing company, not system-wide:
two companies may each have their own "Welcome"."""

from playhouse.migrate import migrate

# The old unique index was named after the model by the first migration, and after the
# table when a downgrade made it again.
OLD_NAMES = ("mailtemplate_name_language", "mail_template_name_language")


def up(migrator, db):
    for name in OLD_NAMES:
        db.execute_sql(f'DROP INDEX IF EXISTS "{name}"')
    migrate(migrator.add_index("mail_template", ("name", "language", "company_id"), True))


def down(migrator, db):
    migrate(
        migrator.drop_index("mail_template", "mail_template_name_language_company_id"),
        migrator.add_index("mail_template", ("name", "language"), True),
    )
