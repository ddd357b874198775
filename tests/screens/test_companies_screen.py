"""Screen 1 by keys: the tree, the list and its filter, opening a company, editing it with
bad and good values, notes, deleting, and the access rules as the TUI shows them."""

from __future__ import annotations

from crm_tui.models import Company, CompanyActivity
from screens.companies import READ_ONLY_MARK
from tests.screens.crm_app_helpers import (
    SIZE,
    app_for,
    footer_keys,
    press,
    settle,
    type_text,
)


def tree_labels(app) -> list[str]:
    """The labels of the loaded tree nodes, depth first."""
    out = []
    stack = list(reversed(app.screen.tree.root.children))
    while stack:
        node = stack.pop()
        out.append(str(node.label))
        stack.extend(reversed(node.children))
    return out


async def test_tree_shows_the_root_open_and_marks_read_only_companies(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tree_labels(app) == ["My company", "Customer #A", "Customer #B"]

    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # My company is a root managed by admin: user1 cannot see it, so its visible
        # children show as roots; B is visible but read-only for user1.
        assert tree_labels(app) == ["Customer #A", "Customer #B" + READ_ONLY_MARK]


async def test_tree_loads_children_when_a_node_opens(world, admin):
    from crm_tui.services.records import get_kind

    company = get_kind("company")
    for n in range(3):
        company.create(admin, {"name": f"Branch {n}", "parent": str(world.cid("Customer #A"))})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "Branch 0" not in tree_labels(app)
        await press(pilot, "down", "right")
        assert tree_labels(app)[2:5] == ["Branch 0", "Branch 1", "Branch 2"]


async def test_enter_opens_the_company_and_q_goes_back(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "enter")
        screen = app.screen
        assert type(screen).__name__ == "CompanyDetailScreen"
        assert screen.company_id == world.cid("Customer #A")
        assert "Customer #A" in screen.screen_title()
        texts = {item["key"]: item["text"] for item in screen_fields(screen)}
        assert texts["parent"] == "My company"
        assert texts["manager"] == "user1"
        await press(pilot, "q")
        assert type(app.screen).__name__ == "CompaniesScreen"


def screen_fields(screen) -> list[dict]:
    from crm_tui.services import forms

    return forms.display(screen.session, "company", screen.company_id)


async def test_editing_a_field_with_a_bad_value_shows_the_services_error(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "e")
        modal = app.screen
        assert type(modal).__name__ == "RecordFormModal"
        # Name, address, fiscal id, country, website, comments, role, parent, manager:
        # nine tabs reach the payment conditions.
        await press(pilot, *["tab"] * 9)
        await type_text(pilot, "-5")
        await press(pilot, "ctrl+s")
        assert app.screen is modal
        assert modal.form.errors == {"payment_conditions": "cannot be negative: '-5'"}
        assert Company.get_by_id(world.cid("Customer #A")).payment_conditions is None
        # Fixing the value saves, and the dialog closes.
        await press(pilot, "backspace", "backspace")
        await type_text(pilot, "30")
        await press(pilot, "ctrl+s")
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert Company.get_by_id(world.cid("Customer #A")).payment_conditions == 30
        assert app.said("Saved company")


async def test_a_required_field_left_empty_is_reported_on_that_field(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "e")
        await press(pilot, *["backspace"] * len("Customer #A"))
        await press(pilot, "ctrl+s")
        assert app.screen.form.errors == {"name": "required"}
        # The edit is unsaved: esc asks before dropping it.
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "ConfirmModal"
        await press(pilot, "y")
        assert type(app.screen).__name__ == "CompaniesScreen"
        assert Company.get_by_id(world.cid("Customer #A")).name == "Customer #A"


async def test_n_creates_a_child_of_the_company_under_the_cursor(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "n")
        await type_text(pilot, "Customer #C")
        await press(pilot, "ctrl+s")
        created = Company.get(Company.name == "Customer #C")
        assert created.parent_id == world.cid("My company")
        assert created.manager.login == "admin"
        assert "Customer #C" in tree_labels(app)


async def test_list_view_filters_by_name_role_manager_and_country(world, admin):
    from crm_tui.services.records import get_kind

    get_kind("company").update(admin, world.cid("Customer #B"),
                               {"country": "Spain", "role": "Customer"})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "v")
        table = app.screen.table
        assert table.row_count == 3
        await press(pilot, "slash")
        await type_text(pilot, "customer")
        await press(pilot, "enter")
        assert table.row_count == 2
        assert "/customer" in app.screen.screen_title()
        await press(pilot, "slash", *["backspace"] * 8)
        await type_text(pilot, "country=Spain role=Customer manager=manager1")
        await press(pilot, "enter")
        assert table.row_count == 1
        assert table.get_row(0)[1][0] == "Customer #B"
        assert app.focused is table
        await press(pilot, "slash", "ctrl+u")
        await type_text(pilot, "nosuchfield=1")
        await press(pilot, "enter")
        assert table.row_count == 0
        assert app.said("unknown field", "error")


