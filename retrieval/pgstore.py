"""The PostgreSQL + pgvector adapter: the one module that talks to the postgres integration.

Passages are written through llama-index's ``PGVectorStore`` (``hybrid_search=True`` gives each
row a stored ``tsvector`` of its text with a GIN index); every index generation is its own
table, with an HNSW index (cosine) built once the table is filled. Searching queries the table
with ``psycopg2`` directly, as :mod:`retrieval.store` does for Qdrant, so answering a question
does not import llama-index: pgvector for the dense side, PostgreSQL full-text search
(``websearch_to_tsquery``, ``ts_rank``) for the keyword side, date and outlet filters in SQL.

The DSN comes from the environment variable ``store.postgres_dsn_env``; it is never logged.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from config.redaction import redact
from config.settings import ConfigError, Settings, StoreSettings
from retrieval.models import Passage
from retrieval.search import Filters
from retrieval.store import StoreError, passage_from_payload

TEXT_SEARCH_CONFIG = "english"
#: In a generation folder of the postgres backend: {"table": "<passage table>"}.
PG_FILE = "pg.json"
_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
# websearch_to_tsquery ANDs every word; a question rarely has all its words in one passage,
# so plain conjunctions become disjunctions (quoted phrases and -exclusions are kept), like BM25.
_LOOSE_QUERY = "regexp_replace(websearch_to_tsquery('english', %(q)s)::text, ' & (?!!)', ' | ', 'g')::tsquery"


def dsn(cfg: StoreSettings) -> str:
    """The PostgreSQL DSN from the environment; StoreError (naming only the variable) if unset."""
    value = Settings.secret(cfg.postgres_dsn_env)
    if value is None:
        raise StoreError(
            f"store.backend is postgres but {cfg.postgres_dsn_env} is not set; "
            "set it to e.g. postgresql://user:password@host:5432/database"
        )
    return value


def sqlalchemy_urls(dsn_text: str) -> tuple[str, str]:
    """The sync (psycopg2) and async (asyncpg) SQLAlchemy URLs for a libpq-style DSN."""
    rest = re.sub(r"^postgres(ql)?(\+\w+)?://", "", dsn_text)
    if rest == dsn_text:
        raise StoreError("the PostgreSQL DSN must start with postgresql://")
    return f"postgresql+psycopg2://{rest}", f"postgresql+asyncpg://{rest}"


def _connect_error(cfg: StoreSettings, exc: BaseException) -> StoreError | ConfigError:
    """One line naming the variable; libpq's words may quote the DSN, so they are redacted.
    A malformed DSN is the user's to fix (exit 2); a server that cannot be reached, a failed run."""
    detail = " ".join(str(exc).split())
    if "invalid dsn" in detail.lower():
        return ConfigError(f"{cfg.postgres_dsn_env} is not a valid PostgreSQL DSN ({redact(detail)})")
    return StoreError(f"cannot connect to PostgreSQL ({cfg.postgres_dsn_env}): {redact(detail)}")


def connect(cfg: StoreSettings, autocommit: bool = False) -> Any:
    """A psycopg2 connection to the configured database."""
    import psycopg2

    try:
        conn = psycopg2.connect(dsn(cfg), connect_timeout=10, application_name="newsdesk")
    except psycopg2.Error as exc:  # OperationalError, or ProgrammingError for a malformed DSN
        raise _connect_error(cfg, exc) from None
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
        self._engine = create_engine(sync_url, pool_pre_ping=True)
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
        """Create the (empty) table, its GIN text-search index and the ref_doc_id index."""
        self.store.add([])

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
                    "CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops) "
                    "WITH (m = %s, ef_construction = %s)"
                ).format(identifier(f"{self.name}_hnsw"), identifier(self.name)),
                (cfg.hnsw_m, cfg.hnsw_ef_construction),
            )
            cur.execute(sql.SQL("ANALYZE {}").format(identifier(self.name)))
            cur.execute(
                sql.SQL("SELECT metadata_->>'ref_doc_id', count(*) FROM {} GROUP BY 1").format(
                    identifier(self.name)
                )
            )
            return {str(doc): int(n) for doc, n in cur.fetchall()}

    def close(self) -> None:
        self._engine.dispose()


def drop_table(conn: Any, name: str) -> None:
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier(name)))


