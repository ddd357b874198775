"""Lead services: duplicates, creation from outside, merging, mass operations, timeline."""

from __future__ import annotations

import pytest

from crm_tui.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from crm_tui.models import Attachment, Company, Lead, LeadActivity, LeadTag, SentMail
from crm_tui.services import attachments, lead_mass, leads
from crm_tui.services.records import get_kind
from tests.unit.lead_world import seed_leads


@pytest.fixture
def ids(any_world):
    return seed_leads(any_world)


def activity_texts(lead_id: int) -> list[str]:
    return [e.text for e in LeadActivity.select().where(LeadActivity.lead == lead_id)
            .order_by(LeadActivity.id)]


# --- duplicates -----------------------------------------------------------------------------


def test_duplicate_by_normalised_email(any_world, ids):
    admin = any_world.session("admin")
    found = leads.find_duplicates(admin, {"email": "  ANN@Example.com "})
    assert [(d.id, d.reason) for d in found] == [(ids["Ann Alpha"], "same email")]


def test_duplicate_by_company_and_name_ignores_case_and_outer_spaces(any_world, ids):
    admin = any_world.session("admin")
    found = leads.find_duplicates(admin, {"full_name": " cid gamma ",
                                          "company_name": "GAMMA LTD"})
    assert [(d.id, d.reason) for d in found] == [(ids["Cid Gamma"], "same company and name")]
    # A name alone (no company) is too weak a match.
    assert leads.find_duplicates(admin, {"full_name": "Cid Gamma"}) == []


def test_duplicates_the_user_may_not_see_are_not_revealed(any_world, ids):
    # Eve's lead has no managing company and belongs to admin: user1 (no LM) cannot see it.
    user1 = any_world.session("user1")
    assert leads.find_duplicates(user1, {"email": "eve@example.com"}) == []
    manager1 = any_world.session("manager1")
    assert [d.id for d in leads.find_duplicates(manager1, {"email": "eve@example.com"})] == [
        ids["Eve Epsilon"]]


def test_create_lead_warns_and_notes_a_duplicate(any_world, ids):
    admin = any_world.session("admin")
    created = leads.create_lead(admin, {"full_name": "Ann Again", "email": "ann@example.com"})
    assert [d.id for d in created.duplicates] == [ids["Ann Alpha"]]
    texts = activity_texts(created.id)
    assert texts[0] == "Lead created"
    assert texts[1].startswith(f"Possible duplicate of lead #{ids['Ann Alpha']} 'Ann Alpha'")


def test_create_lead_refusing_duplicates_writes_nothing(any_world, ids):
    admin = any_world.session("admin")
    before = Lead.select().count()
    with pytest.raises(Conflict, match="resembles lead #"):
        leads.create_lead(admin, {"full_name": "X", "email": "ANN@example.com"},
                          on_duplicate="refuse")
    assert Lead.select().count() == before
    # Bad input is reported as such, before the duplicate question.
    with pytest.raises(ValidationFailed, match="email"):
        leads.create_lead(admin, {"full_name": "X", "email": "not-an-address"},
                          on_duplicate="refuse")
    assert Lead.select().count() == before


# --- merging --------------------------------------------------------------------------------


def test_merge_moves_everything_and_deletes_the_other(any_world, ids, data_dir):
    admin = any_world.session("admin")
    kind = get_kind("lead")
    keep = kind.create(admin, {"full_name": "Kim Keep", "email": "", "tags": "hot"})
    other = ids["Cid Gamma"]
    leads.add_note(admin, other, "called twice")
    entry = leads.attach_file(admin, other, "offer.pdf", b"%PDF-1")
    SentMail.create(lead=other, message_id="<m1@crm>", created=admin.clock.now())
    leads.merge(admin, keep, other)

    assert Lead.get_or_none(Lead.id == other) is None
    row = kind.get(admin, keep)
    assert row["full_name"] == "Kim Keep"
    assert row["email"] == "cid@example.com"          # filled from the other
    assert row["estimated_sale"] == "5000.00"
    assert row["company"] == any_world.cid("Customer #A")
    assert sorted(row["tags"]) == ["hot", "vip"]
    texts = [e["text"] for e in row["activity"]]
    assert texts[0] == f"merged lead #{other} 'Cid Gamma' into this lead"
    assert "called twice" in texts
    assert LeadActivity.get_by_id(entry).lead_id == keep
    assert attachments.read(admin, Attachment.get(Attachment.owner_id == entry).id)[1] == b"%PDF-1"
    assert SentMail.get(SentMail.message_id == "<m1@crm>").lead_id == keep


