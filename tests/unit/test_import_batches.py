"""Tests of the import's batch work: a file imported whole stores what adding each row stores,
the kind rules run a column at a time with the same words, access is decided per distinct
combination, and the CSV reader's batches read what was written."""

from __future__ import annotations

import io
import random

import pytest
from playhouse.test_utils import count_queries

from crm_tui import csvio, db
from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.models import Company, User
from crm_tui.services import imports
from crm_tui.services import values as V
from crm_tui.services.context import Session
from crm_tui.services.database import open_and_prepare
from crm_tui.services.records import Field, column_parser, field_parser, get_kind

HEADER = ("name,address,fiscal_id,country,website,comments,id_company_role,id_parent,"
          "manager,last_update,payment_conditions,billing,Office Phone,General email,id")


def _rows(count: int) -> list[dict]:
    """Companies of every shape: parents in the file (before and after), an existing parent,
    none; some cells empty; texts a spreadsheet would run; breaks inside a textarea."""
    rows = []
    for n in range(1, count + 1):
        rows.append({
            "name": f"Firm {n:04d}",
            "address": ("", f"{n} High St", "=1+1", "line one\nline two")[n % 4],
            "fiscal_id": "" if n % 5 == 0 else f"F{n}",
            "country": ("Spain", "", "France")[n % 3],
            "website": "@home" if n % 7 == 0 else "",
            "comments": ("-5 days", "", "'=quoted", "plain")[n % 4],
            "role": "1" if n % 2 else "",
            "parent": ("" if n == 1 else "existing" if n % 11 == 0
                       else str(n + 1) if n % 13 == 0 and n < count else str(n // 2)),
            "manager": "" if n % 3 == 0 else "admin",
            "payment_conditions": "" if n % 4 == 0 else str(n % 90),
            "phone": "" if n % 6 == 0 else f"+34 {n}",
            "email": f"firm{n}@example.com" if n % 2 else "",
        })
    return rows


def _csv(rows: list[dict], existing: int) -> bytes:
    """The rows as an export: ids of another database (none of them `existing`)."""
    def file_id(n: int | str) -> str:
        return str(1000 + int(n))

    out = io.StringIO(newline="")
    csvio.write_table(HEADER.split(","), (
        [r["name"], r["address"], r["fiscal_id"], r["country"], r["website"], r["comments"],
         r["role"], str(existing) if r["parent"] == "existing" else
         r["parent"] and file_id(r["parent"]), r["manager"], "", r["payment_conditions"], "",
         r["phone"], r["email"], file_id(n)]
        for n, r in enumerate(rows, 1)), out)
    return out.getvalue().encode()


def _stored() -> dict[str, dict]:
    """Every company as `crm list` shows it, by name, its parent by name."""
    admin = Session(User.get(User.login == "admin"))
    kind = get_kind("company")
    names = dict(Company.select(Company.id, Company.name).tuples())
    out = {}
    for row in kind.rows(admin, Company.select()):
        row = dict(row, parent=names.get(row["parent"]))
        del row["id"]
        out[row.pop("name")] = row
    return out


def test_an_import_stores_what_adding_each_row_stores(crm_db, clock, tmp_path) -> None:
    rows = _rows(150)
    kind = get_kind("company")
    admin = Session(User.get(User.login == "admin"), clock)
    existing = kind.create(admin, {"name": "Existing"})
    report = imports.run(admin, "companies", _csv(rows, existing), dry_run=False)
    assert report.created == len(rows)
    imported = _stored()

    db.close_database()
    open_and_prepare(str(tmp_path / "one-by-one.sqlite3"), clock)
    admin = Session(User.get(User.login == "admin"), clock)
    ids = {"existing": kind.create(admin, {"name": "Existing"})}
    # Parents first, as the import writes them; each row as `crm add` takes it.
    pending = list(enumerate(rows, 1))
    while pending:
        later = []
        for n, row in pending:
            parent = row["parent"]
            if parent and parent not in ids:
                later.append((n, row))
                continue
            raw = {key: row[key] for key in ("name", "address", "fiscal_id", "country",
                                             "website", "comments", "role", "manager",
                                             "payment_conditions") if row[key]}
            if parent:
                raw["parent"] = str(ids[parent])
            for key, field in (("phone", "Office Phone"), ("email", "General email")):
                if row[key]:
                    raw[f"custom.{field}"] = row[key]
            ids[str(n)] = kind.create(admin, raw)
        assert len(later) < len(pending)
        pending = later

    assert _stored() == imported


def test_a_rule_run_on_a_whole_column_says_what_it_says_per_row(admin) -> None:
    good = "Fine,,,,,,,,,,10,,,,1\n"
    negative = "Owes,,,,,,,,,,-3,,,,2\n"
    # Every cell parses: the kind's batch rules judge the columns.
    with pytest.raises(ValidationFailed) as whole:
        imports.run(admin, "companies", (HEADER + "\n" + good + negative).encode(),
                    dry_run=True)
    # A row without a name: the rules run per record.
    with pytest.raises(ValidationFailed) as per_row:
        imports.run(admin, "companies", (HEADER + "\n" + good + negative
                                         + ",,,,,,,,,,,,,,3\n").encode(), dry_run=True)

    found = [(p.line, p.field, p.value, p.reason) for p in whole.value.problems]
    assert found == [(3, "payment_conditions", "-3", "cannot be negative")]
    assert [(p.line, p.field, p.value, p.reason) for p in per_row.value.problems] == [
        *found, (4, "name", "", "required")]
    assert whole.value.problems[0].record == "company 'Owes'"


def test_imported_companies_get_the_stamp_of_the_save(admin, clock) -> None:
    imports.run(admin, "companies", (HEADER + "\nStamped,,,,,,,,,2001-01-01 00:00:00,,,,,1\n")
                .encode(), dry_run=False)

    assert Company.get(Company.name == "Stamped").last_update == clock.now()


def _manager1_file(parented: int, orphans: int, parent: int) -> bytes:
    # The file's own ids are not ids of this database.
    lines = [f"Child {n},,,,,,,{parent},user1,,,,,,{1000 + n}" for n in range(parented)]
    lines += [f"Orphan {n},,,,,,,,user1,,,,,,{2000 + n}" for n in range(orphans)]
    return (HEADER + "\n" + "\n".join(lines) + "\n").encode()


def test_write_access_is_asked_once_per_manager_and_parent_not_per_row(world) -> None:
    manager1 = world.session("manager1")
    parent = world.cid("Customer #A")

    with count_queries() as few:
        imports.run(manager1, "companies", _manager1_file(5, 0, parent), dry_run=True)
    with count_queries() as many:
        report = imports.run(manager1, "companies", _manager1_file(400, 0, parent),
                             dry_run=True)

    assert report.created == 400
    assert many.count <= few.count  # (the first run also reads the user's profile bits)


def test_rows_the_user_may_not_write_are_each_named(world) -> None:
    manager1 = world.session("manager1")
    # A company of a colleague may be changed by a CRM manager under a parent, not as a root.
    data = _manager1_file(3, 2, world.cid("Customer #A"))

    with pytest.raises(PermissionDenied) as excinfo:
        imports.run(manager1, "companies", data, dry_run=False)

    assert str(excinfo.value) == (
        "line 5: manager1 may not modify company 'Orphan 0' (and 1 more row)")
    assert not Company.select().where(Company.name.startswith("Child")).exists()


TEXTS = ["", " ", "plain", "tab\there", "new\nline", "cr\rhere", "x" * 59, "y" * 60, "z" * 61,
         "ünïcödé", "\u2028sep", "  padded  "]


@pytest.mark.parametrize("field", [
    Field("name", required=True, max_length=60), Field("notes", "textarea"),
    Field("title", max_length=60), Field("body", "textarea", required=True)])
def test_a_text_column_parses_at_once_as_each_text_does(field: Field, admin) -> None:
    parse, parse_all = field_parser(admin, field), column_parser(field)
    assert parse_all is not None
    for text in TEXTS:
        for column in ([text], ["ok", text, "fine"]):
            try:
                expected = [parse(cell) for cell in column]
            except V.BadValue:
                expected = None
            assert parse_all(column) == expected, (field, column)


def test_custom_text_values_are_checked_as_one_by_one(admin) -> None:
    too_long = "x" * 1001
    lines = [f"Firm {n},,,,,,,,,,,,+34 {n},info{n}@example.com,{n}" for n in range(1, 40)]
    lines += [f"Long,,,,,,,,,,,,{too_long},,40", "Broken,,,,,,,,,,,,\"two\nlines\",,41"]

    with pytest.raises(ValidationFailed) as excinfo:
        imports.run(admin, "companies", (HEADER + "\n" + "\n".join(lines) + "\n").encode(),
                    dry_run=True)

    assert [(p.line, p.field, p.reason) for p in excinfo.value.problems] == [
        (41, "Office Phone", "longer than 1000 characters"),
        (42, "Office Phone", "line breaks are not allowed here")]


def test_large_files_read_back_what_was_written_across_batches() -> None:
    pick = random.Random(7).choice
    cells = ["", " ", "plain", "=1+1", "'=kept", "-5", "@x", "+34", "a,b", 'say "hi"',
             "two\nlines", "crlf\r\nline", "cr\ronly", "'", "''=y", "\ttab", "é"]
    header = ["name", "address", "comments"]
    written = [[f"n{n}", pick(cells), pick(cells)] for n in range(2 * csvio._BATCH + 500)]
    out = io.StringIO(newline="")
    csvio.write_table(header, written, out)
    # Blank records (skipped, but they count as lines) between some of the rows.
    line, starts, records = 2, [], out.getvalue().split("\n")
    head, body = records[0] + "\n", iter(records[1:])
    chunks = [head]
    for row in written:
        if pick((False,) * 9 + (True,)):
            chunks.append(pick(("\n", ",,\n", " , ,\n")))
            line += 1
        record = next(body)
        # A record spans several physical lines when its cells hold line breaks.
        while record.count('"') % 2:
            record += "\n" + next(body)
        chunks.append(record + "\n")
        starts.append(line)
        line += sum(cell.count("\n") + cell.count("\r") - cell.count("\r\n") for cell in row)
        line += 1
    text = "".join(chunks)

    table = csvio.read_table(text.encode(), header)
    columns = csvio.read_columns(table, header, [])

    assert table.header == header and table.lines == starts
    assert [list(columns.columns[name]) for name in header] == [list(c) for c in zip(*written, strict=True)]
    assert [[values[name] for name in header]
            for _, values, _ in csvio.read_records(table, header, [])] == written
    assert columns.full == {"name"}


def test_write_access_to_a_company_depends_only_on_its_declared_fields(world) -> None:
    # Imports ask `check_modify` once per distinct (manager, parent): any other field that
    # changed the answer would have to be declared in CompanyKind.modify_fields.
    kind = get_kind("company")
    assert kind.modify_fields == ("manager", "parent")
    others = {"name": "Other", "address": "Elsewhere", "fiscal_id": "X1", "country": "Peru",
              "website": "w", "comments": "c", "role": 1, "payment_conditions": 5,
              "last_update": world.clock.now(), "id": world.cid("Customer #A")}
    for login in ("admin", "user1", "manager1", "user2"):
        session = world.session(login)
        for manager in world.users.values():
            for parent in (None, world.cid("My company"), world.cid("Customer #B")):
                base = Company(name="Base", manager=manager, parent=parent)
                expected = kind.can_modify(session, base)
                for field, value in others.items():
                    changed = Company(name="Base", manager=manager, parent=parent)
                    setattr(changed, field, value)
                    assert kind.can_modify(session, changed) == expected, (login, field)
