"""Checks that the PostgreSQL fixtures give real, separate, writable databases."""

from __future__ import annotations

import psycopg2

from tests.fixtures.postgres import fresh_database, fresh_pg_database, postgres_url  # noqa: F401


def _current_database(url: str) -> str:
    """Return the name of the database that `url` connects to, as the server sees it."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_database()")
            return cur.fetchone()[0]
    finally:
        conn.close()


def test_fresh_database_stores_and_reads_back(fresh_pg_database: str) -> None:  # noqa: F811
    """A table created in the fresh database can be written and read back."""
    conn = psycopg2.connect(fresh_pg_database)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE contact (id serial PRIMARY KEY, name text NOT NULL)")
            cur.execute("INSERT INTO contact (name) VALUES (%s), (%s)", ("Ada", "Grace"))
        with conn.cursor() as cur:
            cur.execute("SELECT name FROM contact ORDER BY id")
            assert [row[0] for row in cur.fetchall()] == ["Ada", "Grace"]
    finally:
        conn.close()


def test_fresh_database_starts_empty(fresh_pg_database: str) -> None:  # noqa: F811
    """A fresh database has no tables of its own, whatever earlier tests created."""
    conn = psycopg2.connect(fresh_pg_database)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()


def test_two_fresh_databases_are_distinct(
    postgres_url: str,  # noqa: F811
    fresh_pg_database: str,  # noqa: F811
) -> None:
    """Two fresh databases have different names and do not see each other's tables."""
    with fresh_database(postgres_url) as other:
        assert other != fresh_pg_database
        assert _current_database(other) != _current_database(fresh_pg_database)
        conn = psycopg2.connect(fresh_pg_database)
        try:
            with conn, conn.cursor() as cur:
                cur.execute("CREATE TABLE only_in_first (x int)")
        finally:
            conn.close()
        conn = psycopg2.connect(other)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT to_regclass('only_in_first') IS NULL")
                assert cur.fetchone()[0] is True
        finally:
            conn.close()
    # Leaving the block dropped the second database.
    conn = psycopg2.connect(postgres_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_database WHERE datname = %s", (other.rsplit("/", 1)[-1],)
            )
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
