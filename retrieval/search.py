"""Hybrid search: keyword and dense retrieval fused by reciprocal rank, duplicates collapsed.

One :class:`HybridSearcher` for every store backend: the backend supplies a
:class:`SearchSource` for a generation (dense candidates, passage keyword candidates, article
keyword ranks; :mod:`retrieval.backends`) and the searcher fuses them, applies the date and
outlet filters, and collapses wire copy repeated across outlets and syndicated copies of one
story, so the top results do not say the same thing twice -- the same way on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Protocol

import numpy as np

from config.errors import UserError
from config.settings import SearchSettings
from retrieval.catalog import Catalog, IndexMismatch
from retrieval.models import Passage, SearchHit

_WORDS = re.compile(r"\w+")
_RECENT = re.compile(r"\b(latest|most recent|newest|recently|last|current|now|today)\b", re.I)


class QueryEncoder(Protocol):
    def embed_query(self, query: str) -> np.ndarray: ...


class FilterError(UserError, ValueError):
    """Filters that cannot select anything: an empty date window, an outlet not in the coverage."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on what a search may return."""

    since: date | None = None
    until: date | None = None
    outlet: str | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise FilterError(f"--since {self.since} is after --until {self.until}; swap them")

    def check_outlet(self, outlets: Iterable[str]) -> None:
        """FilterError naming the coverage's outlets when ``outlet`` matches none of them."""
        if not self.outlet:
            return
        known = sorted(set(outlets))
        if not any(self.outlet.lower() in o.lower() for o in known):
            listed = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise FilterError(f"no outlet '{self.outlet}' in the coverage; its outlets: {listed or 'none'}")

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


class SearchSource(Protocol):
    """What a store backend gives hybrid search over one index generation (see
    :mod:`retrieval.backends`): three candidate lists, each already restricted by ``filters``."""

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        """Passages nearest ``vector`` (cosine), best first."""
        ...

    def keyword(self, query: str, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        """Passages best matching the query's keywords, best first."""
        ...

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        """Rank (from 1) of each article whose whole text best matches the query's keywords."""
        ...

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        """Each article's passage nearest ``vector`` (its score None when it cannot be scored)."""
        ...

    def close(self) -> None: ...


class HybridSearcher:
    """Searches one index generation on any backend; safe to share between threads for reading.

    Fusion, filters, the "latest" nudge, wire-copy and story collapse happen here, the same for
    every backend; the backend's :class:`SearchSource` only supplies the candidates.
    """

    def __init__(
        self, generation: Path, source: SearchSource, search: SearchSettings, encoder: QueryEncoder
    ) -> None:
        self.generation = generation
        self.source = source
        self.settings = search
        self.encoder = encoder
        self.catalog = Catalog.read(generation)
        #: doc id -> story id for syndicated copies (set from the last collection)
        self.stories: Mapping[str, str] = {}

    def close(self) -> None:
        self.source.close()

    def search(self, query: str, k: int | None = None, filters: Filters | None = None) -> list[SearchHit]:
        """The ``k`` best passages for ``query``, fused, filtered and de-duplicated."""
        filters = filters or Filters()
        if self.catalog.articles:  # an outlet the coverage lacks is a mistake, not an empty answer
            filters.check_outlet(e.outlet for e in self.catalog.articles.values() if e.outlet)
        k = k or self.settings.top_k
        pool = self.settings.candidates
        vector = self.encoder.embed_query(query)
        if self.catalog.dimension is not None and len(vector) != self.catalog.dimension:
            raise IndexMismatch(
                f"the index holds {self.catalog.dimension}-dimension vectors but the embedder gives "
                f"{len(vector)}; run 'newsdesk index --rebuild'"
            )
        dense = self.source.dense(vector, pool, filters)
        keyword = self.source.keyword(query, pool, filters)
        articles = self.source.article_ranks(query, pool, filters)
        seen = {p.doc_id for p, _ in dense} | {p.doc_id for p, _ in keyword}
        extra = self.source.best_passages([d for d in articles if d not in seen], vector)
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
