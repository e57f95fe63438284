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

    def check_window(self) -> None:
        """FilterError when a user's --since is after their --until. (A window read from the
        question may be empty, e.g. "in 2019" within a --since 2020: that is an empty answer
        with a notice, not a mistake, so Filters themselves allow it.)"""
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

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | None = None,
        asked_on: date | None = None,
    ) -> list[SearchHit]:
        """The ``k`` best passages for ``query``, fused, filtered and de-duplicated; with
        ``asked_on`` (the day the question is asked), coverage near that day ranks higher."""
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
        if self.settings.expansion_terms > 0:
            expanded = f"{query} {' '.join(expansion_terms(query, fused, self.settings))}"
            keyword = self.source.keyword(expanded, pool, filters)
            articles = self.source.article_ranks(expanded, pool, filters)
            seen = {p.doc_id for p, _ in dense} | {p.doc_id for p, _ in keyword}
            extra = self.source.best_passages([d for d in articles if d not in seen], vector)
            fused = self._fuse(dense, keyword, filters, query, articles, extra)
        if self.settings.phrase_weight > 0:
            fused = _phrase_match(fused, query, self.settings.phrase_weight)
        if asked_on is not None and self.settings.recency_weight > 0:
            fused = _near_asking(fused, asked_on, self.settings.recency_weight, self.settings.recency_days)
        if self.settings.headline_weight > 0:
            fused = _headline_match(fused, query, self.settings.headline_weight)
        if self.settings.article_evidence > 0:
            fused = _article_evidence(fused, self.settings.article_evidence)
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
        dense_w, keyword_w = self.settings.dense_weight, self.settings.keyword_weight
        for rank, (passage, score) in enumerate(dense, 1):
            hits[passage.key] = SearchHit(passage, dense_w / (rrf + rank), dense_score=score, dense_rank=rank)
        for rank, (passage, _score) in enumerate(keyword, 1):
            prior = hits.get(passage.key)
            if prior is None:
                hits[passage.key] = SearchHit(passage, keyword_w / (rrf + rank), keyword_rank=rank)
            else:
                hits[passage.key] = replace(
                    prior, score=prior.score + keyword_w / (rrf + rank), keyword_rank=rank
                )
        for key, hit in hits.items():
            article_rank = articles.get(hit.passage.doc_id)
            if article_rank is not None:
                bonus = self.settings.article_weight / (rrf + article_rank)
                hits[key] = replace(hit, score=hit.score + bonus)
        ranked = [h for h in hits.values() if filters.admits(h.passage)]
        if _RECENT.search(query):
            ranked = _prefer_recent(ranked)
        return sorted(ranked, key=lambda h: h.score, reverse=True)


_STOP = frozenset(
    "about after also been before being between could during first from have into just more most "
    "other over said says some such than that their them there these they this those through "
    "under what when where which while will with would year years week weeks told according "
    "people including last time news".split()
)
_NAME = re.compile(r"\b[A-Z][\w'-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'-]+)+")


def expansion_terms(query: str, hits: Sequence[SearchHit], settings: SearchSettings) -> list[str]:
    """Pseudo-relevance feedback: the words most shared by the best few articles' passages and
    absent from the query (each word counted once per article)."""
    asked = {w.lower() for w in _WORDS.findall(query)}
    docs: dict[str, set[str]] = {}
    for h in hits:
        if h.passage.doc_id not in docs and len(docs) >= settings.expansion_docs:
            continue
        words = {w.lower() for w in _WORDS.findall(h.passage.text)}
        docs.setdefault(h.passage.doc_id, set()).update(words)
    counts: dict[str, int] = {}
    for words in docs.values():
        for w in words:
            if len(w) > 3 and w not in asked and w not in _STOP and not w.isdigit():
                counts[w] = counts.get(w, 0) + 1
    shared = sorted((w for w, n in counts.items() if n >= 2), key=lambda w: (-counts[w], w))
    return shared[: settings.expansion_terms]


def _phrase_match(hits: list[SearchHit], query: str, weight: float) -> list[SearchHit]:
    """Raise passages that contain the query's names and phrases verbatim ("Antony Blinken")."""
    names = {m.group(0).lower() for m in _NAME.finditer(query)}
    if not names:
        return hits
    out = []
    for h in hits:
        text = f"{h.passage.title} {h.passage.text}".lower()
        share = sum(n in text for n in names) / len(names)
        out.append(replace(h, score=h.score * (1 + weight * share)))
    return sorted(out, key=lambda h: h.score, reverse=True)


def _near_asking(hits: list[SearchHit], asked_on: date, weight: float, days: float) -> list[SearchHit]:
    """Raise coverage published near the asking date: a news question asked on a day is
    mostly about that week's news (scores times ``1 + weight`` at age 0, fading with age;
    articles dated after the asking day count as far as they are)."""
    out = []
    for h in hits:
        if h.passage.published is None:
            out.append(h)
            continue
        age = abs((asked_on - h.passage.published).days)
        out.append(replace(h, score=h.score * (1 + weight * days / (days + age))))
    return sorted(out, key=lambda h: h.score, reverse=True)


def _headline_match(hits: list[SearchHit], query: str, weight: float) -> list[SearchHit]:
    """Raise passages whose article headline shares the query's words (a headline field)."""
    words = {w for w in _WORDS.findall(query.lower()) if len(w) > 3}
    if not words:
        return hits
    out = []
    for h in hits:
        title = set(_WORDS.findall(h.passage.title.lower()))
        share = len(words & title) / len(words)
        out.append(replace(h, score=h.score * (1 + weight * share)))
    return sorted(out, key=lambda h: h.score, reverse=True)


def _article_evidence(hits: list[SearchHit], weight: float) -> list[SearchHit]:
    """Each passage also credited with its article's other strong passages (the article's
    second-best score times ``weight``), so an article matching in several places wins over
    one lucky passage."""
    by_doc: dict[str, list[float]] = {}
    for h in hits:
        by_doc.setdefault(h.passage.doc_id, []).append(h.score)
    second = {d: sorted(s, reverse=True)[1] if len(s) > 1 else 0.0 for d, s in by_doc.items()}
    out = [replace(h, score=h.score + weight * second[h.passage.doc_id]) for h in hits]
    return sorted(out, key=lambda h: h.score, reverse=True)


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
