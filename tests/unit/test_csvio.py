"""Unit tests for crm_tui.csvio: encodings, delimiters, headers, line numbers, injection."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm_tui.csvio import (
    CsvFormatError,
    RowProblem,
    decode,
    neutralise,
    read_columns,
    read_records,
    read_table,
    sniff_delimiter,
    unneutralise,
    write_table,
)

COMPANY_FIXED = [
    "name",
    "address",
    "fiscal_id",
    "country",
    "website",
    "comments",
    "id_company_role",
    "id_parent",
    "manager",
    "last_update",
    "payment_conditions",
]
COMPANY_EXTRA = ["Office Phone", "General email"]
COMPANY_KNOWN = [*COMPANY_FIXED, "billing", *COMPANY_EXTRA]
EXPORT_HEADER = (
    "name,address,fiscal_id,country,website,comments,id_company_role,id_parent,manager,"
    "last_update,payment_conditions,billing,Office Phone,General email"
)
SPANISH_LINE = "Empresa prueba,,,España,,,,,admin,0000-00-00 00:00:00,,Integria,20"
ENGLISH_LINE = "Test company,,,Spain,,,,admin,0000-00-00 00:00:00,,Integria,20"


def records(data: bytes, ignored: frozenset[str] = frozenset({"billing"})):
    """Read company-shaped bytes into a list of (line, values, problems)."""
    table = read_table(data, COMPANY_KNOWN)
    return list(read_records(table, COMPANY_FIXED, COMPANY_EXTRA, ignored_columns=ignored))


def written(header: list[str], rows: list[list[object]]) -> str:
    """What write_table produces for these rows."""
    out = io.StringIO(newline="")
    write_table(header, rows, out)
    return out.getvalue()


# --- decode -----------------------------------------------------------------------------------


def test_utf8_with_bom_is_stripped():
    text, encoding = decode("\ufeffname\nEspaña\n".encode())
    assert (text, encoding) == ("name\nEspaña\n", "utf-8-sig")


def test_utf8_without_bom():
    assert decode("España".encode()) == ("España", "utf-8")


def test_latin1():
    assert decode("Empresa,España\n".encode("latin-1")) == ("Empresa,España\n", "latin-1")


def test_cp1252_when_windows_only_bytes_are_present():
    assert decode("Precio 5 €".encode("cp1252")) == ("Precio 5 €", "cp1252")


def test_undefined_cp1252_byte_falls_back_to_latin1():
    assert decode(b"a\x81b") == ("a\x81b", "latin-1")


def test_binary_is_rejected():
    with pytest.raises(CsvFormatError, match="encoding.*NUL byte at offset 3"):
        decode(b"PK\x03\x00\x14\x00")


def test_utf16_is_named():
    with pytest.raises(CsvFormatError, match="UTF-16"):
        decode("name\n".encode("utf-16"))


def test_bom_with_invalid_utf8_is_rejected():
    with pytest.raises(CsvFormatError, match="byte-order mark.*0xf1"):
        decode(b"\xef\xbb\xbfEspa\xf1a")


def test_error_message_is_one_line():
    with pytest.raises(CsvFormatError) as info:
        decode(b"\x00")
    assert "\n" not in str(info.value)


# --- delimiter --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a,b,c\n1,2,3\n", ","),
        ("a;b;c\n1;2;3\n", ";"),
        ("only one column\nanother\n", ","),
        ("", ","),
        # commas inside a ;-file's cells are outvoted by the real delimiter
        ("Acme;Calle Mayor 1, Madrid;ES\nBeta;Plaza, 2, 3;FR\n", ";"),
        # a ; inside quotes does not count
        ('"Smith; John",x,y\n"A;B;C;D",1,2\n', ","),
        # a two-column ;-file whose cells hold a varying number of commas
        ("a;x\nb;1, 2, 3\nc;y\n", ";"),
        # tab-separated, with commas and semicolons inside the cells
        ("name\taddress\nAcme\tCalle Mayor 1, Madrid; bajo\nBeta\tx\n", "\t"),
        ("a\tb\tc\n1\t2\t3\n", "\t"),
        # a tab inside the cells of a comma file does not outvote the commas
        ("a,b\tc\nd,e\n", ","),
    ],
)
def test_sniff_delimiter(text, expected):
    assert sniff_delimiter(text) == expected


def test_sniff_ambiguous_is_rejected():
    with pytest.raises(CsvFormatError, match="delimiter"):
        sniff_delimiter("a,b;c\nd;e,f;g,h\n")


def test_an_undecidable_delimiter_names_what_was_tried():
    with pytest.raises(CsvFormatError) as refused:
        sniff_delimiter("a,b;c\nd;e,f;g,h\n")
    assert "',' and ';'" in str(refused.value)
    assert "tried ',', ';', TAB" in str(refused.value)


# --- reading ----------------------------------------------------------------------------------


def test_semicolon_file_latin1():
    table = read_table("Empresa prueba;;;España\n".encode("latin-1"), COMPANY_KNOWN)
    assert (table.encoding, table.delimiter, table.header) == ("latin-1", ";", None)
    assert table.rows[0].cells == ["Empresa prueba", "", "", "España"]


def test_embedded_newlines_give_physical_line_numbers():
    data = b'a,"one\ntwo\r\nthree"\n\n  \n,,\nb,"x\ry"\r\nc,z\n'
    table = read_table(data, COMPANY_KNOWN)
    assert [(row.line, row.cells) for row in table.rows] == [
        (1, ["a", "one\ntwo\r\nthree"]),
        (7, ["b", "x\ry"]),
        (9, ["c", "z"]),
    ]


def test_cells_keep_their_whitespace():
    table = read_table(b"  Acme , x \n", COMPANY_KNOWN)
    assert table.rows[0].cells == ["  Acme ", " x "]


def test_unterminated_quote_names_the_line():
    with pytest.raises(CsvFormatError, match="line 2"):
        read_table(b'a,b\n"c,d\ne,f\n', COMPANY_KNOWN)


def test_export_header_is_detected_and_read_by_name():
    data = f"{EXPORT_HEADER}\nAcme,,,Spain,,,1,,admin,,30,1234.50,555 12,a@b.c\n".encode()
    table = read_table(data, COMPANY_KNOWN)
    assert table.header == EXPORT_HEADER.split(",")
    assert table.header_line == 1
    [(line, values, problems)] = records(data)
    assert line == 2 and problems == []
    assert "billing" not in values
    assert values["name"] == "Acme"
    assert values["payment_conditions"] == "30"
    assert values["Office Phone"] == "555 12"
    assert values["General email"] == "a@b.c"


def test_header_with_reordered_and_missing_columns():
    data = b"Country ; NAME\nSpain;Acme\n"
    [(line, values, problems)] = records(data)
    assert (line, problems) == (2, [])
    assert values["name"] == "Acme" and values["country"] == "Spain"
    assert values["address"] == "" and values["Office Phone"] == ""


def test_spanish_manual_line_is_positional_and_valid():
    table = read_table(SPANISH_LINE.encode(), COMPANY_KNOWN)
    assert table.header is None
    [(line, values, problems)] = records(SPANISH_LINE.encode())
    assert (line, problems) == (1, [])
    assert values == {
        "name": "Empresa prueba",
        "address": "",
        "fiscal_id": "",
        "country": "España",
        "website": "",
        "comments": "",
        "id_company_role": "",
        "id_parent": "",
        "manager": "admin",
        "last_update": "0000-00-00 00:00:00",
        "payment_conditions": "",
        "Office Phone": "Integria",
        "General email": "20",
    }


def test_spanish_manual_line_in_latin1():
    [(_, values, problems)] = records(SPANISH_LINE.encode("latin-1"))
    assert problems == [] and values["country"] == "España"


def test_english_manual_line_shifts_admin_into_id_parent():
    [(_, values, problems)] = records(ENGLISH_LINE.encode())
    assert problems == []
    assert values["id_parent"] == "admin"
    assert values["manager"] == "0000-00-00 00:00:00"
    assert values["General email"] == ""


def test_positional_row_with_too_many_cells():
    data = (SPANISH_LINE + ",extra").encode()
    [(_, _, problems)] = records(data)
    assert problems == [RowProblem(1, None, "extra", "too many columns: expected 13, got 14")]


def test_positional_short_row_is_padded():
    [(_, values, problems)] = records(b"Acme,Main St\n")
    assert problems == [] and values["address"] == "Main St" and values["manager"] == ""


def test_first_row_named_name_but_otherwise_data_is_positional():
    table = read_table(b"name,,,Spain\n", COMPANY_KNOWN)
    assert table.header is None


def test_header_with_first_three_columns_among_unknowns():
    table = read_table(b"name,address,fiscal_id,a,b,c,d,e\n", COMPANY_KNOWN)
    assert table.header is not None


def test_unknown_header_column_is_reported_before_any_row():
    data = f"{EXPORT_HEADER},Fax\nAcme\n".encode()
    table = read_table(data, COMPANY_KNOWN)
    with pytest.raises(CsvFormatError, match="unknown column: 'Fax'") as info:
        read_records(table, COMPANY_FIXED, COMPANY_EXTRA, ignored_columns={"billing"})
    assert info.value.problems == [RowProblem(1, "Fax", "Fax", "unknown column")]


def test_billing_is_unknown_unless_ignored():
    data = f"{EXPORT_HEADER}\nAcme\n".encode()
    with pytest.raises(CsvFormatError, match="billing"):
        records(data, ignored=frozenset())


def test_missing_required_and_duplicate_columns():
    table = read_table(b"name,address,country,country\nAcme,,,\n", COMPANY_KNOWN)
    with pytest.raises(CsvFormatError) as info:
        read_records(table, COMPANY_FIXED, [], required_columns=["name", "manager"])
    assert [(p.column, p.reason) for p in info.value.problems] == [
        ("country", "column appears twice in the header"),
        ("manager", "required column missing from header"),
    ]


def test_header_row_problems():
    data = b"name,,country\nAcme,,Spain\nBeta,lost,Spain,surplus\n"
    rows = records(data)
    assert rows[0][2] == []
    assert rows[1][2] == [
        RowProblem(3, None, "surplus", "too many columns: expected 3, got 4"),
        RowProblem(3, "#2", "lost", "value under an unnamed column"),
    ]


# --- neutralising and writing -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("=SUM(A1)", "'=SUM(A1)"),
        ("+1", "+1"),  # plain numbers are data
        ("-5", "-5"),
        ("-2613.60", "-2613.60"),
        ("-5+1", "'-5+1"),
        ("-1e3", "'-1e3"),
        ("'-5", "''-5"),
        ("@x", "'@x"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("\nx", "'\nx"),
        ("\x00", "'\x00"),
        ("'=already", "''=already"),
        ("''-2", "'''-2"),
        ("'plain", "'plain"),
        ("'", "'"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise_round_trip(value, stored):
    assert neutralise(value) == stored
    assert unneutralise(stored) == value


def test_write_table_format():
    text = written(
        ["name", "amount", "when", "note"],
        [["Acme", Decimal("-5.50"), date(2021, 1, 20), None], ['B, "C"', 3, None, "x\ry"]],
    )
    lines = ["name,amount,when,note", "Acme,-5.50,2021-01-20,", '"B, ""C""",3,,"x\ry"']
    assert text == "\n".join(lines) + "\n"


