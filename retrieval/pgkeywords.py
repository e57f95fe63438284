"""The keyword side of PostgreSQL search: which rows are worth ranking, and the SQL that ranks them.

PostgreSQL full-text search has no document frequencies, so an OR query of a question's words
("president", "week", "state", ...) matches most passages, and ``ts_rank`` must then read and
score every one of them (60% of a news corpus; p50 264-356 ms at 35,000 passages). BM25 on the
embedded backend weighs such words near zero anyway. So each generation table has a companion
``<table>_terms`` (lexeme, passages holding it), written once when the table is finished, and a
query ranks only the passages holding its rarest words, up to ``store.keyword_budget`` rows
(the GIN index finds them), each by its query words' ``ts_rank`` weighted by their BM25 idf.
On the RealTimeQA set this agrees with the embedded backend's BM25 more than ``ts_rank`` of
the whole OR query over every match did (BENCHMARKS.md section 7).

A table also carries ``article_id`` (a stored generated column, indexed), so the article-level
queries do not unpack every row's JSON metadata, and ``passage_meta`` (stored, generated), the
few fields a search hit needs: PGVectorStore's ``metadata_`` holds llama-index's whole node again
as ``_node_content`` (2-4 kB, so out of line in TOAST), and reading and parsing it for each of a
search's ~150 candidate rows was most of the dense side's time. Tables made before these existed
are given them on open (:func:`upgrade_table`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

TEXT_SEARCH_CONFIG = "english"
#: A row's article: PGVectorStore keeps llama-index's metadata flat beside ``ref_doc_id``.
ARTICLE_EXPRESSION = "coalesce(metadata_->>'article_id', metadata_->>'ref_doc_id')"
ARTICLE_COLUMN = "article_id"
#: What a search hit needs of a row's metadata: the flat fields (title, outlet, published, url,
#: sentences, article_id, ref_doc_id) and the passage's offsets, without ``_node_content``.
META_COLUMN = "passage_meta"
META_EXPRESSION = (
    "jsonb_set(jsonb_set(metadata_ - '{_node_content,_node_type,document_id,doc_id}'::text[],"
    " '{start_char_idx}', coalesce((metadata_->>'_node_content')::jsonb->'start_char_idx', 'null'::jsonb)),"
    " '{end_char_idx}', coalesce((metadata_->>'_node_content')::jsonb->'end_char_idx', 'null'::jsonb))"
)
# websearch_to_tsquery ANDs every word; a question rarely has all its words in one passage,
# so plain conjunctions become disjunctions (quoted phrases and -exclusions are kept), like BM25.
LOOSE_QUERY = "regexp_replace(websearch_to_tsquery('english', %(q)s)::text, ' & (?!!)', ' | ', 'g')"


def terms_table(table: str) -> str:
    return f"{table}_terms"


def lexeme(word: str) -> str:
    """A lexeme as tsquery text: quoted, with quotes and backslashes escaped."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def candidate_query(terms: Sequence[tuple[str, int]], passages: int, budget: int) -> str | None:
    """The tsquery (text) selecting the passages worth ranking for a query of ``terms``.

    ``terms`` are the query's lexemes with the number of passages holding each. The rarest
    ones are ORed while the passages they can match stay within ``budget``; when even the
    rarest word is that common, the rarest words are ANDed until the expected match (assuming
    independent words) fits. None when no word occurs at all (nothing can match).
    """
    known = sorted((n, w) for w, n in terms if n > 0)
    if not known:
        return None
    if known[0][0] > budget and len(known) > 1:
        chosen, expected = [], float(passages)
        for n, word in known:
            chosen.append(word)
            expected *= n / max(passages, 1)
            if expected <= budget:
                break
        return " & ".join(lexeme(w) for w in chosen)
    chosen, total = [], 0
    for n, word in known:
        if chosen and total + n > budget:
            break
        chosen.append(word)
        total += n
    return " | ".join(lexeme(w) for w in chosen)


