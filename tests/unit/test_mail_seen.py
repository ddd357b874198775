"""New mail on leads, per owner: counted when filed, cleared when the owner opens the lead,
and cheap to ask however many leads there are (both backends)."""

from __future__ import annotations

from playhouse.test_utils import count_queries

from crm_tui.mail.message import parse_message
from crm_tui.models import LeadUnseenMail
from crm_tui.services import leads, mail_filing, mail_seen
from crm_tui.services.records import get_kind


def _sales(world, login: str) -> None:
    get_kind("user").create(world.session("admin"), {
        "login": login, "real_name": login, "profiles": "Sales",
        "company": str(world.cid("My company")), "password": f"{login}-pw"})


def _file(world, lead_id: int, n: int, sender: str) -> None:
    raw = (f"From: {sender}\r\nSubject: [Lead#{lead_id}] note {n}\r\n"
           f"Message-ID: <n{n}-{lead_id}@customer.example>\r\n\r\nbody {n}\r\n").encode()
    [done] = mail_filing.file_incoming(
        [mail_filing.IncomingMail(parse_message(raw), raw=raw)], clock=world.clock)
    assert done.outcome == "filed"


def test_unseen_mail_is_counted_per_owner_and_cleared_by_opening(any_world) -> None:
    world = any_world
    _sales(world, "sales1")
    _sales(world, "sales2")
    admin = world.session("admin")
    mine = get_kind("lead").create(admin, {"full_name": "Mine", "email": "a@customer.example",
                                           "owner": "sales1"})
    other = get_kind("lead").create(admin, {"full_name": "Other", "email": "b@customer.example",
                                            "owner": "sales2"})
    nobody = get_kind("lead").create(admin, {"full_name": "Nobody's",
                                             "email": "c@customer.example", "owner": ""})
    for n in range(3):  # the first inserts the row, the next ones add to it
        _file(world, mine, n, "a@customer.example")
    _file(world, other, 9, "b@customer.example")
    _file(world, nobody, 8, "c@customer.example")
    one, two = world.session("sales1"), world.session("sales2")

    assert LeadUnseenMail.get_by_id(mine).count == 3
    assert not LeadUnseenMail.select().where(LeadUnseenMail.lead == nobody).exists()
    assert (mail_seen.unseen_count(one), mail_seen.unseen_count(two)) == (1, 1)
    assert mail_seen.unseen_of(one, [mine, other, nobody]) == {mine: 3}

    # The lead changes hands: the next mail counts for its new owner only.
    get_kind("lead").update(admin, other, {"owner": "sales1"})
    assert mail_seen.unseen_count(two) == 0  # no longer his lead
    _file(world, other, 10, "b@customer.example")
    assert mail_seen.unseen_count(one) == 2
    assert mail_seen.unseen_of(one, [other]) == {other: 2}

    # Someone else reading it leaves it new; the owner opening it has seen it.
    leads.activity(admin, mine)
    assert mail_seen.unseen_count(one) == 2
    leads.activity(one, mine)
    assert mail_seen.unseen_count(one) == 1
    assert mail_seen.unseen_of(one, [mine, other]) == {other: 2}


def test_the_count_does_not_grow_with_the_owners_leads(any_world) -> None:
    world = any_world
    _sales(world, "sales1")
    admin = world.session("admin")
    owned = [get_kind("lead").create(admin, {"full_name": f"L{n}", "email": f"l{n}@x.example",
                                             "owner": "sales1"}) for n in range(30)]
    _file(world, owned[0], 1, "l0@x.example")
    session = world.session("sales1")
    with count_queries() as counted:
        assert mail_seen.unseen_count(session) == 1
    # One read of his unseen rows, one check that those leads are still his.
    assert counted.count == 2
