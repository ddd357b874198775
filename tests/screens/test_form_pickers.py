"""Forms by keys: references chosen from a type-ahead picker (narrowing, paging, the saved
id, only what the user may use), invoice concepts as rows, and the question before unsaved
edits are dropped (esc, ctrl+q)."""

from __future__ import annotations

from decimal import Decimal

from crm_tui.models import Company, Contact, Invoice
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text, until
from widgets.ref_picker import RefPicker
from widgets.rows_editor import RowsEditor


async def tab_to(pilot, widget) -> None:
    """Press tab until the widget (or the input inside it) has the focus."""
    for _ in range(40):
        focused = pilot.app.focused
        if focused is widget or (focused is not None and widget in focused.ancestors):
            return
        await press(pilot, "tab")
    raise AssertionError(f"tab never reached {widget!r}")


def shown(picker: RefPicker) -> list[str]:
    """The titles the picker's list shows."""
    options = picker.options
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_typing_narrows_the_company_picker_and_enter_saves_the_chosen_id(any_world):
    admin = any_world.session("admin")
    garcia = get_kind("company").create(admin, {"name": "García Hermanos"})
    get_kind("company").create(admin, {"name": "Garcés Logística"})
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "n")
        modal = app.screen
        assert type(modal).__name__ == "NewRecordModal"
        await type_text(pilot, "Ana Pérez")
        await tab_to(pilot, modal.form.input_for("email"))
        await type_text(pilot, "ana@example.com")
        picker = modal.form.input_for("company")
        assert isinstance(picker, RefPicker)
        await tab_to(pilot, picker)
        await type_text(pilot, "garcia")
        await until(pilot, lambda: picker.is_open and shown(picker) == ["García Hermanos"])
        await press(pilot, "enter")
        assert not picker.is_open
        assert picker.input.value == "García Hermanos"
        assert modal.form.values()["company"] == str(garcia)
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: type(app.screen).__name__ != "NewRecordModal")
        assert Contact.get(Contact.full_name == "Ana Pérez").company_id == garcia


async def test_the_picker_pages_as_the_cursor_goes_down(world, admin):
    for number in range(45):
        get_kind("company").create(admin, {"name": f"Acme {number:02d}"})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "2", "n")
        picker = app.screen.form.input_for("company")
        await tab_to(pilot, picker)
        await type_text(pilot, "acme")
        await until(pilot, lambda: len(shown(picker)) == 20)
        await press(pilot, *["down"] * 19)
        await until(pilot, lambda: len(shown(picker)) == 40)
        await press(pilot, *["down"] * 25)
        await until(pilot, lambda: len(shown(picker)) == 45)
        assert shown(picker) == [f"Acme {n:02d}" for n in range(45)]
        await press(pilot, "enter")
        assert picker.input.value == "Acme 44"
        # esc closes the list, not the form.
        await press(pilot, "down")
        await until(pilot, lambda: picker.is_open)
        await press(pilot, "escape")
        assert not picker.is_open
        assert app.screen.form is not None and picker.input.value == "Acme 44"


async def test_an_operator_is_never_offered_a_company_he_may_not_see(any_world):
    app = app_for(any_world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "e")  # Customer #A, his own (the first row he sees)
        modal = app.screen
        assert type(modal).__name__ == "RecordFormModal"
        picker = modal.form.input_for("parent")
        # My company is A's parent, which he may not see: it reads "(not visible)" and
        # stays the value.
        assert picker.input.value == "(not visible)"
        assert modal.form.values()["parent"] == str(any_world.cid("My company"))
        await tab_to(pilot, picker)
        await press(pilot, "ctrl+a", "ctrl+k")
        await type_text(pilot, "c")
        await until(pilot, lambda: picker.is_open and bool(shown(picker)))
        assert shown(picker) == ["Customer #A", "Customer #B"]
        await press(pilot, "escape")
        await press(pilot, "ctrl+a", "ctrl+k")
        await type_text(pilot, "my")
        await until(pilot, lambda: picker.is_open)
        assert shown(picker) == ["(no match)"]


async def test_invoice_concepts_are_rows_of_description_and_amount(world, admin):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "n")
        modal = app.screen
        await until(pilot, lambda: modal.form is not None)
        company = modal.form.input_for("company")
        await tab_to(pilot, company)
        await type_text(pilot, "customer #a")
        await until(pilot, lambda: company.is_open and bool(shown(company)))
        await press(pilot, "enter")
        rows = modal.form.input_for("lines")
        assert isinstance(rows, RowsEditor)
        await tab_to(pilot, rows)
        await type_text(pilot, "Annual support")
        await press(pilot, "enter")
        await type_text(pilot, "2400.50")
        await press(pilot, "enter", "enter")  # past the rate: a new row
        await type_text(pilot, "Setup")
        await press(pilot, "enter")
        await type_text(pilot, "100")
        await press(pilot, "ctrl+n")
        await type_text(pilot, "Removed again")
        await press(pilot, "ctrl+y")
        assert [cells[:2] for cells in rows.rows] == [["Annual support", "2400.50"],
                                                     ["Setup", "100"]]
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: type(app.screen).__name__ != "ServiceFormModal")
    invoice = Invoice.get(Invoice.company == world.cid("Customer #A"))
    lines = get_kind("invoice").get(admin, invoice.id)["lines"]
    assert [(line["description"], Decimal(line["amount"])) for line in lines] == [
        ("Annual support", Decimal("2400.50")), ("Setup", Decimal("100"))]


