"""Hybrid search: BM25 and dense retrieval fused by reciprocal rank, duplicates collapsed.

The searcher reads a finished index generation: the BM25 index llama-index's
``BM25Retriever`` persisted (loaded with ``bm25s``, which is what that retriever wraps), the
Qdrant collection (through :mod:`retrieval.store`) and the catalog. Wire copy repeated across
outlets is collapsed so the top results do not say the same sentence twice.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from config.settings import SearchSettings, StoreSettings
from retrieval.catalog import DENSE_FILE, Catalog
from retrieval.models import Passage, SearchHit
from retrieval.store import DenseSearcher, passage_from_payload

_WORDS = re.compile(r"\w+")
_RECENT = re.compile(r"\b(latest|most recent|newest|recently|last|current|now|today)\b", re.I)


class QueryEncoder(Protocol):
    def embed_query(self, query: str) -> np.ndarray: ...


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on what a search may return."""

    since: date | None = None
    until: date | None = None
    outlet: str | None = None

    def admits(self, passage: Passage) -> bool:
        if (self.since or self.until) and passage.published is None:
            return False
        if self.since and passage.published and passage.published < self.since:
            return False
        if self.until and passage.published and passage.published > self.until:
            return False
        return not self.outlet or self.outlet.lower() in (passage.outlet or "").lower()

    @property
    def active(self) -> bool:
        return bool(self.since or self.until or self.outlet)


def sentence_key(text: str) -> str:
    """A sentence normalised for duplicate detection (case, punctuation and spacing folded)."""
    return " ".join(_WORDS.findall(text.lower()))


