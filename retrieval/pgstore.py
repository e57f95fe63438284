"""The PostgreSQL + pgvector adapter: the one module that talks to the postgres integration.

Passages are written through llama-index's ``PGVectorStore`` (``hybrid_search=True`` gives each
row a stored ``tsvector`` of its text with a GIN index); every index generation is its own
table, with an HNSW index (cosine) built once the table is filled, and the companions of
:mod:`retrieval.pgkeywords` (a term table, ``article_id`` and ``passage_meta`` columns).
Searching is :mod:`retrieval.pgsearch` (``psycopg2`` only: answering a question does not import
llama-index).

The DSN comes from the environment variable ``store.postgres_dsn_env``; it is never logged.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from config.redaction import redact, remember
from config.settings import ConfigError, Settings, StoreSettings
from retrieval.pgkeywords import (
    TEXT_SEARCH_CONFIG,
    add_search_columns,
    flush_gin,
    terms_table,
    write_term_stats,
)
from retrieval.store import StoreError

#: In a generation folder of the postgres backend: {"table": "<passage table>"}.
PG_FILE = "pg.json"
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def dsn(cfg: StoreSettings) -> str:
    """The PostgreSQL DSN from the environment; StoreError (naming only the variable) if unset."""
    value = Settings.secret(cfg.postgres_dsn_env)
    if value is None:
        raise StoreError(
            f"store.backend is postgres but {cfg.postgres_dsn_env} is not set; "
            "set it to e.g. postgresql://user:password@host:5432/database"
        )
    authority = re.match(r"^postgres(?:ql)?://([^/?#]*)", value)
    if authority and authority.group(1).count("@") > 1:
        # libpq would split at the first '@' and quote the rest of the password as a host name
        for piece in re.split(r"[:@]", authority.group(1).rsplit("@", 1)[0])[1:]:
            remember(piece)
        raise ConfigError(
            f"{cfg.postgres_dsn_env} holds a password with '@' in it: percent-encode it as %40 "
            "(and ':' as %3A, '/' as %2F)"
        )
    return value


def sqlalchemy_urls(dsn_text: str) -> tuple[str, str]:
    """The sync (psycopg2) and async (asyncpg) SQLAlchemy URLs for a libpq-style DSN."""
    rest = re.sub(r"^postgres(ql)?(\+\w+)?://", "", dsn_text)
    if rest == dsn_text:
        raise StoreError("the PostgreSQL DSN must start with postgresql://")
    return f"postgresql+psycopg2://{rest}", f"postgresql+asyncpg://{rest}"


def connect_error(cfg: StoreSettings, exc: BaseException) -> StoreError | ConfigError:
    """One line naming the variable; libpq's words may quote the DSN, so they are redacted.
    A malformed DSN is the user's to fix (exit 2); a server that cannot be reached, a failed run."""
    detail = " ".join(str(exc).split())
    if "invalid dsn" in detail.lower():
        return ConfigError(f"{cfg.postgres_dsn_env} is not a valid PostgreSQL DSN ({redact(detail)})")
    return StoreError(f"cannot connect to PostgreSQL ({cfg.postgres_dsn_env}): {redact(detail)}")


#: libpq's deadlines for every connection: connecting, and a server whose host dies or drops
#: off the network part way (no reset ever comes: without these a query, or a reindex's write,
#: waited for its answer for ever). Keepalives find a silent peer in about 15 + 3 x 5 s;
#: tcp_user_timeout ends a connection whose sent data goes unacknowledged for 30 s.
CONNECTION_OPTIONS: dict[str, Any] = {
    "connect_timeout": 10,
    "application_name": "newsdesk",
    "keepalives": 1,
    "keepalives_idle": 15,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}


def connect(cfg: StoreSettings, autocommit: bool = False) -> Any:
    """A psycopg2 connection to the configured database."""
    try:
        import psycopg2
    except ImportError:  # a wheel installed without the extra: one line, not a traceback
        raise StoreError(
            "store.backend postgres needs the 'postgres' extra: pip install 'newsdesk[postgres]'"
        ) from None

    try:
        conn = psycopg2.connect(dsn(cfg), **CONNECTION_OPTIONS)
    except psycopg2.Error as exc:  # OperationalError, or ProgrammingError for a malformed DSN
        raise connect_error(cfg, exc) from None
    conn.autocommit = autocommit
    return conn


