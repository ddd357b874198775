"""Recurring drafts: a contract's billing period and lines, and the worker's part that makes
the draft invoice of each period once.

A contract with a billing period (monthly, quarterly, yearly) and at least one line gets a
draft Submitted invoice for every period that has begun, from its `billing_start` (set to the
start of the current period when the period is first chosen, so old periods are not billed
afterwards) up to its end date. Each period is recorded in `contract_billing_run` under a
unique (contract, period start) key in the transaction that makes the draft: two workers, or
a pass run again, never make it twice, and a draft an operator deleted is not made again.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import peewee

from crm_tui.db import write_transaction
from crm_tui.errors import CrmError, Problem, ValidationFailed
from crm_tui.i18n import _, kind_name
from crm_tui.models import (
    BILLING_PERIODS,
    Contract,
    ContractBillingLine,
    ContractBillingRun,
    User,
)
from crm_tui.money import plain_rate
from crm_tui.services import values as V
from crm_tui.services.context import Clock, Session
from crm_tui.services.invoice_lines import parse_amount_lines
from crm_tui.services.records import get_kind

#: The values of a contract's `billing_period` field ("none": no recurring drafts).
BILLING_CHOICES = ("none", *BILLING_PERIODS)
#: At most this many periods are invoiced for one contract in one pass (a safety net for a
#: start date far in the past; the next pass goes on).
MAX_PERIODS_PER_PASS = 24


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months, the day clamped to the month's length (31 Jan -> 28 Feb)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


def period_starts(start: dt.date, period: str, until: dt.date) -> list[dt.date]:
    """The starts of the periods from `start` that have begun by `until` (inclusive)."""
    months = BILLING_PERIODS[period]
    out: list[dt.date] = []
    n = 0
    while (day := add_months(start, n * months)) <= until:
        out.append(day)
        n += 1
    return out


def current_period_start(anchor: dt.date, period: str, today: dt.date) -> dt.date:
    """The start of the period (counted from `anchor`) that contains `today`, or `anchor`
    when it lies ahead."""
    starts = period_starts(anchor, period, today)
    return starts[-1] if starts else anchor


def period_end(start: dt.date, period: str) -> dt.date:
    """The last day of the period that starts on `start`."""
    return add_months(start, BILLING_PERIODS[period]) - dt.timedelta(days=1)


# --- lines --------------------------------------------------------------------------------


def _line_row(line: ContractBillingLine) -> dict[str, Any]:
    return {"description": line.description, "amount": V.render(V.money(line.amount)),
            "tax_rate": "" if line.tax_rate is None else V.render(
                plain_rate(Decimal(str(line.tax_rate))))}


def lines_of(contract_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The recurring lines of these contracts (no access check: for rows already read)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for start in range(0, len(contract_ids), 500):
        query = (ContractBillingLine.select()
                 .where(ContractBillingLine.contract.in_(contract_ids[start:start + 500]))
                 .order_by(ContractBillingLine.contract, ContractBillingLine.position))
        for line in query:
            out.setdefault(line.contract_id, []).append(_line_row(line))
    return out


def lines(session: Session, contract_id: int | str) -> list[dict[str, Any]]:
    """A contract's recurring lines: [{description, amount, tax_rate}] ("" rate: the
    default rate of the settings when the draft is made).

    Raises:
        NotFound.
    """
    contract = get_kind("contract").load(session, contract_id)
    return lines_of([contract.id]).get(contract.id, [])


def parse_line_text(text: str) -> dict[str, str]:
    """`DESCRIPTION=AMOUNT[@RATE]` as typed on the command line, e.g. `Support=100@21`.

    Raises:
        V.BadValue: no `=` before the amount.
    """
    description, sep, rest = text.rpartition("=")
    if not sep:
        raise V.BadValue(_("not DESCRIPTION=AMOUNT[@RATE]"))
    amount, at, rate = rest.partition("@")
    item = {"description": description, "amount": amount.strip()}
    if at:
        item["tax_rate"] = rate.strip()
    return item


def parse_lines(label: str, raw: Any, problems: list[Problem]) -> list[dict[str, Any]]:
    """Parse recurring lines (a list, or its JSON text, of {description, amount[, tax_rate]})
    as an invoice's lines are parsed; a line without a rate keeps None (the default rate of
    the settings when its draft is made)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw) if raw.strip() else []
        except ValueError:
            problems.append(Problem(label, "billing_lines", raw,
                                    _("not a JSON list of {description, amount}")))
            return []
    if not isinstance(raw, list):
        problems.append(Problem(label, "billing_lines", str(raw),
                                _("not a list of {description, amount}")))
        return []
    found: list[Problem] = []
    parsed = parse_amount_lines(label, "billing_lines", raw, 0, found)
    problems.extend(found)
    if found:
        return []
    for n, (item, given) in enumerate(zip(parsed, raw, strict=True), 1):
        if given.get("tax_rate", given.get("rate")) in (None, ""):
            item["tax_rate"] = None
        try:
            # One line of text, as every single-line value: no control characters.
            item["description"] = V.parse_text(item["description"], 500)
        except V.BadValue as exc:
            problems.append(Problem(label, f"billing_lines[{n}].description",
                                    item["description"][:40], str(exc)))
    return parsed


def write_lines(contract_id: int, items: list[dict[str, Any]]) -> None:
    """Replace a contract's recurring lines (inside the caller's transaction)."""
    ContractBillingLine.delete().where(ContractBillingLine.contract == contract_id).execute()
    for position, item in enumerate(items):
        ContractBillingLine.create(contract=contract_id, position=position,
                                   description=item["description"], amount=item["amount"],
                                   tax_rate=item["tax_rate"])


