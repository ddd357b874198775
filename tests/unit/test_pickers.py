"""What a form's picker offers (services.pickers), on SQLite and PostgreSQL: matches by typed
words without regard to accents or case, pages in title order, and only what the user may
see and, for a write that takes its access from the company, modify."""

from __future__ import annotations

import pytest

from crm_tui.services import forms, pickers
from crm_tui.services.records import get_kind


def _titles(found):
    return [title for title, _value in found]


def test_typing_narrows_without_regard_to_accents_or_case(any_world):
    admin = any_world.session("admin")
    companies = get_kind("company")
    garcia = companies.create(admin, {"name": "García Hermanos"})
    companies.create(admin, {"name": "Garcés Logística"})
    companies.create(admin, {"name": "ENERGÍA Solar"})
    assert pickers.choices(admin, "contact", "company", "garcia") == [
        ("García Hermanos", str(garcia))]
    assert _titles(pickers.choices(admin, "contact", "company", "energia")) == ["ENERGÍA Solar"]
    assert _titles(pickers.choices(admin, "contact", "company", "GARC")) == [
        "Garcés Logística", "García Hermanos"]
    # The value a picker hands the form is the id, which the form's save takes as ever.
    contact = forms.submit(admin, "contact", None, {"full_name": "Ana", "email": "ana@example.com",
                                                  "company": str(garcia)})
    assert get_kind("contact").load(admin, contact).company_id == garcia


def test_pages_follow_each_other_in_title_order(any_world):
    admin = any_world.session("admin")
    companies = get_kind("company")
    for number in range(45):
        companies.create(admin, {"name": f"Acme {number:02d}"})
    first = pickers.choices(admin, "lead", "company", "acme", 0, 20)
    second = pickers.choices(admin, "lead", "company", "acme", 20, 20)
    third = pickers.choices(admin, "lead", "company", "acme", 40, 20)
    assert _titles(first + second + third) == [f"Acme {n:02d}" for n in range(45)]


def test_an_operator_is_offered_only_what_he_may_see_and_for_a_write_modify(any_world):
    user1 = any_world.session("user1")
    # user1 manages Customer #A; he may see Customer #B (a colleague's company with a
    # parent) but not modify it, and may not see My company at all.
    assert _titles(pickers.choices(user1, "company", "parent", "")) == [
        "Customer #A", "Customer #B"]
    assert _titles(pickers.choices(user1, "contact", "company", "")) == ["Customer #A"]
    assert _titles(pickers.choices(user1, "contract", "company", "customer")) == ["Customer #A"]
    assert pickers.choices(user1, "company", "parent", "my company") == []
    # What a user without CRM rights is offered: nothing.
    assert pickers.choices(any_world.session("user2"), "company", "parent", "") == []


def test_users_are_found_by_login_or_name_and_a_hidden_reference_keeps_its_id(any_world):
    user1 = any_world.session("user1")
    assert pickers.choices(user1, "company", "manager", "manager #") == [
        ("manager1 (Manager #1)", "manager1")]
    hidden = str(any_world.cid("My company"))
    assert pickers.chosen(user1, "company", "parent", hidden) == [("(not visible)", hidden)]
    described = {d["key"]: d for d in forms.describe(user1, "company",
                                                     any_world.cid("Customer #A"))}
    assert described["parent"]["kind"] == "pick"
    assert described["parent"]["value"] == hidden


def test_statuses_are_chosen_by_their_configured_names(any_world):
    from crm_tui.services import settings

    admin = any_world.session("admin")
    settings.set_value(admin, "lead.status.2", "Demo booked")
    status = {d["key"]: d for d in forms.describe(admin, "lead", None)}["status"]
    assert status["kind"] == "pick"
    assert ("Demo booked", "2") in status["choices"]
    # The picker starts with the current status (a new lead's default), by name.
    assert status["options"] == [pair for pair in status["choices"]
                                 if pair[1] == status["value"]]


def test_a_field_that_is_no_reference_is_refused(world):
    with pytest.raises(KeyError):
        pickers.choices(world.session("admin"), "company", "name", "")


def test_a_common_word_pages_oldest_first_and_an_operator_still_sees_only_his(any_world):
    from crm_tui.models import Company
    from crm_tui.services.companies import refresh_manager_companies
    from crm_tui.services.search import reindex_all

    user1 = any_world.users["user1"]
    parent = any_world.cid("My company")
    # More companies with the word than the index calls rare: it is checked per company,
    # and user1's rule, holding for thousands, is checked per row too.
    Company.insert_many([{"name": f"Nimbus {n:04d}", "manager": user1, "parent": parent}
                         for n in range(2100)]).execute()
    hidden = get_kind("company").create(any_world.session("admin"), {"name": "Nimbus Hidden"})
    refresh_manager_companies()
    reindex_all("company")
    ids = [c.id for c in Company.select(Company.id).where(Company.name.startswith("Nimbus 0"),
                                                          Company.manager == user1)
           .order_by(Company.id).limit(40)]
    for login in ("admin", "user1"):
        session = any_world.session(login)
        first = pickers.choices(session, "contact", "company", "nimb", 0, 20)
        second = pickers.choices(session, "contact", "company", "nimb", 20, 20)
        assert [int(value) for _title, value in first + second] == ids
    everything = pickers.choices(any_world.session("user1"), "contact", "company", "nimbus",
                                 0, pickers.MAX_PAGE)
    offset = pickers.MAX_PAGE
    while True:
        page = pickers.choices(any_world.session("user1"), "contact", "company", "nimbus",
                               offset, pickers.MAX_PAGE)
        if not page:
            break
        everything += page
        offset += len(page)
    assert len(everything) == 2100 and str(hidden) not in {v for _t, v in everything}


