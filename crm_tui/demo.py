"""Deterministic demo data at any size: the same seed always gives the same database."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from crm_tui.db import database, is_postgres, write_transaction
from crm_tui.models import (
    Company,
    CompanyRole,
    ContractType,
    Invoice,
    Lead,
    LeadType,
    Profile,
    Tag,
    User,
    UserProfile,
)
from crm_tui.models.base import MoneyField
from crm_tui.money import compute_totals
from crm_tui.services.companies import refresh_manager_companies
from crm_tui.services.search import reindex_all

# Demo dates are fixed, not "now", so that the same seed gives the same database.
BASE_DAY = dt.date(2026, 1, 15)
BASE_TIME = dt.datetime(2026, 1, 15, 9, 0)

_FIRST = ["Ana", "Luis", "María", "João", "Chloé", "Jürgen", "Zoë", "Ahmed", "Olga", "Kenji",
          "Søren", "Beatriz", "Nikos", "Élodie", "Piotr", "Aisha", "Tomás", "Ingrid"]
_LAST = ["García", "Müller", "Dubois", "Silva", "Rossi", "Novák", "Kowalski", "Jensen",
         "Papadopoulos", "Smith", "Ivanova", "Tanaka", "O'Brien", "Fernández", "Nyström"]
_WORDS = ["Acme", "Nimbus", "Vertex", "Orbital", "Quantum", "Boreal", "Cobalt", "Delta",
          "Ember", "Fjord", "Granite", "Helios", "Iberia", "Juniper", "Kestrel", "Lumen",
          "Meridian", "Nova", "Onyx", "Pinnacle", "Quasar", "Riviera", "Sierra", "Tundra"]
_SUFFIX = ["Systems", "Logistics", "Foods", "Labs", "Consulting", "Energía", "Software",
           "Médical", "Retail", "Studios", "Networks", "Bau"]
_COUNTRIES = ["Spain", "France", "Germany", "Portugal", "Italy", "United Kingdom", "Mexico",
              "Argentina", "Greece", "Poland", "Japan", "Sweden"]
_CHANNELS = ["web form", "email", "phone", "fair", "referral", "partner"]
_LANGS = ["en", "es", "fr", "de", "pt"]
_TAGS = [("hot", "red"), ("vip", "magenta"), ("renewal", "green"), ("partner", "blue"),
         ("cold", "cyan")]
_STATUS_WEIGHTS = [30, 14, 12, 10, 6, 8, 8, 4, 8]


@dataclass
class DemoSizes:
    """How much of each record to create."""

    companies: int = 200
    contacts: int = 600
    contracts: int = 150
    invoices: int = 300
    leads: int = 2000
    seed: int = 1


def _bulk(table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    """Insert many rows with one executemany (peewee's row-by-row path is far slower)."""
    if not rows:
        return
    param = database.obj.param
    quoted = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join([param] * len(columns))
    sql = f'INSERT INTO "{table}" ({quoted}) VALUES ({placeholders})'
    cursor = database.cursor()
    cursor.executemany(sql, rows)


# The rows go to the driver as they are: amounts in the form the column stores them.
_MONEY = MoneyField()


def _money(amount: Decimal) -> object:
    return _MONEY.db_value(amount)


def _next_id(model) -> int:
    return (model.select(model.id).order_by(model.id.desc()).scalar() or 0) + 1


def _fix_sequence(table: str) -> None:
    # Explicit ids leave PostgreSQL's serial behind; move it past the largest id.
    if is_postgres():
        database.execute_sql(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))"
        )


def generate(sizes: DemoSizes, progress: Callable[[str], None] | None = None) -> dict[str, int]:
    """Fill the bound (migrated) database with demo records; returns counts created."""
    rng = random.Random(sizes.seed)
    say = progress or (lambda _msg: None)
    with write_transaction():
        users = _users(rng)
        say("companies")
        company_ids = _companies(rng, sizes.companies, users)
        refresh_manager_companies()
        say("contacts")
        _contacts(rng, sizes.contacts, company_ids)
        say("contracts")
        _contracts(rng, sizes.contracts, company_ids, users)
        say("invoices")
        _invoices(rng, sizes.invoices, company_ids, users)
        say("leads")
        _leads(rng, sizes.leads, company_ids, users)
        say("search index")
        for kind in ("company", "contact", "lead"):
            reindex_all(kind)
    return {"companies": len(company_ids), "contacts": sizes.contacts,
            "contracts": sizes.contracts, "invoices": sizes.invoices, "leads": sizes.leads}


