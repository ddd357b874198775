"""The lead tally: lead counts and sales per statistic value, kept by database triggers.

The statistics of all the leads a user may see would otherwise read every lead (a million
rows, seconds for an operator whose access rule is checked on each). The tally holds one row
per statistic value, company and owner, with how many leads and their estimated sales;
triggers on `lead` keep it in the writing transaction, whichever face writes (services,
imports' fast path, psql), so it is always exact. The statistics of a filtered list still
count the leads themselves (crm_tui.services.lead_stats): the tally knows no other column.
"""

from __future__ import annotations

import datetime as dt

import peewee

from crm_tui import acl
from crm_tui.models import CLOSED_STATUSES, WON_STATUS, LeadTally
from crm_tui.models.base import money_sum
from crm_tui.services.context import Session

#: What each statistic counts a lead by, as SQL on the lead row `r`, per backend.
_SQLITE_KEYS = (
    ("owner", "CAST(coalesce(r.owner_id, 0) AS TEXT)"),
    ("channel", "r.channel"),
    ("country", "r.country"),
    ("status", "CAST(r.status AS TEXT)"),
    # 'weekday 0' moves to the coming Sunday (or stays on one); 6 days back is Monday.
    ("week", "date(r.created, 'weekday 0', '-6 days')"),
)
_POSTGRES_KEYS = (
    ("owner", "coalesce(r.owner_id, 0)::text"),
    ("channel", "r.channel::text"),
    ("country", "r.country::text"),
    ("status", "r.status::text"),
    ("week", "to_char(date_trunc('week', r.created), 'YYYY-MM-DD')"),
)

#: The lead columns the tally depends on: a change of any other leaves it as it is.
COUNTED_COLUMNS = ("company_id", "owner_id", "status", "channel", "country",
                   "estimated_sale", "created")

_UPSERT = ("ON CONFLICT (dimension, value, company_id, owner_id) DO UPDATE SET "
           "leads = lead_tally.leads + excluded.leads, sale = lead_tally.sale + excluded.sale")


def install(db: peewee.Database) -> None:
    """(Re)create the triggers that keep the tally; idempotent, on both backends.

    Runs in migration 0090 and again after every schema upgrade, since a migration that
    rebuilds `lead` on SQLite drops the triggers with the old table.
    """
    if isinstance(db, peewee.PostgresqlDatabase):
        _install_postgres(db)
    else:
        _install_sqlite(db)


def rebuild(db: peewee.Database) -> None:
    """Count every lead again into an empty tally (the migration's first fill)."""
    keys = _POSTGRES_KEYS if isinstance(db, peewee.PostgresqlDatabase) else _SQLITE_KEYS
    db.execute_sql("DELETE FROM lead_tally")
    for dimension, value in keys:
        db.execute_sql(
            "INSERT INTO lead_tally (dimension, value, company_id, owner_id, leads, sale) "
            f"SELECT '{dimension}', {value}, coalesce(r.company_id, 0), "
            "coalesce(r.owner_id, 0), COUNT(*), coalesce(SUM(r.estimated_sale), 0) "
            f"FROM lead r GROUP BY {value}, coalesce(r.company_id, 0), coalesce(r.owner_id, 0)")


def _install_sqlite(db: peewee.Database) -> None:
    def count(row: str, sign: str) -> str:
        return " ".join(
            "INSERT INTO lead_tally (dimension, value, company_id, owner_id, leads, sale) "
            f"VALUES ('{dimension}', {value.replace('r.', row + '.')}, "
            f"coalesce({row}.company_id, 0), coalesce({row}.owner_id, 0), {sign}1, "
            f"{sign}coalesce({row}.estimated_sale, 0)) {_UPSERT};"
            for dimension, value in _SQLITE_KEYS)

    columns = ", ".join(COUNTED_COLUMNS)
    triggers = {
        "crm_lead_tally_insert": f"AFTER INSERT ON lead BEGIN {count('NEW', '')} END",
        "crm_lead_tally_delete": f"AFTER DELETE ON lead BEGIN {count('OLD', '-')} END",
        "crm_lead_tally_update": (f"AFTER UPDATE OF {columns} ON lead BEGIN "
                                  f"{count('OLD', '-')} {count('NEW', '')} END"),
    }
    for name, body in triggers.items():
        db.execute_sql(f"DROP TRIGGER IF EXISTS {name}")
        db.execute_sql(f"CREATE TRIGGER {name} {body}")


