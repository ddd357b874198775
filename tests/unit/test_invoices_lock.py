"""The invoice lock and the IR / IW / IM rules, for every combination of bits.

The expected answers are written from SPEC section 5, independently of crm_tui.acl:
- IR only views and downloads; IR and IW see Submitted invoices read-only;
- IW creates and locks, and edits Received invoices; IM edits, unlocks and deletes;
- Submitted invoices lock on create and on every edit, held by the editor;
- a locked invoice is changed only by the user who locked it (IM and superadmins may
  unlock it first); only IM / superadmins delete.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.services import invoices
from crm_tui.services.records import get_kind

COMBOS = [frozenset(c) for n in range(4) for c in itertools.combinations(("IR", "IW", "IM"), n)]
SCENARIOS = ("received_open", "received_locked_by_admin", "submitted_by_admin",
             "submitted_unlocked", "submitted_own")
OPERATIONS = ("view", "edit", "lock", "unlock", "delete")


def expected(bits: frozenset, scenario: str, op: str) -> bool:
    """What SPEC section 5 allows a CR+CW user with `bits` on his own company."""
    sees = bool(bits)
    if op == "view":
        return sees
    submitted = scenario.startswith("submitted")
    locked_by_other = scenario in ("received_locked_by_admin", "submitted_by_admin")
    locked = locked_by_other or scenario == "submitted_own"
    if op == "unlock":
        return locked and "IM" in bits
    if op == "lock":
        return not locked and bool(bits & {"IW", "IM"})
    if locked_by_other:
        return False  # nobody but the locker changes it; IM must unlock first
    if op == "delete":
        return "IM" in bits
    # edit
    if submitted:
        return "IM" in bits
    return bool(bits & {"IW", "IM"})


def can_create(bits: frozenset) -> bool:
    return bool(bits & {"IW", "IM"})


@dataclass
class Actor:
    login: str
    company_id: int
    bits: frozenset


@pytest.fixture
def actors(world) -> list[Actor]:
    """One CR+CW user per bit combination, each managing a customer of My company."""
    admin = world.session("admin")
    out = []
    for n, bits in enumerate(COMBOS):
        name = "bits-" + ("-".join(sorted(bits)) or "none")
        get_kind("profile").create(admin, {"name": name, "bits": ",".join(["CR", "CW", *bits])})
        login = f"clerk{n}"
        get_kind("user").create(admin, {"login": login, "profiles": name,
                                        "company": str(world.cid("My company"))})
        company_id = get_kind("company").create(admin, {
            "name": f"Customer of {login}", "parent": str(world.cid("My company")),
            "manager": login})
        out.append(Actor(login, company_id, bits))
    return out


def make_invoice(world, actor: Actor, scenario: str, n: int) -> int:
    """An invoice of the actor's company in the given state."""
    admin = world.session("admin")
    kind = get_kind("invoice")
    raw = {"company": str(actor.company_id),
           "lines": [{"description": "Support", "amount": "100"}]}
    if scenario.startswith("received"):
        invoice_id = kind.create(admin, {**raw, "type": "received", "bill_id": f"R-{n}"})
        if scenario == "received_locked_by_admin":
            invoices.lock(admin, invoice_id)
        return invoice_id
    if scenario == "submitted_own":
        return kind.create(world.session(actor.login), raw)
    invoice_id = kind.create(admin, raw)
    if scenario == "submitted_unlocked":
        invoices.unlock(admin, invoice_id)
    return invoice_id


def attempt(session, op: str, invoice_id: int) -> bool:
    """Do the operation through the services; True when it was allowed."""
    kind = get_kind("invoice")
    try:
        if op == "view":
            kind.get(session, invoice_id)
        elif op == "edit":
            kind.update(session, invoice_id, {"reference": "changed"})
        elif op == "lock":
            invoices.lock(session, invoice_id)
        elif op == "unlock":
            invoices.unlock(session, invoice_id)
        elif op == "delete":
            kind.delete(session, invoice_id)
    except PermissionDenied:
        return False
    except ValidationFailed as exc:
        # Locking a locked invoice (or unlocking an open one) is refused as a state error.
        assert op in ("lock", "unlock") and "locked" in str(exc)
        return False
    return True


