"""Checks that the PostgreSQL fixtures give real, separate, writable databases."""

from __future__ import annotations

import psycopg

from tests.fixtures.postgres import fresh_database, fresh_pg_database, postgres_url  # noqa: F401


def _current_database(url: str) -> str:
    """Return the name of the database that `url` connects to, as the server sees it."""
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT current_database()").fetchone()[0]


def test_fresh_database_stores_and_reads_back(fresh_pg_database: str) -> None:  # noqa: F811
    """A table created in the fresh database can be written and read back."""
    # Leaving psycopg's connection block commits and closes.
    with psycopg.connect(fresh_pg_database) as conn:
        conn.execute("CREATE TABLE contact (id serial PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO contact (name) VALUES (%s), (%s)", ("Ada", "Grace"))
    with psycopg.connect(fresh_pg_database) as conn:
        rows = conn.execute("SELECT name FROM contact ORDER BY id").fetchall()
    assert [row[0] for row in rows] == ["Ada", "Grace"]


def test_fresh_database_starts_empty(fresh_pg_database: str) -> None:  # noqa: F811
    """A fresh database has no tables of its own, whatever earlier tests created."""
    with psycopg.connect(fresh_pg_database) as conn:
        count = conn.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0]
    assert count == 0


def test_two_fresh_databases_are_distinct(
    postgres_url: str,  # noqa: F811
    fresh_pg_database: str,  # noqa: F811
) -> None:
    """Two fresh databases have different names and do not see each other's tables."""
    with fresh_database(postgres_url) as other:
        assert other != fresh_pg_database
        assert _current_database(other) != _current_database(fresh_pg_database)
        with psycopg.connect(fresh_pg_database) as conn:
            conn.execute("CREATE TABLE only_in_first (x int)")
        with psycopg.connect(other) as conn:
            missing = conn.execute("SELECT to_regclass('only_in_first') IS NULL").fetchone()[0]
        assert missing is True
    # Leaving the block dropped the second database.
    with psycopg.connect(postgres_url) as conn:
        count = conn.execute("SELECT count(*) FROM pg_database WHERE datname = %s",
                             (other.rsplit("/", 1)[-1],)).fetchone()[0]
    assert count == 0