def test_merge_needs_modify_access_to_both_and_writes_nothing_otherwise(any_world, ids):
    user1 = any_world.session("user1")
    ben = ids["Ben Beta"]  # Customer #B: user1 sees it read-only
    before = activity_texts(ids["Ann Alpha"])
    with pytest.raises(PermissionDenied):
        leads.merge(user1, ids["Ann Alpha"], ben)
    assert Lead.get_or_none(Lead.id == ben) is not None
    assert activity_texts(ids["Ann Alpha"]) == before
    with pytest.raises(ValidationFailed, match="itself"):
        leads.merge(user1, ids["Ann Alpha"], ids["Ann Alpha"])


def test_merge_values_fills_blanks_and_notes_differences(any_world, ids):
    admin = any_world.session("admin")
    eve = ids["Eve Epsilon"]
    leads.merge_values(admin, eve, {"full_name": "Eve E.", "email": "eve@other.org",
                                    "country": "Italy", "description": "wants a demo"})
    row = get_kind("lead").get(admin, eve)
    assert row["country"] == "Italy"
    assert row["description"] == "wants a demo"
    assert row["email"] == "eve@example.com"
    note = row["activity"][0]["text"]
    assert "email: eve@other.org" in note and "full_name: Eve E." in note


# --- mass operations ------------------------------------------------------------------------


def test_mass_status_change_on_three_leads(any_world, ids):
    manager1 = any_world.session("manager1")
    chosen = [ids["Ann Alpha"], ids["Ben Beta"], ids["Dee Delta"]]
    result = lead_mass.mass_update(manager1, chosen, "status", "3")
    assert sorted(result.changed) == sorted(chosen)
    assert result.refused == [] and result.unchanged == []
    assert {lead.status for lead in Lead.select().where(Lead.id.in_(chosen))} == {3}
    assert activity_texts(ids["Dee Delta"])[-1] == "status Needs discovered -> Proposal delivered"
    entry = LeadActivity.select().where(LeadActivity.lead == ids["Ann Alpha"]).order_by(
        LeadActivity.id.desc()).get()
    assert (entry.kind, entry.author) == ("status", "manager1")


def test_mass_operations_take_lm(any_world, ids):
    with pytest.raises(PermissionDenied, match="LM"):
        lead_mass.mass_update(any_world.session("user1"), [ids["Ann Alpha"]], "status", "2")


def test_mass_is_all_or_nothing_unless_partial(any_world, ids):
    admin = any_world.session("admin")
    manager1 = any_world.session("manager1")
    # A lead of the root company (managed by admin) is invisible to manager1.
    hidden = get_kind("lead").create(admin, {"full_name": "Root Lead",
                                             "company": str(any_world.cid("My company"))})
    chosen = [ids["Ann Alpha"], hidden, ids["Ben Beta"]]
    with pytest.raises(lead_mass.MassRefused) as refused:
        lead_mass.mass_update(manager1, chosen, "add_tag", "vip")
    assert [lead_id for lead_id, _ in refused.value.result.refused] == [hidden]
    assert "1 of 3 selected leads" in str(refused.value)
    assert not LeadTag.select().where(LeadTag.lead == ids["Ann Alpha"],
                                      LeadTag.tag == _tag("vip")).exists()
    result = lead_mass.mass_update(manager1, chosen, "add_tag", "vip", partial=True)
    assert result.changed == [ids["Ann Alpha"], ids["Ben Beta"]]
    assert [lead_id for lead_id, _ in result.refused] == [hidden]
    assert activity_texts(ids["Ben Beta"])[-1] == "tag vip added"
    again = lead_mass.mass_update(manager1, [ids["Ann Alpha"], ids["Dee Delta"]], "add_tag", "vip")
    assert (again.unchanged, again.changed) == ([ids["Ann Alpha"]], [ids["Dee Delta"]])


def _tag(name: str) -> int:
    from crm_tui.models import Tag

    return Tag.get(Tag.name == name).id