@dataclass(frozen=True, slots=True)
class KeywordPlan:
    """A query's full OR tsquery (what ranks) and the tsquery of the rows to rank (None: none)."""

    loose: str
    candidates: str | None
    #: each query word the table holds, with its BM25 idf
    weights: tuple[tuple[str, float], ...] = ()

    @property
    def constrains(self) -> bool:
        """Whether the OR query says more than its words (a quoted phrase, an -exclusion), so
        rows must match it too; a plain OR of words matches every candidate anyway, and
        leaving it out keeps its common words' posting lists out of the GIN scan."""
        return any(op in self.loose for op in ("!", "<", "&"))

    def word_ranks(self) -> Any:
        """A row's ``ts_rank`` for each query word (a count of its occurrences that saturates,
        as BM25's does), as an array computed once per candidate row; without term
        statistics, the one ``ts_rank`` of the whole OR query."""
        from psycopg2 import sql

        if not self.weights:
            return sql.SQL("ARRAY[ts_rank(text_search_tsv, %(loose)s::tsquery, 1)]")
        term = sql.SQL("ts_rank(text_search_tsv, {}::tsquery, 0)")
        return sql.SQL("ARRAY[{}]").format(
            sql.SQL(", ").join(term.format(sql.Literal(lexeme(t))) for t, _ in self.weights)
        )

    def _weighted(self, template: str) -> Any:
        from psycopg2 import sql

        weights = [w for _, w in self.weights] or [1.0]
        term = sql.SQL(template)
        return sql.SQL(" + ").join(
            term.format(sql.Literal(w), sql.Literal(i)) for i, w in enumerate(weights, 1)
        )

    def passage_score(self) -> Any:
        """A passage's score: its words' ranks weighted by their idf, summed."""
        return self._weighted("{} * r[{}]")

    def article_score(self) -> Any:
        """An article's score from its candidate passages: each query word's best rank in any
        of them, weighted by idf and summed (the whole article's words, as article BM25 counts
        them); without term statistics, the passages' summed rank. (Summing the passages'
        scores favoured long articles: on the tuning half it agreed with article BM25 on 0.53 of
        the top 60 against 0.61, and hybrid MRR@10 was 0.632 against 0.702.)"""
        from psycopg2 import sql

        return self._weighted("{} * max(r[{}])") if self.weights else sql.SQL("sum(r[1])")

    def condition(self) -> Any:
        from psycopg2 import sql

        return sql.SQL("text_search_tsv @@ %(loose)s::tsquery" if self.constrains else "TRUE")


def _ranked(plan: KeywordPlan, table: str, article: Any, where: Any) -> Any:
    """The CTEs ``c`` (candidate rows and their per-word ranks), ``p`` (the best ``%(limit)s``
    passages: id, doc, rank) and ``a`` (the best ``%(limit)s`` articles: doc, rank)."""
    from psycopg2 import sql

    return sql.SQL(
        "c AS MATERIALIZED (SELECT id, {article} AS doc, {ranks} AS r FROM {table}"
        "  WHERE text_search_tsv @@ %(cand)s::tsquery AND {matches} AND {where}),"
        " p AS MATERIALIZED (SELECT id, doc, {passage} AS rank FROM c"
        "  ORDER BY rank DESC, id LIMIT %(limit)s),"
        " a AS MATERIALIZED (SELECT doc, {score} AS rank FROM c GROUP BY doc"
        "  ORDER BY rank DESC, doc LIMIT %(limit)s)"
    ).format(
        article=article,
        ranks=plan.word_ranks(),
        table=sql.Identifier(table),
        matches=plan.condition() if plan.candidates is not None else sql.SQL("FALSE"),
        where=where,
        passage=plan.passage_score(),
        score=plan.article_score(),
    )


def keyword_query(plan: KeywordPlan, table: str, article: Any, where: Any, meta: Any) -> Any:
    """Both keyword candidate lists in one statement, from one scoring of the candidate rows:
    rows ``('p', rank, id, node_id, text, metadata)`` for the best passages and ``('a', rank,
    NULL..., doc)`` for the best articles, ``%(limit)s`` of each (``meta``: the metadata column)."""
    from psycopg2 import sql

    return sql.SQL(
        "WITH {ranked}"
        " SELECT 'p', p.rank, p.id, t.node_id, t.text, t.{meta}, NULL FROM p JOIN {table} AS t USING (id)"
        " UNION ALL SELECT 'a', a.rank, NULL, NULL, NULL, NULL, a.doc FROM a"
    ).format(ranked=_ranked(plan, table, article, where), table=sql.Identifier(table), meta=meta)


