"""Merging from a detail screen (lead, company, contact): M opens the picker, typing narrows
it, enter picks, y confirms; the other record's activity lands on the one on screen (both
backends)."""

from __future__ import annotations

from textual.widgets import OptionList

from crm_tui.models import Company, Contact, Lead, LeadActivity, Redirect
from crm_tui.services.records import get_kind
from screens.company_detail import CompanyDetailScreen
from screens.contact_detail import ContactDetailScreen
from screens.lead_detail import LeadDetailScreen
from screens.modals.confirm import ConfirmModal
from screens.modals.merge_picker import MergePickerModal
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads


async def test_merging_a_lead_from_its_detail(any_world):
    world = any_world
    ids = seed_leads(world)
    keep, other = ids["Ann Alpha"], ids["Cid Gamma"]
    app = LeadHarness(lambda: LeadDetailScreen(world.session("user1"), keep))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MergePickerModal)
        await pilot.press(*"Cid")
        await settle(pilot)
        await pilot.press("enter")  # from the search to the list
        await pilot.press("enter")  # pick the first (the only) match
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
    assert Lead.get_or_none(Lead.id == other) is None
    assert Redirect.get(Redirect.kind == "lead", Redirect.old_id == other).new_id == keep
    assert LeadActivity.select().where(LeadActivity.lead == keep,
                                       LeadActivity.text.contains("merged lead")).exists()
    assert any(f"lead {other} merged into lead {keep}" in text for _, text in app.notes)


async def test_the_picker_offers_only_changeable_records_and_escape_merges_nothing(any_world):
    world = any_world
    ids = seed_leads(world)
    app = LeadHarness(lambda: LeadDetailScreen(world.session("user1"), ids["Ann Alpha"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        await pilot.press(*"Ben")  # Ben Beta: visible to user1, not his to change
        await settle(pilot)
        assert app.screen.query_one("#merge-options", OptionList).option_count == 0
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
    assert Lead.select().count() == len(ids)


async def test_merging_a_company_from_its_detail(any_world):
    admin = any_world.session("admin")
    company = get_kind("company")
    keep = company.create(admin, {"name": "Acme"})
    other = company.create(admin, {"name": "Acme Europe Ltd", "country": "France"})
    contact = get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@a.example",
                                                 "company": str(other)})
    app = LeadHarness(lambda: CompanyDetailScreen(admin, keep))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        await pilot.press(*"Europe")
        await settle(pilot)
        await pilot.press("down", "enter")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
    assert Company.get_or_none(Company.id == other) is None
    assert Contact.get_by_id(contact).company_id == keep
    assert company.get(admin, keep)["country"] == "France"


async def test_merging_a_contact_from_its_detail(any_world):
    admin, contact = any_world.session("admin"), get_kind("contact")
    at_a, at_b = str(any_world.cid("Customer #A")), str(any_world.cid("Customer #B"))
    keep = contact.create(admin, {"full_name": "Ana Ruiz", "email": "ana@a.example",
                                  "company": at_a})
    other = contact.create(admin, {"full_name": "Ana Ruiz Lopez", "email": "ana.r@a.example",
                                   "company": at_a, "phone": "+34 600"})
    # At Customer #B, which user1 sees but may not change: never offered to him.
    contact.create(admin, {"full_name": "Ana Other", "email": "ana@b.example",
                           "company": at_b})
    app = LeadHarness(lambda: ContactDetailScreen(any_world.session("user1"), keep))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, MergePickerModal)
        await pilot.press(*"Ana")
        await settle(pilot)
        options = app.screen.query_one("#merge-options", OptionList)
        offered = [str(options.get_option_at_index(i).prompt)
                   for i in range(options.option_count)]
        assert offered == [f"#{other} contact 'Ana Ruiz Lopez'"]
        await pilot.press("enter", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, ContactDetailScreen)
        shown = " ".join(str(s.render()) for s in app.screen.query(".detail-value"))
        assert "+34 600" in shown  # the kept contact took the other's phone
    assert Contact.get_or_none(Contact.id == other) is None
    assert Redirect.get(Redirect.kind == "contact", Redirect.old_id == other).new_id == keep
    assert any(f"contact {other} merged into contact {keep}" in text for _, text in app.notes)


async def test_a_contact_the_user_may_not_change_offers_no_merge(any_world):
    admin = any_world.session("admin")
    shown = get_kind("contact").create(admin, {"full_name": "Bo Berg", "email": "bo@b.example",
                                               "company": str(any_world.cid("Customer #B"))})
    app = LeadHarness(lambda: ContactDetailScreen(any_world.session("user1"), shown))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("M")
        await settle(pilot)
        assert isinstance(app.screen, ContactDetailScreen)  # greyed: nothing opened


async def test_converting_a_lead_from_its_detail(world):
    from crm_tui.models import WON_STATUS

    seed_leads(world)
    admin = world.session("admin")
    lead = get_kind("lead").create(admin, {"full_name": "Kim Lee", "email": "kim@n.example",
                                           "company_name": "Newco"})
    app = LeadHarness(lambda: LeadDetailScreen(admin, lead))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert "Closed successfully" in str(app.screen.query_one("#lead-header").render())
    company = Company.get(Company.name == "Newco")
    assert Lead.get_by_id(lead).status == WON_STATUS
    assert Contact.get(Contact.email == "kim@n.example").company_id == company.id
    assert any("converted" in text for _, text in app.notes)


async def test_a_new_company_like_an_existing_one_offers_to_open_or_merge_it(world):
    from tests.screens.crm_app_helpers import SIZE, app_for, press, type_text
    from tests.screens.crm_app_helpers import settle as settle_app

    existing = world.cid("Customer #A")
    app = app_for(world, "admin")
    async with app.run_test(size=SIZE) as pilot:
        await settle_app(pilot)
        await press(pilot, "1")
        await press(pilot, "n")
        await type_text(pilot, "customer #a")
        await press(pilot, "ctrl+s")
        assert "looks like one that exists" in str(
            app.screen.query_one("#duplicates-title").render())
        await press(pilot, "enter")  # open it
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        assert app.screen.company_id == existing
        await press(pilot, "q")
        await press(pilot, "n")
        await type_text(pilot, "customer #a")
        await press(pilot, "ctrl+s")
        await press(pilot, "down", "enter")  # merge the values into it
        assert type(app.screen).__name__ == "CompanyDetailScreen"
    assert Company.select().where(Company.name ** "customer #a").count() == 1
    from crm_tui.models import CompanyActivity

    note = CompanyActivity.get(CompanyActivity.company == existing)
    assert "name: customer #a" in note.text
