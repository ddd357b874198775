"""Numbered schema migrations, run in order by `crm init` (playhouse.migrations)."""
