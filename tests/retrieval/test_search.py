"""Hybrid search over the seeds: fused ranks, date filters, wire copy collapsed."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

from config import Settings
from corpus import SAMPLE_CORPUS
from prompts.desk import Desk
from retrieval.models import Passage, SearchHit
from retrieval.search import Filters, collapse_duplicates


def test_keyword_and_dense_both_contribute(seed_desk: Desk) -> None:
    hits = seed_desk.search("Igor Sechin Rosneft gas agreements")
    assert hits[0].passage.doc_id in {"002_34079f22cab0dbd2", "004_b7190532bde7290f"}
    assert any(h.keyword_rank for h in hits) and any(h.dense_rank for h in hits)


def test_passages_quote_their_article_exactly(seed_desk: Desk) -> None:
    from retrieval.sources import read_folder

    texts = {a.doc_id: a.text for a in read_folder(SAMPLE_CORPUS)[0]}
    for hit in seed_desk.search("Putin Xi meeting", k=10):
        p = hit.passage
        assert texts[p.doc_id][p.start : p.end] == p.text


def test_date_range_filters_results(seed_desk: Desk) -> None:
    hits = seed_desk.search("meeting between Putin and Xi", k=10, since=date(2023, 1, 1))
    assert hits and {h.passage.doc_id for h in hits} == {"001_f0604eb540a79818"}
    old = seed_desk.search("meeting between Putin and Xi", k=10, until=date(2021, 12, 31))
    assert {h.passage.doc_id for h in old} == {"003_8ede539651f993fa"}


def test_outlet_filter(seed_desk: Desk) -> None:
    hits = seed_desk.search("Olympics", k=10, outlet="south china morning post")
    assert hits and all(h.passage.outlet == "South China Morning Post" for h in hits)


def test_latest_questions_prefer_newer_coverage(seed_desk: Desk) -> None:
    assert seed_desk.search("latest meeting between Putin and Xi")[0].passage.published == date(2023, 3, 17)


def _hit(key: str, doc: str, text: str, score: float) -> SearchHit:
    sentences = []
    pos = 0
    for part in text.split(". "):
        start = text.index(part, pos)
        sentences.append((start, start + len(part)))
        pos = start + len(part)
    return SearchHit(Passage(key, doc, "t", text, 0, len(text), sentences=tuple(sentences)), score)


def test_wire_copy_in_two_outlets_is_collapsed_into_one_hit() -> None:
    wire = "Talks began in Beijing. Both sides praised the ties. Gas deals were signed"
    hits = [
        _hit("a", "outlet-a", wire, 0.9),
        _hit("b", "outlet-b", wire.replace("Beijing", "Beijing,"), 0.8),
        _hit("c", "outlet-c", "Something else entirely. Another topic here", 0.7),
    ]
    collapsed = collapse_duplicates(hits, 0.5)
    assert [h.passage.key for h in collapsed] == ["a", "c"]
    assert collapsed[0].also_in == ("outlet-b",)


def test_syndicated_copy_is_collapsed_end_to_end(tmp_path: Path, settings: Settings) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    story = (
        "Ministers agree flood plan\n\nThe ministers agreed a flood defence plan on Monday. "
        "The plan costs two billion euros over ten years. Work starts in the spring. "
        "Critics said the plan came too late for towns flooded last winter."
    )
    (corpus / "wire-a.txt").write_text(story, encoding="utf-8")
    (corpus / "wire-b.txt").write_text(story + "\n\nCopyright another outlet.", encoding="utf-8")
    desk = Desk.open(settings, tmp_path / "data", build=False)
    desk.reindex(corpus)
    hits = desk.search("flood defence plan cost")
    assert len({h.passage.doc_id for h in hits}) == 1
    assert hits[0].also_in
    assert hits[0].also_outlets == ()  # two files of one folder: no other outlet ('+1 outlet' was shown)
    desk.close()


def test_local_exact_search_ranks_as_qdrant_does(seed_data_dir: Path, settings: Settings) -> None:
    from retrieval.backends.embedded import EmbeddedSource
    from retrieval.catalog import current_generation
    from retrieval.minilm import MiniLMEncoder
    from retrieval.search import HybridSearcher
    from retrieval.store import DenseSearcher

    generation = current_generation(seed_data_dir / "index")
    assert generation is not None
    source = EmbeddedSource(generation, settings)
    searcher = HybridSearcher(generation, source, settings.search, MiniLMEncoder())
    assert source.exact is not None
    target = generation.parent.parent / "qdrant-copy"
    import shutil

    from retrieval.backends.embedded import generation_nodes
    from retrieval.store import open_client, vector_store

    client = open_client(settings.store, target)  # the generation's passages, in Qdrant's local mode
    with warnings.catch_warnings():  # local mode: payload indexes (warned once per process)
        warnings.simplefilter("ignore")
        vector_store(settings.store, client).add(generation_nodes(generation))
    client.close()
    qdrant = DenseSearcher(settings.store, target)
    try:
        for query in ["gas agreements Rosneft", "Olympic boycott", "arrest warrant"]:
            vector = searcher.encoder.embed_query(query)
            ours = [(p.key, round(s, 4)) for p, s in source.exact.search(vector, 10, None)]
            theirs = [(h.key, round(h.score, 4)) for h in qdrant.search(vector, 10)]
            assert ours == theirs
    finally:
        qdrant.close()
        shutil.rmtree(target)


def test_articles_of_one_story_collapse_into_the_best_hit() -> None:
    hits = [
        _hit("a", "afp-on-site-1", "Talks began in Beijing. Both praised ties", 0.9),
        _hit("b", "afp-on-site-2", "Negotiations opened in the capital. Leaders hailed links", 0.8),
        _hit("c", "other", "Something else entirely. Another topic here", 0.7),
    ]
    story_of = {"afp-on-site-1": "afp-on-site-1", "afp-on-site-2": "afp-on-site-1"}
    collapsed = collapse_duplicates(hits, 0.5, story_of)
    assert [h.passage.key for h in collapsed] == ["a", "c"]
    assert collapsed[0].also_in == ("afp-on-site-2",)


class FakeSource:
    """A store backend's candidates, fixed: what HybridSearcher does with them is backend-free."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        return [(p, 0.9 - i / 10) for i, p in enumerate(self.passages)][:limit]

    def keyword(self, query: str, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        return [(p, 5.0 - i) for i, p in enumerate(reversed(self.passages))][:limit]

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        return {"c": 1}

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        return []

    def close(self) -> None:
        pass


def test_fusion_filters_and_story_collapse_do_not_depend_on_the_backend(
    tmp_path: Path, settings: Settings
) -> None:
    import numpy as np

    from retrieval.catalog import Catalog
    from retrieval.search import Filters, HybridSearcher

    def passage(doc: str, day: int, outlet: str) -> Passage:
        text = f"Sentence about {doc} number {day}."
        return Passage(f"{doc}-0", doc, doc.upper(), text, 0, len(text), outlet, date(2023, 3, day))

    a, b, c = passage("a", 1, "Wire"), passage("b", 2, "Courier"), passage("c", 3, "Wire")
    Catalog({}, "2023-03-04T00:00:00+00:00", "minilm", "key").write(tmp_path)

    class Encoder:
        def embed_query(self, query: str) -> np.ndarray:
            return np.zeros(3, dtype=np.float32)

    searcher = HybridSearcher(tmp_path, FakeSource([a, b, c]), settings.search, Encoder())
    hits = searcher.search("anything", k=3)
    assert [h.passage.doc_id for h in hits] == ["c", "a", "b"]  # the article rank lifts c
    searcher.stories = {"a": "story", "c": "story"}  # a syndicated copy of one story
    hits = searcher.search("anything", k=3)
    assert [(h.passage.doc_id, h.also_in) for h in hits] == [("c", ("a",)), ("b", ())]
    hits = searcher.search("anything", k=3, filters=Filters(outlet="courier"))
    assert [h.passage.doc_id for h in hits] == ["b"]


def test_coverage_near_the_asking_day_ranks_higher(tmp_path: Path, settings: Settings) -> None:
    import numpy as np

    from retrieval.catalog import Catalog
    from retrieval.search import HybridSearcher

    def passage(doc: str, day: date) -> Passage:
        text = f"Sentence about {doc}."
        return Passage(f"{doc}-0", doc, doc.upper(), text, 0, len(text), "Wire", day)

    old, new = passage("old", date(2023, 1, 2)), passage("new", date(2023, 6, 20))
    Catalog({}, "2023-06-21T00:00:00+00:00", "minilm", "key").write(tmp_path)

    class Encoder:
        def embed_query(self, query: str) -> np.ndarray:
            return np.zeros(3, dtype=np.float32)

    class Source(FakeSource):
        def keyword(self, query: str, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
            return []

        def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
            return {}

    searcher = HybridSearcher(tmp_path, Source([old, new]), settings.search, Encoder())
    assert [h.passage.doc_id for h in searcher.search("who won", k=2)] == ["old", "new"]
    asked = searcher.search("who won", k=2, asked_on=date(2023, 6, 22))
    assert [h.passage.doc_id for h in asked] == ["new", "old"]  # that week's news first
    in_january = searcher.search("who won", k=2, asked_on=date(2023, 1, 3))
    assert [h.passage.doc_id for h in in_january] == ["old", "new"]


def test_the_query_worker_changes_no_hit(seed_desk: Desk) -> None:
    # the vector and the dense scan beside the keyword side: the same hits, scores and ranks
    from retrieval.search import Filters

    searcher = seed_desk.searcher
    assert searcher.ahead is not None
    cases = [
        ("Igor Sechin Rosneft gas agreements", Filters()),
        ("latest meeting between Putin and Xi", Filters()),
        ("Olympics boycott", Filters(outlet="south china morning post")),
        ("meeting between Putin and Xi", Filters(since=date(2023, 1, 1))),
    ]
    beside = [searcher.search(q, 10, f, asked_on=date(2023, 3, 20)) for q, f in cases]
    ahead, searcher.ahead = searcher.ahead, None
    try:
        in_turn = [searcher.search(q, 10, f, asked_on=date(2023, 3, 20)) for q, f in cases]
    finally:
        searcher.ahead = ahead
    assert beside == in_turn


def test_an_error_making_the_vector_reaches_the_caller(tmp_path: Path, settings: Settings) -> None:
    import numpy as np
    import pytest

    from retrieval.catalog import Catalog, IndexMismatch
    from retrieval.query_vectors import VectorsAhead
    from retrieval.search import HybridSearcher

    Catalog({}, "2023-03-04T00:00:00+00:00", "minilm", "key", dimension=384).write(tmp_path)

    class Encoder:
        def embed_query(self, query: str) -> np.ndarray:
            return np.zeros(3, dtype=np.float32)

    text = "Sentence about a."
    passages = [Passage("a-0", "a", "A", text, 0, len(text), "Wire", date(2023, 3, 1))]
    ahead = VectorsAhead()
    try:
        searcher = HybridSearcher(tmp_path, FakeSource(passages), settings.search, Encoder(), ahead)
        with pytest.raises(IndexMismatch, match="384-dimension"):
            searcher.search("anything")
    finally:
        ahead.close()


def _outlet_hit(key: str, doc: str, outlet: str | None, score: float) -> SearchHit:
    hit = _hit(key, doc, "Talks began in Beijing. Both sides praised the ties", score)
    return replace(hit, passage=replace(hit.passage, outlet=outlet))


def test_copies_count_as_outlets_only_when_their_outlet_is_another() -> None:
    hits = [
        _outlet_hit("outlets-a", "notes/tunnel.md", None, 0.9),
        _outlet_hit("outlets-b", "notes/tolls.md", None, 0.8),  # one file under two names, no outlet
        _outlet_hit("outlets-c", "wire/1", "Wire", 0.7),
        _outlet_hit("outlets-d", "wire/2", "wire ", 0.6),  # the same outlet, spelt otherwise
        _outlet_hit("outlets-e", "courier/1", "Courier", 0.5),
    ]
    [kept] = collapse_duplicates(hits, 0.5)
    assert kept.also_in == ("notes/tolls.md", "wire/1", "wire/2", "courier/1")  # unchanged
    assert kept.also_outlets == ("Wire", "Courier")
    [kept] = collapse_duplicates([hits[2], hits[3], hits[0]], 0.5)
    assert kept.also_outlets == ()  # the original's own outlet and a copy without one
