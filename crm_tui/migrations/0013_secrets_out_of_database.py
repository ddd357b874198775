"""Secrets leave the database every operator can read: the SMTP and IMAP passwords and the
intake token found in `setting` move to the secrets file of the account running the
migration (0600), and their rows are deleted."""

SECRET_KEYS = ("mail.smtp_password", "mail.imap_password", "intake.token")


def up(migrator, db):
    marks = ", ".join([db.param] * len(SECRET_KEYS))
    rows = db.execute_sql(f"SELECT key, value FROM setting WHERE key IN ({marks})",
                          SECRET_KEYS).fetchall()
    found = {key: value for key, value in rows if value}
    if found:
        from crm_tui.services import secrets

        # Written (and synced) before the rows go: a failure leaves them where they were.
        secrets.put_many(found)
    db.execute_sql(f"DELETE FROM setting WHERE key IN ({marks})", SECRET_KEYS)


def down(migrator, db):
    # The values stay in the secrets file; the rows come back empty, as a new database has.
    for key in SECRET_KEYS:
        db.execute_sql(f"INSERT INTO setting (key, value) VALUES ({db.param}, {db.param})",
                       (key, ""))
