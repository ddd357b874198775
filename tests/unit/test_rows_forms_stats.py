"""The services behind the list screens, forms and statistics: paged rows, form
descriptions and submission, permissions, settings forms, and company statistics."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playhouse.test_utils import count_queries

from crm_tui.errors import PermissionDenied, ValidationFailed
from crm_tui.models import Company, Setting
from crm_tui.services import forms, stats
from crm_tui.services.records import get_kind
from crm_tui.services.rows import ListRows, RecordRows, cell_text, find_titles, parse_filter_text


def add_companies(world, count: int) -> list[int]:
    session = world.session("admin")
    company = get_kind("company")
    countries = ("Spain", "France", "Portugal")
    managers = ("admin", "user1", "manager1")
    roles = ("Customer", "Supplier", "")
    return [
        company.create(session, {
            "name": f"Co {n:03d}", "parent": str(world.cid("Customer #A")),
            "country": countries[n % 3], "manager": managers[n % 3], "role": roles[n % 3],
        })
        for n in range(count)
    ]


# -- rows ----------------------------------------------------------------------------------


def test_pages_follow_the_kinds_order_and_keyset_pages_match_offset_pages(any_world):
    world = any_world
    add_companies(world, 57)
    admin = world.session("admin")
    sequential = RecordRows(admin, "company")
    total = sequential.count()
    assert total == 60
    pages = [sequential.page(offset, 10) for offset in range(0, 60, 10)]
    names = [cells[0] for page in pages for _, cells in page]
    assert len(set(names)) == 60
    assert names == [c.name for c in Company.select().order_by(Company.name, Company.id)]
    # A fresh source reads each page by OFFSET (no keys yet) and must agree.
    fresh = RecordRows(admin, "company")
    fresh.count()
    assert [fresh.page(offset, 10) for offset in (50, 40, 0)] == [pages[5], pages[4], pages[0]]
    # Paging up from a page read by key uses the key of its first row.
    assert sequential.page(20, 10) == pages[2]
    assert sequential.page(59, 10) == pages[5][-1:]
    assert sequential.page(60, 10) == []


def test_invoices_list_newest_first_by_key_and_by_offset(any_world):
    import datetime as dt

    from crm_tui.models import Invoice

    world = any_world
    admin = world.session("admin")
    invoice = get_kind("invoice")
    ids = [invoice.create(admin, {"company": str(world.cid("Customer #A"))}) for _ in range(23)]
    start = dt.datetime(2026, 1, 1, 9, 0)
    for n, invoice_id in enumerate(ids):
        # Pairs share a timestamp: the id breaks the tie, newest (highest) first too.
        Invoice.update(created=start + dt.timedelta(days=n // 2)).where(
            Invoice.id == invoice_id).execute()
    expected = [i.id for i in Invoice.select().order_by(Invoice.created.desc(),
                                                        Invoice.id.desc())]
    assert expected[0] == ids[-1]
    sequential = RecordRows(admin, "invoice")
    assert sequential.count() == 23
    pages = [sequential.page(offset, 5) for offset in range(0, 23, 5)]
    assert [row_id for page in pages for row_id, _ in page] == expected
    fresh = RecordRows(admin, "invoice")
    fresh.count()
    assert [fresh.page(offset, 5) for offset in (20, 15, 0)] == [pages[4], pages[3], pages[0]]
    assert sequential.page(10, 5) == pages[2]  # paging up from a page read by key


def test_after_invalidate_a_page_read_before_the_count_shows_new_rows(any_world):
    # A table reads its cursor's page beside the count when it reloads: the old count (none)
    # must not bound that page.
    admin = any_world.session("admin")
    source = RecordRows(admin, "tag")
    assert source.count() == 0 and source.page(0, 50) == []
    get_kind("tag").create(admin, {"name": "Priority", "colour": "red"})
    source.invalidate()
    assert [cells for _id, cells in source.page(0, 50)] == [("Priority", "red")]
    assert source.count() == 1


def test_a_page_costs_the_same_queries_whatever_its_size(world):
    add_companies(world, 40)
    admin = world.session("admin")
    costs = []
    for size in (5, 40):
        source = RecordRows(admin, "company")
        source.count()
        with count_queries() as counter:
            source.page(0, size)
        costs.append(counter.count)
    assert costs[0] == costs[1]
    contacts = RecordRows(admin, "contact")
    contacts.count()
    with count_queries() as counter:
        contacts.page(0, 50)
    assert counter.count <= 6


def test_rows_apply_access_rules_and_mark_read_only_rows(world):
    user1 = world.session("user1")
    source = RecordRows(user1, "company")
    assert source.count() == 2
    rows = source.page(0, 10)
    assert [cells[0] for _, cells in rows] == ["Customer #A", "Customer #B"]
    styles = {cells[0]: source.row_style(row_id, cells) for row_id, cells in rows}
    assert styles == {"Customer #A": None, "Customer #B": "dim"}
    assert RecordRows(world.session("user2"), "company").count() == 0
    # A filtered list keeps the access rule (whatever shape the query takes for speed).
    filtered = RecordRows(user1, "company", {"q": "Customer", "manager": "manager1"})
    assert filtered.count() == 1
    assert [row_id for row_id, _ in filtered.page(0, 10)] == [world.cid("Customer #B")]
    assert RecordRows(user1, "company", {"q": "My company"}).count() == 0


def test_filters_from_the_filter_bar(world):
    add_companies(world, 6)
    assert parse_filter_text("company", 'co role=Customer country="United Kingdom"') == {
        "role": "Customer", "country": "United Kingdom", "q": "co"}
    assert parse_filter_text("role", "cust") == {"name": "cust"}
    admin = world.session("admin")
    assert RecordRows(admin, "company", parse_filter_text("company", "manager=user1")).count() == 3
    assert RecordRows(admin, "company", {"role": "Supplier", "country": "France"}).count() == 2
    with pytest.raises(ValidationFailed, match="unknown field"):
        RecordRows(admin, "company", {"colour": "red"}).count()


def test_reference_columns_show_titles_and_money_two_places(world):
    admin = world.session("admin")
    get_kind("contact").create(admin, {"full_name": "Ana", "email": "ana@example.com",
                                       "company": str(world.cid("Customer #B"))})
    rows = RecordRows(admin, "contact").page(0, 5)
    assert rows[0][1][:3] == ("Ana", "ana@example.com", "Customer #B")
    assert cell_text("423.5", "decimal") == "423.50"
    assert cell_text(True) == "yes"
    assert cell_text(["a", "b"]) == "a, b"
    assert cell_text("line\nbreak") == "line break"


def test_find_titles_and_list_rows(world):
    assert find_titles(world.session("user1"), "company", "Customer") == [
        (world.cid("Customer #A"), "Customer #A"), (world.cid("Customer #B"), "Customer #B")]
    assert find_titles(world.session("user1"), "company", "My company") == []
    rows = ListRows([], [(n, (str(n),)) for n in range(5)])
    assert rows.count() == 5 and rows.page(3, 10) == [(3, ("3",)), (4, ("4",))]


# -- forms ---------------------------------------------------------------------------------


def test_describe_lists_every_field_with_current_values_and_custom_sections(world):
    admin = world.session("admin")
    fields = {d["key"]: d for d in forms.describe(admin, "company", world.cid("Customer #A"))}
    assert fields["name"] == {"key": "name", "label": "Name", "kind": "text", "required": True,
                              "options": (), "value": "Customer #A", "help": "",
                              "section": ""}
    assert fields["parent"]["kind"] == "pick"
    assert fields["parent"]["value"] == str(world.cid("My company"))
    # A picker starts with the chosen record's title; the value stays its id.
    assert fields["parent"]["options"] == [("My company", str(world.cid("My company")))]
    assert fields["manager"]["value"] == "user1"
    assert ("user1", "user1") in fields["manager"]["options"]
    assert fields["payment_conditions"]["kind"] == "numeric"
    assert fields["custom.Office Phone"]["section"] == forms.CUSTOM_SECTION
    assert "billing" not in fields and "last_update" not in fields


def test_a_reference_the_user_cannot_see_stays_choosable(world):
    user1 = world.session("user1")
    fields = {d["key"]: d for d in forms.describe(user1, "company", world.cid("Customer #A"))}
    # My company is invisible to user1, yet it is A's parent: saving must not clear it,
    # and the form does not name it.
    assert ("(not visible)", str(world.cid("My company"))) in fields["parent"]["options"]
    assert not any("My company" in label for label, _ in fields["parent"]["options"])
    shown = {d["key"]: d["text"] for d in forms.display(user1, "company", world.cid("Customer #A"))}
    assert shown["parent"] == "(not visible)"


def test_a_new_record_starts_from_the_kinds_defaults(world):
    values = forms.current_values(world.session("user1"), "company", None)
    assert values["manager"] == "user1"
    described = forms.describe(world.session("user1"), "contact", None,
                               {"company": str(world.cid("Customer #A"))})
    assert {d["key"]: d["value"] for d in described}["company"] == str(world.cid("Customer #A"))


def test_submit_sends_only_what_changed_and_maps_problems_to_fields(world):
    admin = world.session("admin")
    cid = world.cid("Customer #A")
    values = forms.current_values(admin, "company", cid)
    assert forms.submit(admin, "company", cid, values) == cid
    with pytest.raises(forms.FormRejected) as rejected:
        forms.submit(admin, "company", cid, {**values, "payment_conditions": "-5",
                                              "custom.Office Phone": "line\nbreak"})
    assert rejected.value.errors == {
        "payment_conditions": "cannot be negative: '-5'",
        "custom.Office Phone": "line breaks are not allowed here: 'line\\nbreak'",
    }
    assert Company.get_by_id(cid).payment_conditions is None
    forms.submit(admin, "company", cid, {**values, "payment_conditions": "45",
                                         "custom.Office Phone": "+34 1"})
    assert forms.current_values(admin, "company", cid)["custom.Office Phone"] == "+34 1"
    new_id = forms.submit(admin, "contact", None, {"full_name": "Li", "email": "li@example.com",
                                                   "company": "Customer #B", "phone": ""})
    assert get_kind("contact").get(admin, new_id)["company"] == world.cid("Customer #B")


def test_submit_refuses_what_the_user_may_not_change(world):
    user1 = world.session("user1")
    cid = world.cid("Customer #B")
    values = forms.current_values(user1, "company", cid)
    with pytest.raises(PermissionDenied):
        forms.submit(user1, "company", cid, {**values, "country": "Spain"})
    with pytest.raises(forms.FormRejected) as rejected:
        forms.submit(user1, "contact", None, {"full_name": "", "email": "", "company": ""})
    assert set(rejected.value.errors) == {"full_name", "email", "company"}


def test_display_shows_titles_derived_fields_and_custom_sections(world):
    rows = forms.display(world.session("admin"), "company", world.cid("Customer #A"))
    texts = {row["key"]: (row["section"], row["text"]) for row in rows}
    assert texts["parent"] == ("", "My company")
    assert texts["billing"] == ("", "0.00")
    assert texts["custom.General email"] == (forms.CUSTOM_SECTION, "")


def test_display_shows_lead_tags_by_name(world):
    admin = world.session("admin")
    for name in ("hot", "vip"):
        get_kind("tag").create(admin, {"name": name, "colour": "red"})
    lead_id = get_kind("lead").create(admin, {"full_name": "Ana Tagged", "email": "a@t.example",
                                              "tags": "hot,vip"})
    texts = {row["key"]: row["text"] for row in forms.display(admin, "lead", lead_id)}
    assert texts["tags"] == "hot, vip"
    assert texts["full_name"] == "Ana Tagged"


def test_a_new_contracts_form_shows_the_chosen_types_custom_fields(world):
    from crm_tui.models import Contract, ContractType

    admin = world.session("admin")
    services = ContractType.get(ContractType.name == "Services contract")
    product = ContractType.get(ContractType.name == "Product contract")
    get_kind("field").create(admin, {"name": "Hours", "kind": "numeric",
                                     "entity": f"contract_type:{services.id}"})

    def custom_keys(record_id=None, initial=None):
        described = forms.describe(admin, "contract", record_id, initial)
        assert [d["key"] for d in described if d.get("reshapes")] == ["contract_type"]
        return [d["key"] for d in described if d["key"].startswith("custom.")]

    assert custom_keys() == []
    assert custom_keys(initial={"contract_type": str(services.id)}) == ["custom.Hours"]
    assert custom_keys(initial={"contract_type": str(product.id)}) == []
    # Saved in one go: the type and its field.
    values = {d["key"]: d["value"] for d in forms.describe(
        admin, "contract", None, {"contract_type": str(services.id)})}
    values.update({"name": "Support 2026", "company": str(world.cid("Customer #A")),
                   "custom.Hours": "40"})
    contract_id = forms.submit(admin, "contract", None, values)
    assert Contract.get_by_id(contract_id).contract_type_id == services.id
    assert forms.current_values(admin, "contract", contract_id)["custom.Hours"] == "40"
    # Editing: switching the type in the form shows the other type's fields.
    assert custom_keys(contract_id) == ["custom.Hours"]
    assert custom_keys(contract_id, {"contract_type": str(product.id)}) == []


def test_permissions_follow_the_worked_example(world):
    a, b = world.cid("Customer #A"), world.cid("Customer #B")
    user1, manager1, user2 = (world.session(x) for x in ("user1", "manager1", "user2"))
    assert forms.permissions(user1, "company", a)["edit"] is True
    assert forms.permissions(user1, "company", b)["edit"] is False
    assert forms.permissions(manager1, "company", b)["edit"] is True
    assert forms.permissions(user2, "company") == {"view": False, "create": False,
                                                   "edit": False, "delete": False}
    assert forms.permissions(user2, "company", a)["edit"] is False


def test_settings_form_and_all_or_nothing_saves(world):
    admin, user1 = world.session("admin"), world.session("user1")
    fields = {d["key"]: d for d in forms.settings_form(admin)}
    assert fields["invoice.auto_id"]["kind"] == "checkbox"
    assert fields["mail.smtp_security"]["options"] == ["none", "starttls", "tls"]
    assert fields["mail.imap_password"]["kind"] == "password"
    assert {d["section"] for d in fields.values()} == {t for _, t in forms.SETTING_SECTIONS}
    assert not forms.can_change_settings(user1)
    with pytest.raises(PermissionDenied):
        forms.submit_settings(user1, {"invoice.tax_name": "IVA"})
    with pytest.raises(forms.FormRejected) as rejected:
        forms.submit_settings(admin, {"invoice.tax_name": "IVA", "invoice.tax_rate": "101"})
    assert list(rejected.value.errors) == ["invoice.tax_rate"]
    assert Setting.get_by_id("invoice.tax_name").value == "VAT"
    assert forms.submit_settings(admin, {"invoice.tax_name": "IVA", "invoice.tax_rate": "21"}
                                 ) == ["invoice.tax_name"]


# -- statistics ----------------------------------------------------------------------------


def test_breakdowns_count_visible_companies_and_sum_the_rest(any_world):
    add_companies(any_world, 12)
    admin, user1 = any_world.session("admin"), any_world.session("user1")
    assert stats.companies_per_manager(admin) == [("admin", 5), ("user1", 5), ("manager1", 5)]
    assert stats.companies_per_role(admin) == [("(no role)", 7), ("Customer", 4),
                                               ("Supplier", 4)]
    assert stats.companies_per_country(admin, limit=2) == [
        ("France", 4), ("Portugal", 4), ("others", 7)]
    # My company is a root managed by admin: user1 does not count it.
    visible = RecordRows(user1, "company").count()
    assert visible < 15
    assert sum(n for _, n in stats.companies_per_manager(user1, limit=50)) == visible


def test_tops_come_from_related_records(any_world):
    admin = any_world.session("admin")
    a, b = any_world.cid("Customer #A"), any_world.cid("Customer #B")
    invoice = get_kind("invoice")
    invoice.create(admin, {"company": str(a), "bill_id": "R-1", "type": "received",
                           "lines": [{"description": "ignored", "amount": "999"}]})
    issued = [invoice.create(admin, {"company": str(b), "type": "submitted",
                                     "lines": [{"description": "Support", "amount": "2400"}],
                                     "discounts": [{"description": "promotion",
                                                    "amount": "240"}],
                                     "tax_rate": "21"}),
              invoice.create(admin, {"company": str(a), "currency": "USD", "tax_rate": "21",
                                     "lines": [{"description": "Support", "amount": "100"}]})]
    # A draft is not billed yet.
    invoice.create(admin, {"company": str(a), "lines": [{"description": "x", "amount": "5"}]})
    from crm_tui.services import invoice_issue, invoices

    with invoices.deferred_pdfs():
        for invoice_id in issued:
            invoice_issue.issue(admin, invoice_id)
    contract = get_kind("contract")
    for n in range(2):
        contract.create(admin, {"name": f"Deal {n}", "company": str(a)})
    from crm_tui.services import companies

    companies.add_note(admin, b, "note")
    # Per currency, never EUR + USD added.
    assert stats.top_by_invoiced(admin) == [("Customer #B (EUR)", Decimal("2613.60")),
                                            ("Customer #A (USD)", Decimal("121.00"))]
    assert stats.top_by_contracts(admin) == [("Customer #A", 2)]
    assert stats.top_by_activity(admin) == [("Customer #B", 1)]
    assert stats.top_by_leads(admin) == []
    charts = stats.company_statistics(admin)
    assert [c.key for c in charts] == [key for key, *_ in stats.CHARTS]
    assert stats.chart(admin, "top_invoiced").money
    assert stats.top_by_invoiced(any_world.session("user2")) == []