async def test_delete_asks_and_refuses_a_company_with_children(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "d")
        assert type(app.screen).__name__ == "ConfirmModal"
        await press(pilot, "n")
        assert Company.select().count() == 3
        await press(pilot, "d", "y")
        # The service refuses (users and child companies hang off it): one line, nothing lost.
        assert app.said("company 'My company'", "error"), app.notes
        assert Company.select().count() == 3
        await press(pilot, "down", "down", "d", "y")
        assert Company.get_or_none(Company.name == "Customer #B") is None
        assert tree_labels(app) == ["My company", "Customer #A"]


async def test_notes_are_added_from_the_detail_view(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter", "a")
        await type_text(pilot, "Called about the renewal")
        await press(pilot, "ctrl+s")
        note = CompanyActivity.get()
        assert (note.company_id, note.author, note.text) == (
            world.cid("Customer #A"), "user1", "Called about the renewal")
        tabs = app.screen.query_one("TabbedContent")
        assert str(tabs.get_tab("tab-notes").label) == "Notes 1"


async def test_user1_may_edit_customer_a_but_not_customer_b(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        # On Customer #A (his own): edit and delete are offered.
        keys = footer_keys(app)
        assert keys["e"] is True and keys["d"] is True
        await press(pilot, "down")
        keys = footer_keys(app)
        assert keys["e"] is False and keys["d"] is False  # greyed on Customer #B
        await press(pilot, "e")
        assert type(app.screen).__name__ == "CompaniesScreen"
        await press(pilot, "enter")
        detail = app.screen
        assert detail.company_id == world.cid("Customer #B")
        assert "read-only" in detail.screen_title()
        assert footer_keys(app)["e"] is False and footer_keys(app)["a"] is False
        await press(pilot, "e", "a", "d")
        assert app.screen is detail
        await press(pilot, "q", "up", "enter", "e")
        assert type(app.screen).__name__ == "RecordFormModal"


async def test_a_user_without_crm_rights_sees_nothing_and_may_not_create(world):
    app = app_for(world, "user2")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert tree_labels(app) == []
        keys = footer_keys(app)
        assert "n" not in keys and "i" not in keys and "e" not in keys
        await press(pilot, "n")
        assert type(app.screen).__name__ == "CompaniesScreen"


async def test_slash_in_the_tree_opens_the_list_with_the_filter(world):
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "slash")
        await type_text(pilot, "#B")
        await press(pilot, "enter")
        screen = app.screen
        assert screen.view == "list" and screen.table.row_count == 1
        assert app.focused is screen.table
        await press(pilot, "v")
        assert screen.view == "tree" and app.focused is screen.tree


async def test_a_node_with_too_many_children_ends_with_a_way_to_the_list(world, admin,
                                                                        monkeypatch):
    import screens.companies
    from crm_tui.services.records import get_kind

    monkeypatch.setattr(screens.companies, "TREE_LIMIT", 2)
    get_kind("company").create(admin, {"name": "Customer #C",
                                       "parent": str(world.cid("My company"))})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        labels = tree_labels(app)
        assert labels[:3] == ["My company", "Customer #A", "Customer #B"]
        assert labels[3].startswith("… more than 2")
        await press(pilot, "down", "down", "down", "enter")
        screen = app.screen
        assert screen.view == "list"
        assert screen.filter_text == f"parent={world.cid('My company')}"
        assert screen.table.row_count == 3


async def test_files_are_attached_and_saved_from_the_company_detail(world, tmp_path,
                                                                   monkeypatch):
    from textual.widgets import TabbedContent

    source = tmp_path / "terms.txt"
    source.write_bytes("Términos\n".encode())
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")  # Customer #A (his own roots come first)
        screen = app.screen
        assert type(screen).__name__ == "CompanyDetailScreen"
        assert not screen.active_bindings["w"].enabled  # no files yet
        await press(pilot, "t")
        await type_text(pilot, str(source))
        await press(pilot, "ctrl+s")
        assert app.said("File attached")
        assert app.screen is screen
        tabs = screen.query_one(TabbedContent)
        assert str(tabs.get_tab("tab-files").label) == "Files 1"
        assert screen.active_bindings["w"].enabled
        await press(pilot, "w", "enter", "enter")  # the only file, then save in $HOME
        assert (home / "terms.txt").read_bytes() == "Términos\n".encode()
        await press(pilot, "q", "down", "enter")  # Customer #B: read-only for user1
        assert "Customer #B" in app.screen.screen_title()
        assert app.screen.active_bindings["t"].enabled is False


async def test_a_form_keeps_others_changes_and_refuses_a_stale_field(world):
    """Another operator changes the country while the form is open: saving another field
    keeps that change; changing the country too is refused, naming who, and ctrl+r reloads."""
    import datetime as dt

    from crm_tui.services.records import get_kind

    company = get_kind("company")
    target = world.cid("Customer #A")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down", "e")
        await settle(pilot)
        modal = app.screen
        world.clock.at += dt.timedelta(minutes=1)
        company.update(world.session("manager1"), target, {"country": "Chile"})
        # Name, address, fiscal id: three tabs reach the country.
        await press(pilot, *["tab"] * 3)
        await type_text(pilot, "Peru")
        await press(pilot, "ctrl+s")
        assert app.screen is modal
        error = modal.form.errors[""]
        assert "changed by manager1 at" in error and "since you opened it" in error
        assert Company.get_by_id(target).country == "Chile"
        await press(pilot, "ctrl+r")
        await settle(pilot)
        assert modal.form.values()["country"] == "Chile"
        # Website: four tabs from the name.
        await press(pilot, *["tab"] * 4)
        await type_text(pilot, "a.example")
        await press(pilot, "ctrl+s")
        await settle(pilot)
        assert type(app.screen).__name__ == "CompaniesScreen"
    saved = Company.get_by_id(target)
    assert (saved.country, saved.website) == ("Chile", "a.example")


async def test_h_shows_who_changed_what_on_the_company_detail(world):
    from crm_tui.services.records import get_kind

    target = world.cid("Customer #A")
    get_kind("company").update(world.session("manager1"), target, {"country": "Chile"})
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        await press(pilot, "H")
        await settle(pilot)
        modal = app.screen
        assert type(modal).__name__ == "HistoryModal"
        text = str(modal.query_one("#history-lines").render())
        assert "manager1 (cli)  change" in text
        assert "country: (empty) → Chile" in text
        await press(pilot, "escape")
        assert type(app.screen).__name__ == "CompanyDetailScreen"


async def test_the_details_tab_scrolls_with_the_keyboard(world):
    app = app_for(world, "admin")
    async with app.run_test(size=(80, 14)) as pilot:  # short: the details overflow
        await settle(pilot)
        await press(pilot, "enter")
        await settle(pilot)
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        box = app.screen.query_one("#details")
        assert box.max_scroll_y > 0 and box.scroll_y == 0
        await press(pilot, "pagedown")
        await settle(pilot)
        assert box.scroll_y > 0
        await press(pilot, "home")
        await settle(pilot)
        assert box.scroll_y == 0
        await press(pilot, "down")
        await settle(pilot)
        assert box.scroll_y == 1