def lines_from_texts(contract_id: int | str, texts: list[str]) -> list[dict[str, str]]:
    """Recurring lines typed as text, one `DESCRIPTION=AMOUNT[@RATE]` each (the command
    line's arguments, the form's lines); blank ones are skipped.

    Raises:
        ValidationFailed: each line that does not read so, by its number.
    """
    items: list[dict[str, str]] = []
    problems: list[Problem] = []
    for n, text in enumerate((t for t in texts if t.strip()), 1):
        try:
            items.append(parse_line_text(text))
        except V.BadValue as exc:
            problems.append(Problem(f"{kind_name('contract')} {contract_id}", f"billing_lines[{n}]", text,
                                    str(exc)))
    if problems:
        raise ValidationFailed(problems)
    return items


def lines_text(rows: list[dict[str, Any]]) -> str:
    """Recurring lines as the form shows them: one `DESCRIPTION=AMOUNT[@RATE]` per line."""
    return "\n".join(f"{r['description']}={r['amount']}"
                     + (f"@{r['tax_rate']}" if r.get("tax_rate") else "") for r in rows)


def set_lines(session: Session, contract_id: int | str, raw_lines: list[Any]) -> int:
    """Replace a contract's recurring lines (a list of {description, amount[, tax_rate]});
    returns how many it has now. Amounts and rates are checked as an invoice's are; the
    change is a contract update (access, history) like any other.

    Raises:
        NotFound, PermissionDenied, ValidationFailed (nothing written).
    """
    kind = get_kind("contract")
    contract = kind.load(session, contract_id)
    kind.update(session, contract.id, {"billing_lines": raw_lines})
    return len(raw_lines)


def start_for(contract: Contract, today: dt.date) -> dt.date | None:
    """The `billing_start` a contract takes when its period is chosen without one: the
    start of its current period counted from its begin date (or today)."""
    if contract.billing_period not in BILLING_PERIODS:
        return None
    return current_period_start(contract.date_begin or today, contract.billing_period, today)


# --- the worker's part --------------------------------------------------------------------


@dataclass
class DraftReport:
    """What one pass of recurring drafts did."""

    created: int = 0
    lines: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One line: the count."""
        return _("recurring drafts: {created} created").format(created=self.created)


def worker_session(clock: Clock | None = None) -> Session | None:
    """The session the worker acts with: the first enabled superadmin (the drafts it makes
    are the system's, recorded in the history with the face "worker")."""
    user = (User.select().where(User.superadmin == True, User.enabled == True)  # noqa: E712
            .order_by(User.id).first())
    return Session(user, clock or Clock(), face="worker") if user is not None else None


def _due(contract: Contract, today: dt.date) -> list[dt.date]:
    start = contract.billing_start or start_for(contract, today)
    if start is None:
        return []
    until = min(today, contract.date_end) if contract.date_end else today
    done = {d for (d,) in ContractBillingRun.select(ContractBillingRun.period_start)
            .where(ContractBillingRun.contract == contract.id).tuples()}
    return [d for d in period_starts(start, contract.billing_period, until)
            if d not in done][:MAX_PERIODS_PER_PASS]


def _draft_fields(contract: Contract, start: dt.date) -> dict[str, Any]:
    end = period_end(start, contract.billing_period)
    items = []
    for line in contract.billing_lines.order_by(ContractBillingLine.position):
        item = {"description": line.description, "amount": format(V.money(line.amount), "f")}
        if line.tax_rate is not None:
            item["tax_rate"] = format(Decimal(str(line.tax_rate)), "f")
        items.append(item)
    return {
        "company": str(contract.company_id),
        "type": "submitted",
        "reference": contract.contract_number or "",
        "description": f"{contract.name}: {start.isoformat()} – {end.isoformat()}",
        "contracts": str(contract.id),
        "lines": items,
    }


def create_due_drafts(clock: Clock | None = None) -> DraftReport:
    """Make the draft invoice of every period that has begun on every active contract with a
    billing period and lines, once each. A contract whose draft is refused (e.g. its company
    is gone) is named in the report and tried again next pass."""
    report = DraftReport()
    session = worker_session(clock)
    if session is None:
        return report
    today = session.clock.today()
    with_lines = ContractBillingLine.select(ContractBillingLine.contract)
    contracts = (Contract.select()
                 .where(Contract.billing_period.in_(list(BILLING_PERIODS)),
                        Contract.status == 1, Contract.id.in_(with_lines))
                 .order_by(Contract.id))
    for contract in contracts:
        for start in _due(contract, today):
            try:
                invoice_id = _make_draft(session, contract, start)
            except CrmError as exc:
                report.lines.append(f"contract {contract.id}, period {start}: {exc}")
                break
            if invoice_id is not None:
                report.created += 1
                report.lines.append(f"contract {contract.id}: draft invoice {invoice_id} for "
                                    f"the period from {start}")
    return report


def _make_draft(session: Session, contract: Contract, start: dt.date) -> int | None:
    """The period's draft, with its run row, in one transaction; None when another worker
    made it first (the unique key refused the run row)."""
    try:
        with write_transaction():
            run = ContractBillingRun.create(contract=contract.id, period_start=start,
                                            created=session.clock.now())
            invoice_id = get_kind("invoice").create(session, _draft_fields(contract, start))
            ContractBillingRun.update(invoice=invoice_id).where(
                ContractBillingRun.id == run.id).execute()
    except peewee.IntegrityError:
        return None
    return invoice_id
