"""ctrl+p "Go to" by id: typing `#ID` offers the record of that id of each kind the user may
see; an id merged away offers, and opens, the record it was merged into and says so (both
backends)."""

from __future__ import annotations

from crm_tui.services import merging
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle, type_text


async def test_go_to_a_merged_away_id_opens_the_kept_record(any_world):
    admin = any_world.session("admin")
    at_a = str(any_world.cid("Customer #A"))
    contact = get_kind("contact")
    keep = contact.create(admin, {"full_name": "Zoe Kept", "email": "zoe@z.example",
                                  "company": at_a})
    other = contact.create(admin, {"full_name": "Zoe Gone", "email": "zoe.g@z.example",
                                   "company": at_a})
    merging.merge(admin, "contact", keep, other)
    app = app_for(any_world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, f"#{other}")
        await pilot.pause(0.5)
        await settle(pilot)
        from textual.command import CommandList

        hits = app.screen.query_one(CommandList)
        labels = [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]
        wanted = f"Go to contact #{keep}: Zoe Kept (#{other} was merged into it)"
        assert any(wanted in label for label in labels), labels
        index = next(i for i, label in enumerate(labels) if wanted in label)
        await press(pilot, "down")  # into the hits
        while hits.highlighted != index:
            await press(pilot, "down")
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "ContactDetailScreen"
        assert app.screen.contact_id == keep
        assert "Zoe Kept" in app.screen.screen_title()
    assert app.said(f"contact #{other} was merged into contact #{keep}")


async def test_go_to_an_id_offers_only_records_the_user_may_see(any_world):
    hidden = any_world.cid("Customer #B")  # user2 belongs to Customer #A only
    app = app_for(any_world, "user2")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "ctrl+p")
        await type_text(pilot, f"#{hidden}")
        await pilot.pause(0.5)
        await settle(pilot)
        from textual.command import CommandList

        hits = app.screen.query_one(CommandList)
        labels = [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]
        assert not any(f"#{hidden}:" in label for label in labels), labels
