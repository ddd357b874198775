"""Screen 0, the catalogues, through keys: a superadmin creates, edits and deletes entries
(tags, lead types, a custom field in a section, a user with a profile), renames a status and
forces the delete of an entry in use; an operator is not offered users or profiles, and reads
refusals that name nothing he may not see."""

from __future__ import annotations

import re

from crm_tui.models import (
    CompanyRole,
    CustomField,
    CustomFieldSection,
    Lead,
    LeadTag,
    LeadType,
    Profile,
    Tag,
    User,
    UserProfile,
)
from crm_tui.services import settings
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text, until


def warnings(app) -> list[str]:
    return [text for severity, text in app.notes if severity == "warning"]


def offered(app) -> list[str]:
    """The side list's catalogues, as the screen shows them."""
    return [entry.title for entry in app.screen.catalogues]


def rows(app) -> list[tuple[str, ...]]:
    """The cells of every row of the shown list (once `all_shown`)."""
    table = app.screen.table
    got = [table.get_row(index) for index in range(table.row_count or 0)]
    return [row[1] for row in got if row is not None]


def all_shown(app) -> bool:
    """Whether the list has counted its rows and read every one of them."""
    table = app.screen.table
    return table is not None and table.row_count is not None and all(
        table.get_row(index) is not None for index in range(table.row_count))


async def open_admin(pilot) -> None:
    await settle(pilot)
    await press(pilot, "0")
    assert type(pilot.app.screen).__name__ == "AdminScreen"


async def show(pilot, title: str) -> None:
    """Step with `]` to the catalogue called `title`."""
    app = pilot.app
    for _step in range(len(app.screen.catalogues) + 1):
        if app.screen.catalogue is not None and app.screen.catalogue.title == title:
            await settle(pilot)
            return
        await press(pilot, "right_square_bracket")
    raise AssertionError(f"{title!r} is not offered: {offered(app)}")


async def to_row(pilot, text: str) -> None:
    """Move the list's cursor to the row whose first cell is `text`."""
    app = pilot.app
    await until(pilot, lambda: all_shown(app))
    names = [cells[0] for cells in rows(app)]
    index = names.index(text)
    await press(pilot, "home", *["down"] * index)
    assert app.screen.table.get_row(app.screen.table.cursor_index)[1][0] == text


async def tab_to(pilot, key: str) -> None:
    """Tab through the form until field `key` has the focus."""
    app = pilot.app
    target = app.screen.form.input_for(key)
    for _step in range(30):
        focused = app.focused
        if focused is target or (focused is not None and target in focused.ancestors):
            return
        await press(pilot, "tab")
    raise AssertionError(f"tab never reached {key}")


async def pick(pilot, key: str, value: str) -> None:
    """Choose `value` in the form's pick list `key`: open it, move down to it, enter."""
    app = pilot.app
    form = app.screen.form
    await tab_to(pilot, key)
    spec = next(spec for spec in form.specs if spec.key == key)
    values = [option[1] if isinstance(option, tuple) else option for option in spec.options]
    await press(pilot, "enter", *["down"] * (values.index(value) + 1), "enter")
    assert form.values()[key] == value


async def choose(pilot, key: str, text: str, value: str) -> None:
    """Choose in the form's type-ahead picker `key`: type `text`, enter the first match."""
    app = pilot.app
    await tab_to(pilot, key)
    picker = app.screen.form.input_for(key)
    await type_text(pilot, text)
    await until(pilot, lambda: picker.is_open)
    await press(pilot, "enter")
    assert app.screen.form.values()[key] == value


async def save(pilot, screen_name: str = "AdminScreen") -> None:
    """Save the form, and wait for the list behind it to show its rows again."""
    await press(pilot, "ctrl+s")
    await until(pilot, lambda: type(pilot.app.screen).__name__ == screen_name)
    await until(pilot, lambda: all_shown(pilot.app))


