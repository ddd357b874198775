"""Bounces of the CRM's own mail: filed on the lead as "delivery failed", the outbox mail failed.

A bounce (a delivery status notification, read by :mod:`crm_tui.mail.dsn`) comes from a
mailer-daemon, so the auto-reply rule would drop it; it is recognised first, and filed only
when it reports on mail the CRM sent (its original Message-ID is one the CRM recorded) and
names a recipient of that mail. Anything else stays an auto message, never filed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crm_tui.mail.message import ParsedMessage
from crm_tui.models import OutboxMail

#: How the ledger records the route of a filed bounce.
VIA = "delivery report of mail the CRM sent"
_ANSWER_CHARS = 2000


def original_ids(parsed: Iterable[ParsedMessage]) -> set[str]:
    """The Message-IDs that the bounces among these messages report on."""
    return {p.bounce.original_id for p in parsed
            if p.bounce is not None and p.bounce.original_id}


def failures(parsed: ParsedMessage, recipients: set[str]) -> list[tuple[str, str]]:
    """(address, reason) of the failures the bounce reports for these recipients."""
    if parsed.bounce is None:
        return []
    return [(address, reason) for address, reason in parsed.bounce.failures
            if address in recipients]


def bounced_lead(parsed: ParsedMessage, sent: dict[str, int],
                 recipients: dict[int, set[str]]) -> int | None:
    """The lead whose mail this bounce reports as not delivered, or None (not a bounce, or
    not one of the CRM's mail, or naming none of its recipients)."""
    report = parsed.bounce
    if report is None or not report.original_id:
        return None
    lead_id = sent.get(report.original_id)
    if lead_id is None or not failures(parsed, recipients.get(lead_id, set())):
        return None
    return lead_id


def failure_lines(parsed: ParsedMessage) -> list[str]:
    """"delivery failed to ADDRESS: reason", one line per failed recipient."""
    report = parsed.bounce
    return [f"delivery failed to {address}: {reason}"
            for address, reason in (report.failures if report is not None else [])]


def mark_failed(bounces: Sequence[ParsedMessage]) -> None:
    """Mark the outbox mail these filed bounces report on as failed, with what they say
    (inside the filing transaction; a cancelled mail stays cancelled)."""
    for parsed in bounces:
        answer = "; ".join(failure_lines(parsed))[:_ANSWER_CHARS]
        (OutboxMail.update(status="failed", answer=answer)
         .where(OutboxMail.message_id == parsed.bounce.original_id,
                OutboxMail.status != "cancelled")
         .execute())
