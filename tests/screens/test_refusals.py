"""A key greyed because the user may not do it says why when pressed, naming only the record
the user sees; a key greyed for another reason stays quiet."""

from __future__ import annotations

from crm_tui import i18n
from crm_tui.services.records import get_kind
from tests.screens.crm_app_helpers import SIZE, app_for, press, settle


def warnings(app) -> list[str]:
    return [text for severity, text in app.notes if severity == "warning"]


async def test_a_read_only_company_says_why_its_keys_do_nothing(world):
    # user1 sees Customer #B (its manager is Manager #1) but may not change it.
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "down")  # the tree: Customer #A, then Customer #B
        assert app.screen.current_record_title() == "Customer #B"
        assert app.screen.active_bindings["e"].enabled is False
        await press(pilot, "e")
        assert warnings(app) == ["read-only: you may not modify Customer #B"]
        assert type(app.screen).__name__ == "CompaniesScreen"  # nothing opened
        await press(pilot, "d")
        assert warnings(app)[-1] == "you may not delete Customer #B"

        await press(pilot, "enter")
        assert type(app.screen).__name__ == "CompanyDetailScreen"
        app.notes.clear()
        for key in ("e", "a", "t"):
            assert app.screen.active_bindings[key].enabled is False
            await press(pilot, key)
        assert warnings(app) == ["read-only: you may not modify Customer #B"] * 3
        assert type(app.screen).__name__ == "CompanyDetailScreen"  # no dialog opened
        # w is greyed because the company has no files, not for want of rights: quiet.
        assert app.screen.active_bindings["w"].enabled is False
        await press(pilot, "w")
        assert len(warnings(app)) == 3
        # Nothing else about the company is named (its manager, say).
        assert not any("Manager" in text for text in warnings(app))


async def test_a_changeable_company_does_what_the_key_says(world):
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.current_record_title() == "Customer #A"  # user1 manages it
        await press(pilot, "e")
        assert type(app.screen).__name__ == "RecordFormModal"
        assert not warnings(app)


async def test_a_read_only_contact_says_why_in_spanish(world):
    get_kind("contact").create(world.session("admin"), {
        "full_name": "Chen Li", "email": "chen@example.com",
        "company": str(world.cid("Customer #B"))})
    i18n.override_language("es")
    try:
        app = app_for(world, "user1")
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "2", "enter")
            assert type(app.screen).__name__ == "ContactDetailScreen"
            await press(pilot, "e", "d")
            assert warnings(app) == ["solo lectura: no puede modificar Chen Li",
                                     "no puede borrar Chen Li"]
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)


async def test_a_read_only_lead_says_why_on_the_list_and_its_detail(world):
    from tests.unit.lead_world import seed_leads

    seed_leads(world)  # Ben Beta belongs to Customer #B: user1 sees it, may not change it
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "5", "down")
        assert app.screen.current_record_title() == "Ben Beta"
        await press(pilot, "e")
        assert warnings(app) == ["read-only: you may not modify Ben Beta"]
        await press(pilot, "enter")
        assert type(app.screen).__name__ == "LeadDetailScreen"
        app.notes.clear()
        await press(pilot, "e", "a", "t")
        assert warnings(app) == ["read-only: you may not modify Ben Beta"] * 3
        assert type(app.screen).__name__ == "LeadDetailScreen"


async def test_invoice_keys_he_may_not_use_say_why_on_the_invoice_list(world):
    from crm_tui.services import invoice_issue, invoices
    from tests.screens.test_invoices_screen import MANUAL

    admin = world.session("admin")
    # user1 reads invoices (IR) of the companies he may change, and writes none.
    get_kind("profile").create(admin, {"name": "Invoice reader", "bits": "CR,CW,IR"})
    get_kind("user").update(admin, "user1", {"profiles": "Invoice reader"})
    company = str(world.cid("Customer #A"))
    with invoices.deferred_pdfs():
        issued = get_kind("invoice").create(admin, {"company": company, **MANUAL})
        invoice_issue.issue(admin, issued)
        draft = get_kind("invoice").create(admin, {"company": company, **MANUAL})
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        app.screen.query_one("#records").focus()
        await settle(pilot)
        rows = {}
        for _ in range(2):
            rows[app.screen.current_record_id()] = app.screen.current_record_title()
            if app.screen.current_record_id() == draft:
                for key in ("I", "L"):
                    assert app.screen.active_bindings[key].enabled is False
                await press(pilot, "I", "L")
                assert warnings(app)[-2:] == [f"you may not issue invoice #{draft}",
                                              f"you may not lock invoice #{draft}"]
            else:
                app.notes.clear()
                await press(pilot, "I")  # already issued: greyed for that, and quiet
                assert warnings(app) == []
                await press(pilot, "C", "L")
                bill = rows[issued]
                assert warnings(app) == [f"you may not issue a credit note for invoice '{bill}'",
                                         f"you may not unlock invoice '{bill}'"]
            await press(pilot, "down")
        assert set(rows) == {issued, draft}
        assert type(app.screen).__name__ == "InvoicesScreen"  # no dialog opened


