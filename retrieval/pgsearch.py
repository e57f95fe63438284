"""Search over one PostgreSQL generation table (see :mod:`retrieval.pgstore`), with ``psycopg2``
directly, as :mod:`retrieval.store` does for Qdrant, so answering a question does not import
llama-index: pgvector for the dense side, PostgreSQL full-text search over a bounded candidate
set for the keyword side (:mod:`retrieval.pgkeywords`), date and outlet filters in SQL, and all of
one fusion step's candidate lists in one statement (:meth:`PgSearcher.candidates`).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from config.redaction import redact
from config.settings import StoreSettings
from retrieval.models import Passage, PassageRef
from retrieval.pgkeywords import (
    ARTICLE_COLUMN,
    ARTICLE_EXPRESSION,
    META_COLUMN,
    KeywordPlan,
    candidates_query,
    keyword_query,
    plan_query,
    upgrade_table,
)
from retrieval.pgstore import (
    CONNECTION_OPTIONS,
    connect_error,
    dsn,
    generation_table,
    identifier,
    vector_literal,
)
from retrieval.search import Candidates, Filters
from retrieval.store import StoreError, passage_from_fields, passage_from_payload

log = logging.getLogger(__name__)

_T = TypeVar("_T")
#: how long a search waits for one of the searcher's connections while others use them all
_POOL_WAIT_S = 30.0


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
            self._pool = ThreadedConnectionPool(1, max_connections, dsn(cfg), **CONNECTION_OPTIONS)
        except Exception as exc:  # psycopg2.Error, without importing it at module level
            raise connect_error(cfg, exc) from None
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
        self._slots = threading.BoundedSemaphore(max_connections)

    @contextmanager
    def _slot(self) -> Iterator[None]:
        """One of the ``max_connections`` places to hold a connection (the others wait, up to
        ``_POOL_WAIT_S``): more threads than pooled connections never meet 'pool exhausted'."""
        if not self._slots.acquire(timeout=_POOL_WAIT_S):
            raise StoreError(f"PostgreSQL is busy: no free connection for {_POOL_WAIT_S:.0f} s; ask again")
        try:
            yield
        finally:
            self._slots.release()

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        """A pooled connection, given back with its read-only transaction ended (and its SET
        LOCALs); one the server closed is discarded, not pooled again."""
        import psycopg2

        try:
            conn = self._pool.getconn()
        except psycopg2.Error as exc:
            raise connect_error(self.cfg, exc) from None
        try:
            yield conn
        finally:
            if not conn.closed:
                conn.rollback()
            self._pool.putconn(conn, close=bool(conn.closed))

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        """A read-only cursor on one of the searcher's connections, for benchmarks and
        diagnostics (searches go through :meth:`_query`, which also replaces dropped ones)."""
        with self._slot(), self._borrowed() as conn, conn.cursor() as cur:
            yield cur

    def _query(self, work: Callable[[Any], _T]) -> _T:
        """``work(cursor)`` on a pooled connection, read only (:meth:`_slot`); a pooled
        connection the server dropped (a restart, a failover) is discarded and ``work`` run
        once more on a fresh one; a database that is down is one line (StoreError)."""
        import psycopg2

        with self._slot():
            for attempt in (1, 2):
                with self._borrowed() as conn:
                    try:
                        with conn.cursor() as cur:
                            return work(cur)
                    except psycopg2.errors.UndefinedTable as exc:
                        raise StoreError("this index generation was replaced; ask again") from exc
                    except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                        if not conn.closed:
                            raise  # the connection lives: a query error, not a lost server
                        if attempt == 2:
                            detail = redact(" ".join(str(exc).split()))
                            lost = f"lost the connection to PostgreSQL: {detail}; ask again"
                            raise StoreError(lost) from None
                        log.info("a pooled PostgreSQL connection was closed by the server; reconnecting")
            raise AssertionError("unreachable: the second attempt returns or raises")

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

        def run(cur: Any) -> list[tuple[Any, ...]]:
            cur.execute(query, params)
            return list(cur.fetchall())

        rows = self._query(run)
        hits = [(passage_from_row(n, t, m), float(s)) for n, t, m, s in rows]
        return sorted(hits, key=lambda h: -h[1])

    def candidates(
        self,
        query: str,
        vector: np.ndarray,
        limit: int,
        filters: Filters | None = None,
        dense: Sequence[tuple[PassageRef, float]] | None = None,
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

        def run(cur: Any) -> list[tuple[Any, ...]]:
            plan = self._plan(cur, query)
            bound = params | {"loose": plan.loose or None, "cand": plan.candidates}
            statement = candidates_query(plan, self.table, self._article, where, self._meta, dense is None)
            cur.execute(
                sql.SQL(
                    "SELECT set_config('hnsw.ef_search', %(ef)s, true),"
                    " set_config('hnsw.iterative_scan', %(scan)s, true); {}"
                ).format(statement),
                bound,
            )
            return list(cur.fetchall())

        rows = self._query(run)
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

        def run(cur: Any) -> list[tuple[Any, ...]] | None:
            plan = self._plan(cur, text)
            if plan.candidates is None:
                return None
            cur.execute(
                keyword_query(plan, self.table, self._article, where, self._meta),
                params | {"loose": plan.loose, "cand": plan.candidates, "limit": limit},
            )
            return list(cur.fetchall())

        rows = self._query(run)
        if rows is None:
            return [], {}
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

        def run(cur: Any) -> list[tuple[Any, ...]]:
            cur.execute(query, {"v": vector_literal(vector), "docs": list(docs)})
            return list(cur.fetchall())

        rows = {d: (passage_from_row(n, t, m), float(s)) for d, n, t, m, s in self._query(run)}
        return [rows[d] for d in docs if d in rows]

    def close(self) -> None:
        self._pool.closeall()


def _candidates(rows: list[tuple[Any, ...]], dense: Sequence[tuple[PassageRef, float]] | None) -> Candidates:
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


def open_pg_searcher(generation: Path, cfg: StoreSettings) -> PgSearcher:
    """The searcher of a postgres generation folder; StoreError for a Qdrant-built index."""
    table = generation_table(generation)
    if table is None:
        raise StoreError(
            f"the index in {generation.parent} was built for Qdrant; run 'newsdesk migrate --to postgres' "
            "(keeps the vectors) or 'newsdesk index --rebuild'"
        )
    return PgSearcher(cfg, table)