def vector_literal(vector: Sequence[float] | np.ndarray) -> str:
    """pgvector's text form of a vector, ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def passage_from_row(node_id: str, text: str, metadata: dict[str, Any]) -> Passage:
    """A passage from a row of a PGVectorStore table (text in its own column)."""
    return dataclasses.replace(passage_from_payload(node_id, metadata), text=text)


def _where(filters: Filters | None) -> tuple[Any, dict[str, Any]]:
    """The filter as an SQL condition (constant text; values go in as parameters)."""
    from psycopg2 import sql

    clauses, params = ["TRUE"], {}
    if filters is not None and filters.since is not None:
        clauses.append("(metadata_->>'published') >= %(since)s")
        params["since"] = filters.since.isoformat()
    if filters is not None and filters.until is not None:
        clauses.append("(metadata_->>'published') <= %(until)s")
        params["until"] = filters.until.isoformat()
    if filters is not None and filters.outlet:
        clauses.append("strpos(lower(coalesce(metadata_->>'outlet', '')), %(outlet)s) > 0")
        params["outlet"] = filters.outlet.lower()
    return sql.SQL(" AND ").join(sql.SQL(c) for c in clauses), params


#: A row's article: PGVectorStore keeps llama-index's metadata flat beside ``ref_doc_id``.
_ARTICLE = "coalesce(metadata_->>'article_id', metadata_->>'ref_doc_id')"


class PgSearcher:
    """Dense (pgvector HNSW) and keyword (full-text) search over one generation's table."""

    def __init__(self, cfg: StoreSettings, table: str, max_connections: int = 4) -> None:
        from psycopg2.pool import ThreadedConnectionPool

        self.cfg = cfg
        self.table = table
        identifier(table)
        try:
            self._pool = ThreadedConnectionPool(
                1, max_connections, dsn(cfg), connect_timeout=10, application_name="newsdesk"
            )
        except Exception as exc:  # psycopg2.Error, without importing it at module level
            raise _connect_error(cfg, exc) from None

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        import psycopg2

        conn = self._pool.getconn()
        try:
            with conn.cursor() as cur:
                yield cur
        except psycopg2.errors.UndefinedTable as exc:
            raise StoreError("this index generation was replaced; ask again") from exc
        finally:
            conn.rollback()  # read only: ends the transaction and its SET LOCALs
            self._pool.putconn(conn)

    def dense(
        self, vector: np.ndarray, limit: int, filters: Filters | None = None
    ) -> list[tuple[Passage, float]]:
        from psycopg2 import sql

        where, params = _where(filters)
        params |= {"v": vector_literal(vector), "limit": limit}
        query = sql.SQL(
            "SELECT node_id, text, metadata_, 1 - (embedding <=> %(v)s::vector) FROM {table} "
            "WHERE {where} ORDER BY embedding <=> %(v)s::vector LIMIT %(limit)s"
        ).format(table=identifier(self.table), where=where)
        with self._cursor() as cur:
            cur.execute(
                "SELECT set_config('hnsw.ef_search', %s, true)", (str(max(self.cfg.hnsw_ef_search, limit)),)
            )
            if len(params) > 2:  # filtered: let HNSW keep scanning until enough rows pass
                cur.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
            cur.execute(query, params)
            rows = cur.fetchall()
        hits = [(passage_from_row(n, t, m), float(s)) for n, t, m, s in rows]
        return sorted(hits, key=lambda h: -h[1])

    def keyword(self, text: str, limit: int, filters: Filters | None = None) -> list[tuple[Passage, float]]:
        from psycopg2 import sql

        where, params = _where(filters)
        params |= {"q": text, "limit": limit}
        query = sql.SQL(
            "WITH q AS (SELECT {loose} AS query) "
            "SELECT node_id, text, metadata_, ts_rank(text_search_tsv, q.query, 1) AS rank "
            "FROM {table}, q WHERE text_search_tsv @@ q.query AND {where}"
            " ORDER BY rank DESC, id LIMIT %(limit)s"
        ).format(loose=sql.SQL(_LOOSE_QUERY), table=identifier(self.table), where=where)
        with self._cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        return [(passage_from_row(n, t, m), float(s)) for n, t, m, s in rows]

    def article_ranks(self, text: str, limit: int, filters: Filters | None = None) -> dict[str, int]:
        """Articles ranked by their passages' summed full-text rank: the whole article's keyword
        match, as the embedded backend's article BM25 ranks it, from the passages' GIN index."""
        from psycopg2 import sql

        where, params = _where(filters)
        params |= {"q": text, "limit": limit}
        query = sql.SQL(
            "WITH q AS (SELECT {loose} AS query) "
            "SELECT {article} AS doc, sum(ts_rank(text_search_tsv, q.query, 1)) AS rank "
            "FROM {table}, q WHERE text_search_tsv @@ q.query AND {where}"
            " GROUP BY 1 ORDER BY rank DESC, doc LIMIT %(limit)s"
        ).format(
            loose=sql.SQL(_LOOSE_QUERY), article=sql.SQL(_ARTICLE), table=identifier(self.table), where=where
        )
        with self._cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        return {str(doc): rank for rank, (doc, _score) in enumerate(rows, 1)}

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        """Each article's passage nearest ``vector``, in the order of ``docs``."""
        from psycopg2 import sql

        if not docs:
            return []
        query = sql.SQL(
            "SELECT DISTINCT ON ({article}) {article}, node_id, text, metadata_,"
            " 1 - (embedding <=> %(v)s::vector) FROM {table} WHERE {article} = ANY(%(docs)s)"
            " ORDER BY {article}, embedding <=> %(v)s::vector"
        ).format(article=sql.SQL(_ARTICLE), table=identifier(self.table))
        with self._cursor() as cur:
            cur.execute(query, {"v": vector_literal(vector), "docs": list(docs)})
            rows = {d: (passage_from_row(n, t, m), float(s)) for d, n, t, m, s in cur.fetchall()}
        return [rows[d] for d in docs if d in rows]

    def close(self) -> None:
        self._pool.closeall()


def generation_table(generation: Path) -> str | None:
    """The passage table of a postgres generation folder; None for another backend's folder."""
    try:
        return str(json.loads((generation / PG_FILE).read_text(encoding="utf-8"))["table"])
    except FileNotFoundError:
        return None


def open_pg_searcher(generation: Path, cfg: StoreSettings) -> PgSearcher:
    """The searcher of a postgres generation folder; StoreError for a Qdrant-built index."""
    table = generation_table(generation)
    if table is None:
        raise StoreError(
            f"the index in {generation.parent} was built for Qdrant; run 'newsdesk migrate --to postgres' "
            "(keeps the vectors) or 'newsdesk index --rebuild'"
        )
    return PgSearcher(cfg, table)