def candidates_query(plan: KeywordPlan, table: str, article: Any, where: Any, meta: Any, dense: bool) -> Any:
    """Everything one fusion step takes, in one statement (:class:`retrieval.search.Candidates`):
    rows ``(kind, value, id, node_id, text, metadata, doc)`` -- ``'d'``: the ``%(limit)s``
    passages nearest ``%(v)s`` (cosine similarity, nearest first; with ``dense`` False, none:
    the docs of a dense list already had are ``%(seen)s``), ``'p'`` and ``'a'``: the keyword
    passages and articles, ``'x'``: the passage nearest ``%(v)s`` of each keyword article in
    neither passage list; and first ``'t'``: node id, text and metadata of every passage named."""
    from psycopg2 import sql

    nearest = sql.SQL(
        "SELECT id, {article} AS doc, 1 - (embedding <=> %(v)s::vector) AS score FROM {table}"
        " WHERE {where} ORDER BY embedding <=> %(v)s::vector LIMIT %(limit)s"
        if dense
        else "SELECT NULL::bigint AS id, unnest(%(seen)s::text[]) AS doc, NULL::float8 AS score"
    ).format(article=article, table=sql.Identifier(table), where=where)
    return sql.SQL(
        "WITH d AS MATERIALIZED ({nearest}), {ranked},"
        " x AS MATERIALIZED (SELECT DISTINCT ON ({article}) {article} AS doc, id,"
        "  1 - (embedding <=> %(v)s::vector) AS score FROM {table}"
        "  WHERE {article} IN (SELECT doc FROM a EXCEPT (SELECT doc FROM d UNION SELECT doc FROM p))"
        "  ORDER BY {article}, embedding <=> %(v)s::vector)"
        " SELECT 't', NULL::float8, t.id, t.node_id, t.text, t.{meta}, NULL FROM {table} AS t"
        "  WHERE t.id IN (SELECT id FROM d UNION SELECT id FROM p UNION SELECT id FROM x)"
        " UNION ALL SELECT 'd', score, id, NULL, NULL, NULL, doc FROM d WHERE id IS NOT NULL"
        " UNION ALL SELECT 'p', rank, id, NULL, NULL, NULL, doc FROM p"
        " UNION ALL SELECT 'a', rank, NULL, NULL, NULL, NULL, doc FROM a"
        " UNION ALL SELECT 'x', score, id, NULL, NULL, NULL, doc FROM x"
    ).format(
        nearest=nearest,
        ranked=_ranked(plan, table, article, where),
        article=article,
        table=sql.Identifier(table),
        where=where,
        meta=meta,
    )


def plan_query(cur: Any, table: str, text: str, budget: int, has_terms: bool) -> KeywordPlan:
    """One round trip: the query's OR tsquery and, from the term table, its candidate tsquery."""
    from psycopg2 import sql

    if not has_terms:  # an old table nobody could upgrade: rank every match, as before
        cur.execute(sql.SQL("SELECT {}").format(sql.SQL(LOOSE_QUERY)), {"q": text})
        loose = str(cur.fetchone()[0])
        return KeywordPlan(loose, loose or None)
    cur.execute(
        sql.SQL(
            "SELECT {loose}, (SELECT reltuples FROM pg_class WHERE oid = %(table)s::regclass),"
            " array(SELECT ARRAY[w.word, coalesce(t.ndoc, 0)::text]"
            "  FROM unnest(tsvector_to_array(to_tsvector('english', %(q)s))) AS w(word)"
            "  LEFT JOIN {terms} AS t USING (word))"
        ).format(loose=sql.SQL(LOOSE_QUERY), terms=sql.Identifier(terms_table(table))),
        {"q": text, "table": table},
    )
    loose, passages, pairs = cur.fetchone()
    if not loose:
        return KeywordPlan("", None)
    terms = [(w, int(n)) for w, n in pairs]
    n = max(int(passages), 1)
    weights = tuple((w, round(idf(c, n), 4)) for w, c in sorted(terms) if c > 0)
    return KeywordPlan(str(loose), candidate_query(terms, n, budget), weights)


def idf(holding: int, passages: int) -> float:
    """BM25's (Lucene's) inverse document frequency, as bm25s computes it on the embedded side."""
    return math.log(1 + (passages - holding + 0.5) / (holding + 0.5))


