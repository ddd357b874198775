"""Lead data on top of the SPEC's worked example, shared by the lead, pipeline and stats tests.

user1 gets the Sales profile (LR, LW) and manager1 the Sales manager profile (LM), so that
the worked example's company rules decide which leads each may see and change.
"""

from __future__ import annotations

import datetime as dt

from crm_tui.models import User
from crm_tui.services.context import FrozenClock, Session
from crm_tui.services.records import get_kind

#: name: (company, owner, status, estimated sale, close date, country, channel, created, tags)
LEADS = {
    "Ann Alpha": ("Customer #A", "user1", 0, "1200.50", "2026-02-01", "Spain", "web",
                  "2026-01-14 10:00", "hot"),
    "Ben Beta": ("Customer #B", "manager1", 0, "800.00", "", "France", "phone",
                 "2026-01-13 11:00", ""),
    "Cid Gamma": ("Customer #A", "user1", 1, "5000.00", "2026-03-01", "Spain", "web",
                  "2026-01-06 09:00", "hot,vip"),
    "Dee Delta": ("Customer #B", "manager1", 2, "300.25", "2026-01-20", "Germany", "fair",
                  "2026-01-05 12:00", ""),
    "Eve Epsilon": ("", "admin", 3, "0", "", "", "", "2025-12-30 08:00", ""),
    "Fay Won": ("Customer #A", "user1", 8, "2000.00", "", "Spain", "web",
                "2025-12-22 15:00", "vip"),
    "Gus Lost": ("Customer #B", "manager1", 6, "700.00", "", "France", "phone",
                 "2025-12-01 10:00", ""),
    "Hal Dead": ("Customer #A", "user1", 5, "100.00", "", "Spain", "web",
                 "2025-11-03 10:00", ""),
}
TAGS = {"hot": "red", "vip": "yellow"}


def grant_lead_bits(world) -> None:
    """Give user1 LR+LW (Sales) and manager1 LR+LW+LM (Sales manager)."""
    admin = world.session("admin")
    users = get_kind("user")
    users.update(admin, world.users["user1"], {"profiles": "Standard user,Sales"})
    users.update(admin, world.users["manager1"], {"profiles": "CRM manager,Sales manager"})


def session_at(login: str, when: str) -> Session:
    """A session of `login` whose clock is frozen at `when` (ISO, UTC)."""
    return Session(User.get(User.login == login), FrozenClock(dt.datetime.fromisoformat(when)))


def seed_leads(world) -> dict[str, int]:
    """Grant the lead bits, create the tags and LEADS; returns lead ids by full name."""
    grant_lead_bits(world)
    admin = world.session("admin")
    for name, colour in TAGS.items():
        get_kind("tag").create(admin, {"name": name, "colour": colour})
    ids = {}
    kind = get_kind("lead")
    for name, (company, owner, status, sale, close, country, channel, created, tags) in (
        LEADS.items()
    ):
        raw = {"full_name": name, "email": name.split()[0].lower() + "@example.com",
               "company_name": f"{name.split()[1]} Ltd", "owner": owner, "status": str(status),
               "estimated_sale": sale, "estimated_close": close, "country": country,
               "channel": channel, "tags": tags}
        if company:
            raw["company"] = str(world.cid(company))
        ids[name] = kind.create(session_at("admin", created), raw)
    return ids
