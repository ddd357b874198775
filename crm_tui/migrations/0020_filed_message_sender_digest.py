"""The mail ledger keeps each message's sender and arrival time (for the hourly limit per
sender and per lead) and a hash of its content without trace headers (to tell a reused
Message-ID from a second copy)."""

from peewee import CharField, DateTimeField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column("filed_message", "sender", CharField(max_length=254, default="")),
        migrator.add_column("filed_message", "digest", CharField(max_length=64, default="")),
        migrator.add_column("filed_message", "arrived", DateTimeField(null=True)),
        migrator.add_index("filed_message", ("sender", "arrived"), False),
        migrator.add_index("filed_message", ("lead_id", "arrived"), False),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index("filed_message", "filed_message_lead_id_arrived"),
        migrator.drop_index("filed_message", "filed_message_sender_arrived"),
        migrator.drop_column("filed_message", "arrived"),
        migrator.drop_column("filed_message", "digest"),
        migrator.drop_column("filed_message", "sender"),
    )
