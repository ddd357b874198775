"""New mail on leads: what each owner has not seen yet (status line count, lead list marker).

Mail filed on a lead adds to its row in ``lead_unseen_mail``; the owner opening the lead's
timeline removes it. Rows exist only for leads with unseen mail, so every question here
reads a few indexed rows, however many leads there are.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable

import peewee

from crm_tui.db import write_transaction
from crm_tui.models import Lead, LeadUnseenMail
from crm_tui.services.context import Session


def mark_unseen(lead_ids: Iterable[int], now: dt.datetime) -> None:
    """Count mail just filed on these leads (one id per message; inside the filing
    transaction). Leads without an owner have nobody to tell and are left out."""
    counts = Counter(lead_ids)
    if not counts:
        return
    owners = dict(Lead.select(Lead.id, Lead.owner).where(
        Lead.id.in_(sorted(counts)), Lead.owner.is_null(False)).tuples())
    rows = [{"lead": lead_id, "owner": owner, "count": counts[lead_id], "since": now}
            for lead_id, owner in sorted(owners.items())]
    if not rows:
        return
    # A lead that changed hands since its last unseen mail is counted for its new owner.
    (LeadUnseenMail.insert_many(rows)
     .on_conflict(conflict_target=[LeadUnseenMail.lead],
                  update={LeadUnseenMail.count: LeadUnseenMail.count + peewee.EXCLUDED.count,
                          LeadUnseenMail.owner: peewee.EXCLUDED.owner_id})
     .execute())


def seen(session: Session, lead: Lead) -> None:
    """The user looked at the lead: if he owns it, its mail counts as seen."""
    if lead.owner_id != session.user.id or session.user.id is None:
        return
    if not LeadUnseenMail.select().where(LeadUnseenMail.lead == lead.id).exists():
        return  # the usual case: no write at all
    with write_transaction():
        LeadUnseenMail.delete().where(LeadUnseenMail.lead == lead.id).execute()


def unseen_count(session: Session) -> int:
    """How many of the user's own leads have mail he has not seen.

    Two index reads: his rows of ``lead_unseen_mail`` (by owner), then which of those
    leads are still his (by primary key); never a walk over his leads.
    """
    if session.user.id is None:
        return 0
    lead_ids = [lead_id for (lead_id,) in LeadUnseenMail.select(LeadUnseenMail.lead)
                .where(LeadUnseenMail.owner == session.user.id).tuples()]
    count = 0
    for start in range(0, len(lead_ids), 500):
        chunk = lead_ids[start:start + 500]
        count += Lead.select().where(Lead.id.in_(chunk), Lead.owner == session.user.id).count()
    return count


def unseen_of(session: Session, lead_ids: Iterable[int]) -> dict[int, int]:
    """Unseen mail counts of those of ``lead_ids`` the user owns (for a page of a list)."""
    ids = sorted(set(lead_ids))
    if not ids:
        return {}
    query = (LeadUnseenMail.select(LeadUnseenMail.lead, LeadUnseenMail.count).join(Lead)
             .where(LeadUnseenMail.lead.in_(ids), Lead.owner == session.user.id).tuples())
    return dict(query)
