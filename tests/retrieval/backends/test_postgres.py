"""The PostgreSQL backend's schema on a database an operator prepared: a role that may not create
the pgvector extension gets one line saying what to run. A real PostgreSQL 18 + pgvector
(tests/fakes/postgres.py); skipped, with the reason, without it."""

from __future__ import annotations

import uuid
from pathlib import Path

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


def test_a_database_gone_part_way_through_a_reindex_is_one_line_and_the_next_run_goes_on(
    postgres_server: EmbeddedPostgres, settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The server stopping (or failing over) mid-build: the build stops with one line, the
    published index keeps answering, and the next run finishes with nothing lost or doubled."""
    from prompts.desk import Desk
    from tests.retrieval.test_index import town_corpus

    dsn = postgres_server.create_database()
    database = dsn.rsplit("/", 1)[1]
    monkeypatch.setenv(DSN_ENV, dsn)
    store = settings.store.model_copy(update={"backend": "postgres", "batch_articles": 2})
    pg = settings.model_copy(update={"store": store})
    corpus = town_corpus(tmp_path / "corpus", 2)
    desk = Desk.open(pg, tmp_path / "data", build=False)
    desk.reindex(corpus)
    served = desk.stats().passages
    town_corpus(corpus, 12)
    embedded: list[int] = []

    def progress(done: int, total: int, label: str) -> None:
        if label == "embedding passages":
            embedded.append(done)
        if len(embedded) == 3:  # a batch or two saved: the server goes away
            _run(postgres_server.dsn(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
            _run(
                postgres_server.dsn(),
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'",  # noqa: S608 - a name we made
            )

    try:
        with pytest.raises(UserError, match=r"^PostgreSQL failed during the reindex \(") as caught:
            desk.reindex(corpus, progress=progress)
        assert "next run goes on from its last saved batch" in str(caught.value)
    finally:
        _run(postgres_server.dsn(), f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert desk.stats().passages == served  # the published index keeps answering
    report = desk.reindex(corpus)
    assert (report.added, report.unchanged) == (10, 2)
    fresh = Desk.open(pg, tmp_path / "fresh", build=False)  # the same database, followed
    assert fresh.stats().passages == desk.stats().passages == report.passages
    assert fresh.stats().articles == 12
    fresh.close()
    desk.close()