def test_mass_owner_remove_tag_and_delete(any_world, ids):
    manager1 = any_world.session("manager1")
    chosen = [ids["Cid Gamma"], ids["Fay Won"]]
    result = lead_mass.mass_update(manager1, chosen, "owner", "manager1")
    assert result.changed == chosen
    assert {lead.owner_id for lead in Lead.select().where(Lead.id.in_(chosen))} == {
        any_world.users["manager1"]}
    assert activity_texts(ids["Cid Gamma"])[-1] == "owner user1 -> manager1"
    result = lead_mass.mass_update(manager1, chosen, "remove_tag", "vip")
    assert result.changed == chosen
    assert not LeadTag.select().where(LeadTag.lead.in_(chosen), LeadTag.tag == _tag("vip")).exists()
    with pytest.raises(ValidationFailed, match="no such tag"):
        lead_mass.mass_update(manager1, chosen, "add_tag", "nope")
    with pytest.raises(ValidationFailed, match="no such user"):
        lead_mass.mass_update(manager1, chosen, "owner", "nobody")

    entry = leads.attach_file(manager1, ids["Cid Gamma"], "a.txt", b"x")
    stored = Attachment.get(Attachment.owner_id == entry).stored_name
    result = lead_mass.mass_update(manager1, chosen, "delete")
    assert result.changed == chosen
    assert not Lead.select().where(Lead.id.in_(chosen)).exists()
    assert not Attachment.select().where(Attachment.stored_name == stored).exists()
    assert not attachments.path_of(stored).exists()


def test_mass_owner_change_may_not_put_a_lead_out_of_reach(any_world, ids):
    admin = any_world.session("admin")
    # A Sales manager outside My company owns a lead of Customer #B he cannot otherwise reach.
    get_kind("user").create(admin, {"login": "sm", "profiles": "Sales manager",
                                    "company": str(any_world.cid("Customer #A"))})
    own = get_kind("lead").create(admin, {"full_name": "Own", "owner": "sm",
                                          "company": str(any_world.cid("Customer #B"))})
    sm = any_world.session("sm")
    with pytest.raises(lead_mass.MassRefused, match="may not modify"):
        lead_mass.mass_update(sm, [own], "owner", "manager1")
    assert Lead.get_by_id(own).owner.login == "sm"


def test_mass_company_checks_each_lead_and_the_company(any_world, ids):
    admin = any_world.session("admin")
    manager1 = any_world.session("manager1")
    customer_b = any_world.cid("Customer #B")
    hidden = get_kind("lead").create(admin, {"full_name": "Root Lead",
                                             "company": str(any_world.cid("My company"))})
    chosen = [ids["Ann Alpha"], hidden, ids["Ben Beta"], ids["Cid Gamma"]]
    with pytest.raises(lead_mass.MassRefused) as refused:
        lead_mass.mass_update(manager1, chosen, "company", str(customer_b))
    # The refused lead is named by its id only, as one that does not exist.
    assert refused.value.result.refused == [(hidden, f"lead {hidden} does not exist")]
    assert Lead.get_by_id(ids["Ann Alpha"]).company_id == any_world.cid("Customer #A")

    result = lead_mass.mass_update(manager1, chosen, "company", "Customer #B", partial=True)
    assert (result.changed, result.unchanged) == (
        [ids["Ann Alpha"], ids["Cid Gamma"]], [ids["Ben Beta"]])
    assert {lead.company_id for lead in Lead.select().where(Lead.id.in_(chosen))
            if lead.id != hidden} == {customer_b}
    assert Lead.get_by_id(hidden).company_id == any_world.cid("My company")
    assert activity_texts(ids["Ann Alpha"])[-1] == "company Customer #A -> Customer #B"
    assert result.summary() == "set company: 2 changed, 1 already so, 1 refused"

    # No company at all: the leads stay his (he holds LM).
    result = lead_mass.mass_update(manager1, [ids["Ann Alpha"]], "company", "")
    assert result.changed == [ids["Ann Alpha"]]
    assert Lead.get_by_id(ids["Ann Alpha"]).company_id is None
    assert activity_texts(ids["Ann Alpha"])[-1] == "company Customer #B -> (none)"
    from crm_tui import i18n
    from crm_tui.services.stored_lines import readable

    with i18n.in_language("es"):  # stored in English, read in the reader's language
        assert readable(activity_texts(ids["Ann Alpha"])[-1]) == (
            "empresa Customer #B → (ninguno)")
        assert readable("lead type (not visible) -> Reseller") == (
            "tipo de lead (no visible) → Reseller")


