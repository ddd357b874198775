"""Clean input on every face: trimmed single lines, no control characters, JSON types,
names compared as people read them, custom-field names and options checked when defined."""

from __future__ import annotations

import json

import pytest

from crm_tui.cli.output import visible
from crm_tui.services import values as V
from crm_tui.services.records import get_kind


def test_single_line_text_is_trimmed_and_collapsed():
    assert V.parse_text("  Acme \t  Corp  ") == "Acme Corp"
    assert V.parse_text("Line one\nline two", single_line=False) == "Line one\nline two"


@pytest.mark.parametrize("bad", ["A\x1bB", "A\x00B", "A\x85B", "A\x7fB", "A\x07B"])
def test_control_characters_are_refused_in_every_kind_of_text(bad):
    with pytest.raises(V.BadValue, match="control character"):
        V.parse_text(bad)
    with pytest.raises(V.BadValue, match="control character"):
        V.parse_text(bad, single_line=False)
    assert V.parse_texts(["fine", bad]) is None


def test_line_breaks_keep_their_own_reason():
    with pytest.raises(V.BadValue, match="line breaks"):
        V.parse_text("a\nb")


def test_a_column_parses_like_each_of_its_texts():
    texts = ["  a  b ", "c", "\td\t"]
    assert V.parse_texts(texts) == [V.parse_text(t) for t in texts]


def test_secrets_keep_their_spaces_but_not_controls():
    assert V.parse_secret(" pass word ") == " pass word "
    with pytest.raises(V.BadValue):
        V.parse_secret("pass\x1bword")


def test_names_compare_without_case_or_unicode_forms():
    assert V.name_key("ACME  Corp") == V.name_key("acme corp")
    assert V.name_key("ＡＣＭＥ") == V.name_key("acme")  # full-width letters (NFKC)
    assert V.name_key("García") != V.name_key("Garcia")


def test_terminal_output_never_carries_a_raw_control_character():
    assert visible("a\x1b[31mb\x85c\nd") == "a\\x1b[31mb\\x85c d"


def test_trimmed_name_through_the_cli(crm_db, run_crm):
    added = run_crm("add", "company", "name=  Acme    Corp ", db=crm_db)
    assert added.returncode == 0, added.stderr
    shown = json.loads(run_crm("show", "company", added.stdout.strip(), "--json",
                               db=crm_db).stdout)
    assert shown["name"] == "Acme Corp"


@pytest.mark.parametrize("name", ["ACME", "acme ", " Acme"])
def test_a_name_that_differs_only_in_case_or_spaces_is_a_duplicate(crm_db, run_crm, name):
    assert run_crm("add", "company", "name=Acme", db=crm_db).returncode == 0
    again = run_crm("add", "company", f"name={name}", db=crm_db)
    assert again.returncode == 1
    assert "another company already has it" in again.stderr
    listed = json.loads(run_crm("list", "company", "--json", db=crm_db).stdout)
    assert [r["name"] for r in listed].count("Acme") == 1
    assert len(listed) == 1


def test_catalogue_names_compare_the_same_way(crm_db, run_crm):
    assert run_crm("add", "tag", "name=Urgent", db=crm_db).returncode == 0
    again = run_crm("add", "tag", "name=URGENT", db=crm_db)
    assert again.returncode == 1 and "another tag already has it" in again.stderr


def test_a_control_character_is_one_line_and_writes_nothing(crm_db, run_crm):
    result = run_crm("add", "company", "name=Evil\x1b[2JCorp", db=crm_db)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert "field name" in lines[0] and "control character U+001B" in lines[0]
    assert "\x1b" not in result.stderr
    assert json.loads(run_crm("list", "company", "--json", db=crm_db).stdout) == []


def test_json_values_must_have_the_type_the_field_takes(crm_db, run_crm, tmp_path):
    payload = tmp_path / "company.json"
    payload.write_text(json.dumps({"name": "Acme", "country": {"code": "ES"},
                                   "website": ["a", "b"], "payment_conditions": 30}))
    result = run_crm("add", "company", "--json", str(payload), db=crm_db)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2
    assert "field country" in lines[0] and "not a JSON object" in lines[0]
    assert "field website" in lines[1] and "not a list" in lines[1]
    assert "{'" not in result.stderr  # a JSON value is shown as JSON, never as a Python dict
    assert json.loads(run_crm("list", "company", "--json", db=crm_db).stdout) == []


def test_a_json_object_as_the_title_does_not_name_the_record(crm_db, run_crm, tmp_path):
    payload = tmp_path / "company.json"
    payload.write_text(json.dumps({"name": {"x": 1}}))
    result = run_crm("add", "company", "--json", str(payload), db=crm_db)
    assert result.returncode == 1
    assert result.stderr.startswith("crm: error: new company: field name: value '{\"x\": 1}'")


def test_long_values_are_shortened_in_error_lines(crm_db, run_crm):
    result = run_crm("add", "company", "name=" + "x" * 600, db=crm_db)
    assert result.returncode == 1
    line = result.stderr.strip()
    assert "longer than 200 characters" in line
    assert "…" in line and len(line) < 450


@pytest.mark.parametrize("name", ["name", "Billing", "ID_PARENT", "office phone"])
def test_a_custom_field_may_not_take_a_name_already_used(crm_db, run_crm, name):
    result = run_crm("add", "field", f"name={name}", "kind=text", "entity=company", db=crm_db)
    assert result.returncode == 1, result.stdout
    assert "field name" in result.stderr and "already has" in result.stderr


