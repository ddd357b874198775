"""Auditing a write against the history: every row of the CRM tables is read before and
after an entry point runs, and every row it inserted, changed or deleted must be answered
by a history row of its record, written in the same transaction, naming who and which face,
with each changed field's old and new value (a secret never).

A row belongs to a record: a record kind's own row to itself, a custom value, tag link,
timeline entry, invoice line or attachment to the record it hangs off. Tables that are not
the CRM's data (the history itself, the search index, the mail ledger and delivery logs,
per-user markers, worker bookkeeping, settings) are left out, named in `NOT_AUDITED`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import peewee

from crm_tui import db
from crm_tui.models import (
    ALL_MODELS,
    Attachment,
    CompanyActivity,
    ContractBillingLine,
    ContractInvoice,
    CustomField,
    CustomValue,
    History,
    InvoiceDiscount,
    InvoiceLine,
    LeadActivity,
    LeadTag,
    UserProfile,
)
from crm_tui.services.records import get_kind, kind_names

#: Tables that hold no CRM data of their own, and why.
NOT_AUDITED = {
    "history": "the history itself",
    "import_batch": "the import's own record (its rows carry the batch)",
    "redirect": "where merged ids lead; the merge is in the history",
    "search_word": "the search index, derived from the records",
    "lead_tally": "lead counts and sums for the statistics, kept by triggers",
    "lead_unseen_mail": "a per-user marker of unread mail",
    "mail_worker_state": "the mail worker's bookkeeping",
    "filed_message": "the mail ledger; a filed message is a timeline entry",
    "sent_mail": "the delivery log of outgoing mail; each is a timeline entry",
    "outbox_mail": "the outgoing mail queue",
    "contract_billing_run": "the billing worker's bookkeeping",
    "contract_reminder": "the reminder worker's bookkeeping",
    "saved_search": "a user's own saved filters",
    "setting": "settings, changed through `crm config`",
}

#: Where a custom field's values belong.
_CUSTOM_OWNER = {"company": "company", "contact": "contact", "contract_type": "contract",
                 "lead_type": "lead"}

Rows = dict[str, dict[Any, dict[str, Any]]]


def _key(model: type[peewee.Model], row: dict[str, Any]) -> Any:
    pk = model._meta.primary_key
    if isinstance(pk, peewee.CompositeKey):
        return tuple(row[name] for name in pk.field_names)
    if pk is False or pk is None:
        return tuple(sorted(row.items(), key=lambda item: item[0]))
    return row[pk.name]


def _kind_models() -> dict[str, str]:
    """Table name -> record kind, for every kind's own table."""
    out = {}
    for name in kind_names():
        out.setdefault(get_kind(name).model._meta.table_name, name)
    return out


def read_rows() -> Rows:
    """Every row of every audited table, by table and key."""
    out: Rows = {}
    for model in ALL_MODELS:
        table = model._meta.table_name
        if table in NOT_AUDITED:
            continue
        out[table] = {_key(model, row): row for row in model.select().dicts()}
    return out


def read_records(session) -> dict[tuple[str, int], dict]:
    """Every record of every kind as the history compares them (`Kind._snapshot`)."""
    out = {}
    for name in kind_names():
        kind = get_kind(name)
        for (record_id,) in kind.model.select(kind.model.id).tuples():
            out[name, record_id] = kind._snapshot(session, record_id)
    return out


@dataclass
class Audit:
    """The state before an entry point ran, to compare with after."""

    rows: Rows
    records: dict[tuple[str, int], dict]
    last_history: int
    problems: list[str] = field(default_factory=list)


def start(session) -> Audit:
    """Read the state before the entry point runs."""
    last = History.select(peewee.fn.MAX(History.id)).scalar() or 0
    return Audit(read_rows(), read_records(session), last)


def _owners(table: str, row: dict[str, Any], before: Rows, after: Rows,
            kinds: dict[str, str]) -> list[tuple[str, int]]:
    """The records (kind, id) a changed row belongs to."""
    if table in kinds:
        return [(kinds[table], row["id"])]

    def lookup(model: type[peewee.Model], key: Any) -> dict[str, Any] | None:
        name = model._meta.table_name
        return after[name].get(key) or before[name].get(key)

    if table == CustomValue._meta.table_name:
        custom = lookup(CustomField, row["field"])
        if custom is None:
            return []
        if custom["id"] not in after[CustomField._meta.table_name]:
            return [("field", custom["id"])]  # the field went, and its values with it
        return [(_CUSTOM_OWNER[custom["entity"]], row["record_id"])]
    if table in (LeadTag._meta.table_name, LeadActivity._meta.table_name):
        return [("lead", row["lead"])]
    if table == CompanyActivity._meta.table_name:
        return [("company", row["company"])]
    if table in (InvoiceLine._meta.table_name, InvoiceDiscount._meta.table_name):
        return [("invoice", row["invoice"])]
    if table == ContractInvoice._meta.table_name:
        return [("contract", row["contract"]), ("invoice", row["invoice"])]
    if table == ContractBillingLine._meta.table_name:
        return [("contract", row["contract"])]
    if table == UserProfile._meta.table_name:
        return [("user", row["user"])]
    if table == Attachment._meta.table_name:
        if row["owner_kind"] == "lead_activity":
            entry = lookup(LeadActivity, row["owner_id"])
            return [("lead", entry["lead"])] if entry else []
        return [(row["owner_kind"], row["owner_id"])]
    raise AssertionError(f"table {table} belongs to no record: say where in history_audit")


