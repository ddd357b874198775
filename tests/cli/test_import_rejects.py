"""`crm import KIND FILE --rejects FILE`: the good rows are imported, the refused ones are
written with a reject_reason column and import again once fixed; without it a bad row
still stops the whole file — on both backends."""

from __future__ import annotations

import csv
import io

from click.testing import CliRunner

from crm_tui.models import Company, Contact, ImportBatch


def crm(db: str, *args: str):
    from crm_tui import db as connection
    from crm_tui.cli import cli

    try:
        return CliRunner().invoke(cli, ["--db", db, *args])
    finally:
        connection.close_database()


HEADER = ("name,address,fiscal_id,country,website,comments,id_company_role,id_parent,"
          "manager,last_update,payment_conditions,billing,id\n")


def test_good_rows_go_in_and_refused_ones_come_back_with_reasons(any_world, any_db,
                                                                 tmp_path):
    source = tmp_path / "companies.csv"
    source.write_text(HEADER
                      + "Good One,,,Spain,,,,,admin,,,,10\n"
                      + "Bad Manager,,,Spain,,,,,nobody,,,,11\n"
                      + "Customer #A,,,Spain,,,,,admin,,,,12\n"
                      + "Child Of Bad,,,Spain,,,,11,admin,,,,13\n"
                      + "Child Of Good,,,Spain,,,,10,admin,,,,14\n", encoding="utf-8")
    before = Company.select().count()
    whole = crm(any_db, "import", "companies", str(source))
    assert whole.exit_code == 1 and Company.select().count() == before
    rejects = tmp_path / "rejects.csv"
    done = crm(any_db, "import", "companies", str(source), "--rejects", str(rejects))
    assert done.exit_code == 0, done.output
    assert "created 2 companies from 5 rows, refused 3" in done.stdout
    assert "3 rows refused, written to" in done.stderr
    good = Company.get(Company.name == "Good One")
    assert Company.get(Company.name == "Child Of Good").parent_id == good.id
    rows = list(csv.DictReader(io.StringIO(rejects.read_text(encoding="utf-8"))))
    assert [row["name"] for row in rows] == ["Bad Manager", "Customer #A", "Child Of Bad"]
    assert list(rows[0])[-1] == "reject_reason"
    assert "manager" in rows[0]["reject_reason"] and "no such user" in rows[0]["reject_reason"]
    assert "already has it" in rows[1]["reject_reason"]
    assert "line 3" in rows[2]["reject_reason"] and "left out" in rows[2]["reject_reason"]
    # Fixed (the reason column left in), the file imports: the bad parent comes with it.
    rows[0]["manager"] = "admin"
    rows[1]["name"] = "Customer #C"
    with rejects.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    again = crm(any_db, "import", "companies", str(rejects))
    assert again.exit_code == 0, again.output
    assert Company.get(Company.name == "Child Of Bad").parent_id == Company.get(
        Company.name == "Bad Manager").id
    assert ImportBatch.select().count() == 2


def test_a_positional_file_comes_back_with_a_header_naming_its_custom_columns(
        any_world, any_db, tmp_path):
    # The stock company fields are Office Phone and General email: the file has the first.
    source = tmp_path / "companies.csv"
    source.write_text("Plain Co,,,Spain,,,,,admin,,,555-1\n"
                      "Wrong Co,,,Spain,,,,,admin,,soon,555-2\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    done = crm(any_db, "import", "companies", str(source), "--rejects", str(rejects),
               "--dry-run")
    assert done.exit_code == 0, done.output
    assert not Company.select().where(Company.name == "Plain Co").exists()
    lines = rejects.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ("name,address,fiscal_id,country,website,comments,id_company_role,"
                        "id_parent,manager,last_update,payment_conditions,Office Phone,"
                        "reject_reason")
    assert lines[1].startswith("Wrong Co,,,Spain,,,,,admin,,soon,555-2,")
    assert "payment_conditions" in lines[1]
    fixed = rejects.read_text(encoding="utf-8").replace(",soon,", ",30,")
    rejects.write_text(fixed, encoding="utf-8")
    assert crm(any_db, "import", "companies", str(rejects)).exit_code == 0
    assert Company.get(Company.name == "Wrong Co").payment_conditions == 30


def test_nothing_refused_leaves_a_header_only_and_an_unwritable_place_stops_first(
        any_world, any_db, tmp_path):
    source = tmp_path / "contacts.csv"
    company = any_world.cid("Customer #A")
    source.write_text(f"Ana,ana@example.com,{company}\n", encoding="utf-8")
    missing = tmp_path / "no-such-folder" / "rejects.csv"
    refused = crm(any_db, "import", "contacts", str(source), "--rejects", str(missing))
    assert refused.exit_code == 1 and "--rejects" in refused.stderr
    assert Contact.select().count() == 0
    rejects = tmp_path / "rejects.csv"
    done = crm(any_db, "import", "contacts", str(source), "--rejects", str(rejects))
    assert done.exit_code == 0, done.output
    assert "0 rows refused" in done.stderr
    assert rejects.read_text(encoding="utf-8").splitlines() == [
        "full_name,email,company,phone,mobile,position,description,reject_reason"]
    assert Contact.get().created is not None
    assert Contact.select().count() == 1