async def test_a_superadmin_creates_edits_and_deletes_a_tag_and_a_lead_type(any_world):
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await show(pilot, "Tags")
        await press(pilot, "n")
        assert type(app.screen).__name__ == "RecordFormModal"
        await type_text(pilot, "Priority")
        await tab_to(pilot, "colour")
        await type_text(pilot, "red")
        await save(pilot)
        tag = Tag.get(Tag.name == "Priority")
        assert tag.colour == "red"
        assert ("Priority", "red") in rows(app)

        await to_row(pilot, "Priority")
        await press(pilot, "e")
        await press(pilot, "end", *["backspace"] * len("Priority"))
        await type_text(pilot, "Urgent")
        await save(pilot)
        assert Tag.get_by_id(tag.id).name == "Urgent"
        assert ("Urgent", "red") in rows(app)

        await to_row(pilot, "Urgent")
        await press(pilot, "d")
        assert type(app.screen).__name__ == "DeleteEntryModal"
        await press(pilot, "y")
        assert Tag.get_or_none(Tag.id == tag.id) is None
        await until(pilot, lambda: all_shown(app))
        assert "Urgent" not in [cells[0] for cells in rows(app)]

        await show(pilot, "Lead types")
        await press(pilot, "n")
        await type_text(pilot, "Reseller")
        await save(pilot)
        lead_type = LeadType.get(LeadType.name == "Reseller")
        await to_row(pilot, "Reseller")
        await press(pilot, "enter")  # enter edits, as e does
        assert type(app.screen).__name__ == "RecordFormModal"
        await tab_to(pilot, "description")
        await type_text(pilot, "Sells on")
        await save(pilot)
        assert LeadType.get_by_id(lead_type.id).description == "Sells on"
        await to_row(pilot, "Reseller")
        await press(pilot, "d", "y")
        assert LeadType.get_or_none(LeadType.id == lead_type.id) is None
        assert not app.said("", "error")


async def test_a_superadmin_adds_a_custom_field_in_a_new_section(any_world):
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await show(pilot, "Field sections")
        await press(pilot, "n")
        await type_text(pilot, "Billing data")
        await save(pilot)
        section = CustomFieldSection.get(CustomFieldSection.name == "Billing data")

        await show(pilot, "Custom fields")
        await press(pilot, "n")
        await type_text(pilot, "VAT number")
        await pick(pilot, "kind", "text")
        await pick(pilot, "entity", "company")
        await choose(pilot, "section", "billing", str(section.id))
        await save(pilot)
        field = CustomField.get(CustomField.name == "VAT number")
        assert (field.kind, field.entity, field.section_id) == ("text", "company", section.id)
        assert ("VAT number", "text", "company", "Billing data") in rows(app)
        # Companies' forms show it in its section now.
        from crm_tui.services import forms

        described = forms.describe(any_world.session("admin"), "company")
        assert {"key": "custom.VAT number", "section": "Billing data"}.items() <= next(
            d for d in described if d["key"] == "custom.VAT number").items()


async def test_a_custom_field_of_a_contract_type_is_made_by_picking_the_type(any_world):
    from crm_tui.models import ContractType

    services = ContractType.get(ContractType.name == "Services contract")
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await show(pilot, "Custom fields")
        await press(pilot, "n")
        await type_text(pilot, "Hours")
        await pick(pilot, "kind", "numeric")
        # Company and contact need no more; a contract type brings the picker of the type.
        assert "contract_type" not in app.screen.form.values()
        await pick(pilot, "entity", "contract_type")
        await until(pilot, lambda: "contract_type" in app.screen.form.values())
        form = app.screen.form
        assert form.values()["name"] == "Hours"  # kept as the form changed shape
        assert form.values()["entity"] == "contract_type"
        # Saved without a type: the form says so under the type's picker.
        await press(pilot, "ctrl+s")
        assert "contract_type" in form.errors and type(app.screen).__name__ != "AdminScreen"
        await choose(pilot, "contract_type", "servi", str(services.id))
        await save(pilot)
        field = CustomField.get(CustomField.name == "Hours")
        assert (field.kind, field.entity, field.entity_type_id) == (
            "numeric", "contract_type", services.id)
        assert ("Hours", "numeric", f"contract_type:{services.id}", "") in rows(app)

        # Edited: the form starts with the type chosen by its name.
        await to_row(pilot, "Hours")
        await press(pilot, "e")
        await until(pilot, lambda: getattr(app.screen, "form", None) is not None)
        picker = app.screen.form.input_for("contract_type")
        assert picker.input.value == "Services contract"
        assert app.screen.form.values()["contract_type"] == str(services.id)
        helps = {spec.key: spec.help for spec in app.screen.form.specs}
        assert f"_custom_{field.id}_" in helps["contract_type"]  # for template writers
    # Contracts of that type have the field now.
    from crm_tui.services import forms

    described = forms.describe(any_world.session("admin"), "contract", None,
                               {"contract_type": str(services.id)})
    assert "custom.Hours" in [d["key"] for d in described]