def test_mass_company_refuses_a_company_the_user_may_not_use(any_world, ids):
    admin = any_world.session("admin")
    manager1 = any_world.session("manager1")
    # A hidden company is answered as one that does not exist; nothing is written.
    with pytest.raises(ValidationFailed) as hidden:
        lead_mass.mass_update(manager1, [ids["Ben Beta"]], "company",
                              str(any_world.cid("My company")))
    with pytest.raises(ValidationFailed) as missing:
        lead_mass.mass_update(manager1, [ids["Ben Beta"]], "company", "99999")
    assert [(p.field, p.reason) for p in hidden.value.problems] == [
        (p.field, p.reason) for p in missing.value.problems] == [("company", "no such company")]
    # A company he sees but may not modify (LM without CM) takes no leads of his.
    get_kind("profile").create(admin, {"name": "Lead boss", "bits": "CR,CW,LR,LW,LM"})
    get_kind("user").create(admin, {"login": "lb", "profiles": "Lead boss",
                                    "company": str(any_world.cid("My company"))})
    lb = any_world.session("lb")
    own = get_kind("lead").create(admin, {"full_name": "Own", "owner": "lb"})
    assert get_kind("company").can_view(lb, Company.get_by_id(any_world.cid("Customer #B")))
    with pytest.raises(PermissionDenied, match="lb may not put leads under Customer #B"):
        lead_mass.mass_update(lb, [own], "company", str(any_world.cid("Customer #B")))
    assert Lead.get_by_id(own).company_id is None
    assert lead_mass.value_choices(lb, "company", "") == [("(no company)", "")]
    offered = lead_mass.value_choices(manager1, "company", "")
    assert offered[0] == ("(no company)", "")
    assert [title for title, _value in offered[1:]] == ["Customer #A", "Customer #B"]
    assert lead_mass.value_choices(manager1, "company", "cust", 1, 5) == [
        ("Customer #B", str(any_world.cid("Customer #B")))]


def test_mass_lead_type(any_world, ids):
    admin = any_world.session("admin")
    manager1 = any_world.session("manager1")
    reseller = get_kind("lead-type").create(admin, {"name": "Reseller"})
    chosen = [ids["Ann Alpha"], ids["Ben Beta"]]
    assert ("Reseller", str(reseller)) in lead_mass.value_choices(manager1, "lead_type", "res")
    result = lead_mass.mass_update(manager1, chosen, "lead_type", "Reseller")
    assert result.changed == chosen
    assert {Lead.get_by_id(i).lead_type_id for i in chosen} == {reseller}
    assert activity_texts(ids["Ben Beta"])[-1] == "lead type (none) -> Reseller"
    again = lead_mass.mass_update(manager1, chosen, "lead_type", str(reseller))
    assert again.unchanged == chosen
    with pytest.raises(ValidationFailed, match="no such lead type"):
        lead_mass.mass_update(manager1, chosen, "lead_type", "Nope")
    # A lead he may not change refuses the whole change.
    hidden = get_kind("lead").create(admin, {"full_name": "Root Lead",
                                             "company": str(any_world.cid("My company"))})
    with pytest.raises(lead_mass.MassRefused):
        lead_mass.mass_update(manager1, [hidden, ids["Cid Gamma"]], "lead_type", "Reseller")
    assert Lead.get_by_id(ids["Cid Gamma"]).lead_type_id is None
    cleared = lead_mass.mass_update(manager1, chosen, "lead_type", "")
    assert cleared.changed == chosen
    assert {Lead.get_by_id(i).lead_type_id for i in chosen} == {None}


# --- timeline and detail --------------------------------------------------------------------


def test_set_status_writes_an_activity_entry(any_world, ids):
    user1 = any_world.session("user1")
    leads.set_status(user1, ids["Ann Alpha"], 1)
    entry = LeadActivity.select().where(LeadActivity.lead == ids["Ann Alpha"]).order_by(
        LeadActivity.id.desc()).get()
    assert (entry.kind, entry.author, entry.text) == ("status", "user1",
                                                      "status New -> Meeting arranged")
    with pytest.raises(PermissionDenied):
        leads.set_status(user1, ids["Ben Beta"], 1)
    assert Lead.get_by_id(ids["Ben Beta"]).status == 0


def test_renamed_statuses_show_in_the_timeline(any_world, ids):
    from crm_tui.services import settings

    admin = any_world.session("admin")
    settings.set_value(admin, "lead.status.1", "Call booked")
    leads.set_status(admin, ids["Ann Alpha"], 1)
    assert activity_texts(ids["Ann Alpha"])[-1] == "status New -> Call booked"


