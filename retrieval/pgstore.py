"""The PostgreSQL + pgvector adapter: the one module that talks to the postgres integration.

Passages are written through llama-index's ``PGVectorStore`` (``hybrid_search=True`` gives each
row a stored ``tsvector`` of its text with a GIN index); every index generation is its own
table, with an HNSW index (cosine) built once the table is filled, and the companions of
:mod:`retrieval.pgkeywords` (a term table, an ``article_id`` column). Searching queries the table
with ``psycopg2`` directly, as :mod:`retrieval.store` does for Qdrant, so answering a question
does not import llama-index: pgvector for the dense side, PostgreSQL full-text search over a
bounded candidate set for the keyword side, date and outlet filters in SQL.

The DSN comes from the environment variable ``store.postgres_dsn_env``; it is never logged.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from config.redaction import redact
from config.settings import ConfigError, Settings, StoreSettings
from retrieval.models import Passage
from retrieval.pgkeywords import (
    ARTICLE_COLUMN,
    ARTICLE_EXPRESSION,
    META_COLUMN,
    TEXT_SEARCH_CONFIG,
    KeywordPlan,
    add_search_columns,
    candidates_query,
    flush_gin,
    keyword_query,
    plan_query,
    terms_table,
    upgrade_table,
    write_term_stats,
)
from retrieval.search import Candidates, Filters
from retrieval.store import StoreError, passage_from_fields, passage_from_payload

log = logging.getLogger(__name__)

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
                    "CREATE INDEX {} ON {} USING hnsw (embedding vector_cosine_ops) "
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


def drop_table(conn: Any, name: str) -> None:
    from psycopg2 import sql

    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier(name)))
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(identifier(terms_table(name))))


def vector_literal(vector: Sequence[float] | np.ndarray) -> str:
    """pgvector's text form of a vector, ``[0.1,0.2,...]``."""
    return "[" + ",".join(f"{float(x):.7g}" for x in vector) + "]"


def passage_from_row(node_id: str, text: str, meta: dict[str, Any]) -> Passage:
    """A passage from a row of a PGVectorStore table: its text column and either its slim
    ``passage_meta`` or (a table nobody could upgrade) the full ``metadata_``."""
    if "_node_content" in meta:
        return dataclasses.replace(passage_from_payload(node_id, meta), text=text)
    return passage_from_fields(node_id, meta, text, meta, meta.get("ref_doc_id"))


def _where(filters: Filters | None, meta: Any) -> tuple[Any, dict[str, Any]]:
    """The filter as an SQL condition on the metadata column ``meta`` (constant text; values go
    in as parameters)."""
    from psycopg2 import sql

    clauses, params = ["TRUE"], {}
    if filters is not None and filters.since is not None:
        clauses.append("({meta}->>'published') >= %(since)s")
        params["since"] = filters.since.isoformat()
    if filters is not None and filters.until is not None:
        clauses.append("({meta}->>'published') <= %(until)s")
        params["until"] = filters.until.isoformat()
    if filters is not None and filters.outlet:
        clauses.append("strpos(lower(coalesce({meta}->>'outlet', '')), %(outlet)s) > 0")
        params["outlet"] = filters.outlet.lower()
    return sql.SQL(" AND ").join(sql.SQL(c).format(meta=meta) for c in clauses), params


def advise_buffers(conn: Any, table: str) -> None:
    """Say (once, when a searcher opens) if PostgreSQL's buffer cache cannot hold the table and
    its indexes: search then copies most pages in from the OS cache (at 110k passages, twice
    the server CPU per search with the default 128 MB; BENCHMARKS.md section 7)."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_size_bytes(current_setting('shared_buffers')), pg_total_relation_size(%s)",
            (table,),
        )
        buffers, size = cur.fetchone()
    conn.rollback()
    if size > buffers:
        log.warning(
            "PostgreSQL's shared_buffers (%d MB) is smaller than this index's table (%d MB): "
            "search is about twice as slow; set shared_buffers to at least %d MB (needs a restart)",
            buffers // 2**20,
            size // 2**20,
            size * 5 // 4 // 2**20,
        )


#: a keyword query's passages (best first) and articles (doc id -> rank from 1)
_KeywordSide = tuple[list[tuple[Passage, float]], dict[str, int]]


def sql_article(has_column: bool) -> Any:
    """A row's article in SQL: the indexed column, or (an old table) the JSON expression."""
    from psycopg2 import sql

    return sql.Identifier(ARTICLE_COLUMN) if has_column else sql.SQL(ARTICLE_EXPRESSION)