def test_write_table_rejects_ragged_rows():
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        written(["a", "b"], [["x"]])


TRICKY = [
    "=SUM(A1)",
    "+1",
    "-5",
    "@x",
    "'=already",
    "\tlead tab",
    "a,b",
    'say "hi"',
    "two\nlines",
    "cr\ronly",
    "crlf\r\nend",
    "España ñ € 日本 🎉",
    " spaced ",
    "",
]


def test_round_trip_of_tricky_cells_is_exact():
    header = ["name", *[f"c{i}" for i in range(len(TRICKY))]]
    rows = [["first", *TRICKY], ["second", *reversed(TRICKY)]]
    data = written(header, rows).encode()
    table = read_table(data, header)
    assert (table.encoding, table.delimiter, table.header) == ("utf-8", ",", header)
    assert [row.cells for row in table.rows] == rows
    assert [row.line for row in table.rows] == [2, 6]  # record 1 spans 3 line breaks


def test_round_trip_through_latin1_export_of_spanish_line():
    header = [*COMPANY_FIXED, "billing", *COMPANY_EXTRA]
    row = ["Empresa prueba", "", "", "España", "", "", "", "", "admin", "", "", "0", "-1", "20"]
    data = written(header, [row]).encode("latin-1")
    [(_, values, problems)] = records(data)
    assert problems == []
    assert values["Office Phone"] == "-1" and values["country"] == "España"