def _net(entries: list[History]) -> dict[str, list]:
    """The fields' first old and last new values over a record's history rows."""
    out: dict[str, list] = {}
    for entry in entries:
        for name, (old, new) in entry.change_data.items():
            if name in out:
                out[name][1] = new
            else:
                out[name] = [old, new]
    return {name: pair for name, pair in out.items() if pair[0] != pair[1]}


def finish(audit: Audit, session, *, login: str, face: str, secrets: tuple[str, ...] = (),
           forgotten: tuple[str, ...] = ()) -> list[str]:
    """Compare the state now with `audit`'s; returns every gap found, in words.

    `forgotten` names fields whose old values must be gone from the history altogether (a
    personal-data erase): only their new values are compared.
    """
    from crm_tui.services import history

    kinds = _kind_models()
    before, after = audit.rows, read_rows()
    records = read_records(session)
    problems: list[str] = []
    touched: dict[tuple[str, int], list[str]] = {}
    for table in after:
        old_rows, new_rows = before[table], after[table]
        for key in old_rows.keys() | new_rows.keys():
            old, new = old_rows.get(key), new_rows.get(key)
            if old == new:
                continue
            what = "inserted" if old is None else "deleted" if new is None else "changed"
            if table in kinds and what == "changed":
                # A record's own row counts when a value the history compares changed;
                # derived columns (last update, totals) follow from the others.
                name = (kinds[table], key)
                if audit.records.get(name) == records.get(name):
                    continue
            for owner in _owners(table, new or old, before, after, kinds):
                touched.setdefault(owner, []).append(f"{table} row {key!r} {what}")
    written = list(History.select().where(History.id > audit.last_history)
                   .order_by(History.id))
    by_record: dict[tuple[str, int], list[History]] = {}
    for entry in written:
        by_record.setdefault((entry.kind, entry.record_id), []).append(entry)
        if (entry.login, entry.face) != (login, face):
            problems.append(f"history of {entry.kind} #{entry.record_id} names "
                            f"{entry.login}/{entry.face}, not {login}/{face}")
        for secret in secrets:
            if secret in entry.changes:
                problems.append(f"history of {entry.kind} #{entry.record_id} holds a secret")
    for owner, changes in sorted(touched.items()):
        if owner not in by_record:
            problems.append(f"{owner[0]} #{owner[1]}: no history row for "
                            + "; ".join(sorted(changes)))
    for name in sorted(audit.records.keys() | records.keys()):
        old, new = audit.records.get(name, {}), records.get(name, {})
        if old == new:
            continue
        expected = history.diff(old, new)
        recorded = _net(by_record.get(name, []))
        for key in [k for k in expected if k in forgotten or
                    (forgotten and k.startswith("custom."))]:
            value = expected[key][0]
            kept = History.select().where(History.kind == name[0],
                                          History.record_id == name[1])
            if value not in (None, "") and any(str(value) in row.changes for row in kept):
                problems.append(f"{name[0]} #{name[1]}: history still holds {key}'s old value")
            expected[key] = [recorded.get(key, [None])[0], expected[key][1]]
        compared = set(expected) | (set(recorded) & (set(old) | set(new)))
        wrong = {k: (recorded.get(k), expected.get(k)) for k in sorted(compared)
                 if recorded.get(k) != expected.get(k)}
        if wrong:
            problems.append(f"{name[0]} #{name[1]}: history says / record shows "
                            + "; ".join(f"{k}: {r} / {e}" for k, (r, e) in wrong.items()))
    return problems


def refuse_history() -> Callable[[], None]:
    """Make the database refuse every new history row; returns what lifts the refusal.

    An entry point whose writes and history rows share one transaction then writes
    nothing at all.
    """
    if db.is_postgres():
        db.database.execute_sql(
            "CREATE OR REPLACE FUNCTION refuse_history() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'history refused'; END $$ LANGUAGE plpgsql")
        db.database.execute_sql(
            "CREATE TRIGGER refuse_history BEFORE INSERT ON history "
            "FOR EACH ROW EXECUTE FUNCTION refuse_history()")
    else:
        db.database.execute_sql(
            "CREATE TRIGGER refuse_history BEFORE INSERT ON history "
            "BEGIN SELECT RAISE(ABORT, 'history refused'); END")

    def lift() -> None:
        db.database.execute_sql("DROP TRIGGER refuse_history" + (
            " ON history" if db.is_postgres() else ""))

    return lift


def audited(admin, act: Callable[[], Any], *, login: str, face: str,
            secrets: tuple[str, ...] = (), forgotten: tuple[str, ...] = ()) -> list[str]:
    """Run `act` with history refused (it must then write nothing), then for real; returns
    every gap `finish` finds (`admin`: a superadmin's session, to read the records)."""
    before = read_rows()
    lift = refuse_history()
    try:
        act()
    except Exception:  # noqa: BLE001  (any refusal will do; what was written is checked)
        pass
    finally:
        lift()
    after = read_rows()
    changed = sorted(t for t in before if before[t] != after[t])
    if changed:
        return [f"wrote {', '.join(changed)} without its history (not one transaction)"]
    audit = start(admin)
    act()
    return finish(audit, admin, login=login, face=face, secrets=secrets, forgotten=forgotten)
