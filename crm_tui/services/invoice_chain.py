"""The tamper-evident chain of issued invoices: one SHA-256 hash per record and series.

Each issued invoice carries the hash of the previous issued record of its series and its
own hash, computed over a canonical serialisation of its legal fields plus that previous
hash (the kind of record chain Spain's VERI*FACTU asks for). Changing, removing or
reordering an issued record breaks the chain from that record on, and `verify` names the
first break.

Records are read with plain SQL naming only the columns the chain covers, so the same code
seals the invoices an older database already holds (migration 0030).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import peewee

from crm_tui.money import plain_rate, quantize

#: The invoice columns a hash covers: what an issued invoice may never change.
LEGAL_COLUMNS = ("id", "type", "company_id", "bill_id", "bill_series", "bill_number",
                 "issued", "created", "expires", "reference", "currency", "language",
                 "description", "tax_rate", "withholding_rate", "total", "credit_of_id",
                 "chain_seq")


def _text(value: Any) -> Any:
    """One value in its canonical form: dates ISO, amounts with two places, rates plain."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    return str(value)


def _amount(value: Any) -> str:
    return format(quantize(Decimal(str(value))), "f")


def _rate(value: Any) -> str:
    return format(plain_rate(Decimal(str(value or 0))), "f")


def canonical(record: dict[str, Any], lines: list[dict], discounts: list[dict],
              prev_hash: str) -> bytes:
    """The bytes a record's hash is taken over (UTF-8 JSON, sorted keys, no spaces)."""
    fields = {key: _text(record.get(key)) for key in LEGAL_COLUMNS}
    fields["issued"] = _text(as_date(record.get("issued")))
    fields["created"] = _text(as_date(record.get("created")))
    fields["expires"] = _text(as_date(record.get("expires")))
    fields["total"] = _amount(record.get("total") or 0)
    fields["tax_rate"] = _rate(record.get("tax_rate"))
    fields["withholding_rate"] = _rate(record.get("withholding_rate"))
    fields["lines"] = [[x["description"], _amount(x["amount"]), _rate(x["tax_rate"])]
                       for x in lines]
    fields["discounts"] = [[x["description"], _amount(x["amount"]), _rate(x["tax_rate"])]
                           for x in discounts]
    fields["prev_hash"] = prev_hash or ""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def record_hash(record: dict[str, Any], lines: list[dict], discounts: list[dict],
                prev_hash: str) -> str:
    """The SHA-256 hex digest of a record's canonical form."""
    return hashlib.sha256(canonical(record, lines, discounts, prev_hash)).hexdigest()