def _users(rng: random.Random) -> list[int]:
    admin = User.get(User.login == "admin")
    root = Company.get_or_none(Company.name == "My company")
    if root is None:
        root = Company.create(name="My company", manager=admin.id, country="Spain",
                              last_update=BASE_TIME)
    if admin.company_id is None:
        admin.company = root.id
        admin.save()
    profiles = {p.name: p.id for p in Profile.select()}
    people = [("sales1", "Sara Sales", "Sales manager"), ("sales2", "Pablo Ventas", "Sales"),
              ("manager1", "Marta Manager", "CRM manager"), ("user1", "Ulises User",
                                                               "Standard user"),
              ("clerk1", "Iris Invoices", "Invoice manager")]
    ids = [admin.id]
    for login, name, profile in people:
        user = User.get_or_none(User.login == login)
        if user is None:
            user = User.create(login=login, real_name=name, email=f"{login}@example.com",
                               company=root.id, language=rng.choice(["en", "es"]))
            UserProfile.create(user=user.id, profile=profiles[profile])
            if profile in ("Sales manager", "Sales", "CRM manager"):
                # Sales people also work with invoices in the demo.
                UserProfile.get_or_create(user=user.id, profile=profiles["Invoice clerk"])
        ids.append(user.id)
    for name, colour in _TAGS:
        Tag.get_or_create(name=name, defaults={"colour": colour})
    LeadType.get_or_create(name="Inbound", defaults={"description": "Came to us"})
    LeadType.get_or_create(name="Outbound", defaults={"description": "We went to them"})
    return ids