class PgSearcher:
    """Dense (pgvector HNSW) and keyword (full-text) search over one generation's table."""

    def __init__(self, cfg: StoreSettings, table: str, max_connections: int = 4) -> None:
        from psycopg2 import sql
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
        conn = self._pool.getconn()
        try:
            shape = upgrade_table(conn, table)
            advise_buffers(conn, table)
        finally:
            self._pool.putconn(conn)
        self._bounded = shape.has_terms
        self._article = sql_article(shape.has_article)
        self._meta = sql.Identifier(META_COLUMN if shape.has_meta else "metadata_")
        #: query text -> its keyword plan (a generation's table never changes once published)
        self._plans: dict[str, KeywordPlan] = {}
        self._recent: dict[tuple[str, int, str], _KeywordSide] = {}
        self._plans_lock = threading.Lock()

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

        where, params = _where(filters, self._meta)
        # filtered: let HNSW keep scanning until enough rows pass
        scan = "relaxed_order" if params else "off"
        params |= {"v": vector_literal(vector), "limit": limit, "scan": scan}
        params["ef"] = str(max(self.cfg.hnsw_ef_search, limit))
        query = sql.SQL(  # one round trip: the settings (for this transaction) and the search
            "SELECT set_config('hnsw.ef_search', %(ef)s, true),"
            " set_config('hnsw.iterative_scan', %(scan)s, true);"
            " SELECT node_id, text, {meta}, 1 - (embedding <=> %(v)s::vector) FROM {table} "
            "WHERE {where} ORDER BY embedding <=> %(v)s::vector LIMIT %(limit)s"
        ).format(table=identifier(self.table), where=where, meta=self._meta)
        with self._cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        hits = [(passage_from_row(n, t, m), float(s)) for n, t, m, s in rows]
        return sorted(hits, key=lambda h: -h[1])

    def candidates(
        self,
        query: str,
        vector: np.ndarray,
        limit: int,
        filters: Filters | None = None,
        dense: list[tuple[Passage, float]] | None = None,
    ) -> Candidates:
        """What :meth:`dense`, :meth:`keyword`, :meth:`article_ranks` and :meth:`best_passages`
        give one fusion step, in one statement (after the query's keyword plan, kept per query
        text): text and metadata are read once per passage named, the ids ranked first."""
        from psycopg2 import sql

        where, params = _where(filters, self._meta)
        scan = "relaxed_order" if params else "off"  # filtered: HNSW scans on until enough pass
        params |= {"v": vector_literal(vector), "limit": limit, "scan": scan}
        params |= {"ef": str(max(self.cfg.hnsw_ef_search, limit))}
        if dense is not None:
            params["seen"] = sorted({p.doc_id for p, _ in dense})
        with self._cursor() as cur:
            plan = self._plan(cur, query)
            params |= {"loose": plan.loose or None, "cand": plan.candidates}
            statement = candidates_query(plan, self.table, self._article, where, self._meta, dense is None)
            cur.execute(
                sql.SQL(
                    "SELECT set_config('hnsw.ef_search', %(ef)s, true),"
                    " set_config('hnsw.iterative_scan', %(scan)s, true); {}"
                ).format(statement),
                params,
            )
            rows = cur.fetchall()
        return _candidates(rows, dense)

    def _plan(self, cur: Any, text: str) -> KeywordPlan:
        with self._plans_lock:
            found = self._plans.get(text)
        if found is None:
            found = plan_query(cur, self.table, text, self.cfg.keyword_budget, self._bounded)
            with self._plans_lock:
                if len(self._plans) >= 512:
                    self._plans.clear()
                self._plans[text] = found
        return found

    def keyword(self, text: str, limit: int, filters: Filters | None = None) -> list[tuple[Passage, float]]:
        """The best ``limit`` of the passages holding the query's rarest words, scored like
        BM25 (see :mod:`retrieval.pgkeywords`); the text is read for those only."""
        return self._keyword_side(text, limit, filters)[0]

    def article_ranks(self, text: str, limit: int, filters: Filters | None = None) -> dict[str, int]:
        """Articles ranked by the query words found in their candidate passages: the whole
        article's keyword match, as the embedded backend's article BM25 ranks it."""
        return self._keyword_side(text, limit, filters)[1]

    def _keyword_side(self, text: str, limit: int, filters: Filters | None) -> _KeywordSide:
        """Both keyword lists from one query; hybrid search asks for the passages, then the
        articles, of the same question, so the last few answers are kept."""
        key = (text, limit, repr(filters))
        with self._plans_lock:
            found = self._recent.get(key)
        if found is not None:
            return found
        where, params = _where(filters, self._meta)
        with self._cursor() as cur:
            plan = self._plan(cur, text)
            if plan.candidates is None:
                return [], {}
            cur.execute(
                keyword_query(plan, self.table, self._article, where, self._meta),
                params | {"loose": plan.loose, "cand": plan.candidates, "limit": limit},
            )
            rows = cur.fetchall()
        passages = sorted((r for r in rows if r[0] == "p"), key=lambda r: (-r[1], r[2]))
        articles = sorted((r for r in rows if r[0] == "a"), key=lambda r: (-r[1], r[6]))
        found = (
            [(passage_from_row(r[3], r[4], r[5]), float(r[1])) for r in passages],
            {str(r[6]): rank for rank, r in enumerate(articles, 1)},
        )
        with self._plans_lock:
            if len(self._recent) >= 8:
                self._recent.pop(next(iter(self._recent)))
            self._recent[key] = found
        return found

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        """Each article's passage nearest ``vector``, in the order of ``docs``."""
        from psycopg2 import sql

        if not docs:
            return []
        query = sql.SQL(
            "SELECT DISTINCT ON ({article}) {article}, node_id, text, {meta},"
            " 1 - (embedding <=> %(v)s::vector) FROM {table} WHERE {article} = ANY(%(docs)s)"
            " ORDER BY {article}, embedding <=> %(v)s::vector"
        ).format(article=self._article, table=identifier(self.table), meta=self._meta)
        with self._cursor() as cur:
            cur.execute(query, {"v": vector_literal(vector), "docs": list(docs)})
            rows = {d: (passage_from_row(n, t, m), float(s)) for d, n, t, m, s in cur.fetchall()}
        return [rows[d] for d in docs if d in rows]

    def close(self) -> None:
        self._pool.closeall()


