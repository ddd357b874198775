"""`w` on a lead's detail: pick one of its files and save a copy of it, by keys."""

from __future__ import annotations

from textual.widgets import Input, OptionList

from crm_tui.services import attachments, leads
from screens.lead_detail import LeadDetailScreen
from screens.modals.confirm import ConfirmModal
from screens.modals.save_attachment import SaveAttachmentModal
from tests.screens.crm_app_helpers import type_text
from tests.screens.lead_harness import LeadHarness, settle
from tests.unit.lead_world import seed_leads


async def test_w_saves_a_timeline_file_of_the_lead(world, tmp_path, monkeypatch):
    ids = seed_leads(world)
    user1 = world.session("user1")
    lead = ids["Cid Gamma"]
    attachments.add(user1, "lead", lead, "brief.txt", b"brief")
    leads.attach_file(user1, lead, "offer.pdf", b"%PDF-1.4 offer")
    out = tmp_path / "home"
    out.mkdir()
    monkeypatch.setenv("HOME", str(out))  # the path the dialog proposes

    app = LeadHarness(lambda: LeadDetailScreen(user1, lead))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert app.screen.active_bindings["w"].enabled
        await pilot.press("w")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SaveAttachmentModal)
        assert dialog.query_one("#files", OptionList).option_count == 2
        assert dialog.query_one("#path", Input).value == str(out)
        await pilot.press("down", "enter")  # the file the timeline entry brought
        await pilot.press("enter")  # in the path: save
        await settle(pilot)
        assert not isinstance(app.screen, SaveAttachmentModal)
        assert ("information", f"Saved {out / 'offer.pdf'}") in app.notes
        assert (out / "offer.pdf").read_bytes() == b"%PDF-1.4 offer"

        # Again: the file exists, the dialog asks before replacing it.
        (out / "offer.pdf").write_bytes(b"changed here")
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("down", "ctrl+s")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, SaveAttachmentModal)
        assert (out / "offer.pdf").read_bytes() == b"changed here"
        await pilot.press("ctrl+s")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
        assert (out / "offer.pdf").read_bytes() == b"%PDF-1.4 offer"


async def test_w_is_greyed_without_files_and_bad_paths_show_in_the_dialog(world, tmp_path,
                                                                          monkeypatch):
    ids = seed_leads(world)
    user1 = world.session("user1")
    app = LeadHarness(lambda: LeadDetailScreen(user1, ids["Ann Alpha"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert not app.screen.active_bindings["w"].enabled
        await pilot.press("w")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)

    attachments.add(user1, "lead", ids["Ann Alpha"], "brief.txt", b"brief")
    monkeypatch.chdir(tmp_path)
    app = LeadHarness(lambda: LeadDetailScreen(user1, ids["Ann Alpha"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        await settle(pilot)
        await pilot.press("enter", "end", "ctrl+u")
        await type_text(pilot, "nowhere/b.txt")  # relative to where crm runs
        await pilot.press("enter")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, SaveAttachmentModal)
        note = str(dialog.query_one("#save-note").render())
        assert "does not exist" in note
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LeadDetailScreen)
    assert not (tmp_path / "nowhere").exists()