def _companies(rng: random.Random, count: int, users: list[int]) -> list[int]:
    root = Company.get(Company.name == "My company")
    roles = [r.id for r in CompanyRole.select()]
    start = _next_id(Company)
    rows, ids = [], []
    for n in range(count):
        cid = start + n
        name = f"{rng.choice(_WORDS)} {rng.choice(_SUFFIX)} {cid}"
        # Most companies hang under the root; some under an earlier customer (a real tree).
        parent = root.id if n < 10 or rng.random() < 0.7 else rng.choice(ids[: max(1, n // 2)])
        rows.append((cid, name, f"{rng.randint(1, 200)} {rng.choice(_WORDS)} Street",
                     f"B{rng.randint(10000000, 99999999)}", rng.choice(_COUNTRIES),
                     f"https://{name.split()[0].lower()}{cid}.example", "",
                     rng.choice(roles) if roles else None, parent, rng.choice(users),
                     BASE_TIME - dt.timedelta(minutes=n), rng.choice([15, 30, 45, 60])))
        ids.append(cid)
        if len(rows) >= 5000:
            _insert_companies(rows)
            rows = []
    _insert_companies(rows)
    _fix_sequence("company")
    return [root.id, *ids]


def _insert_companies(rows: list[tuple]) -> None:
    _bulk("company", ("id", "name", "address", "fiscal_id", "country", "website", "comments",
                      "role_id", "parent_id", "manager_id", "last_update", "payment_conditions"),
          rows)


def _person(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return f"{first} {last}", f"{first}.{last}".lower().replace("'", "")


def _contacts(rng: random.Random, count: int, companies: list[int]) -> None:
    rows = []
    for n in range(count):
        name, mail = _person(rng)
        rows.append((name, f"{mail}{n}@example.com", rng.choice(companies),
                     f"+34 6{rng.randint(10000000, 99999999)}", "", rng.choice(
                         ["CEO", "CTO", "Buyer", "Support lead", "Finance"]), ""))
        if len(rows) >= 5000:
            _insert_contacts(rows)
            rows = []
    _insert_contacts(rows)


def _insert_contacts(rows):
    _bulk("contact", ("full_name", "email", "company_id", "phone", "mobile", "position",
                      "description"), rows)


def _contracts(rng: random.Random, count: int, companies: list[int], users: list[int]) -> None:
    types = [t.id for t in ContractType.select()]
    rows = []
    for n in range(count):
        begin = BASE_DAY - dt.timedelta(days=rng.randint(0, 700))
        end = begin + dt.timedelta(days=rng.choice([90, 180, 365, 730]))
        rows.append((f"Contract {n + 1:06d}", f"C-{2026 - n % 3}/{n + 1:05d}",
                     "Support and maintenance.", begin, end, rng.choice(companies), None, None,
                     False, 1 if end >= BASE_DAY else 0, rng.choice(types) if types else None,
                     None, rng.choice(users), BASE_TIME, BASE_TIME))
        if len(rows) >= 5000:
            _insert_contracts(rows)
            rows = []
    _insert_contracts(rows)


def _insert_contracts(rows):
    _bulk("contract", ("name", "contract_number", "description", "date_begin", "date_end",
                       "company_id", "sla", "group", "private", "status", "contract_type_id",
                       "related_contract_id", "manager_id", "created", "updated"), rows)


def _invoices(rng: random.Random, count: int, companies: list[int], users: list[int]) -> None:
    series = "15/[]"  # the series of the pattern 15/[1000]
    last = (Invoice.select(Invoice.bill_number).where(Invoice.bill_series == series)
            .order_by(Invoice.bill_number.desc()).scalar())
    number = 1000 if last is None else last + 1
    start = _next_id(Invoice)
    invoices, lines, discount_rows = [], [], []
    # Issued numbers follow dates: the days are handed out in order.
    days = sorted(BASE_DAY - dt.timedelta(days=rng.randint(0, 400)) for _ in range(count))
    if last is not None:
        days = [BASE_DAY] * count
    for n in range(count):
        iid = start + n
        created = days[n]
        amounts = [Decimal(rng.randint(100, 5000)) for _ in range(rng.randint(1, 3))]
        discounts = [Decimal(rng.randint(0, 100))] if rng.random() < 0.3 else []
        totals = compute_totals(amounts, discounts, Decimal(21))
        submitted = rng.random() < 0.8
        bill_id = f"15/{number}" if submitted else f"SUP-{iid:06d}"
        invoices.append((iid, rng.choice(companies), "submitted" if submitted else "received",
                         bill_id, series if submitted else None,
                         number if submitted else None, f"PO-{rng.randint(1000, 9999)}",
                         rng.choice(["pending", "paid", "paid", "cancelled"]), created,
                         created + dt.timedelta(days=30), None, "EUR", rng.choice(["en", "es"]),
                         Decimal(21), Decimal(0), "", "Services rendered.",
                         _money(totals.total),
                         submitted, rng.choice(users) if submitted else None, BASE_TIME,
                         created if submitted else None))
        if submitted:
            number += 1
        for pos, amount in enumerate(amounts):
            lines.append((iid, pos, f"Concept {pos + 1}", _money(amount), Decimal(21)))
        for pos, amount in enumerate(discounts):
            discount_rows.append((iid, pos, "promotion", _money(amount), Decimal(21)))
    _bulk("invoice", ("id", "company_id", "type", "bill_id", "bill_series", "bill_number",
                      "reference", "status", "created", "expires", "paid_on", "currency",
                      "language", "tax_rate", "withholding_rate", "internal_note", "description",
                      "total", "locked", "locked_by_id", "updated", "issued"), invoices)
    _bulk("invoice_line", ("invoice_id", "position", "description", "amount", "tax_rate"),
          lines)
    _bulk("invoice_discount", ("invoice_id", "position", "description", "amount", "tax_rate"),
          discount_rows)
    _fix_sequence("invoice")
    # The issued invoices join their series' hash chain, in number order.
    from crm_tui.services.invoice_chain import seal_unsealed

    seal_unsealed(database)


def _leads(rng: random.Random, count: int, companies: list[int], users: list[int]) -> None:
    tags = [t.id for t in Tag.select().order_by(Tag.id)]
    types = [t.id for t in LeadType.select().order_by(LeadType.id)]
    start = _next_id(Lead)
    rows, tag_rows = [], []
    statuses = list(range(9))
    for n in range(count):
        lid = start + n
        name, mail = _person(rng)
        created = BASE_TIME - dt.timedelta(hours=rng.randint(0, 24 * 365))
        rows.append((lid, name, f"{mail}{lid}@example.org", f"{mail}{lid}@example.org",
                     f"{rng.choice(_WORDS)} {rng.choice(_SUFFIX)}", rng.choice(_COUNTRIES),
                     rng.choice(["CEO", "Buyer", "IT manager", "Owner"]), "",
                     rng.choice(_LANGS), rng.choice(users) if rng.random() < 0.9 else None,
                     rng.choice(companies), _money(Decimal(rng.randint(5, 500) * 100)),
                     BASE_DAY + dt.timedelta(days=rng.randint(-30, 180)),
                     rng.choices(statuses, _STATUS_WEIGHTS)[0], rng.choice(types),
                     rng.choice(_CHANNELS), "", created,
                     created + dt.timedelta(hours=rng.randint(0, 500))))
        if tags and rng.random() < 0.3:
            tag_rows.append((lid, rng.choice(tags)))
        if len(rows) >= 10000:
            _insert_leads(rows, tag_rows)
            rows, tag_rows = [], []
    _insert_leads(rows, tag_rows)
    _fix_sequence("lead")


def _insert_leads(rows, tag_rows):
    _bulk("lead", ("id", "full_name", "email", "email_key", "company_name", "country",
                   "position", "phone", "language", "owner_id", "company_id", "estimated_sale",
                   "estimated_close", "status", "lead_type_id", "channel", "description",
                   "created", "updated"), rows)
    _bulk("lead_tag", ("lead_id", "tag_id"), tag_rows)


def ensure_demo_database(state) -> None:
    """Create and fill the demo database on first use (`crm --demo`)."""
    from crm_tui import paths
    from crm_tui.services.database import open_and_prepare

    target = state.db_target or str(paths.demo_database_path())
    open_and_prepare(target)
    if Company.select().where(Company.name == "My company").exists():
        return
    generate(DemoSizes())