async def test_a_superadmin_renames_a_status(any_world):
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await press(pilot, "left_square_bracket")  # the last list: status names
        assert app.screen.catalogue.title == "Status names"
        await settle(pilot)
        # Nine, fixed: renamed, never added or deleted.
        assert "n" not in app.screen.active_bindings or not app.screen.active_bindings["n"].enabled
        await to_row(pilot, "1")
        await press(pilot, "e")
        assert type(app.screen).__name__ == "StatusNameModal"
        await press(pilot, "end", *["backspace"] * len("Meeting arranged"))
        await type_text(pilot, "First call")
        await save(pilot)
        assert settings.status_names()[1] == "First call"
        assert ("1", "First call") in rows(app)
        # A name another status has is refused beside the field; nothing is written.
        await to_row(pilot, "2")
        await press(pilot, "e")
        await press(pilot, "end", *["backspace"] * len("Needs discovered"))
        await type_text(pilot, "first call")
        await press(pilot, "ctrl+s")
        await until(pilot, lambda: bool(app.screen.form.errors))
        assert "already called 'First call'" in " ".join(app.screen.form.errors.values())
        await press(pilot, "escape")
        assert settings.status_names()[2] == "Needs discovered"


async def test_a_superadmin_creates_a_user_with_a_profile(any_world):
    clerk = Profile.get(Profile.name == "Invoice clerk").id
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        assert offered(app)[:2] == ["Users", "Profiles"]
        assert app.screen.catalogue.title == "Users"
        await press(pilot, "n")
        await type_text(pilot, "clerk1")
        await tab_to(pilot, "real_name")
        await type_text(pilot, "Clara Clerk")
        await choose(pilot, "profiles", "invoice clerk", str(clerk))
        await save(pilot)
        user = User.get(User.login == "clerk1")
        profiles = [link.profile.name for link in
                    UserProfile.select().where(UserProfile.user == user.id)]
        assert profiles == ["Invoice clerk"]
        assert ("clerk1", "Clara Clerk", "Invoice clerk") in rows(app)

        # A new profile, given to the user by editing him.
        await show(pilot, "Profiles")
        await press(pilot, "n")
        await type_text(pilot, "Auditor")
        await tab_to(pilot, "bits")
        await type_text(pilot, "CR,IR")
        await save(pilot)
        await show(pilot, "Users")
        await to_row(pilot, "clerk1")
        await press(pilot, "e")
        # The profile he has starts as the list's own value: choosing it again takes it
        # off; the new profile is chosen.
        await tab_to(pilot, "profiles")
        assert app.screen.form.values()["profiles"] == str(clerk)
        picker = app.screen.form.input_for("profiles")
        await type_text(pilot, "invoice clerk")
        await until(pilot, lambda: picker.is_open)
        await press(pilot, "enter")
        assert app.screen.form.values()["profiles"] == ""
        await choose(pilot, "profiles", "auditor", str(Profile.get(Profile.name == "Auditor").id))
        await save(pilot)
        profiles = [link.profile.name for link in
                    UserProfile.select().where(UserProfile.user == user.id)]
        assert profiles == ["Auditor"]
        assert not app.said("", "error")


async def test_an_operator_is_not_offered_users_or_profiles_and_reads_refusals(world):
    app = app_for(world, "user1")  # CR+CW: reads catalogues, changes none
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        assert "Users" not in offered(app) and "Profiles" not in offered(app)
        assert offered(app)[0] == "Company roles"
        text = "\n".join(strip.text for strip in app.screen._compositor.render_strips())
        assert "Users" not in text and "Profiles" not in text
        keys = app.screen.active_bindings
        assert "n" not in keys and "e" not in keys and "d" not in keys
        get_kind("role")  # the stock roles are listed, read only
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "RecordFormModal"
        assert app.screen.read_only
        await press(pilot, "escape")
        await press(pilot, "n", "d")
        assert type(app.screen).__name__ == "AdminScreen"  # nothing opened
        # A status name: read only, and pressing enter says so.
        await press(pilot, "left_square_bracket")
        await press(pilot, "enter")
        assert warnings(app) == ["read-only: you may not modify New"]
        assert type(app.screen).__name__ == "AdminScreen"

    app = app_for(world, "user2")  # no CRM bits: no catalogue but the status names
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        assert offered(app) == ["Status names"]