def test_the_oracle_matches_the_spec_sentences():
    # Spot checks of the expectations themselves, sentence by sentence.
    ir, iw, im = frozenset({"IR"}), frozenset({"IW"}), frozenset({"IM"})
    assert expected(ir, "received_open", "view") and not expected(ir, "received_open", "edit")
    assert not expected(iw, "submitted_unlocked", "edit")  # IW sees Submitted read-only
    assert expected(iw, "received_open", "edit") and expected(iw, "received_open", "lock")
    assert expected(im, "submitted_unlocked", "edit") and expected(im, "submitted_own", "unlock")
    assert not expected(im, "submitted_by_admin", "edit")  # unlock first
    assert not expected(iw, "submitted_own", "unlock")
    assert not expected(iw, "received_open", "delete") and expected(im, "received_open", "delete")


@pytest.mark.parametrize("combo", range(len(COMBOS)), ids=lambda i: "+".join(
    sorted(COMBOS[i])) or "none")
def test_lock_matrix_through_the_services(world, actors, combo):
    actor = actors[combo]
    session = world.session(actor.login)
    counter = itertools.count(1)
    assert invoices.can_create(session) is can_create(actor.bits)
    with invoices.deferred_pdfs():
        for scenario in SCENARIOS:
            if scenario == "submitted_own" and not can_create(actor.bits):
                with pytest.raises(PermissionDenied):
                    make_invoice(world, actor, scenario, next(counter))
                continue
            # What the screen greys keys from agrees with what the services do.
            invoice_id = make_invoice(world, actor, scenario, next(counter))
            if actor.bits:
                perms = invoices.permissions(session, invoice_id)
                for op in ("edit", "lock", "unlock", "delete"):
                    assert perms[op] is expected(actor.bits, scenario, op), (scenario, op)
            for op in OPERATIONS:
                invoice_id = make_invoice(world, actor, scenario, next(counter))
                assert attempt(session, op, invoice_id) is expected(actor.bits, scenario, op), (
                    sorted(actor.bits), scenario, op)


def test_submitted_lock_follows_the_editor(world, actors):
    im = next(a for a in actors if a.bits == {"IM"})
    iw = next(a for a in actors if a.bits == {"IW"})
    admin, clerk = world.session("admin"), world.session(im.login)
    kind = get_kind("invoice")
    with invoices.deferred_pdfs():
        created = kind.create(world.session(iw.login), {"company": str(iw.company_id)})
        row = kind.get(admin, created)
        assert row["locked"] is True and row["locked_by"] == iw.login
        # The IM user of the same company must unlock first, then his edit locks it to him.
        get_kind("company").update(admin, iw.company_id, {"manager": im.login})
        with pytest.raises(PermissionDenied, match="unlock it first"):
            kind.update(clerk, created, {"reference": "x"})
        invoices.unlock(clerk, created)
        kind.update(clerk, created, {"reference": "x"})
        row = kind.get(admin, created)
        assert (row["locked"], row["locked_by"], row["reference"]) == (True, im.login, "x")
        # A Received invoice stays unlocked when edited, and locks only on request.
        received = kind.create(clerk, {"company": str(iw.company_id), "type": "received",
                                       "bill_id": "R-X"})
        kind.update(clerk, received, {"reference": "y"})
        assert kind.get(admin, received)["locked"] is False
        assert invoices.toggle_lock(clerk, received) is True
        assert invoices.toggle_lock(clerk, received) is False


def test_superadmin_must_unlock_another_users_lock(world, actors):
    iw = next(a for a in actors if a.bits == {"IW"})
    admin = world.session("admin")
    kind = get_kind("invoice")
    with invoices.deferred_pdfs():
        invoice_id = kind.create(world.session(iw.login), {"company": str(iw.company_id),
                                                          "type": "received",
                                                          "bill_id": "R-L"})
        invoices.lock(world.session(iw.login), invoice_id)
        with pytest.raises(PermissionDenied):
            kind.update(admin, invoice_id, {"reference": "z"})
        with pytest.raises(PermissionDenied):
            kind.delete(admin, invoice_id)
        invoices.unlock(admin, invoice_id)
        kind.update(admin, invoice_id, {"reference": "z"})
        kind.delete(admin, invoice_id)


def test_no_crm_bits_no_invoices(world):
    admin = world.session("admin")
    with invoices.deferred_pdfs():
        get_kind("invoice").create(admin, {"company": str(world.cid("Customer #A"))})
    for login in ("user1", "user2"):
        assert get_kind("invoice").list(world.session(login)) == []
