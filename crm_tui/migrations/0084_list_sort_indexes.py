"""Indexes the lead list walks when it is sorted by company, status, estimated sale or
country (`o` on the list): a page reads along the index and stops, at any list size."""

#: Each sort column with the id that breaks its ties (the list's order is (column, id)).
SORTED = (("company_name", "id"), ("status", "id"), ("estimated_sale", "id"), ("country", "id"))


def up(migrator, db):
    migrator.migrate(*(migrator.add_index("lead", columns, False) for columns in SORTED))


def down(migrator, db):
    migrator.migrate(*(migrator.drop_index("lead", "lead_" + "_".join(columns))
                       for columns in SORTED))