def _candidates(rows: list[tuple[Any, ...]], dense: list[tuple[Passage, float]] | None) -> Candidates:
    """:class:`Candidates` from the rows of :func:`retrieval.pgkeywords.candidates_query`, in
    the orders the separate calls give (nearest first; rank, then id or doc; article order)."""
    passages = {r[2]: passage_from_row(r[3], r[4], r[5]) for r in rows if r[0] == "t"}
    by_kind: dict[str, list[tuple[Any, ...]]] = {"d": [], "p": [], "a": [], "x": []}
    for row in rows:
        if row[0] != "t":
            by_kind[row[0]].append(row)
    if dense is None:
        dense = sorted(((passages[r[2]], float(r[1])) for r in by_kind["d"]), key=lambda h: -h[1])
    keyword = [(passages[r[2]], float(r[1])) for r in sorted(by_kind["p"], key=lambda r: (-r[1], r[2]))]
    articles = {
        str(r[6]): rank for rank, r in enumerate(sorted(by_kind["a"], key=lambda r: (-r[1], r[6])), 1)
    }
    best: dict[str, tuple[Passage, float | None]] = {
        r[6]: (passages[r[2]], float(r[1])) for r in by_kind["x"]
    }
    return Candidates(dense, keyword, articles, [best[d] for d in articles if d in best])


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