def test_the_same_name_is_free_on_another_entity(crm_db, run_crm):
    result = run_crm("add", "field", "name=Office Phone", "kind=text", "entity=contact",
                     db=crm_db)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("options,reason", [
    ('["Gold", "gold"]', "given twice"),
    ('["Gold", ""]', "non-empty single line"),
    ('["Gold", "Sil\\u001bver"]', "control character"),
])
def test_combo_options_are_checked_when_defined(crm_db, run_crm, options, reason):
    result = run_crm("add", "field", "name=Tier", "kind=combo", "entity=company",
                     f"options={options}", db=crm_db)
    assert result.returncode == 1
    assert reason in result.stderr
    assert json.loads(run_crm("list", "field", "--json", "--filter", "name=Tier",
                              db=crm_db).stdout) == []


@pytest.mark.parametrize("empty", ["", "0000-00-00"])
def test_no_date_in_a_custom_date_field(crm_db, run_crm, empty):
    assert run_crm("add", "field", "name=Audit", "kind=date", "entity=company",
                   db=crm_db).returncode == 0
    added = run_crm("add", "company", "name=Acme", f"custom.Audit={empty}", db=crm_db)
    assert added.returncode == 0, added.stderr
    shown = json.loads(run_crm("show", "company", added.stdout.strip(), "--json",
                               db=crm_db).stdout)
    assert shown["custom"].get("Audit", "") == ""


def test_a_csv_row_with_a_control_character_writes_nothing(crm_db, run_crm, tmp_path):
    path = tmp_path / "companies.csv"
    path.write_text("Good company,,,Spain,,,,,admin,,\nBad\x1bcompany,,,Spain,,,,,admin,,\n",
                    encoding="utf-8")
    result = run_crm("import", "companies", str(path), db=crm_db)
    assert result.returncode == 1
    assert "line 2" in result.stderr and "control character" in result.stderr
    assert json.loads(run_crm("list", "company", "--json", db=crm_db).stdout) == []


def test_a_secret_setting_keeps_its_spaces(crm_db, run_crm):
    result = run_crm("config", "set", "mail.imap_password", "  two words ", db=crm_db)
    assert result.returncode == 0, result.stderr
    from crm_tui.services import secrets

    assert secrets.get("mail.imap_password") == "  two words "


def test_mail_template_names_are_unique_per_language_and_company(any_world):
    from crm_tui.errors import ValidationFailed
    from crm_tui.services import mailing

    admin = any_world.session("admin")
    templates = get_kind("mail-template")
    templates.create(admin, {"name": "Welcome", "language": "es", "body": "Hola"})
    for name in ("WELCOME", " welcome ", "Ｗｅｌｃｏｍｅ"):
        with pytest.raises(ValidationFailed, match="of no company in 'es' already has it"):
            templates.create(admin, {"name": name, "language": "es"})
    # Another language, or a company's own version, is another template.
    templates.create(admin, {"name": "Welcome", "language": "en", "body": "Hello"})
    own = templates.create(admin, {"name": "Welcome", "language": "es", "body": "Hola de A",
                               "company": str(any_world.cid("My company"))})
    with pytest.raises(ValidationFailed, match="of this company"):
        templates.create(admin, {"name": "welcome", "language": "es",
                                 "company": str(any_world.cid("My company"))})
    # A user of that company gets the company's own version.
    from tests.integration.mail_helpers import make_lead
    from tests.unit.lead_world import grant_lead_bits

    grant_lead_bits(any_world)
    lead_id = make_lead(any_world, language="es")
    rendered = mailing.render_template(any_world.session("user1"), lead_id, "Welcome")
    assert "Hola de A" in str(rendered) and own


def test_two_statuses_may_not_share_a_name(crm_db, run_crm):
    taken = run_crm("config", "set", "lead.status.1", "  new ", db=crm_db)
    assert taken.returncode == 1
    assert "status 0 is already called 'New'" in taken.stderr
    assert run_crm("config", "set", "lead.status.0", "Fresh", db=crm_db).returncode == 0
    assert run_crm("config", "set", "lead.status.1", "New", db=crm_db).returncode == 0
    # Back to the default name: refused while another status carries it.
    cleared = run_crm("config", "set", "lead.status.0", "", db=crm_db)
    assert cleared.returncode == 1 and "status 1 is already called 'New'" in cleared.stderr


def test_invoice_lines_take_clean_single_line_text(any_world):
    from crm_tui.errors import ValidationFailed
    from crm_tui.models import Invoice

    admin = any_world.session("admin")
    invoice = get_kind("invoice")
    with pytest.raises(ValidationFailed, match=r"lines\[1\]\.description.*U\+001B"):
        invoice.create(admin, {"company": str(any_world.cid("Customer #A")),
                               "lines": [{"description": "Evil\x1b[2J", "amount": "1"}]})
    assert Invoice.select().count() == 0
    made = invoice.create(admin, {"company": str(any_world.cid("Customer #A")),
                                  "lines": [{"description": "  Annual   support ",
                                             "amount": "1"}]})
    assert invoice.get(admin, made)["lines"][0]["description"] == "Annual support"
