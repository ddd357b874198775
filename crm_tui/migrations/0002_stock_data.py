"""The stock data every new database ships with: profiles, roles, fields, types, settings."""

from peewee import Table

PROFILES = [
    ("Standard user", "CR,CW"),
    ("CRM manager", "CR,CW,CM"),
    ("Support operator", ""),
    ("Invoice clerk", "CR,CW,IR,IW"),
    ("Invoice manager", "CR,CW,IR,IW,IM"),
    ("Sales", "CR,CW,LR,LW"),
    ("Sales manager", "CR,CW,CM,LR,LW,LM"),
]
ROLES = ["Customer", "Supplier", "Partner"]
CONTRACT_TYPES = [
    ("Product contract", "Sale or licence of products."),
    ("Services contract", "Support and services over a period."),
]
SETTINGS = {
    "invoice.auto_id": "1",
    "invoice.id_pattern": "15/[1000]",
    "invoice.header": "",
    "invoice.logo": "",
    "invoice.tax_name": "VAT",
    "invoice.tax_rate": "21",
    "invoice.payment_methods": "Bank transfer",
    "invoice.footer": "",
    "invoice.currency": "EUR",
    "lead.status.0": "New",
    "lead.status.1": "Meeting arranged",
    "lead.status.2": "Needs discovered",
    "lead.status.3": "Proposal delivered",
    "lead.status.4": "Offer accepted",
    "lead.status.5": "Closed – no response or dead",
    "lead.status.6": "Closed – lost",
    "lead.status.7": "Closed – invalid or N/A",
    "lead.status.8": "Closed successfully",
    "mail.smtp_host": "",
    "mail.smtp_port": "25",
    "mail.smtp_security": "none",
    "mail.smtp_user": "",
    "mail.smtp_password": "",
    "mail.imap_host": "",
    "mail.imap_port": "143",
    "mail.imap_security": "none",
    "mail.imap_user": "",
    "mail.imap_password": "",
    "mail.imap_folder": "INBOX",
    "mail.unmatched_folder": "",
    "mail.reference_address": "",
    "mail.from_address": "",
    "mail.max_message_bytes": "10000000",
    "mail.poll_seconds": "60",
    "intake.token": "",
}

DEFAULT_TEMPLATE = """<h1>Contract _name_contract_</h1>
<p>Number: _contract_number_ &middot; Type: _contract_type_name_</p>
<p>Between <b>_company_name_</b> (fiscal ID _company_fiscal_id_), _company_address_,
_company_country_, and us.</p>
<p>Valid from _date_begin_ to _date_end_. Status: _name_status_.</p>
<p>_contract_description_</p>
<p>Issued on _format_long_time_.</p>
"""


def _default_template_body():
    # The documents package ships a fuller default template; fall back to a short one.
    try:
        from importlib import resources

        return (
            resources.files("crm_tui.documents")
            .joinpath("default_contract_template.html")
            .read_text(encoding="utf-8")
        )
    except (OSError, ModuleNotFoundError):
        return DEFAULT_TEMPLATE


def up(migrator, db):
    profile = Table("profile", ("id", "name", "bits")).bind(db)
    profile.insert([{"name": n, "bits": b} for n, b in PROFILES]).execute()
    role = Table("company_role", ("id", "name")).bind(db)
    role.insert([{"name": n} for n in ROLES]).execute()
    ctype = Table("contract_type", ("id", "name", "description")).bind(db)
    ctype.insert([{"name": n, "description": d} for n, d in CONTRACT_TYPES]).execute()
    field = Table(
        "custom_field",
        ("id", "name", "kind", "entity", "entity_type_id", "section_id", "options", "visible",
         "position"),
    ).bind(db)
    field.insert(
        [
            {"name": "Office Phone", "kind": "text", "entity": "company", "entity_type_id": None,
             "section_id": None, "options": "", "visible": False, "position": 1},
            {"name": "General email", "kind": "text", "entity": "company",
             "entity_type_id": None, "section_id": None, "options": "", "visible": False,
             "position": 2},
        ]
    ).execute()
    template = Table("contract_template", ("id", "name", "description", "body")).bind(db)
    template.insert(
        name="Default", description="The contract template that ships with crm_tui",
        body=_default_template_body(),
    ).execute()
    setting = Table("setting", ("key", "value")).bind(db)
    setting.insert([{"key": k, "value": v} for k, v in SETTINGS.items()]).execute()


def down(migrator, db):
    for name in ("setting", "contract_template", "custom_field", "contract_type",
                 "company_role", "profile"):
        Table(name).bind(db).delete().execute()
