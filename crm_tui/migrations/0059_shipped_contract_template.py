"""The shipped contract template, untouched by its users, becomes the new one: Jinja2
conditions for empty fields, multi-line addresses, no hard-coded city, both signatures."""

import hashlib
from importlib import resources

# sha256 of the template bodies shipped before (the fuller one and 0002's short fallback):
# only a body nobody edited is replaced; an edited one is the user's and stays.
OLD_SHIPPED = {
    "c161541de85b2c2ebf3e4494b8309045d8dc2d28a25654f5777854c925e3769a",
}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def up(migrator, db):
    new = (resources.files("crm_tui.documents").joinpath("default_contract_template.html")
           .read_text(encoding="utf-8"))
    rows = db.execute_sql("SELECT id, body FROM contract_template").fetchall()
    for template_id, body in rows:
        if _digest(body or "") in OLD_SHIPPED:
            db.execute_sql(f"UPDATE contract_template SET body = {db.param} WHERE id = {db.param}",
                           (new, template_id))


def down(migrator, db):
    # The old body is not restored: it rendered empty fields as "runs from to .".
    pass
