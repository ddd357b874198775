"""PostgreSQL tables notify their writes (table name and ids, never row data) so that open
screens show other operators' changes; nothing to do on SQLite."""


def up(migrator, db):
    # The triggers are installed by the function the schema upgrade also runs after later
    # migrations, so tables created after this one notify too.
    from crm_tui.services.changes import install_triggers

    install_triggers(db)


def down(migrator, db):
    import peewee

    if not isinstance(db, peewee.PostgresqlDatabase):
        return
    tables = [row[0] for row in db.execute_sql(
        "SELECT DISTINCT event_object_table FROM information_schema.triggers "
        "WHERE trigger_name IN ('crm_notify_insert', 'crm_notify_update', "
        "'crm_notify_delete')").fetchall()]
    for table in tables:
        for op in ("insert", "update", "delete"):
            db.execute_sql(f'DROP TRIGGER IF EXISTS crm_notify_{op} ON "{table}"')
    db.execute_sql("DROP FUNCTION IF EXISTS crm_notify_rows()")
    db.execute_sql("DROP FUNCTION IF EXISTS crm_notify_table()")