async def test_deleting_an_entry_in_use_asks_and_forces_for_a_superadmin(any_world):
    admin = any_world.session("admin")
    tag = get_kind("tag").create(admin, {"name": "Hot"})
    lead = get_kind("lead").create(admin, {"full_name": "Ana García", "tags": "Hot",
                                           "company": str(any_world.cid("Customer #A"))})
    app = app_for(any_world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await show(pilot, "Tags")
        await to_row(pilot, "Hot")
        await press(pilot, "d")
        assert type(app.screen).__name__ == "DeleteEntryModal"
        assert app.screen.detail == "Used by 1 lead: deleting it takes it off them."
        await press(pilot, "n")  # no: nothing goes
        assert Tag.get_or_none(Tag.id == tag) is not None
        await press(pilot, "d", "y")
        assert Tag.get_or_none(Tag.id == tag) is None
        assert not LeadTag.select().where(LeadTag.lead == lead).exists()
        assert Lead.get_by_id(lead).full_name == "Ana García"
        assert not app.said("", "error")


async def test_an_entry_used_by_records_hidden_from_a_manager_is_refused_without_a_count(
        any_world):
    admin = any_world.session("admin")
    role = get_kind("role").create(admin, {"name": "Internal"})
    for name in ("Customer #A", "My company"):  # My company: only its manager sees it
        get_kind("company").update(admin, any_world.cid(name), {"role": str(role)})
    app = app_for(any_world, "manager1")  # CM: manages catalogues, not a superadmin
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        assert "Users" not in offered(app)
        await to_row(pilot, "Internal")
        await press(pilot, "d")
        assert type(app.screen).__name__ == "AdminScreen"  # no dialog to force it
        assert warnings(app) == ["role 'Internal' is in use by records you may not see"]
        assert not re.search(r"\d", warnings(app)[0])
        assert CompanyRole.get_or_none(CompanyRole.id == role) is not None


async def test_slash_filters_the_shown_catalogue_and_a_new_one_starts_unfiltered(world):
    admin = world.session("admin")
    for name in ("Urgent", "Later", "Urgent follow-up"):
        get_kind("tag").create(admin, {"name": name})
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await open_admin(pilot)
        await show(pilot, "Tags")
        await press(pilot, "slash")
        await type_text(pilot, "urgent")
        await press(pilot, "enter")
        await until(pilot, lambda: all_shown(app) and len(rows(app)) == 2)
        assert sorted(cells[0] for cells in rows(app)) == ["Urgent", "Urgent follow-up"]
        assert app.screen.screen_title().endswith("Tags · /urgent")
        # The next list shows all its entries; the filter went with the list it was for.
        await press(pilot, "right_square_bracket")
        assert app.screen.catalogue.title == "Mail templates"
        assert app.screen.filter_text == ""
        await press(pilot, "right_square_bracket", "slash")
        await type_text(pilot, "closed")
        await press(pilot, "enter")
        await until(pilot, lambda: all_shown(app) and len(rows(app)) == 4)
        assert [cells[0] for cells in rows(app)] == ["5", "6", "7", "8"]


async def test_a_default_status_name_saved_unchanged_in_spanish_stays_the_default(any_world):
    from crm_tui import i18n
    from crm_tui.services import admin as admin_service

    i18n.override_language("es")
    try:
        session = any_world.session("admin")
        assert admin_service.status_name(session, 0) == "Nuevo"
        assert admin_service.rename_status(session, 0, "Nuevo") == 0
        assert settings.status_names()[0] == "New"
        with i18n.in_language("en"):
            assert settings.status_labels()[0] == "New"
        admin_service.rename_status(session, 0, "Recién llegado")
        assert settings.status_names()[0] == "Recién llegado"
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)
