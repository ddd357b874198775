"""Contacts and leads may opt out of mail: a flag every outgoing mail honours."""

from playhouse.migrate import migrate


def up(migrator, db):
    # A server-side default: bulk writers (imports, demo data) that name only the columns
    # they fill still write a valid row.
    for table in ("contact", "lead"):
        db.execute_sql(f'ALTER TABLE "{table}" ADD COLUMN mail_opt_out BOOLEAN NOT NULL '
                       "DEFAULT FALSE")
    migrate(
        # Outgoing mail asks "has this address opted out?": the few rows that have are found
        # through these indexes, whatever the size of the tables.
        migrator.add_index("contact", ("mail_opt_out",), False),
        migrator.add_index("lead", ("mail_opt_out", "email_key"), False),
    )


def down(migrator, db):
    migrate(
        migrator.drop_index("lead", "lead_mail_opt_out_email_key"),
        migrator.drop_index("contact", "contact_mail_opt_out"),
        migrator.drop_column("lead", "mail_opt_out"),
        migrator.drop_column("contact", "mail_opt_out"),
    )
