"""The fast export path writes exactly what the general path writes: the same bytes for every
kind of value (formula triggers, quotes, commas, line breaks, accents, empty values, money,
dates, times with microseconds, tags, custom values, hidden companies), on both backends."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from crm_tui.models import Lead
from crm_tui.services import exports
from crm_tui.services.records import get_kind

AWKWARD = ["=SUM(A1)", "+34 600", "-dash", "@home", "'=quoted", "a,b", 'say "hi"',
           "two\nlines", "cr\ronly", "\ttab", "Ñandú Łódź 東京", "", "-12.50", "plain"]


def _both(session, kind: str, monkeypatch, filters=None) -> tuple[str, str]:
    fast = io.StringIO(newline="")
    exports.write(session, kind, fast, filters)
    with monkeypatch.context() as patch:
        patch.setattr(exports, "_fast_sources", lambda *args: None)
        plain = io.StringIO(newline="")
        exports.write(session, kind, plain, filters)
    return fast.getvalue(), plain.getvalue()


def _line(text: str) -> str:
    """The text as a single-line field takes it."""
    return " ".join(text.split())


def _seed(world) -> None:
    admin = world.session("admin")
    get_kind("tag").create(admin, {"name": "hot"})
    get_kind("tag").create(admin, {"name": "=cold"})
    get_kind("lead-type").create(admin, {"name": "Retail"})
    type_id = get_kind("lead-type").list(admin)[0]["id"]
    get_kind("field").create(admin, {"name": "Budget note", "kind": "text",
                                     "entity": f"lead_type:{type_id}"})
    get_kind("field").create(admin, {"name": "Hobby", "kind": "text", "entity": "contact"})
    companies = [world.cid("Customer #A"), world.cid("Customer #B")]
    for n, text in enumerate(AWKWARD):
        company = str(companies[n % 2])
        lead = {"full_name": f"Lead {n} {_line(text)}".strip(), "company": company,
                "country": _line(text),
                "description": text, "estimated_sale": ["0", "99.5", "1234567.89",
                                                        "0.01"][n % 4],
                "tags": ["", "hot", "hot,=cold"][n % 3], "owner": ["", "user1", "admin"][n % 3]}
        if n % 2:
            lead["estimated_close"] = f"2026-03-0{n % 9 + 1}"
            lead["lead_type"] = str(type_id)
            lead["custom.Budget note"] = _line(text)
        get_kind("lead").create(admin, lead)
        get_kind("contact").create(admin, {
            "full_name": f"Contact {n}", "email": f"c{n}@example.com", "company": company,
            "description": text, "phone": _line(text)[:60], "custom.Hobby": _line(text)})
    # A negative amount (a credit) is a plain number, not a formula.
    ids = [lead.id for lead in Lead.select(Lead.id).order_by(Lead.id)]
    Lead.update(estimated_sale=Decimal("-12.50")).where(Lead.id.in_(ids[1::4])).execute()
    Lead.update(estimated_sale=Decimal("-0.05")).where(Lead.id.in_(ids[3::4])).execute()
    # A time with microseconds, as a write through the ORM can leave it.
    Lead.update(updated=dt.datetime(2026, 2, 3, 4, 5, 6, 789012)).where(
        Lead.id.in_(ids[::3])).execute()


@pytest.mark.parametrize("kind", ["leads", "contacts"])
def test_fast_and_general_paths_write_the_same_bytes(any_world, monkeypatch, kind) -> None:
    _seed(any_world)
    for login in ("admin", "user1", "manager1", "user2"):
        fast, plain = _both(any_world.session(login), kind, monkeypatch)
        assert fast == plain, login
    fast, plain = _both(any_world.session("admin"), kind, monkeypatch)
    assert fast.count("\n") > len(AWKWARD)  # lines inside quoted cells count too
    assert "'=SUM(A1)" in fast and '"say ""hi"""' in fast and '"cr\ronly"' in fast
    assert kind == "contacts" or (",-12.50," in fast and "2026-02-03 04:05:06," in fast)


def test_fast_path_pages_and_filters_like_the_general_one(any_world, monkeypatch) -> None:
    _seed(any_world)
    monkeypatch.setattr(exports, "CHUNK", 4)
    admin = any_world.session("admin")
    fast, plain = _both(admin, "leads", monkeypatch)
    assert fast == plain and fast.count("Lead ") == len(AWKWARD)
    fast, plain = _both(admin, "leads", monkeypatch, {"country": "plain"})
    assert fast == plain and fast.count("Lead ") == 1
