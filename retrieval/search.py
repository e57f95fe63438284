"""Hybrid search: BM25 and dense retrieval fused by reciprocal rank, duplicates collapsed.

The searcher reads a finished index generation: the BM25 index llama-index's
``BM25Retriever`` persisted (loaded with ``bm25s``, which is what that retriever wraps), the
Qdrant collection (through :mod:`retrieval.store`) and the catalog. Wire copy repeated across
outlets is collapsed so the top results do not say the same sentence twice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from config.settings import SearchSettings, StoreSettings
from retrieval.catalog import ARTICLE_BM25, DENSE_FILE, Catalog, IndexMismatch
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

    def to_json(self) -> dict[str, str | None]:
        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "outlet": self.outlet,
        }


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
        self._columns: dict[str, list[Any]] = {}
        self._arrays: dict[str, np.ndarray] = {}
        self._doc_rows: dict[str, list[int]] | None = None

    def passage(self, i: int) -> Passage:
        cached = self.passages[i]
        if cached is None:
            row = self.rows[i]
            cached = passage_from_payload(row["node_id"], row)
            self.passages[i] = cached
        return cached

    def column(self, name: str) -> list[Any]:
        """One metadata field of every row (llama-index stores metadata flat in each row)."""
        cached = self._columns.get(name)
        if cached is None:
            cached = self._columns[name] = [row.get(name) for row in self.rows]
        return cached

    def mask(self, filters: Filters) -> np.ndarray:
        """1.0 for rows the filters admit, else 0.0 (vectorised over the date and outlet columns)."""
        keep = np.ones(len(self.rows), dtype=bool)
        if filters.since or filters.until:
            dates = self._array("published")
            keep &= dates != ""
            if filters.since:
                keep &= dates >= filters.since.isoformat()
            if filters.until:
                keep &= dates <= filters.until.isoformat()
        if filters.outlet:
            outlets = self._array("outlet")
            wanted = filters.outlet.lower()
            admitted = [o for o in np.unique(outlets) if wanted in o]
            keep &= np.isin(outlets, admitted)
        return keep.astype(np.float32)

    def _array(self, name: str) -> np.ndarray:
        """A metadata column as a numpy string array (lower-cased outlets), built once."""
        cached = self._arrays.get(name)
        if cached is None:
            values = [str(v or "") for v in self.column(name)]
            cached = self._arrays[name] = np.array(
                [v.lower() for v in values] if name == "outlet" else values
            )
        return cached

    def rows_of(self, doc_id: str) -> list[int]:
        if self._doc_rows is None:
            self._doc_rows = {}
            for i, doc in enumerate(self.column("article_id")):
                self._doc_rows.setdefault(doc or self.rows[i].get("ref_doc_id", ""), []).append(i)
        return self._doc_rows.get(doc_id, [])

    def search(self, query: str, limit: int, mask: np.ndarray | None) -> list[tuple[int, float]]:
        tokens = self._bm25s.tokenize(query, stopwords="en", stemmer=self.stemmer, show_progress=False)
        if not tokens.vocab:
            return []
        limit = min(limit, len(self.rows))
        docs, scores = self.index.retrieve(
            tokens, k=limit, show_progress=False, weight_mask=mask, n_threads=0
        )
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class _ExactDense:
    """Exact cosine search over a generation's passage vectors (rows in passage-table order).

    With embedded (local) Qdrant this is what Qdrant itself does, brute force, but without
    importing qdrant-client on every start (0.6-1.3 s here) or its per-point overhead; with a
    Qdrant server the server is queried instead. 35,579 passages scan in 1.8 ms here with
    single-threaded BLAS (see retrieval/__init__.py).
    """

    def __init__(self, path: Path, table: _Keyword) -> None:
        self.matrix = np.load(path)  # in memory: a scan of a memory map is ~2x slower
        self.table = table

    def score_rows(self, rows: list[int], vector: np.ndarray) -> np.ndarray:
        """Scores of the given rows for ``vector``."""
        return np.asarray(self.matrix[rows] @ vector, dtype=np.float32)

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
        #: doc id -> story id for syndicated copies (set by the Desk from the last collection)
        self.stories: Mapping[str, str] = {}
        self._keyword = _Keyword(generation / "bm25") if (generation / "bm25").is_dir() else None
        articles = generation / ARTICLE_BM25
        self._articles = _Keyword(articles) if articles.is_dir() else None
        self._exact: _ExactDense | None = None
        self._dense: DenseSearcher | None = None
        if not store.url and self._keyword is not None and (generation / DENSE_FILE).is_file():
            self._exact = _ExactDense(generation / DENSE_FILE, self._keyword)
        elif self._keyword is not None or store.url:
            self._dense = DenseSearcher(store, generation / "qdrant")
        # backend postgres searches the generation's table (pgvector + full text)
        self._pg: Any = None
        if store.backend == "postgres":
            from retrieval.pgstore import open_pg_searcher

            self._keyword, self._exact, self._dense = None, None, None
            self._pg = open_pg_searcher(generation, store)

    def close(self) -> None:
        if self._dense is not None:
            self._dense.close()
        if self._pg is not None:
            self._pg.close()

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
        return self._keyword.mask(filters)

    def _article_ranks(self, query: str, filters: Filters) -> dict[str, int]:
        """Rank of each article whose whole text best matches the query's keywords."""
        if self._articles is None:
            return {}
        mask = self._articles.mask(filters) if filters.active else None
        found = self._articles.search(query, self.settings.candidates, mask)
        return {self._articles.rows[i]["node_id"]: rank for rank, (i, _s) in enumerate(found, 1)}

    def _best_passages(self, docs: list[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        """Each article's best passage by dense score (or its first, without local vectors)."""
        if self._keyword is None:
            return []
        best: list[tuple[Passage, float | None]] = []
        for doc in docs:
            rows = self._keyword.rows_of(doc)
            if not rows:
                continue
            if self._exact is None:
                best.append((self._keyword.passage(rows[0]), None))
                continue
            scores = self._exact.score_rows(rows, vector)
            top = int(np.argmax(scores))
            best.append((self._keyword.passage(rows[top]), float(scores[top])))
        return best

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """The ``k`` best passages for ``query``, fused, filtered and de-duplicated."""
        filters = filters or Filters()
        k = k or self.settings.top_k
        pool = self.settings.candidates
        vector = self.encoder.embed_query(query)
        if self.catalog.dimension is not None and len(vector) != self.catalog.dimension:
            raise IndexMismatch(
                f"the index holds {self.catalog.dimension}-dimension vectors but the embedder gives "
                f"{len(vector)}; run 'newsdesk index --rebuild'"
            )
        # on postgres both sides run in the database, filtered there
        if self._pg is not None:
            dense_pg = self._pg.dense(vector, pool, filters.since, filters.until, filters.outlet)
            keyword_pg = self._pg.keyword(query, pool, filters.since, filters.until, filters.outlet)
            fused_pg = self._fuse(dense_pg, keyword_pg, filters, query, {}, ())
            return collapse_duplicates(fused_pg, self.settings.duplicate_overlap)[:k]
        mask = self._mask(filters)
        dense = self._dense_search(vector, pool, filters, mask)
        keyword: list[tuple[Passage, float]] = []
        if self._keyword is not None:
            keyword = [(self._keyword.passage(i), s) for i, s in self._keyword.search(query, pool, mask)]
        articles = self._article_ranks(query, filters)
        seen = {p.doc_id for p, _ in dense} | {p.doc_id for p, _ in keyword}
        extra = self._best_passages([d for d in articles if d not in seen], vector)
        fused = self._fuse(dense, keyword, filters, query, articles, extra)
        return collapse_duplicates(fused, self.settings.duplicate_overlap, self.stories, k)

    def _fuse(
        self,
        dense: Sequence[tuple[Passage, float]],
        keyword: Sequence[tuple[Passage, float]],
        filters: Filters,
        query: str,
        articles: dict[str, int],
        extra: Sequence[tuple[Passage, float | None]],
    ) -> list[SearchHit]:
        """Reciprocal-rank fusion of dense and keyword passage ranks and the article's keyword rank."""
        rrf = self.settings.rrf_k
        hits: dict[str, SearchHit] = {}
        for passage, score in extra:
            hits[passage.key] = SearchHit(passage, 0.0, dense_score=score)
        for rank, (passage, score) in enumerate(dense, 1):
            hits[passage.key] = SearchHit(passage, 1 / (rrf + rank), dense_score=score, dense_rank=rank)
        for rank, (passage, _score) in enumerate(keyword, 1):
            prior = hits.get(passage.key)
            if prior is None:
                hits[passage.key] = SearchHit(passage, 1 / (rrf + rank), keyword_rank=rank)
            else:
                hits[passage.key] = replace(prior, score=prior.score + 1 / (rrf + rank), keyword_rank=rank)
        for key, hit in hits.items():
            article_rank = articles.get(hit.passage.doc_id)
            if article_rank is not None:
                bonus = self.settings.article_weight / (rrf + article_rank)
                hits[key] = replace(hit, score=hit.score + bonus)
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


def _sentence_keys(passage: Passage) -> frozenset[str]:
    cached = _KEYS.get(passage.key)
    if cached is None:
        cached = frozenset(sentence_key(s) for s in passage.sentence_texts()) - {""}
        if len(_KEYS) > 50_000:
            _KEYS.clear()
        _KEYS[passage.key] = cached
    return cached


_KEYS: dict[str, frozenset[str]] = {}


def collapse_duplicates(
    hits: list[SearchHit],
    threshold: float,
    story_of: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Drop hits whose sentences mostly appear in a better hit, or whose article belongs to
    the same story (syndicated copy) as a better hit's; record where they also ran."""
    story_of = story_of or {}
    kept: list[SearchHit] = []
    seen: list[frozenset[str]] = []
    stories: dict[str, int] = {}
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        keys = _sentence_keys(hit.passage)
        story = story_of.get(hit.passage.doc_id)
        dup_of = stories.get(story) if story is not None else None
        if dup_of is None:
            dup_of = next(
                (i for i, prior in enumerate(seen) if keys and len(keys & prior) / len(keys) >= threshold),
                None,
            )
        if dup_of is None:
            if story is not None:
                stories[story] = len(kept)
            kept.append(hit)
            seen.append(keys)
            continue
        original = kept[dup_of]
        if hit.passage.doc_id != original.passage.doc_id and hit.passage.doc_id not in original.also_in:
            kept[dup_of] = replace(original, also_in=(*original.also_in, hit.passage.doc_id))
    return kept
