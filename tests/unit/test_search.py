"""The search index: accents and case do not matter, typed words match word starts through
the index, and every write path keeps the index in step, on both backends."""

from __future__ import annotations

from crm_tui.models import SearchWord
from crm_tui.services import imports, search
from crm_tui.services.records import get_kind
from tests.unit.lead_world import grant_lead_bits


def _names(rows):
    return sorted(r.get("full_name") or r.get("name") for r in rows)


def _words(kind, record_id):
    return {w for (w,) in SearchWord.select(SearchWord.word)
            .where(SearchWord.kind == kind, SearchWord.record_id == record_id).tuples()}


def test_text_is_normalised_without_accents_and_casefolded():
    assert search.normalise("García ENERGÍA Straße Zoë") == "garcia energia strasse zoe"
    assert search.words_of("ana.garcia7@Example.org, O'Brien") == [
        "ana", "garcia7", "example", "org", "o", "brien"]


def test_leads_are_found_by_word_starts_whatever_the_accents_and_case(any_world):
    admin = any_world.session("admin")
    kind = get_kind("lead")
    garcia = kind.create(admin, {"full_name": "Ana García", "email": "ana@nova.example",
                                 "company_name": "Nova ENERGÍA"})
    kind.create(admin, {"full_name": "Luis Müller", "company_name": "Acme Systems"})
    for typed in ("garcia", "GARC", "garcía", "energia", "Energ", "ana gar", "nova.ex"):
        assert _names(search.search(admin, "lead", typed)) == ["Ana García"], typed
    assert _names(search.search(admin, "lead", "muller")) == ["Luis Müller"]
    assert search.search(admin, "lead", "garcia muller") == []
    # The lead list's `/` and `crm list --filter` go through the same index.
    assert _names(kind.list(admin, {"q": "ENERGIA"})) == ["Ana García"]
    assert _names(kind.list(admin, {"full_name": "garcia"})) == ["Ana García"]
    assert kind.list(admin, {"full_name": "energia"}) == []  # the company, not the name
    assert _names(kind.list(admin, {"company_name": "energía"})) == ["Ana García"]
    assert {"ana", "garcia", "nova", "energia"} <= _words("lead", garcia)


def test_a_substring_inside_a_word_still_matches(any_world):
    admin = any_world.session("admin")
    get_kind("lead").create(admin, {"full_name": "Sunday Lead"})
    assert _names(search.search(admin, "lead", "unda")) == ["Sunday Lead"]


def test_changes_merges_and_deletes_keep_the_index(any_world):
    admin = any_world.session("admin")
    kind = get_kind("lead")
    lead = kind.create(admin, {"full_name": "Old Name"})
    kind.update(admin, lead, {"full_name": "Nuevo Nombre"})
    assert _words("lead", lead) == {"nuevo", "nombre"}
    assert search.search(admin, "lead", "old") == []
    other = kind.create(admin, {"full_name": "Dup", "company_name": "Fjord Bau"})
    from crm_tui.services import leads

    leads.merge(admin, lead, other)
    assert _names(search.search(admin, "lead", "fjord")) == ["Nuevo Nombre"]
    assert _words("lead", other) == set()
    kind.delete(admin, lead)
    assert _words("lead", lead) == set()


def test_companies_and_contacts_are_indexed_too(any_world):
    admin = any_world.session("admin")
    company = get_kind("company").create(admin, {"name": "Médical Ñandú", "parent":
                                                 str(any_world.cid("My company"))})
    assert [r["name"] for r in search.search(admin, "company", "nandu")] == ["Médical Ñandú"]
    assert [r["name"] for r in get_kind("company").list(admin, {"q": "MEDICAL"})] == [
        "Médical Ñandú"]
    get_kind("contact").create(admin, {"full_name": "Søren Nyström", "email": "s@x.example",
                                       "company": str(company)})
    assert _names(search.search(admin, "contact", "nystrom")) == ["Søren Nyström"]
    assert _names(get_kind("contact").list(admin, {"full_name": "NYSTRÖM"})) == [
        "Søren Nyström"]


def test_search_shows_only_what_the_user_may_see(any_world):
    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    get_kind("lead").create(admin, {"full_name": "Élodie Secret", "owner": "admin"})
    get_kind("lead").create(admin, {"full_name": "Élodie Visible", "owner": "user1",
                                    "company": str(any_world.cid("Customer #A"))})
    assert _names(search.search(any_world.session("user1"), "lead", "elodie")) == [
        "Élodie Visible"]
    assert search.search(any_world.session("user2"), "lead", "elodie") == []


def test_imports_fill_the_index_on_their_fast_path(any_world):
    admin = any_world.session("admin")
    data = ("full_name,email,company_name\n"
            "Zoë Álvarez,zoe@example.com,Quasar Energía\n"
            "Kenji Tanaka,kenji@example.com,Boreal Labs\n").encode()
    imports.run(admin, "leads", data, dry_run=False)
    assert _names(search.search(admin, "lead", "alvarez")) == ["Zoë Álvarez"]
    assert _names(search.search(admin, "lead", "energia")) == ["Zoë Álvarez"]
    assert _names(search.search(admin, "lead", "boreal")) == ["Kenji Tanaka"]
    companies = "name\nÁrbol Systems\n".encode()
    imports.run(admin, "companies", companies, dry_run=False)
    assert [r["name"] for r in search.search(admin, "company", "arbol")] == ["Árbol Systems"]


