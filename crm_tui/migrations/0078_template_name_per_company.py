"""A mail template's name is unique per language and managing company, not system-wide:
two companies may each have their own "Welcome"."""

from playhouse.migrate import migrate


def up(migrator, db):
    migrate(
        migrator.drop_index("mail_template", "mailtemplate_name_language"),
        migrator.add_index("mail_template", ("name", "language", "company_id"), True),
    )


def down(migrator, db):
    migrate(
        migrator.drop_index("mail_template", "mail_template_name_language_company_id"),
        migrator.add_index("mail_template", ("name", "language"), True),
    )