async def test_a_bad_amount_is_refused_under_the_concepts(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4", "n")
        modal = app.screen
        await until(pilot, lambda: modal.form is not None)
        company = modal.form.input_for("company")
        await tab_to(pilot, company)
        await type_text(pilot, "customer #a")
        await until(pilot, lambda: company.is_open and bool(shown(company)))
        await press(pilot, "enter")
        await tab_to(pilot, modal.form.input_for("lines"))
        await type_text(pilot, "Support")
        await press(pilot, "enter")
        await type_text(pilot, "12,5x")
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: "lines" in modal.form.errors)
        assert "lines[1]" in modal.form.errors["lines"]
        assert app.screen is modal
    assert Invoice.select().count() == 0


async def test_esc_asks_before_dropping_unsaved_edits(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "e")
        form_modal = app.screen
        # Unchanged: esc closes at once.
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "CompaniesScreen"
        await press(pilot, "e")
        form_modal = app.screen
        await press(pilot, "end")
        await type_text(pilot, " Ltd")
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "ConfirmModal"
        await press(pilot, "n")
        assert app.screen is form_modal
        assert form_modal.form.values()["name"] == "Customer #A Ltd"
        await press(pilot, "escape", "y")
        assert type(app.screen).__name__ == "CompaniesScreen"
    assert Company.get_by_id(world.cid("Customer #A")).name == "Customer #A"


async def test_ctrl_q_quits_from_a_detail_at_once(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        await press(pilot, "ctrl+q")
        assert app.return_code == 0


async def test_ctrl_q_from_a_dialog_asks_about_unsaved_edits(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "e")  # the form over the detail
        form_modal = app.screen
        assert type(form_modal).__name__ == "RecordFormModal"
        await type_text(pilot, "X")
        await press(pilot, "ctrl+q")
        assert type(app.screen).__name__ == "ConfirmModal"
        await press(pilot, "n")
        assert app.screen is form_modal and app.return_code is None
        await press(pilot, "ctrl+q", "y")
        assert app.return_code == 0
    assert Company.get_by_id(world.cid("My company")).name == "My company"


async def test_ctrl_q_from_an_unchanged_dialog_quits_at_once(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "e")
        assert type(app.screen).__name__ == "RecordFormModal"
        await press(pilot, "ctrl+q")
        assert app.return_code == 0


async def test_tags_are_added_as_chips_and_removed_again(world, admin):
    from crm_tui.models import Lead, LeadTag, Tag

    for name in ("hot", "cold", "partner"):
        Tag.create(name=name)
    lead = get_kind("lead").create(admin, {"full_name": "Lía Tags"})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        await press(pilot, "e")
        modal = app.screen
        await until(pilot, lambda: getattr(modal, "form", None) is not None)
        picker = modal.form.input_for("tags")
        assert picker.multiple
        await tab_to(pilot, picker)
        for typed in ("ho", "par", "co"):
            await type_text(pilot, typed)
            await until(pilot, lambda t=typed: picker.shown_query == t and picker.is_open)
            await press(pilot, "enter")
        assert [title for title, _v in picker.chosen] == ["hot", "partner", "cold"]
        await press(pilot, "backspace")  # the empty box: the last chip goes
        assert [title for title, _v in picker.chosen] == ["hot", "partner"]
        await type_text(pilot, "h")
        await until(pilot, lambda: picker.shown_query == "h" and picker.is_open)
        assert shown(picker) == ["✓ hot"]
        await press(pilot, "enter")  # a chosen one chosen again: removed
        assert [title for title, _v in picker.chosen] == ["partner"]
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: app.screen is not modal)
    tags = {t.tag.name for t in LeadTag.select().where(LeadTag.lead == lead)}
    assert tags == {"partner"}
    assert Lead.get_by_id(lead).full_name == "Lía Tags"


async def test_a_lead_s_status_is_picked_by_typing_part_of_its_name(world):
    from crm_tui.models import Lead
    from crm_tui.services import settings
    from tests.unit.lead_world import seed_leads

    seed_leads(world)
    admin = world.session("admin")
    settings.set_value(admin, "lead.status.2", "Démo booked")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "5", "n")
        modal = app.screen
        assert type(modal).__name__ == "NewLeadModal"
        await type_text(pilot, "Zoe Zed")
        await tab_to(pilot, modal.form.input_for("email"))
        await type_text(pilot, "zoe@example.com")
        picker = modal.form.input_for("status")
        assert isinstance(picker, RefPicker)
        assert picker.input.value == "New"  # a new lead's default, by name
        await tab_to(pilot, picker)
        await press(pilot, "ctrl+u")
        await type_text(pilot, "pro")
        await until(pilot, lambda: picker.is_open and shown(picker) == ["Proposal delivered"])
        # Each typed word narrows, accents and case aside; the renamed status is found.
        await press(pilot, "ctrl+u")
        await type_text(pilot, "demo b")
        await until(pilot, lambda: picker.is_open and shown(picker) == ["Démo booked"])
        await press(pilot, "enter")
        assert picker.input.value == "Démo booked"
        assert modal.form.values()["status"] == "2"
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: type(app.screen).__name__ != "NewLeadModal")
    assert Lead.get(Lead.full_name == "Zoe Zed").status == 2