def test_the_timeline_s_own_lines_are_stored_in_english_and_read_in_each_language(
        any_world, ids):
    from crm_tui import i18n
    from screens.lead_detail import render_timeline

    admin = any_world.session("admin")
    leads.set_status(admin, ids["Ann Alpha"], 8, reason="Price")
    leads.add_note(admin, ids["Ann Alpha"], "status New -> Lost")  # a note is as written
    stored = activity_texts(ids["Ann Alpha"])[-2:]
    assert stored[0].startswith("status New -> ") and stored[0].endswith("\nReason: Price")
    from crm_tui.services.stored_lines import readable

    assert readable(stored[0]) == stored[0]
    with i18n.in_language("es"):
        spanish = readable(stored[0]).splitlines()
        timeline = render_timeline(leads.activity(admin, ids["Ann Alpha"]), []).plain
    # The default status names are read in Spanish too; a name someone gave stays as given.
    assert spanish == ["estado Nuevo → Cerrado con éxito", "Motivo: Price"]
    assert "Motivo: Price" in timeline and "status New -> Lost" in timeline
    with i18n.in_language("es"):
        assert readable("status New -> First call") == "estado Nuevo → First call"
    assert activity_texts(ids["Ann Alpha"])[-2:] == stored  # the record stays English


def test_detail_has_every_field_the_timeline_and_rights(any_world, ids):
    user1 = any_world.session("user1")
    entry = leads.attach_file(user1, ids["Cid Gamma"], "../../etc/offer.pdf", b"1234")
    leads.add_note(user1, ids["Cid Gamma"], "sent the offer")
    row = leads.detail(user1, ids["Cid Gamma"])
    assert row["tag_chips"] == [("hot", "red"), ("vip", "yellow")]
    assert row["modifiable"] is True
    assert row["owner_name"] == "User #1"
    assert row["company_label"] == "Customer #A"
    assert [e["text"] for e in row["activity"]][:2] == ["sent the offer", "Attached offer.pdf"]
    assert row["activity"][1]["attachments"][0]["name"] == "offer.pdf"
    assert row["activity"][1]["id"] == entry
    assert leads.detail(user1, ids["Ben Beta"])["modifiable"] is False
    with pytest.raises(NotFound):
        leads.detail(user1, ids["Eve Epsilon"])


def test_list_columns_are_the_visible_custom_fields_of_lead_types(any_world):
    admin = any_world.session("admin")
    type_id = get_kind("lead-type").create(admin, {"name": "Hardware"})
    fields = get_kind("field")
    fields.create(admin, {"name": "Units", "kind": "numeric", "entity": f"lead_type:{type_id}",
                          "visible": "1"})
    fields.create(admin, {"name": "Notes", "kind": "text", "entity": f"lead_type:{type_id}"})
    assert [c["name"] for c in leads.list_columns(admin)] == ["Units"]
    lead = get_kind("lead").create(admin, {"full_name": "T", "lead_type": str(type_id),
                                           "custom.Units": "12"})
    assert get_kind("lead").list(admin, {"custom.Units": "12.000000"})[0]["id"] == lead


def test_advanced_filters(any_world, ids):
    admin = any_world.session("admin")
    kind = get_kind("lead")

    def names(filters):
        return sorted(r["full_name"] for r in kind.list(admin, filters))

    assert names({"closed": "0", "country": "Spain"}) == ["Ann Alpha", "Cid Gamma"]
    assert names({"closed": "1", "owner": "user1", "tag": "vip"}) == ["Cid Gamma", "Fay Won"]
    assert names({"created_from": "2026-01-06", "created_to": "2026-01-13"}) == [
        "Ben Beta", "Cid Gamma"]
    assert names({"close_from": "2026-01-01", "close_to": "2026-02-01"}) == [
        "Ann Alpha", "Dee Delta"]
    assert names({"without_owner": "1"}) == []
    assert names({"q": "gamma"}) == ["Cid Gamma"]
    with pytest.raises(ValidationFailed, match="created_from"):
        kind.list(admin, {"created_from": "someday"})


def test_deleting_a_lead_removes_its_files(any_world, ids):
    manager1 = any_world.session("manager1")
    entry = leads.attach_file(manager1, ids["Dee Delta"], "a.txt", b"x")
    stored = Attachment.get(Attachment.owner_id == entry).stored_name
    assert attachments.path_of(stored).exists()
    get_kind("lead").delete(manager1, ids["Dee Delta"])
    assert not Lead.select().where(Lead.id == ids["Dee Delta"]).exists()
    assert not Attachment.select().where(Attachment.stored_name == stored).exists()
    assert not attachments.path_of(stored).exists()
    with pytest.raises(PermissionDenied, match="LM"):
        get_kind("lead").delete(any_world.session("user1"), ids["Ann Alpha"])