cells = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cells, min_size=3, max_size=3), max_size=6))
def test_round_trip_property(rows):
    # a record of blank cells carries no data and is skipped on reading; importers need a name
    rows = [["n" + row[0], *row[1:]] for row in rows]
    header = ["name", "a", "b"]
    table = read_table(written(header, rows).encode(), header)
    assert table.header == header
    assert [row.cells for row in table.rows] == rows


def test_huge_unterminated_quote_is_reported_not_crashed():
    data = b'a,b\n"' + b"x" * 200_000 + b"\n"
    with pytest.raises(CsvFormatError, match="line 2"):
        read_table(data, COMPANY_KNOWN)


def _by_columns(table, fixed, extra, ignored=()):
    """read_columns' answer in read_records' shape: (line, values, problems) per record."""
    columns = read_columns(table, fixed, extra, ignored)
    return [(line, {name: cells[index] for name, cells in columns.columns.items()},
             columns.problems.get(index, []))
            for index, line in enumerate(columns.lines)]


cell_or_blank = st.one_of(
    st.sampled_from(["", " ", "=1+1", "-5", "'x", "''-2", "a,b", 'say "hi"', "two\nlines"]),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00;")))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell_or_blank, min_size=1, max_size=6), max_size=6),
       st.sampled_from([None, ["name", "a", "", "b"], ["name", "b", "billing"]]))
def test_read_columns_reads_as_read_records(rows, header):
    # ragged rows, blank cells, cells under an unnamed column, neutralised cells
    rows = [["n" + row[0], *row[1:]] for row in rows]
    text = "".join(",".join(_quoted(cell) for cell in row) + "\n" for row in rows)
    if header is not None:
        text = ",".join(header) + "\n" + text
    table = read_table(text.encode(), ["name", "a", "b"])
    fixed, extra = ["name", "a"], ["b"]
    assert _by_columns(table, fixed, extra, {"billing"}) == list(
        read_records(table, fixed, extra, {"billing"}))
    columns = read_columns(table, fixed, extra, {"billing"})
    assert all("" not in columns.columns[name] for name in columns.full)


def _quoted(cell: str) -> str:
    from crm_tui.csvio import format_cell

    return format_cell(cell)


def test_read_columns_reports_a_bad_header_like_read_records():
    table = read_table(b"name,colour\nAcme,red\n", ["name"])
    with pytest.raises(CsvFormatError, match="unknown column: 'colour'"):
        read_columns(table, ["name"], [])
