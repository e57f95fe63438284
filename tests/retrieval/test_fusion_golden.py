"""Hybrid search's fusion and priors, pinned: the top-k ids, scores and ranks of many synthetic
searches (every prior, filter and duplicate collapse, many score ties) must equal the recorded
list byte for byte, so a faster fusion cannot change ranking.

The candidate lists come from a seeded fake :class:`SearchSource` (no embedder, no index), so
the figures are plain float arithmetic and hold on any machine. Re-record (only when a ranking
change is intended, and say so in the commit) with::

    .venv/bin/python -m tests.retrieval.test_fusion_golden --record
"""

from __future__ import annotations

import json
import random
import sys
import zlib
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from config import Settings
from retrieval.models import Passage
from retrieval.query_vectors import VectorsAhead
from retrieval.search import Filters, HybridSearcher

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "fusion_golden.json"

_WORDS = (
    "talks gas deal Beijing Moscow summit Olympics election budget storm vaccine court strike "
    "ceasefire rates bank market minister president trade tariffs climate wildfire flood"
).split()
_NAMES = ["Antony Blinken", "Xi Jinping", "Vladimir Putin", "Janet Yellen", "Rishi Sunak"]
_OUTLETS = ["Reuters", "South China Morning Post", "BBC News"]


def _corpus(rng: random.Random) -> list[Passage]:
    passages: list[Passage] = []
    wire = [f"{rng.choice(_NAMES)} said the {rng.choice(_WORDS)} went well" for _ in range(6)]
    for d in range(60):
        doc = f"doc{d:03d}"
        title = " ".join(rng.sample(_WORDS, 3)) + (f" {rng.choice(_NAMES)}" if rng.random() < 0.3 else "")
        day = None if rng.random() < 0.1 else date(2023, 1, 1) + timedelta(days=rng.randrange(90))
        outlet = None if rng.random() < 0.05 else rng.choice(_OUTLETS)
        for n in range(rng.randint(1, 4)):
            parts = [" ".join(rng.sample(_WORDS, 4)) for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.25:
                parts.append(rng.choice(wire))
            if rng.random() < 0.2:
                parts.append(f"{rng.choice(_NAMES)} spoke")
            text = ". ".join(parts)
            spans, pos = [], 0
            for part in parts:
                spans.append((pos, pos + len(part)))
                pos += len(part) + 2
            passages.append(
                Passage(f"{doc}#{n}", doc, title, text, 0, len(text), outlet, day, sentences=tuple(spans))
            )
    return passages


def _rng(*parts: object) -> random.Random:
    return random.Random(zlib.crc32(repr(parts).encode()))


class FakeSource:
    """Candidate lists drawn deterministically from the query (and the vector)."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.by_doc: dict[str, list[Passage]] = {}
        for p in passages:
            self.by_doc.setdefault(p.doc_id, []).append(p)

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        rng = _rng("dense", vector.tobytes())
        picked = [p for p in rng.sample(self.passages, min(limit, len(self.passages))) if filters.admits(p)]
        return [(p, round(0.9 - 0.01 * i, 4)) for i, p in enumerate(picked)]

    def keyword(self, query: str, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        rng = _rng("keyword", query)
        picked = [p for p in rng.sample(self.passages, min(limit, len(self.passages))) if filters.admits(p)]
        return [(p, 10.0 - i) for i, p in enumerate(picked)]

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        rng = _rng("articles", query)
        docs = [d for d in rng.sample(sorted(self.by_doc), min(limit // 4, len(self.by_doc)))]
        docs = [d for d in docs if any(filters.admits(p) for p in self.by_doc[d])]
        return {d: i for i, d in enumerate(docs, 1)}

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        out: list[tuple[Passage, float | None]] = []
        for d in docs:
            rng = _rng("best", d, vector.tobytes())
            out.append((rng.choice(self.by_doc[d]), None if rng.random() < 0.2 else round(rng.random(), 4)))
        return out

    def close(self) -> None:
        pass


class Encoder:
    def embed_query(self, query: str) -> np.ndarray:
        return np.array([zlib.crc32(query.encode()) % 997, len(query)], dtype=np.float32)


_VARIANTS: list[dict[str, Any]] = [
    {},
    {"recency_weight": 0.0, "keyword_weight": 1.0},
    {"recency_weight": 1.0, "recency_days": 7.0, "keyword_weight": 0.5},
    {"headline_weight": 0.25, "phrase_weight": 0.1, "article_evidence": 0.25},
    {"expansion_terms": 3, "expansion_docs": 3, "recency_weight": 0.5, "rrf_k": 60},
    {
        "expansion_terms": 2,
        "expansion_docs": 2,
        "headline_weight": 0.5,
        "phrase_weight": 0.2,
        "article_evidence": 0.5,
        "article_weight": 2.0,
        "dense_weight": 0.7,
        "candidates": 25,
        "top_k": 10,
    },
]


def _cases() -> list[tuple[str, dict[str, Any], Filters, date | None]]:
    rng = random.Random(14)
    cases = []
    for i in range(48):
        words = rng.sample(_WORDS, rng.randint(1, 4))
        if i % 3 == 0:
            words.insert(0, rng.choice(_NAMES))
        if i % 5 == 0:
            words.insert(0, rng.choice(["latest", "most recent", "now"]))
        query = " ".join(words)
        variant = _VARIANTS[i % len(_VARIANTS)]
        filters = [
            Filters(),
            Filters(since=date(2023, 2, 1)),
            Filters(until=date(2023, 2, 15)),
            Filters(outlet="reuters"),
        ][i % 4]
        asked = None if i % 3 != 1 else date(2023, 1, 1) + timedelta(days=rng.randrange(100))
        cases.append((query, variant, filters, asked))
    return cases


def _searcher(ahead: VectorsAhead | None = None) -> HybridSearcher:
    passages = _corpus(random.Random(13))
    searcher = HybridSearcher.__new__(HybridSearcher)
    searcher.ahead = ahead
    searcher.generation = Path("synthetic")
    searcher.source = FakeSource(passages)
    searcher.encoder = Encoder()
    searcher.catalog = SimpleNamespace(articles={}, dimension=None)  # type: ignore[assignment]
    searcher.stories = {f"doc{d:03d}": f"story{d // 3}" for d in range(0, 60, 4)}
    return searcher


def _results(ahead: VectorsAhead | None = None) -> list[dict[str, Any]]:
    searcher = _searcher(ahead)
    defaults = Settings().search
    out: list[dict[str, Any]] = []
    for query, variant, filters, asked in _cases():
        searcher.settings = defaults.model_copy(update=variant)
        k = 40 if len(out) % 2 else None  # deep lists too: ties far down are ordered by stability
        hits = searcher.search(query, k=k, filters=filters, asked_on=asked)
        out.append(
            {
                "query": query,
                "variant": variant,
                "filters": filters.to_json(),
                "asked_on": asked.isoformat() if asked else None,
                "hits": [
                    [h.passage.key, h.score, h.dense_score, h.keyword_rank, h.dense_rank, list(h.also_in)]
                    for h in hits
                ],
            }
        )
    return out


@pytest.mark.parametrize("beside", [False, True], ids=["in-turn", "vector-beside-keywords"])
def test_fusion_matches_the_recorded_ranking(beside: bool) -> None:
    # the query worker (vector and dense scan beside the keyword side) ranks the same
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    ahead = VectorsAhead() if beside else None
    try:
        now = json.loads(json.dumps(_results(ahead)))
    finally:
        if ahead is not None:
            ahead.close()
    assert len(now) == len(recorded)
    for got, want in zip(now, recorded, strict=True):
        assert got == want, f"ranking changed for {want['query']!r} {want['variant']} {want['filters']}"


def test_the_recording_exercises_ties_priors_and_collapse() -> None:
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    hits = [h for case in recorded for h in case["hits"]]
    assert sum(1 for h in hits if h[5]) >= 5  # collapsed duplicates recorded
    scores = [tuple(h[1] for h in case["hits"]) for case in recorded]
    assert any(len(set(s)) < len(s) for s in scores)  # tied scores, where order is stability
    assert any(h[3] is None for h in hits) and any(h[4] is None for h in hits)


if __name__ == "__main__" and "--record" in sys.argv:
    GOLDEN.write_text(json.dumps(_results(), indent=1) + "\n", encoding="utf-8")
    print("recorded", GOLDEN)