def test_common_words_page_along_the_index_by_the_word_they_start(any_world, monkeypatch):
    from crm_tui.models import Company
    from crm_tui.services import search
    from crm_tui.services.companies import refresh_manager_companies
    from crm_tui.services.search import reindex_all, words_of

    # Words this common are read along the search index (a million companies' numbers
    # starting with "77" are; here a handful is made as common).
    monkeypatch.setattr(search, "_COMMON", 3)
    user1 = any_world.users["user1"]
    parent = any_world.cid("My company")
    # Created in an order that neither the names nor the ids follow along the index; one
    # company has two words starting with "7", one has none.
    names = ["Zeta 79", "Alpha 7", "Delta 770", "Beta 77 7", "Gamma 70", "Zeta 7",
             "Omega 707", "Delta 8", "Alpha 71", "Kappa 77", "Zeta 700"]
    Company.insert_many([{"name": name, "manager": user1 if n % 3 else None, "parent": parent}
                         for n, name in enumerate(names)]).execute()
    refresh_manager_companies()
    reindex_all("company")

    def expected(login, typed):
        """The visible companies with a word starting with each typed word, by the first
        word the longest typed one starts, then by id (read without the index)."""
        rule = (Company.manager == user1) if login == "user1" else (Company.id > 0)
        found = []
        for record_id, name in Company.select(Company.id, Company.name).where(rule).tuples():
            words = words_of(name)
            if all(any(w.startswith(t) for w in words) for t in typed):
                first = max(typed, key=len)
                found.append((min(w for w in words if w.startswith(first)), record_id))
        return [str(record_id) for _word, record_id in sorted(found)]

    for login in ("admin", "user1"):
        session = any_world.session(login)
        for text, typed in (("7", ["7"]), ("77", ["77"]), ("zeta 7", ["zeta", "7"])):
            pages = [pickers.choices(session, "contact", "company", text, offset, 3)
                     for offset in range(0, 12, 3)]
            values = [value for page in pages for _title, value in page]
            assert values == expected(login, typed), (login, text)
            assert len(values) == len(set(values))
    admin = any_world.session("admin")
    assert _titles(pickers.choices(admin, "contact", "company", "7", 0, 6)) == [
        "Alpha 7", "Beta 77 7", "Zeta 7", "Gamma 70", "Zeta 700", "Omega 707"]
    assert _titles(pickers.choices(admin, "contact", "company", "zeta 7")) == [
        "Zeta 79", "Zeta 7", "Zeta 700"]


def test_the_settings_lead_owner_is_a_user_picker(any_world):
    admin = any_world.session("admin")
    described = {d["key"]: d for d in forms.settings_form(admin)}["mail.lead_owner"]
    assert (described["kind"], described["picker"]) == ("pick", "settings")
    assert pickers.choices(admin, "settings", "mail.lead_owner", "user #2") == [
        ("user2 (User #2)", "user2")]
    with pytest.raises(KeyError):
        pickers.choices(admin, "settings", "mail.smtp_host", "")


def test_a_custom_field_picks_its_contract_or_lead_type_by_name(any_world):
    from crm_tui.models import ContractType, CustomField
    from crm_tui.services.forms import FormRejected

    admin = any_world.session("admin")
    services = ContractType.get(ContractType.name == "Services contract")
    reseller = get_kind("lead-type").create(admin, {"name": "Reseller"})
    assert pickers.choices(admin, "field", "contract_type", "servi") == [
        ("Services contract", str(services.id))]
    assert pickers.choices(admin, "field", "lead_type", "res") == [("Reseller", str(reseller))]
    # No user without CRM rights is offered a type.
    assert pickers.choices(any_world.session("user2"), "field", "contract_type", "") == []
    # The form shows the entity's kind, and a typed one's type beside it, by name.
    new = {d["key"]: d for d in forms.describe(admin, "field", None, {"entity": "lead_type"})}
    assert new["entity"]["kind"] == "combo" and new["entity"]["reshapes"]
    assert [value for _label, value in new["entity"]["options"]] == [
        "company", "contact", "contract_type", "lead_type"]
    assert (new["lead_type"]["kind"], new["lead_type"]["picker"]) == ("pick", "field")
    assert "contract_type" not in new
    # The two come back as the one value the services take.
    field = forms.submit(admin, "field", None, {"name": "Hours", "kind": "numeric",
                                                "entity": "contract_type",
                                                "contract_type": str(services.id)})
    row = CustomField.get_by_id(field)
    assert (row.entity, row.entity_type_id) == ("contract_type", services.id)
    shown = {d["key"]: d for d in forms.describe(admin, "field", field)}
    assert shown["entity"]["value"] == "contract_type"
    assert shown["contract_type"]["options"] == [("Services contract", str(services.id))]
    # ... with the macro contract templates know its value by.
    assert f"_custom_{field}_" in shown["contract_type"]["help"]
    body = next(d for d in forms.describe(admin, "template", 1) if d["key"] == "body")
    assert "_custom_ID_" in body["help"] and "_company_name_" in body["help"]
    forms.submit(admin, "field", field, {**forms.current_values(admin, "field", field),
                                         "entity": "lead_type", "lead_type": str(reseller)},
                 initial={**forms.current_values(admin, "field", field)})
    row = CustomField.get_by_id(field)
    assert (row.entity, row.entity_type_id) == ("lead_type", reseller)
    # A type not chosen is said under the type's picker; nothing is written.
    with pytest.raises(FormRejected) as refused:
        forms.submit(admin, "field", None, {"name": "Plan", "kind": "text",
                                            "entity": "contract_type", "contract_type": ""})
    assert list(refused.value.errors) == ["contract_type"]
    assert not CustomField.select().where(CustomField.name == "Plan").exists()