def flush_gin(conn: Any, table: str) -> None:
    """Merge the GIN index's pending list into the index: rows inserted after the index was
    made wait there (up to 4 MB), and every search would scan it linearly."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT gin_clean_pending_list(i.indexrelid) FROM pg_index i"
            " JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam"
            " WHERE i.indrelid = %s::regclass AND a.amname = 'gin'",
            (table,),
        )


def write_term_stats(conn: Any, table: str) -> None:
    """(Re)write ``<table>_terms``: every lexeme of the table and how many passages hold it."""
    from psycopg2 import sql

    terms = sql.Identifier(terms_table(table))
    source = sql.SQL("SELECT text_search_tsv FROM {}").format(sql.Identifier(table)).as_string(conn)
    with conn.cursor() as cur:
        cur.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(terms))
        cur.execute(sql.SQL("CREATE TABLE {} AS SELECT word, ndoc FROM ts_stat(%s)").format(terms), (source,))
        cur.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (word)").format(terms))
        cur.execute(sql.SQL("ANALYZE {}").format(terms))


def add_search_columns(conn: Any, table: str) -> None:
    """The row's article as a stored, indexed column, its slim metadata (``passage_meta``), and
    the tsvector and the vector kept in the row (MAIN, rows of up to 4 kB): ranking a match,
    scoring an article's passages or reading a hit then reads no TOAST table (only the full
    JSON metadata goes out of line). On a filled table this is one rewrite."""
    from psycopg2 import sql

    name = sql.Identifier(table)
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL(
                "ALTER TABLE {} ALTER COLUMN text_search_tsv SET STORAGE MAIN,"
                " ALTER COLUMN embedding SET STORAGE MAIN, SET (toast_tuple_target = 4080),"
                " ADD COLUMN IF NOT EXISTS {} TEXT GENERATED ALWAYS AS ({}) STORED,"
                " ADD COLUMN IF NOT EXISTS {} JSONB GENERATED ALWAYS AS ({}) STORED"
            ).format(
                name,
                sql.Identifier(ARTICLE_COLUMN),
                sql.SQL(ARTICLE_EXPRESSION),
                sql.Identifier(META_COLUMN),
                sql.SQL(META_EXPRESSION),
            )
        )
        cur.execute(
            sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(f"{table}_article"), name, sql.Identifier(ARTICLE_COLUMN)
            )
        )


@dataclass(frozen=True, slots=True)
class TableShape:
    """What a generation table has of the keyword machinery above."""

    has_terms: bool
    has_article: bool
    has_meta: bool = False

    @property
    def complete(self) -> bool:
        return self.has_terms and self.has_article and self.has_meta


def table_shape(cur: Any, table: str) -> TableShape:
    cur.execute(
        "SELECT to_regclass(%(terms)s) IS NOT NULL, array(SELECT column_name::text"
        " FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %(table)s AND column_name IN (%(article)s, %(meta)s))",
        {"terms": terms_table(table), "table": table, "article": ARTICLE_COLUMN, "meta": META_COLUMN},
    )
    terms, columns = cur.fetchone()
    return TableShape(bool(terms), ARTICLE_COLUMN in columns, META_COLUMN in columns)


def upgrade_table(conn: Any, table: str) -> TableShape:
    """Give a table made by an older newsdesk its term table, article column and slim metadata
    column, once (the columns: one rewrite of the table; at 110k passages ~1-4 minutes, during
    which this process does not answer).

    Several processes may open it at once: a transaction-scoped advisory lock lets one do the
    work. Without the rights to (a read-only role), search still works, ranking every match.
    """
    import psycopg2

    with conn.cursor() as cur:
        shape = table_shape(cur, table)
    if shape.complete:
        conn.rollback()
        return shape
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"newsdesk-upgrade:{table}",))
            shape = table_shape(cur, table)
        if not shape.has_terms:
            flush_gin(conn, table)
            write_term_stats(conn, table)
        if not (shape.has_article and shape.has_meta):
            add_search_columns(conn, table)
        conn.commit()
        log.info("upgraded %s for bounded keyword search and slim metadata", table)
        return TableShape(True, True, True)
    except psycopg2.Error as exc:
        conn.rollback()
        log.warning(
            "cannot upgrade %s for bounded keyword search (%s); keyword search ranks every match "
            "until the next 'newsdesk index' (run it with a role that may create tables)",
            table,
            " ".join(str(exc).split())[:200],
        )
        with conn.cursor() as cur:
            shape = table_shape(cur, table)
        conn.rollback()
        return shape
