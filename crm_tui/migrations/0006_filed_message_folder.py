"""The mail ledger records the folder of each message: UIDVALIDITY alone does not tell
two folders apart."""

from peewee import CharField


def _configured_folder(db) -> str:
    # Rows written so far came from the folder configured now (or the default, INBOX).
    row = db.execute_sql(f"SELECT value FROM setting WHERE key = {db.param}",
                         ("mail.imap_folder",)).fetchone()
    folder = (row[0] if row else "").strip() or "INBOX"
    return "INBOX" if folder.upper() == "INBOX" else folder


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("filed_message", "folder",
                            CharField(max_length=200, default="INBOX")),
    )
    folder = _configured_folder(db)
    if folder != "INBOX":
        db.execute_sql(f"UPDATE filed_message SET folder = {db.param}", (folder,))
    # Places are looked up by folder, UIDVALIDITY and UID together.
    migrator.migrate(
        migrator.drop_index("filed_message", "filedmessage_uidvalidity_uid"),
        migrator.add_index("filed_message", ("folder", "uidvalidity", "uid"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("filed_message", "filed_message_folder_uidvalidity_uid"),
        migrator.add_index("filed_message", ("uidvalidity", "uid"), False),
        migrator.drop_column("filed_message", "folder"),
    )
