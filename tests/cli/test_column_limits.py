"""Every length, range and precision limit is the model's and is checked before anything is
written: the same over-limit input gets the same exit code and line on SQLite and
PostgreSQL, and leaves the database as it was."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from crm_tui.models import Company, Contact, Contract, Invoice, InvoiceLine, Lead
from crm_tui.models.base import column_refusal
from crm_tui.services.records import get_kind

TOP = "99999999999999.99"


def _counts() -> dict[str, int]:
    return {m.__name__: m.select().count()
            for m in (Company, Contact, Contract, Invoice, InvoiceLine, Lead)}


def _refused(result, line: str) -> None:
    assert (result.returncode, result.stderr) == (1, f"crm: error: {line}\n"), result.stderr


def _invoice(cid: str, lines: list[dict], tax_rate: str = "0") -> str:
    return json.dumps({"company": cid, "tax_rate": tax_rate, "lines": lines})


def test_over_limit_values_are_refused_alike_on_both_backends(any_world, any_db, run_crm,
                                                              tmp_path):
    cid = str(any_world.cid("Customer #A"))
    before = _counts()
    long_text = "x" * 600
    cases = [
        (("add", "invoice", "--json", "-"),
         _invoice(cid, [{"description": long_text, "amount": "1"}]),
         f"new invoice: field lines[1].description: value '{'x' * 159}…': "
         "longer than 500 characters"),
        (("add", "invoice", "--json", "-"),
         _invoice(cid, [{"description": "a", "amount": "100000000000000"}]),
         "new invoice: field lines[1].amount: value '100000000000000': too large: "
         "at most 14 digits before the decimal point"),
        # Each line fits; with the tax the total would not.
        (("add", "invoice", "--json", "-"),
         _invoice(cid, [{"description": "a", "amount": TOP}], tax_rate="21"),
         "new invoice: field total: value '120999999999999.99': too large: "
         f"at most {TOP} (lines plus tax)"),
        (("add", "invoice", "--json", "-"),
         _invoice(cid, [{"description": "a", "amount": TOP}, {"description": "b",
                                                              "amount": "0.01"}]),
         f"new invoice: field total: value '100000000000000.00': too large: "
         f"at most {TOP} (lines plus tax)"),
        (("add", "invoice", "--json", "-"),
         _invoice(cid, [{"description": "a", "amount": "1.005"}]),
         "new invoice: field lines[1].amount: value '1.005': more than 2 decimal places"),
        (("add", "company", "name=" + "c" * 201), None,
         f"new company: field name: value '{'c' * 159}…': longer than 200 characters"),
        (("add", "contact", "full_name=Ann", f"company={cid}",
          "email=" + "a" * 195 + "@b.com"), None,
         f"contact 'Ann': field email: value '{'a' * 159}…': longer than 200 characters"),
        (("add", "lead", "full_name=Bo", "phone=" + "1" * 61), None,
         f"lead 'Bo': field phone: value '{'1' * 61}': longer than 60 characters"),
        (("add", "lead", "full_name=Bo", "estimated_sale=1.234"), None,
         "lead 'Bo': field estimated_sale: value '1.234': more than 2 decimal places"),
        (("add", "contract", "name=Support", f"company={cid}", "sla=2147483648"), None,
         "contract 'Support': field sla: value '2147483648': too large: at most 2147483647"),
        (("add", "company", "name=Deep", "payment_conditions=-2147483649"), None,
         "new company: field payment_conditions: value '-2147483649': too small: "
         "at least -2147483648"),
    ]
    for args, stdin, line in cases:
        _refused(run_crm(*args, input=stdin, db=any_db), line)
    assert _counts() == before

    # An import is refused whole, with the same line on both backends.
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text("full_name,phone,estimated_sale\nAnn,1,5\nBo,2," + TOP + "1\n",
                        encoding="utf-8")
    imported = run_crm("import", "leads", str(csv_file), db=any_db)
    assert imported.returncode == 1
    assert ("line 3: lead 'Bo': field estimated_sale: value '99999999999999.991': "
            "more than 2 decimal places") in imported.stderr
    assert _counts() == before


def test_a_full_series_refuses_the_next_bill_number_before_taking_it(any_world, any_db,
                                                                     run_crm):
    cid = str(any_world.cid("Customer #A"))
    assert run_crm("config", "set", "invoice.id_pattern", "15/[2147483647]",
                   db=any_db).returncode == 0
    payload = _invoice(cid, [{"description": "a", "amount": "10"}])
    first, second = (run_crm("add", "invoice", "--json", "-", input=payload,
                             db=any_db).stdout.strip() for _ in range(2))
    issued = run_crm("invoice", "issue", first, db=any_db)
    assert (issued.returncode, issued.stdout) == (0, "15/2147483647\n"), issued.stderr
    _refused(run_crm("invoice", "issue", second, db=any_db),
             "series 15/[]: field bill_number: value '2147483648': too large: at most "
             "2147483647; the series is full, start a new one (crm config set "
             "invoice.id_pattern …)")
    still = Invoice.get_by_id(int(second))
    assert (still.bill_id, still.bill_number, still.issued, still.locked) == (
        None, None, None, False)
    # A new series goes on from there.
    assert run_crm("config", "set", "invoice.id_pattern", "16/[1]", db=any_db).returncode == 0
    again = run_crm("invoice", "issue", second, db=any_db)
    assert (again.returncode, again.stdout) == (0, "16/1\n"), again.stderr


def test_every_kind_reads_its_text_limits_from_the_model(any_db):
    """No field takes more than its column: declared lengths never pass the model's."""
    from crm_tui.services.records import kind_names

    checked = 0
    for name in kind_names():
        kind = get_kind(name)
        for spec in kind.fields:
            column = kind.model._meta.fields.get(spec.column)
            if spec.model_field is None or not hasattr(column, "max_length"):
                continue
            assert spec.max_length <= column.max_length, (name, spec.name)
            checked += 1
    assert checked > 30


@pytest.mark.parametrize(("column", "value", "reason"), [
    (Invoice.total, Decimal(TOP), None),
    (Invoice.total, Decimal("-" + TOP), None),
    (Invoice.total, Decimal("100000000000000"), f"too large: at most {TOP}"),
    (Invoice.total, Decimal("-100000000000000"), f"too small: at least -{TOP}"),
    (Invoice.total, Decimal("0.001"), "more than 2 decimal places"),
    (Invoice.tax_rate, Decimal("10000"), "too large: at most 9999.999"),
    (Invoice.tax_rate, Decimal("1.0001"), "more than 3 decimal places"),
    (Invoice.bill_number, 2**31 - 1, None),
    (Invoice.bill_number, 2**31, "too large: at most 2147483647"),
    (InvoiceLine.description, "é" * 500, None),
    (InvoiceLine.description, "é" * 501, "longer than 500 characters"),
])
def test_the_limits_come_from_the_model_fields(column, value, reason):
    assert column_refusal(column, value) == reason


def test_a_value_set_past_the_services_is_still_refused_before_the_write(any_world):
    """The models' last guard: what slips past a service never reaches the database."""
    from crm_tui.errors import ValidationFailed

    company = Company.get_by_id(any_world.cid("Customer #A"))
    company.website = "w" * 201
    with pytest.raises(ValidationFailed, match="company .*: field website: .*longer than 200"):
        company.save()
    assert Company.get_by_id(company.id).website == ""