def as_date(value: Any) -> dt.date | None:
    """A date read with plain SQL (SQLite hands dates back as text)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


# --- reading the records with plain SQL ---------------------------------------------------


def _param(db: Any) -> str:
    return db.param if hasattr(db, "param") else "%s"


def _money_reader(db: Any) -> Callable[[Any], Any]:
    """How an amount read with plain SQL becomes a Decimal.

    SQLite keeps amounts as whole cents since migration 0070; an older schema (the one
    migration 0030 seals) and PostgreSQL keep them as they print.
    """
    engine = getattr(db, "obj", db)
    if isinstance(engine, peewee.SqliteDatabase):
        row = engine.execute_sql("SELECT type FROM pragma_table_info('invoice') "
                                 "WHERE name = 'total'").fetchone()
        if row is not None and row[0].upper() == "INTEGER":
            return lambda value: None if value is None else Decimal(value).scaleb(-2)
    return lambda value: value


def _records(db: Any, where: str, params: tuple) -> list[dict[str, Any]]:
    columns = ", ".join(LEGAL_COLUMNS + ("prev_hash", "chain_hash"))
    cursor = db.execute_sql(f"SELECT {columns} FROM invoice WHERE {where}", params)
    names = [*LEGAL_COLUMNS, "prev_hash", "chain_hash"]
    records = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    money = _money_reader(db)
    for record in records:
        record["total"] = money(record["total"])
    return records


def _amounts(db: Any, table: str, invoice_id: int) -> list[dict]:
    p = _param(db)
    cursor = db.execute_sql(
        f"SELECT description, amount, tax_rate FROM {table} WHERE invoice_id = {p} "
        "ORDER BY position, id", (invoice_id,))
    money = _money_reader(db)
    return [{"description": description, "amount": money(amount), "tax_rate": rate}
            for description, amount, rate in cursor.fetchall()]


def hash_of(db: Any, record: dict[str, Any], prev_hash: str) -> str:
    """The hash a stored record should carry after `prev_hash`."""
    return record_hash(record, _amounts(db, "invoice_line", record["id"]),
                       _amounts(db, "invoice_discount", record["id"]), prev_hash)


def chain_end(db: Any, series: str) -> dict[str, Any] | None:
    """The last sealed record of a series (highest chain position), or None."""
    p = _param(db)
    rows = _records(db, f"bill_series = {p} AND chain_seq IS NOT NULL "
                        f"ORDER BY chain_seq DESC LIMIT 1", (series,))
    return rows[0] if rows else None


def seal(db: Any, invoice_id: int) -> str:
    """Put one just-issued record at the end of its series' chain; returns its hash.

    Call it inside the issuing transaction, under the series lock, after the record and
    its lines are written.
    """
    p = _param(db)
    record = _records(db, f"id = {p}", (invoice_id,))[0]
    last = chain_end(db, record["bill_series"])
    seq = 1 if last is None else last["chain_seq"] + 1
    prev = "" if last is None else last["chain_hash"] or ""
    record["chain_seq"] = seq
    digest = hash_of(db, record, prev)
    db.execute_sql(f"UPDATE invoice SET chain_seq = {p}, prev_hash = {p}, chain_hash = {p} "
                   f"WHERE id = {p}", (seq, prev, digest, invoice_id))
    return digest


def _amounts_of(db: Any, table: str, invoice_ids: list[int]) -> dict[int, list[dict]]:
    """The lines (or discounts) of many invoices, 500 invoices per query, in print order."""
    out: dict[int, list[dict]] = {}
    p = _param(db)
    money = _money_reader(db)
    for start in range(0, len(invoice_ids), 500):
        chunk = invoice_ids[start:start + 500]
        marks = ", ".join([p] * len(chunk))
        cursor = db.execute_sql(
            f"SELECT invoice_id, description, amount, tax_rate FROM {table} "
            f"WHERE invoice_id IN ({marks}) ORDER BY invoice_id, position, id", tuple(chunk))
        for invoice_id, description, amount, rate in cursor.fetchall():
            out.setdefault(invoice_id, []).append(
                {"description": description, "amount": money(amount), "tax_rate": rate})
    return out


def seal_unsealed(db: Any) -> int:
    """Seal every issued record without a chain place, in number order per series.

    For an older database's issued invoices (migration) and bulk loads (demo data); the
    records join the end of their series' chain. Lines are read in bulk, so a large
    database is sealed in a few queries per 500 invoices. Returns how many were sealed.
    """
    rows = _records(db, "issued IS NOT NULL AND chain_seq IS NULL "
                        "ORDER BY bill_series, bill_number, issued, id", ())
    if not rows:
        return 0
    ids = [r["id"] for r in rows]
    lines = _amounts_of(db, "invoice_line", ids)
    discounts = _amounts_of(db, "invoice_discount", ids)
    ends: dict[str, tuple[int, str]] = {}
    p = _param(db)
    for record in rows:
        series = record["bill_series"]
        if series not in ends:
            last = chain_end(db, series)
            ends[series] = (0, "") if last is None else (last["chain_seq"],
                                                         last["chain_hash"] or "")
        seq, prev = ends[series]
        record["chain_seq"] = seq + 1
        digest = record_hash(record, lines.get(record["id"], []),
                             discounts.get(record["id"], []), prev)
        db.execute_sql(f"UPDATE invoice SET chain_seq = {p}, prev_hash = {p}, "
                       f"chain_hash = {p} WHERE id = {p}", (seq + 1, prev, digest, record["id"]))
        ends[series] = (seq + 1, digest)
    return len(rows)


# --- verifying ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ChainReport:
    """What `verify` found in one series: how many records, and the first break if any."""

    series: str
    records: int
    first_break: str | None = None

    @property
    def ok(self) -> bool:
        """True when the chain is whole."""
        return self.first_break is None


def _name(record: dict[str, Any]) -> str:
    return f"invoice {record['bill_id']!r} (id {record['id']})"


def verify_series(db: Any, series: str) -> ChainReport:
    """Walk a series' chain from its first record; stop at the first break."""
    p = _param(db)
    rows = _records(db, f"bill_series = {p} AND issued IS NOT NULL "
                        "ORDER BY chain_seq, id", (series,))
    prev_hash, previous = "", None
    for expected_seq, record in enumerate(rows, 1):
        where = f"after {_name(previous)}" if previous else "at the start of the chain"
        if record["chain_seq"] is None or record["chain_hash"] is None:
            return ChainReport(series, len(rows), f"{_name(record)} is issued but not sealed")
        if record["chain_seq"] != expected_seq:
            return ChainReport(series, len(rows),
                               f"record {expected_seq} of the chain is missing ({where})")
        if (record["prev_hash"] or "") != prev_hash:
            return ChainReport(series, len(rows),
                               f"{_name(record)} does not carry the hash of the record "
                               f"before it ({where})")
        if hash_of(db, record, prev_hash) != record["chain_hash"]:
            return ChainReport(series, len(rows),
                               f"{_name(record)} was changed after it was issued: its "
                               "content does not match its hash")
        prev_hash, previous = record["chain_hash"], record
    return ChainReport(series, len(rows))


def all_series(db: Any) -> list[str]:
    """Every series that holds issued records."""
    rows = db.execute_sql("SELECT DISTINCT bill_series FROM invoice WHERE issued IS NOT NULL "
                          "AND bill_series IS NOT NULL ORDER BY bill_series").fetchall()
    return [series for (series,) in rows]