class _Keyword:
    """The persisted BM25 index and its corpus rows: one per passage, the passage table."""

    def __init__(self, folder: Path) -> None:
        import bm25s
        import Stemmer

        self._bm25s = bm25s
        self.stemmer = Stemmer.Stemmer("english")
        self.index = bm25s.BM25.load(str(folder), load_corpus=True)
        self.rows: list[dict[str, Any]] = list(self.index.corpus)
        self.index.corpus = None  # retrieve() then returns row numbers, not rows
        self.passages: list[Passage | None] = [None] * len(self.rows)

    def passage(self, i: int) -> Passage:
        cached = self.passages[i]
        if cached is None:
            row = self.rows[i]
            cached = passage_from_payload(row["node_id"], row)
            self.passages[i] = cached
        return cached

    def search(self, query: str, limit: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        tokens = self._bm25s.tokenize(query, stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        limit = min(limit, len(self.rows))
        docs, scores = self.index.retrieve(
            tokens, k=limit, show_progress=False, weight_mask=mask, n_threads=1
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class _ExactDense:
    """Exact cosine search over a generation's passage vectors (rows in passage-table order).

    With embedded (local) Qdrant this is what Qdrant itself does, brute force, but without
    importing qdrant-client on every start (0.6-1.3 s here) or its per-point overhead; with a
    Qdrant server the server is queried instead.
    """

    def __init__(self, path: Path, table: _Keyword) -> None:
        self.matrix = np.load(path, mmap_mode="r")
        self.table = table

    def search(self, vector: np.ndarray, limit: int, mask: np.ndarray | None) -> list[tuple[Passage, float]]:
        if not len(self.matrix):
            return []
        scores = np.asarray(self.matrix @ vector, dtype=np.float32)
        if mask is not None:
            scores = np.where(mask > 0, scores, -np.inf)
        limit = min(limit, len(scores))
        top = np.argpartition(-scores, limit - 1)[:limit]
        top = top[np.argsort(-scores[top])]
        return [(self.table.passage(int(i)), float(scores[i])) for i in top if np.isfinite(scores[i])]


class HybridSearcher:
    """Searches one index generation; safe to share between threads for reading."""

    def __init__(
        self, generation: Path, store: StoreSettings, search: SearchSettings, encoder: QueryEncoder
    ) -> None:
        self.generation = generation
        self.settings = search
        self.encoder = encoder
        self.catalog = Catalog.read(generation)
        self._keyword = _Keyword(generation / "bm25") if (generation / "bm25").is_dir() else None
        self._exact: _ExactDense | None = None
        self._dense: DenseSearcher | None = None
        if not store.url and self._keyword is not None and (generation / DENSE_FILE).is_file():
            self._exact = _ExactDense(generation / DENSE_FILE, self._keyword)
        elif self._keyword is not None or store.url:
            self._dense = DenseSearcher(store, generation / "qdrant")

    def close(self) -> None:
        if self._dense is not None:
            self._dense.close()

    def _dense_search(
        self, vector: np.ndarray, limit: int, filters: Filters, mask: np.ndarray | None
    ) -> list[tuple[Passage, float]]:
        if self._exact is not None:
            return self._exact.search(vector, limit, mask)
        if self._dense is None:
            return []
        return [
            (passage_from_payload(h.key, h.payload), h.score)
            for h in self._dense.search(vector, limit, filters.since, filters.until)
        ]

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters.active or self._keyword is None:
            return None
        kw = self._keyword
        return np.array([filters.admits(kw.passage(i)) for i in range(len(kw.rows))], dtype=np.float32)

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """The ``k`` best passages for ``query``, fused, filtered and de-duplicated."""
        filters = filters or Filters()
        k = k or self.settings.top_k
        pool = self.settings.candidates
        vector = self.encoder.embed_query(query)
        mask = self._mask(filters)
        dense = self._dense_search(vector, pool, filters, mask)
        keyword: list[tuple[Passage, float]] = []
        if self._keyword is not None:
            keyword = [(self._keyword.passage(i), s) for i, s in self._keyword.search(query, pool, mask)]
        fused = self._fuse(dense, keyword, filters, query)
        return collapse_duplicates(fused, self.settings.duplicate_overlap)[:k]

    def _fuse(
        self,
        dense: Sequence[tuple[Passage, float]],
        keyword: Sequence[tuple[Passage, float]],
        filters: Filters,
        query: str,
    ) -> list[SearchHit]:
        rrf = self.settings.rrf_k
        hits: dict[str, SearchHit] = {}
        for rank, (passage, score) in enumerate(dense, 1):
            hits[passage.key] = SearchHit(passage, 1 / (rrf + rank), dense_score=score, dense_rank=rank)
        for rank, (passage, _score) in enumerate(keyword, 1):
            prior = hits.get(passage.key)
            if prior is None:
                hits[passage.key] = SearchHit(passage, 1 / (rrf + rank), keyword_rank=rank)
            else:
                hits[passage.key] = replace(prior, score=prior.score + 1 / (rrf + rank), keyword_rank=rank)
        ranked = [h for h in hits.values() if filters.admits(h.passage)]
        if _RECENT.search(query):
            ranked = _prefer_recent(ranked)
        return sorted(ranked, key=lambda h: h.score, reverse=True)


def _prefer_recent(hits: list[SearchHit]) -> list[SearchHit]:
    """Nudge newer passages up when the question asks for the latest news."""
    dated = sorted({h.passage.published for h in hits if h.passage.published})
    if len(dated) < 2:
        return hits
    position = {d: i / (len(dated) - 1) for i, d in enumerate(dated)}
    return [
        replace(h, score=h.score * (1 + 0.5 * position.get(h.passage.published, 0.0)))
        if h.passage.published
        else h
        for h in hits
    ]


def collapse_duplicates(hits: list[SearchHit], threshold: float) -> list[SearchHit]:
    """Drop hits whose sentences mostly appear in a better hit; record where they also ran."""
    kept: list[SearchHit] = []
    seen: list[set[str]] = []
    for hit in hits:
        keys = {sentence_key(s) for s in hit.passage.sentence_texts()} - {""}
        dup_of = next(
            (i for i, prior in enumerate(seen) if keys and len(keys & prior) / len(keys) >= threshold),
            None,
        )
        if dup_of is None:
            kept.append(hit)
            seen.append(keys)
            continue
        original = kept[dup_of]
        if hit.passage.doc_id != original.passage.doc_id and hit.passage.doc_id not in original.also_in:
            kept[dup_of] = replace(original, also_in=(*original.also_in, hit.passage.doc_id))
    return kept
