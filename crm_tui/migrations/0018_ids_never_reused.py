"""Ids are never reused: every SQLite table keyed by an integer id gets AUTOINCREMENT.

The tables are rebuilt (see crm_tui.sqlite_ids); tables that later migrations create are
given the same key when `crm_tui.schema.upgrade` has run them. PostgreSQL's serial
sequences never go back, so there the migration does nothing.
"""

# Foreign keys can only be switched off outside a transaction: the rebuild opens its own.
atomic = False


def up(migrator, db):
    from crm_tui.sqlite_ids import never_reuse_ids

    never_reuse_ids(db)


def down(migrator, db):
    # Going back would allow ids to be reused again; nothing else depends on the key.
    pass
