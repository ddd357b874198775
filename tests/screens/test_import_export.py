"""The CSV dialogs by keys: `i` (dry run, problems, confirm, progress, cancel) and `x`."""

from __future__ import annotations

import asyncio
import csv

import pytest

from crm_tui.models import Company, Contact
from screens.modals.import_csv import ImportCsvModal
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text

# The English manual's line: one comma fewer shifts "admin" into id_parent.
BAD_LINES = (
    "Empresa prueba,,,España,,,,,admin,0000-00-00 00:00:00,,Integria,20\n"
    "Test company,,,Spain,,,,admin,0000-00-00 00:00:00,,Integria,20\n"
)
GOOD_LINES = (
    "Imported One,,,Spain,,,,1,admin,,30,,\n"
    "Imported Two,,,France,,,,1,admin,,,,\n"
)


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run with the test's tmp dir as the working directory (short relative names)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


async def open_import(pilot, name: str) -> ImportCsvModal:
    await press(pilot, "i")
    modal = pilot.app.screen
    assert isinstance(modal, ImportCsvModal)
    await type_text(pilot, name)
    await press(pilot, "enter")
    return modal


async def test_dry_run_lists_every_problem_and_writes_nothing(world, in_tmp):
    (in_tmp / "bad.csv").write_text(BAD_LINES, encoding="utf-8")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        modal = await open_import(pilot, "bad.csv")
        found = [(p.line, p.field, p.value) for p in modal.problems]
        assert found[0] == (2, "id_parent", "admin")
        assert {line for line, _, _ in found} == {2}
        table = modal.query_one("#problems")
        assert table.row_count == len(found)
        assert table.get_row(0)[1][:3] == ("2", "id_parent", "admin")
        assert not modal.ready
        await press(pilot, "ctrl+s")  # greyed: nothing to confirm
        assert app.screen is modal
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "CompaniesScreen"
    assert Company.select().count() == 3


async def test_dry_run_then_confirm_imports_and_shows_the_new_companies(world, in_tmp):
    (in_tmp / "good.csv").write_text(GOOD_LINES, encoding="utf-8")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        modal = await open_import(pilot, "good.csv")
        assert modal.ready and modal.would_create == 2
        assert Company.select().count() == 3  # the dry run wrote nothing
        await press(pilot, "ctrl+s")
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert app.said("Imported 2 companies from good.csv")
        names = {c.name for c in Company.select()}
        assert {"Imported One", "Imported Two"} <= names
        await press(pilot, "v")
        assert app.screen.table.row_count == 5


async def test_escape_during_the_import_cancels_it_and_writes_nothing(world, in_tmp):
    rows = "".join(f"Bulk company {n:05d},,,Spain,,,,1,admin,,,,\n" for n in range(20000))
    (in_tmp / "big.csv").write_text(rows, encoding="utf-8")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        modal = await open_import(pilot, "big.csv")
        assert modal.would_create == 20000
        # Pilot waits for the app to go quiet after a key, which a running import never
        # does: confirm in a task, and press escape as soon as the progress bar shows.
        confirm = asyncio.create_task(pilot.press("ctrl+s"))
        for _ in range(500):
            if type(app.screen).__name__ == "ProgressModal":
                break
            await asyncio.sleep(0.01)
        assert type(app.screen).__name__ == "ProgressModal"
        await pilot.press("escape")
        await confirm
        await settle(pilot, timeout=60)
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert app.said("Import cancelled", "warning")
    assert Company.select().count() == 3


async def test_a_user_who_may_not_create_is_not_offered_import(world):
    app = app_for(world, "user2")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "i")
        assert type(app.screen).__name__ == "CompaniesScreen"


async def test_x_exports_what_the_user_may_see_with_a_header(world, in_tmp):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "x")
        assert type(app.screen).__name__ == "ExportCsvModal"
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "CompaniesScreen"
    files = list(in_tmp.glob("companies-*.csv"))
    assert len(files) == 1
    with files[0].open(encoding="utf-8", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0][:3] == ["name", "address", "fiscal_id"]
    assert sorted(row[0] for row in table[1:]) == ["Customer #A", "Customer #B"]
    assert app.said("Exported 2 companies")


async def test_x_asks_before_replacing_a_file_and_can_keep_the_filter(world, in_tmp, admin):
    from crm_tui.services.records import get_kind

    contact = get_kind("contact")
    for name in ("Ana García", "Luis Pérez"):
        contact.create(admin, {"full_name": name, "email": f"{name.split()[0]}@example.com",
                               "company": str(world.cid("Customer #A"))})
    (in_tmp / "out.csv").write_text("old", encoding="utf-8")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "slash")
        await type_text(pilot, "Ana")
        await press(pilot, "enter", "x", "ctrl+u")
        await type_text(pilot, "out.csv")
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "ExportCsvModal"  # asks before replacing
        assert (in_tmp / "out.csv").read_text(encoding="utf-8") == "old"
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "ContactsScreen"
    lines = (in_tmp / "out.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("full_name,email")
    assert [line.split(",")[0] for line in lines[1:]] == ["Ana García"]
    assert Contact.select().count() == 2
