"""The command-line contract: record commands, --json shapes, exit codes, stderr lines."""

from __future__ import annotations

import json

import pytest

from tests.unit.test_acl import MATRIX


def _json(result):
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize("login", ["user1", "manager1", "user2"])
def test_worked_example_through_the_cli(any_world, any_db, run_crm, login):
    for company in ("Customer #A", "Customer #B", "My company"):
        view, modify = MATRIX[(login, company)]
        cid = str(any_world.cid(company))
        shown = run_crm("--user", login, "show", "company", cid, "--json", db=any_db)
        # A company he may not see answers like one that does not exist (exit 1).
        assert shown.returncode == (0 if view else 1), shown.stderr
        changed = run_crm("--user", login, "set", "company", cid, "comments=cli", db=any_db)
        assert changed.returncode == (0 if modify else 3 if view else 1), changed.stderr
        if not view:
            assert shown.stderr == changed.stderr == f"crm: error: company {cid} does not exist\n"
        elif not modify:
            assert changed.stderr.count("\n") == 1 and "may not" in changed.stderr
    listed = _json(run_crm("--user", login, "list", "company", "--json", db=any_db))
    expected = sorted(c for (u, c), (view, _m) in MATRIX.items() if u == login and view)
    assert sorted(r["name"] for r in listed) == expected


# One valid record of each kind; references are created first by the test.
ROUND_TRIP = [
    ("role", {"name": "Reseller"}),
    ("section", {"name": "Billing", "description": "Money matters"}),
    ("profile", {"name": "Auditor", "bits": "CR,IR,LR"}),
    ("tag", {"name": "urgent", "colour": "red"}),
    ("contract-type", {"name": "Hosting", "description": "Servers"}),
    ("lead-type", {"name": "Partner lead", "description": "From partners"}),
    ("template", {"name": "Short", "description": "Brief", "body": "<p>_name_contract_</p>"}),
    ("mail-template", {"name": "Welcome", "language": "es", "subject": "Hola _DEST_NAME_",
                       "body": "Saludos de _SRC_NAME_"}),
    ("company", {"name": "Ελληνική Εταιρεία", "country": "Greece", "fiscal_id": "EL123",
                 "payment_conditions": 30, "manager": "admin", "custom":
                 {"Office Phone": "+30 210", "General email": "info@example.gr"}}),
    ("user", {"login": "zoe", "real_name": "Zoë Ñúñez", "email": "zoe@example.com",
              "language": "es", "profiles": ["Standard user"], "superadmin": False,
              "enabled": True}),
    ("contact", {"full_name": "Jürgen Groß", "email": "jg@example.de", "phone": "+49 30",
                 "position": "CTO"}),
    ("contract", {"name": "Support 2026", "contract_number": "C-1", "date_begin": "2026-01-01",
                  "date_end": "2026-12-31", "private": True, "status": 1, "manager": "admin"}),
    ("invoice", {"type": "submitted", "reference": "PO-9", "status": "pending",
                 "currency": "EUR", "language": "en", "tax_rate": "21",
                 "lines": [{"description": "Consulting", "amount": "2400.00", "tax_rate": "21"}],
                 "discounts": [{"description": "promotion", "amount": "240.00",
                                "tax_rate": "21"}]}),
    ("lead", {"full_name": "Ana Pérez", "email": "ana@example.es", "company_name": "Pérez SL",
              "country": "Spain", "estimated_sale": "1500.00", "status": 2,
              "tags": ["urgent"], "channel": "web form"}),
    ("field", {"name": "Tier", "kind": "combo", "entity": "company",
               "options": '["Gold", "Silver"]', "visible": True}),
]


def test_add_then_show_round_trips_every_kind(crm_db, run_crm, tmp_path):
    made = {}
    for kind, values in ROUND_TRIP:
        values = dict(values)
        if kind in ("contact", "contract", "invoice"):
            values["company"] = made["company"]
        payload = tmp_path / f"{kind}.json"
        payload.write_text(json.dumps(values), encoding="utf-8")
        added = run_crm("add", kind, "--json", str(payload), db=crm_db)
        assert added.returncode == 0, added.stderr
        record_id = int(added.stdout.strip())
        made[kind] = record_id
        shown = _json(run_crm("show", kind, str(record_id), "--json", db=crm_db))
        assert shown["id"] == record_id
        for key, value in values.items():
            if key == "custom":
                assert shown["custom"] == value
            else:
                assert shown[key] == value, (kind, key)
    invoice = _json(run_crm("show", "invoice", str(made["invoice"]), "--json", db=crm_db))
    assert (invoice["tax_base"], invoice["subtotal"], invoice["total_tax"], invoice["total"]) == (
        "2400.00", "2160.00", "453.60", "2613.60")
    assert (invoice["bill_id"], invoice["state"]) == (None, "draft")
    issued = run_crm("invoice", "issue", str(made["invoice"]), db=crm_db)
    assert issued.stdout.strip() == "15/1000", issued.stderr
    lead = _json(run_crm("show", "lead", str(made["lead"]), "--json", db=crm_db))
    assert lead["status_name"] == "Needs discovered"
    assert lead["activity"][0]["kind"] == "created"


