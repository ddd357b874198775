"""The delimiter of an import is `,` `;` or TAB, taken from the header line and checked on
every row; an undeterminable one, or a header with unknown columns, is refused before any
write — through `crm import`, on both backends."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from crm_tui import csvio
from crm_tui.models import Company, ImportBatch


def crm(db: str, *args: str):
    from crm_tui import db as connection
    from crm_tui.cli import cli

    try:
        return CliRunner().invoke(cli, ["--db", db, *args])
    finally:
        connection.close_database()


def _import(db, tmp_path, text: str, *args: str):
    path = tmp_path / "companies.csv"
    path.write_text(text, encoding="utf-8")
    return crm(db, "import", "companies", str(path), *args)


@pytest.mark.parametrize(("delimiter", "shown"), [(",", "','"), (";", "';'"), ("\t", "'\\t'")])
def test_each_delimiter_with_a_header_or_without(any_world, any_db, tmp_path, delimiter,
                                                 shown):
    header = delimiter.join(["name", "country", "manager"]) + "\n"
    done = _import(any_db, tmp_path, header + delimiter.join(["Head Co", "Spain", "admin"])
                   + "\n")
    assert done.exit_code == 0, done.output
    assert f"{shown}-separated, with a header line" in done.stdout
    row = delimiter.join(["Plain Co", "", "", "Chile", "", "", "", "", "admin", "", ""])
    done = _import(any_db, tmp_path, row + "\n")
    assert done.exit_code == 0, done.output
    assert f"{shown}-separated, positional" in done.stdout
    assert Company.get(Company.name == "Head Co").country == "Spain"
    assert Company.get(Company.name == "Plain Co").country == "Chile"


def test_the_header_line_decides_when_the_rows_alone_cannot(any_world, any_db, tmp_path):
    # The rows alone leave ',' and ';' both plausible (the sniffer would refuse the file);
    # the header line names the columns with ','.
    text = "name,comments,country\nMixed A,x;y;z;w,Spain\nMixed B,p;q\n"
    with pytest.raises(csvio.CsvFormatError, match="cannot determine the delimiter"):
        csvio.sniff_delimiter(text)
    done = _import(any_db, tmp_path, text)
    assert done.exit_code == 0, done.output
    assert Company.get(Company.name == "Mixed A").comments == "x;y;z;w"
    assert Company.get(Company.name == "Mixed B").comments == "p;q"


def test_a_row_with_another_delimiter_is_refused_by_its_line(any_world, any_db, tmp_path):
    text = ("name,country,manager\nGood Co,Spain,admin\nPasted Co;Chile;admin\n"
            "Fine Co,Peru,admin\n")
    refused = _import(any_db, tmp_path, text)
    assert refused.exit_code == 1
    assert ("line 3: company 'Pasted Co;Chile;admin': field row: value "
            "'Pasted Co;Chile;admin': the line is separated by ';', the file by ','"
            in refused.stderr)
    assert not Company.select().where(Company.name == "Good Co").exists()
    rejects = tmp_path / "rejects.csv"
    kept = _import(any_db, tmp_path, text, "--rejects", str(rejects))
    assert kept.exit_code == 0, kept.output
    assert Company.select().where(Company.name.in_(["Good Co", "Fine Co"])).count() == 2
    assert "Pasted Co;Chile;admin" in rejects.read_text(encoding="utf-8")


def test_an_undeterminable_delimiter_is_refused_naming_what_was_tried(any_world, any_db,
                                                                      tmp_path):
    before = Company.select().count()
    refused = _import(any_db, tmp_path, "One,a;b\nTwo;c,d;e,f\n")
    assert refused.exit_code == 1
    assert "cannot determine the delimiter" in refused.stderr
    assert "tried ',', ';', TAB" in refused.stderr
    assert Company.select().count() == before and ImportBatch.select().count() == 0


def test_a_header_with_unknown_columns_is_refused_before_any_write(any_world, any_db,
                                                                   tmp_path):
    before = Company.select().count()
    refused = _import(any_db, tmp_path, "name,country,Fax,colour\nAcme,Spain,555,red\n")
    assert refused.exit_code == 1
    assert "line 1: companies file: field Fax: value 'Fax': unknown column" in refused.stderr
    assert "field colour: value 'colour': unknown column" in refused.stderr
    # Never a data row: the header's own texts are not a company.
    assert not Company.select().where(Company.name.in_(["name", "Acme"])).exists()
    assert Company.select().count() == before and ImportBatch.select().count() == 0
    rejects = tmp_path / "rejects.csv"
    still = _import(any_db, tmp_path, "name,country,Fax\nAcme,Spain,555\n", "--rejects",
                    str(rejects))
    assert still.exit_code == 1 and Company.select().count() == before
