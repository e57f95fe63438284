"""The PostgreSQL backend's schema on a database an operator prepared: a role that may not create
the pgvector extension gets one line saying what to run. A real PostgreSQL 18 + pgvector
(tests/fakes/postgres.py); skipped, with the reason, without it."""

from __future__ import annotations

import uuid

import psycopg2
import pytest

from config import Settings
from config.errors import UserError
from retrieval.backends.postgres import ensure_schema
from retrieval.pgstore import connect
from tests.fakes.postgres import DSN_ENV, EmbeddedPostgres


def _run(dsn: str, *statements: str) -> None:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for statement in statements:
                cur.execute(statement)
    finally:
        conn.close()


def _database_of_a_plain_role(server: EmbeddedPostgres) -> tuple[str, str]:
    """A new database owned by a role that is not superuser: its DSN, and the name."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    _run(server.dsn(), f"CREATE ROLE {name} LOGIN", f"CREATE DATABASE {name} OWNER {name}")
    return server.dsn(name).replace("postgres@", f"{name}@"), name


def test_a_role_that_cannot_create_pgvector_is_told_what_to_run(
    postgres_server: EmbeddedPostgres, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, name = _database_of_a_plain_role(postgres_server)
    monkeypatch.setenv(DSN_ENV, dsn)
    conn = connect(settings.store)
    try:
        said = f"database {name} has no pgvector extension.*CREATE EXTENSION vector"
        with pytest.raises(UserError, match=said):
            ensure_schema(conn, settings.store)
    finally:
        conn.close()


def test_a_plain_role_works_once_the_extension_is_there(
    postgres_server: EmbeddedPostgres, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn, name = _database_of_a_plain_role(postgres_server)
    _run(postgres_server.dsn(name), "CREATE EXTENSION vector")
    monkeypatch.setenv(DSN_ENV, dsn)
    conn = connect(settings.store)
    try:
        ensure_schema(conn, settings.store)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM newsdesk_generations")
            assert cur.fetchone() == (0,)
    finally:
        conn.close()