async def test_a_contract_he_may_not_renew_says_why(world):
    admin = world.session("admin")
    get_kind("contract").create(admin, {"name": "Support 2026", "company": str(
        world.cid("Customer #A")), "date_begin": "2026-01-01", "date_end": "2026-12-31"})
    # user1 only reads (CR): he sees the contract, and renewing makes a new one.
    get_kind("profile").create(admin, {"name": "Reader", "bits": "CR"})
    get_kind("user").update(admin, "user1", {"profiles": "Reader"})
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "3")
        app.screen.query_one("#records").focus()
        await settle(pilot)
        assert app.screen.current_record_title() == "Support 2026"
        assert app.screen.active_bindings["c"].enabled is False
        await press(pilot, "c")
        assert warnings(app) == [
            "you may not create contracts, so you may not renew Support 2026"]
        assert type(app.screen).__name__ == "ContractsScreen"


async def test_a_read_only_lead_on_the_board_says_why_its_moves_do_nothing(world):
    from crm_tui.models import Lead
    from tests.unit.lead_world import seed_leads
    from widgets.kanban import KanbanBoard

    ids = seed_leads(world)  # Ben Beta (Customer #B, owner manager1): user1 only looks
    app = app_for(world, "user1")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await press(pilot, "6")
        board = app.screen.query_one(KanbanBoard)
        while board.cursor_card.key != ids["Ben Beta"]:
            await press(pilot, "j")
        await settle(pilot)
        for key in ("W", "X", "g", "greater_than_sign"):
            assert app.active_bindings[key].enabled is False, key
        app.notes.clear()
        await press(pilot, "W", "X", "g", "greater_than_sign", "shift+right")
        await settle(pilot)
        assert warnings(app) == ["read-only: you may not modify Ben Beta"] * 5
        assert type(app.screen).__name__ == "PipelineScreen"  # no dialog asked anything
        assert Lead.get_by_id(ids["Ben Beta"]).status == 0
        assert board.cursor_card.key == ids["Ben Beta"]
        # Nothing else about the lead is named (its owner, its company).
        assert not any("manager1" in text or "Customer" in text for text in warnings(app))

        # His own lead moves as before: its keys are not greyed.
        while board.cursor_card.key != ids["Ann Alpha"]:
            await press(pilot, "k")
        await settle(pilot)
        assert app.active_bindings["W"].enabled is True
        app.notes.clear()
        await press(pilot, "greater_than_sign")
        await settle(pilot)
        assert Lead.get_by_id(ids["Ann Alpha"]).status == 1
        assert warnings(app) == []


async def test_mail_he_may_handle_but_not_discard_says_why_in_spanish(world):
    from crm_tui.models import FiledMessage
    from tests.screens.test_mail_screen import _arrives

    get_kind("user").create(world.session("admin"), {
        "login": "sales1", "real_name": "Sales One", "profiles": "Sales",
        "company": str(world.cid("My company")), "password": "sales1-pw"})
    assert _arrives(world, "Hello?", "one@elsewhere.example") == "unmatched"
    mail_id = FiledMessage.get(FiledMessage.subject == "Hello?").id
    i18n.override_language("es")
    try:
        app = app_for(world, "sales1")  # Sales: handles unmatched mail, may not discard (LM)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            await press(pilot, "9")
            assert app.active_bindings["d"].enabled is False
            await press(pilot, "d")
            assert warnings(app) == [f"no puede descartar el correo {mail_id}"]
            assert type(app.screen).__name__ == "MailScreen"  # nothing asked
            assert FiledMessage.get_by_id(mail_id).outcome == "unmatched"
    finally:
        i18n.clear_override()
        i18n.set_language(i18n.SOURCE_LANGUAGE)
