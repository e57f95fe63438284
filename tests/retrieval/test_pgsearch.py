"""The PostgreSQL searcher under an operator's conditions: more concurrent searches than it has
connections, the server dropping its connections, the database refusing new ones. A real
PostgreSQL 18 + pgvector (tests/fakes/postgres.py); skipped, with the reason, without it."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg2
import pytest

from config import Settings
from config.errors import UserError
from corpus import SAMPLE_CORPUS
from prompts.desk import Desk
from retrieval.catalog import current_generation
from retrieval.pgsearch import PgSearcher
from retrieval.pgstore import generation_table
from tests.fakes.postgres import EmbeddedPostgres


@pytest.fixture(scope="module")
def pg_index(
    postgres_server: EmbeddedPostgres, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, str, str]]:
    """The sample corpus indexed in its own database: settings, DSN and passage table."""
    dsn = postgres_server.create_database()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NEWSDESK_POSTGRES_DSN", dsn)
        store = settings.store.model_copy(update={"backend": "postgres"})
        pg_settings = settings.model_copy(update={"store": store})
        desk = Desk.open(pg_settings, tmp_path_factory.mktemp("pg"))
        desk.reindex(SAMPLE_CORPUS)
        generation = current_generation(desk.index_root)
        desk.close()
        assert generation is not None
        table = generation_table(generation)
        assert table is not None
        yield pg_settings, dsn, table


@pytest.fixture
def searcher(pg_index: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[PgSearcher]:
    pg_settings, dsn, table = pg_index
    monkeypatch.setenv("NEWSDESK_POSTGRES_DSN", dsn)
    found = PgSearcher(pg_settings.store, table, max_connections=2)
    yield found
    found.close()


def _as_superuser(dsn: str, statement: str, params: tuple[str, ...] = ()) -> None:
    conn = psycopg2.connect(dsn)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(statement, params)
    finally:
        conn.close()


def _drop_connections(admin_dsn: str, database: str) -> None:
    """What a server restart or failover does to the searcher's pooled connections."""
    _as_superuser(
        admin_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = %s AND application_name = 'newsdesk'",
        (database,),
    )


def _vector(encoder: Any, text: str) -> Any:
    return encoder.encode([text])[0]


def test_more_searches_at_once_than_connections_wait_for_one(searcher: PgSearcher, encoder: Any) -> None:
    vector = _vector(encoder, "Putin Xi gas")

    def one(i: int) -> str:
        return searcher.dense(vector, 3 + i % 3)[0][0].doc_id

    with ThreadPoolExecutor(10) as pool:
        found = list(pool.map(one, range(30)))
    assert len(set(found)) == 1


def test_connections_the_server_dropped_are_replaced(
    searcher: PgSearcher, pg_index: tuple[Settings, str, str], postgres_server: EmbeddedPostgres, encoder: Any
) -> None:
    vector = _vector(encoder, "Putin Xi gas")
    before = searcher.dense(vector, 3)
    _drop_connections(postgres_server.dsn(), pg_index[1].rsplit("/", 1)[1])
    assert searcher.dense(vector, 3) == before
    assert searcher.keyword("Rosneft gas", 3)


def test_a_database_refusing_connections_is_one_line(
    searcher: PgSearcher, pg_index: tuple[Settings, str, str], postgres_server: EmbeddedPostgres, encoder: Any
) -> None:
    database = pg_index[1].rsplit("/", 1)[1]
    admin = postgres_server.dsn()
    searcher.dense(_vector(encoder, "Putin"), 3)  # the pool holds a connection
    _as_superuser(admin, f"ALTER DATABASE {database} ALLOW_CONNECTIONS false")
    _drop_connections(admin, database)
    try:
        with pytest.raises(UserError, match=r"^cannot connect to PostgreSQL \(NEWSDESK_POSTGRES_DSN\)"):
            searcher.dense(_vector(encoder, "Putin"), 3)
    finally:
        _as_superuser(admin, f"ALTER DATABASE {database} ALLOW_CONNECTIONS true")
    assert searcher.dense(_vector(encoder, "Putin"), 3)


def test_a_reindexed_tables_readers_are_told_to_ask_again(
    pg_index: tuple[Settings, str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, encoder: Any
) -> None:
    pg_settings, dsn, table = pg_index
    monkeypatch.setenv("NEWSDESK_POSTGRES_DSN", dsn)
    copy = f"{table}_gone"
    _as_superuser(dsn, f"CREATE TABLE {copy} AS SELECT * FROM {table}")  # noqa: S608 - our names
    searcher = PgSearcher(pg_settings.store, copy)
    try:
        _as_superuser(dsn, f"DROP TABLE {copy}")
        with pytest.raises(UserError, match="replaced; ask again"):
            searcher.dense(_vector(encoder, "Putin"), 3)
    finally:
        searcher.close()