def identifier(name: str) -> Any:
    """A checked, quoted SQL identifier (table names are built from settings and timestamps)."""
    from psycopg2 import sql

    if not _IDENTIFIER.match(name):
        raise StoreError(f"'{name}' is not a usable PostgreSQL table name")
    return sql.Identifier(name)


def physical_table(table_name: str) -> str:
    """The table PGVectorStore creates for ``table_name`` (it prefixes ``data_``)."""
    return f"data_{table_name.lower()}"


class PassageTable:
    """One generation's table, written through llama-index's ``PGVectorStore``."""

    def __init__(self, cfg: StoreSettings, table_name: str, embed_dim: int) -> None:
        from llama_index.vector_stores.postgres import PGVectorStore
        from sqlalchemy import create_engine
        from sqlalchemy.ext.asyncio import create_async_engine

        sync_url, async_url = sqlalchemy_urls(dsn(cfg))
        self.cfg = cfg
        self.name = physical_table(table_name)
        identifier(self.name)
        self._engine = create_engine(sync_url, pool_pre_ping=True, connect_args=CONNECTION_OPTIONS)
        self._async_engine = create_async_engine(async_url)
        self.store = PGVectorStore(
            table_name=table_name,
            embed_dim=embed_dim,
            hybrid_search=True,
            text_search_config=TEXT_SEARCH_CONFIG,
            use_jsonb=True,
            hnsw_kwargs=None,
            initialization_fail_on_error=True,
            engine=self._engine,
            async_engine=self._async_engine,
        )

    def create(self) -> None:
        """Create the (empty) table, its GIN text-search index and the ref_doc_id index, and
        its ``article_id`` and ``passage_meta`` columns (:func:`retrieval.pgkeywords.add_search_columns`)."""
        self.store.add([])
        conn = connect(self.cfg)
        try:
            add_search_columns(conn, self.name)
            conn.commit()
        finally:
            conn.close()

    def copy_from(self, conn: Any, source: str) -> int:
        """Copy every passage (text, metadata, vector) of table ``source``; no re-embedding."""
        from psycopg2 import sql

        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} (text, metadata_, node_id, embedding) "
                    "SELECT text, metadata_, node_id, embedding FROM {} ORDER BY id"
                ).format(identifier(self.name), identifier(source)),
            )
            return int(cur.rowcount)

    def finish(self, conn: Any) -> dict[str, int]:
        """Build the HNSW index, refresh planner statistics; passages per article."""
        from psycopg2 import sql

        cfg = self.cfg
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {} ON {} USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = %s, ef_construction = %s)"
                ).format(identifier(f"{self.name}_hnsw"), identifier(self.name)),
                (cfg.hnsw_m, cfg.hnsw_ef_construction),
            )
            flush_gin(conn, self.name)
            cur.execute(sql.SQL("ANALYZE {}").format(identifier(self.name)))
            write_term_stats(conn, self.name)
            cur.execute(
                sql.SQL("SELECT metadata_->>'ref_doc_id', count(*) FROM {} GROUP BY 1").format(
                    identifier(self.name)
                )
            )
            return {str(doc): int(n) for doc, n in cur.fetchall()}

    def close(self) -> None:
        self._engine.dispose()


def table_exists(conn: Any, name: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])


def drop_table(conn: Any, name: str) -> None:
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier(name)))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier(terms_table(name))))


def vector_literal(vector: Sequence[float] | np.ndarray) -> str:
    """pgvector's text form of a vector, ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def generation_table(generation: Path) -> str | None:
    """The passage table of a postgres generation folder; None for another backend's folder."""
    try:
        return str(json.loads((generation / PG_FILE).read_text(encoding="utf-8"))["table"])
    except FileNotFoundError:
        return None
