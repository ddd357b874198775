"""An import batch counts the records it updated (`--on-duplicate update`) as well."""

from playhouse.migrate import migrate


def up(migrator, db):
    # A server-side default: batches recorded so far updated nothing.
    db.execute_sql('ALTER TABLE "import_batch" ADD COLUMN updated INTEGER NOT NULL DEFAULT 0')


def down(migrator, db):
    migrate(migrator.drop_column("import_batch", "updated"))