def _install_postgres(db: peewee.Database) -> None:
    schema = db.execute_sql("SELECT current_schema()").fetchone()[0]
    s = '"' + schema.replace('"', '""') + '"'

    def rows(table: str, sign: str) -> str:
        values = ", ".join(f"('{d}', {v})" for d, v in _POSTGRES_KEYS)
        return (f"SELECT k.dimension, k.value, coalesce(r.company_id, 0) AS company_id, "
                f"coalesce(r.owner_id, 0) AS owner_id, {sign}1 AS n, "
                f"{sign}coalesce(r.estimated_sale, 0) AS sale FROM {table} r "
                f"CROSS JOIN LATERAL (VALUES {values}) AS k(dimension, value)")

    def apply(*parts: str) -> str:
        # One upsert per statement, whatever its number of rows; rows that net to nothing
        # (a change of another column) write nothing; the fixed order keeps two writers'
        # row locks in the same order (no deadlock between them).
        return ("INSERT INTO lead_tally (dimension, value, company_id, owner_id, leads, sale) "
                "SELECT dimension, value, company_id, owner_id, SUM(n), SUM(sale) FROM ("
                + " UNION ALL ".join(parts) + ") AS d GROUP BY 1, 2, 3, 4 "
                "HAVING SUM(n) <> 0 OR SUM(sale) <> 0 ORDER BY 1, 2, 3, 4 " + _UPSERT)

    bodies = {
        "insert": ("NEW TABLE AS crm_new", apply(rows("crm_new", ""))),
        "delete": ("OLD TABLE AS crm_old", apply(rows("crm_old", "-"))),
        "update": ("OLD TABLE AS crm_old NEW TABLE AS crm_new",
                   apply(rows("crm_old", "-"), rows("crm_new", ""))),
    }
    for op, (referencing, statement) in bodies.items():
        function = f"{s}.crm_lead_tally_{op}"
        # A definer (the tally's owner), so that operator roles, which may not write the
        # tally themselves, keep it with every lead they may write.
        db.execute_sql(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
            f"SECURITY DEFINER SET search_path = {s}, pg_catalog, pg_temp AS $$ "
            f"BEGIN {statement}; RETURN NULL; END $$")
        db.execute_sql(f"DROP TRIGGER IF EXISTS crm_lead_tally_{op} ON {s}.lead")
        db.execute_sql(f"CREATE TRIGGER crm_lead_tally_{op} AFTER {op.upper()} ON {s}.lead "
                       f"REFERENCING {referencing} FOR EACH STATEMENT "
                       f"EXECUTE FUNCTION {function}()")


# --- reading ------------------------------------------------------------------------------


def _tally(session: Session, dimension: str) -> peewee.ModelSelect:
    return (LeadTally.select()
            .where(LeadTally.dimension == dimension, acl.lead_tally_view_expr(session.user)))


def grouped(session: Session, dimension: str, limit: int | None) -> list[tuple]:
    """(value, leads, sales) per value of `dimension` (the owner's id for "owner"), most
    leads first, over the leads the user may see; values without leads are left out."""
    count = peewee.fn.SUM(LeadTally.leads)
    column = LeadTally.owner_id if dimension == "owner" else LeadTally.value
    rows = _tally(session, dimension)
    query = (rows.select(column, count, money_sum(LeadTally.sale))
             .group_by(column).having(count > 0).order_by(count.desc(), column))
    if limit is not None:
        query = query.limit(limit)
    return list(query.tuples())


def total(session: Session) -> int:
    """How many leads the user may see."""
    # Each lead counts once per dimension: the owner rows are the fewest.
    return int(_tally(session, "owner").select(peewee.fn.SUM(LeadTally.leads)).scalar() or 0)


def closed_and_won(session: Session) -> tuple[int, int]:
    """How many of the user's visible leads are closed, and how many of them won."""
    won = peewee.fn.SUM(peewee.Case(None, [(LeadTally.value == str(WON_STATUS),
                                            LeadTally.leads)], 0))
    closed, won_count = (_tally(session, "status")
                         .select(peewee.fn.SUM(LeadTally.leads), won)
                         .where(LeadTally.value.in_([str(s) for s in CLOSED_STATUSES]))
                         .tuples().get())
    return int(closed or 0), int(won_count or 0)


def created_per_week(session: Session, first: dt.date) -> dict[dt.date, int]:
    """Leads created per week (by Monday) from the week of `first` on."""
    rows = (_tally(session, "week")
            .select(LeadTally.value, peewee.fn.SUM(LeadTally.leads))
            .where(LeadTally.value >= first.isoformat())
            .group_by(LeadTally.value).tuples())
    return {dt.date.fromisoformat(week): int(n) for week, n in rows if n}