def test_demo_data_is_indexed(crm_db):
    from crm_tui.demo import DemoSizes, generate
    from crm_tui.models import Lead

    generate(DemoSizes(companies=5, contacts=5, contracts=0, invoices=0, leads=30))
    indexed = {r for (r,) in SearchWord.select(SearchWord.record_id)
               .where(SearchWord.kind == "lead").distinct().tuples()}
    assert indexed == {r for (r,) in Lead.select(Lead.id).tuples()}


def test_counts_gather_a_common_words_records_and_agree_with_the_page_walk(any_world,
                                                                          monkeypatch):
    """An exact count (and a statistic) gathers a common word's records from the index
    instead of checking the word row by row; both forms find the same leads."""
    from crm_tui.services import lead_stats
    from crm_tui.services.lead_rows import LeadRows

    monkeypatch.setattr(search, "_COMMON", 3)  # "garcia" is common here
    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    kind = get_kind("lead")
    customer = str(any_world.cid("Customer #A"))
    for n in range(4):
        kind.create(admin, {"full_name": f"Ana García {n}", "owner": "user1",
                            "company": customer})
    kind.create(admin, {"full_name": "Luis García", "owner": "admin"})
    kind.create(admin, {"full_name": "Ana Müller", "owner": "user1", "company": customer})
    for login, seen in (("admin", 5), ("user1", 4), ("user2", 0)):
        session = any_world.session(login)
        walked = LeadRows(session, {"q": "garcia"}, probe=2)
        assert walked.count() == min(seen, 3)  # the probe: stops after 3 rows
        assert len(walked.page(0, 50)) == seen
        assert LeadRows(session, {"q": "garcia"}, probe=2).exact_count() == seen, login
        assert LeadRows(session, {"q": "garcia"}).count() == seen, login
        assert lead_stats.summary(session, {"q": "ana garcia"}).total == min(seen, 4), login
    walk_sql = kind.query(admin, {"q": "garcia"}).sql()[0]
    with search.for_every_match():
        gather_sql = kind.query(admin, {"q": "garcia"}).sql()[0]
    assert "EXISTS" in walk_sql and "EXISTS" not in gather_sql


def test_a_capped_count_walks_a_common_words_entries_and_counts_each_lead_once(any_world,
                                                                                monkeypatch):
    """The list's capped count of a common word drives from the word's index entries; it
    agrees with the exact count for every user, a lead whose name and email both start
    with the word counting once, and stops at the probe."""
    from crm_tui.services.lead_rows import LeadRows

    monkeypatch.setattr(search, "_COMMON", 3)  # "garcia" is common here
    grant_lead_bits(any_world)
    admin = any_world.session("admin")
    kind = get_kind("lead")
    customer = str(any_world.cid("Customer #A"))
    for n in range(4):
        kind.create(admin, {"full_name": f"Ana García {n}", "email": f"garcia{n}@x.example",
                            "owner": "user1", "company": customer})
    kind.create(admin, {"full_name": "Luis García", "email": "garcia@y.example",
                        "owner": "admin"})
    kind.create(admin, {"full_name": "Eva Garcés", "company_name": "García Hermanos",
                        "owner": "manager1"})
    kind.create(admin, {"full_name": "Ana Müller", "owner": "user1", "company": customer})
    seen = {}
    for login in ("admin", "user1", "manager1", "user2"):
        session = any_world.session(login)
        exact = LeadRows(session, {"q": "garcia"}).count()
        seen[login] = exact
        assert exact == len(kind.list(session, {"q": "garcia"})), login
        capped = LeadRows(session, {"q": "garcia"}, probe=50)
        assert capped.count() == exact and not capped.estimated, login
        stopped = LeadRows(session, {"q": "garcia"}, probe=2)
        assert stopped.count() == min(exact, 3), login
        # With a rare word beside it the rare word drives, and the count still agrees.
        both = LeadRows(session, {"q": "garcia luis"}, probe=50).count()
        assert both == len(kind.list(session, {"q": "garcia luis"})), login
    # user1 sees the leads they own; user2 sees none.
    assert seen == {"admin": 6, "user1": 4, "manager1": 6, "user2": 0}


def test_a_capped_count_keeps_the_other_branches_of_a_search(any_world, monkeypatch):
    """A company's `q` also matches its country: a company found that way alone still
    counts when the name's word is common."""
    from crm_tui.services.rows import RecordRows

    monkeypatch.setattr(search, "_COMMON", 3)  # "garcia" is common here
    admin = any_world.session("admin")
    kind = get_kind("company")
    for n in range(4):
        kind.create(admin, {"name": f"García Hermanos {n}"})
    kind.create(admin, {"name": "Fjord Bau", "country": "garcia land"})
    exact = RecordRows(admin, "company", {"q": "garcia"}).count()
    assert exact == len(kind.list(admin, {"q": "garcia"})) == 5
    assert RecordRows(admin, "company", {"q": "garcia"}, probe=50).count() == exact
