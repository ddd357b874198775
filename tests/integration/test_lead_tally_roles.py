"""The lead tally under row-level security: an operator's lead writes keep it exact (its
triggers run as the owner), he reads only the rows of leads he may see, and he cannot
write it himself."""

from __future__ import annotations

import pytest

# `team` is the seeded database of the row-security tests (a module fixture, made again here).
from tests.integration.test_row_security import OPERATORS, Team, psql, team  # noqa: F401

pytestmark = pytest.mark.postgres


def _one(url: str, statement: str) -> str:
    result = psql(url, statement)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_each_operator_reads_the_tally_of_the_leads_he_sees(team: Team):  # noqa: F811
    for login in OPERATORS:
        url = team.urls[login]
        for dimension in ("owner", "channel", "country", "status", "week"):
            tallied = _one(url, "SELECT coalesce(sum(leads), 0) FROM lead_tally "
                                f"WHERE dimension = '{dimension}'")
            assert tallied == _one(url, "SELECT count(*) FROM lead"), (login, dimension)


def test_an_operators_lead_written_in_psql_is_tallied(team: Team):  # noqa: F811
    url = team.urls["sales1"]
    before = _one(team.owner_url, "SELECT coalesce(sum(leads), 0) FROM lead_tally "
                                  "WHERE dimension = 'channel' AND value = 'psql'")
    _one(url, "INSERT INTO lead (full_name, email, email_key, company_name, country, position, "
              "phone, language, owner_id, estimated_sale, status, channel, description, "
              "created, updated, mail_opt_out) VALUES ('Pat Psql', '', '', '', 'Chile', '', "
              "'', 'en', crm_acl_uid(), 12.34, 2, 'psql', '', now(), now(), false)")
    after = _one(team.owner_url, "SELECT sum(leads), sum(sale) FROM lead_tally "
                                 "WHERE dimension = 'channel' AND value = 'psql'")
    assert after == f"{int(before) + 1}|12.34"
    _one(url, "UPDATE lead SET channel = 'psql2' WHERE full_name = 'Pat Psql'")
    assert _one(team.owner_url, "SELECT sum(leads) FROM lead_tally "
                                "WHERE dimension = 'channel' AND value = 'psql'") == before
    _one(team.owner_url, "DELETE FROM lead WHERE full_name = 'Pat Psql'")
    assert _one(team.owner_url, "SELECT coalesce(sum(leads), 0) FROM lead_tally "
                                "WHERE dimension = 'channel' AND value = 'psql2'") == "0"


def test_an_operator_cannot_write_the_tally(team: Team):  # noqa: F811
    url = team.urls["manager1"]
    refused = psql(url, "INSERT INTO lead_tally VALUES ('channel', 'x', 0, 0, 1000, 0)")
    assert refused.returncode != 0
    _one(url, "UPDATE lead_tally SET leads = leads + 1000")
    _one(url, "DELETE FROM lead_tally")
    assert _one(team.owner_url, "SELECT count(*) FROM lead_tally WHERE leads >= 1000") == "0"
    assert _one(team.owner_url, "SELECT count(*) FROM lead_tally") != "0"