def test_field_value_pairs_and_custom_fields(crm_db, run_crm):
    added = run_crm("add", "company", "name=Acme", "country=Spain",
                    "custom.Office Phone=+34 91", db=crm_db)
    assert added.returncode == 0, added.stderr
    shown = _json(run_crm("show", "company", added.stdout.strip(), "--json", db=crm_db))
    assert shown["custom"]["Office Phone"] == "+34 91"
    assert run_crm("set", "company", added.stdout.strip(), "country=France",
                   db=crm_db).returncode == 0
    rows = _json(run_crm("list", "company", "--json", "--filter", "country=France", db=crm_db))
    assert [r["name"] for r in rows] == ["Acme"]
    assert run_crm("delete", "company", added.stdout.strip(), db=crm_db).returncode == 0
    assert _json(run_crm("list", "company", "--json", db=crm_db)) == []


@pytest.mark.parametrize(("args", "needle"), [
    (("add", "company", "name=X", "colour=red"), "field colour: value 'red': unknown field"),
    (("add", "lead", "full_name=X", "estimated_close=31-31-2026"),
     "field estimated_close: value '31-31-2026': not a date"),
    (("add", "company", "name=X", "payment_conditions=ten"),
     "field payment_conditions: value 'ten': not a whole number"),
    (("add", "company", "name=X", "parent=77"), "field parent: value '77': no such company"),
    (("add", "company", "name=X", "manager=ghost"), "field manager: value 'ghost': no such user"),
    (("add", "company", "name=X", "role=99"), "field role: value '99': no such role"),
])
def test_rejected_input_exits_1_with_one_line_and_writes_nothing(crm_db, run_crm, args,
                                                                 needle):
    result = run_crm(*args, db=crm_db)
    assert result.returncode == 1
    assert needle in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert _json(run_crm("list", "company", "--json", db=crm_db)) == []


def test_cycle_and_duplicate_exit_1(crm_db, run_crm):
    a = run_crm("add", "company", "name=A", db=crm_db).stdout.strip()
    b = run_crm("add", "company", "name=B", f"parent={a}", db=crm_db).stdout.strip()
    cycle = run_crm("set", "company", a, f"parent={b}", db=crm_db)
    assert cycle.returncode == 1 and "own ancestor" in cycle.stderr
    duplicate = run_crm("add", "company", "name=A", db=crm_db)
    assert duplicate.returncode == 1 and "already has it" in duplicate.stderr


def test_usage_errors_exit_2(crm_db, run_crm):
    assert run_crm("add", "spaceship", "name=X", db=crm_db).returncode == 2
    assert run_crm("add", "company", "no-equals-sign", db=crm_db).returncode == 2
    assert run_crm("frobnicate", db=crm_db).returncode == 2


def test_permission_and_unknown_user_exit_3(world, crm_db, run_crm):
    denied = run_crm("--user", "user2", "add", "company", "name=Nope", db=crm_db)
    assert denied.returncode == 3 and "may not" in denied.stderr
    unknown = run_crm("--user", "ghost", "list", "company", db=crm_db)
    assert unknown.returncode == 3 and "unknown user or wrong password for 'ghost'" in unknown.stderr
    # The OS login is linked to the superadmin, who may act as anyone without a password.
    assert run_crm("--user", "manager1", "list", "company", db=crm_db).returncode == 0


def test_passwords_when_the_os_login_is_not_a_superadmin(world, crm_db, run_crm):
    from crm_tui.services.records import get_kind

    get_kind("user").update(world.session("admin"), "admin", {"os_login": "somebody-else"})
    nobody = run_crm("list", "company", db=crm_db)
    assert nobody.returncode == 3 and "no CRM user is linked" in nobody.stderr
    wrong = run_crm("--user", "manager1", "list", "company", db=crm_db,
                    env={"CRM_PASSWORD": "guess"})
    assert wrong.returncode == 3 and "unknown user or wrong password" in wrong.stderr
    right = run_crm("--user", "manager1", "list", "company", "--json", db=crm_db,
                    env={"CRM_PASSWORD": "manager1-pw"})
    assert sorted(r["name"] for r in _json(right)) == ["Customer #A", "Customer #B"]


def test_unreachable_postgres_exits_4(data_dir, run_crm):
    result = run_crm("list", "company", db="postgresql://nobody:s3cret-pw@127.0.0.1:9/nowhere")
    assert result.returncode == 4
    assert "could not be reached" in result.stderr
    assert "Traceback" not in result.stderr
    # The message names the server but never shows the password.
    assert "postgresql://nobody:***@127.0.0.1:9/nowhere" in result.stderr
    assert "s3cret-pw" not in result.stderr


def test_config_get_and_set(crm_db, run_crm):
    assert run_crm("config", "get", "invoice.id_pattern", db=crm_db).stdout.strip() == "15/[1000]"
    assert run_crm("config", "set", "invoice.id_pattern", "INV-[7]-26", db=crm_db).returncode == 0
    assert run_crm("config", "get", "invoice.id_pattern",
                   db=crm_db).stdout.strip() == "INV-[7]-26"
    bad = run_crm("config", "set", "invoice.id_pattern", "15/[1]/[2]", db=crm_db)
    assert bad.returncode == 1 and "exactly one bracketed number" in bad.stderr
    assert run_crm("config", "get", "no.such.key", db=crm_db).returncode == 1
