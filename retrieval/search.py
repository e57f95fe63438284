"""Hybrid search: keyword and dense retrieval fused by reciprocal rank, duplicates collapsed.

One :class:`HybridSearcher` for every store backend: the backend supplies a
:class:`SearchSource` for a generation (dense candidates, passage keyword candidates, article
keyword ranks; :mod:`retrieval.backends`) and the searcher fuses them, applies the date and
outlet filters, and collapses wire copy repeated across outlets and syndicated copies of one
story, so the top results do not say the same thing twice -- the same way on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from config.errors import UserError
from config.settings import SearchSettings
from retrieval.catalog import Catalog, IndexMismatch
from retrieval.models import Passage, PassageRef, SearchHit
from retrieval.query_vectors import VectorsAhead
from retrieval.rerank_weights import RERANK_WEIGHTS, RerankWeights
from retrieval.reranking import rerank

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

    def admits(self, passage: PassageRef) -> bool:
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
    :mod:`retrieval.backends`): three candidate lists, each already restricted by ``filters``.
    The passages are :class:`PassageRef` s: fusion reads their key, article, date and outlet, and
    asks for the whole passage (:meth:`PassageRef.full`) only of what it shows or reads."""

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> Sequence[tuple[PassageRef, float]]:
        """Passages nearest ``vector`` (cosine), best first."""
        ...

    def keyword(self, query: str, limit: int, filters: Filters) -> Sequence[tuple[PassageRef, float]]:
        """Passages best matching the query's keywords, best first."""
        ...

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        """Rank (from 1) of each article whose whole text best matches the query's keywords."""
        ...

    def best_passages(
        self, docs: Sequence[str], vector: np.ndarray
    ) -> Sequence[tuple[PassageRef, float | None]]:
        """Each article's passage nearest ``vector`` (its score None when it cannot be scored)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Candidates:
    """The lists one fusion step takes: dense passages, keyword passages, article keyword ranks,
    and the best passage (by the query vector) of each keyword-ranked article in neither list."""

    dense: Sequence[tuple[PassageRef, float]]
    keyword: Sequence[tuple[PassageRef, float]]
    articles: dict[str, int]
    extra: Sequence[tuple[PassageRef, float | None]]


@runtime_checkable
class OneTripSource(Protocol):
    """A :class:`SearchSource` that can fetch all of :class:`Candidates` at once (a database:
    one round trip instead of four); the lists must equal those of the separate calls."""

    def candidates(
        self,
        query: str,
        vector: np.ndarray,
        limit: int,
        filters: Filters,
        dense: Sequence[tuple[PassageRef, float]] | None = None,
    ) -> Candidates:
        """``dense`` given: reuse it rather than search the vector again."""
        ...


def candidates_separately(
    source: SearchSource,
    query: str,
    vector: np.ndarray,
    limit: int,
    filters: Filters,
    dense: Sequence[tuple[PassageRef, float]] | None = None,
) -> Candidates:
    """:class:`Candidates` from a source's separate calls (dense first, as search always asked)."""
    if dense is None:
        dense = source.dense(vector, limit, filters)
    keyword = source.keyword(query, limit, filters)
    articles = source.article_ranks(query, limit, filters)
    return with_best_passages(source, vector, dense, keyword, articles)


def with_best_passages(
    source: SearchSource,
    vector: np.ndarray,
    dense: Sequence[tuple[PassageRef, float]],
    keyword: Sequence[tuple[PassageRef, float]],
    articles: dict[str, int],
) -> Candidates:
    """The lists with the best passage of each keyword-ranked article in neither of them."""
    seen = {p.doc_id for p, _ in dense} | {p.doc_id for p, _ in keyword}
    extra = source.best_passages([d for d in articles if d not in seen], vector)
    return Candidates(dense, keyword, articles, extra)


class HybridSearcher:
    """Searches one index generation on any backend; safe to share between threads for reading.

    Fusion, filters, the "latest" nudge, wire-copy and story collapse happen here, the same for
    every backend; the backend's :class:`SearchSource` only supplies the candidates. With
    ``ahead`` (the index's :class:`retrieval.query_vectors.VectorsAhead`) the query's vector and
    the dense scan run on its worker while the keyword candidates are fetched here: the same
    candidates, in less wall time when a core is free.
    """

    def __init__(
        self,
        generation: Path,
        source: SearchSource,
        search: SearchSettings,
        encoder: QueryEncoder,
        ahead: VectorsAhead | None = None,
    ) -> None:
        self.generation = generation
        self.source = source
        self.settings = search
        self.encoder = encoder
        #: computes the query vector (and the dense scan) beside the keyword side; None: in turn
        self.ahead = ahead
        self.catalog = Catalog.read(generation)
        #: doc id -> story id for syndicated copies (set from the last collection)
        self.stories: Mapping[str, str] = {}
        #: the re-ranker's weights (``search.rerank_depth`` > 0 turns it on)
        self.reranker: RerankWeights = RERANK_WEIGHTS

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
        k = k or self.settings.top_k
        fused = self.ranking(query, filters, asked_on)
        return collapse_duplicates(fused.hits(), self.settings.duplicate_overlap, self.stories, k)

    def ranking(self, query: str, filters: Filters | None = None, asked_on: date | None = None) -> _Ranking:
        """Every admitted candidate passage for ``query``, best first, before duplicates are
        collapsed (what :meth:`search` takes its hits from; the re-ranker's benchmark reads it)."""
        filters = filters or Filters()
        if self.catalog.articles:  # an outlet the coverage lacks is a mistake, not an empty answer
            filters.check_outlet(e.outlet for e in self.catalog.articles.values() if e.outlet)
        pool = self.settings.candidates
        source = self.source
        vector, first = self._first_candidates(query, pool, filters)

        def fuse_with_keywords(
            keyword_query: str, dense: Sequence[tuple[PassageRef, float]] | None
        ) -> _Ranking:
            if first is not None and dense is None:
                found = first
            elif isinstance(source, OneTripSource):
                found = source.candidates(keyword_query, vector, pool, filters, dense)
            else:
                found = candidates_separately(source, keyword_query, vector, pool, filters, dense)
            fused = self._fuse(found.dense, found.keyword, filters, query, found.articles, found.extra)
            fused.dense = found.dense
            return fused

        fused = fuse_with_keywords(query, None)
        if self.settings.expansion_terms > 0:
            best = [fused.passages[key] for key in fused.order]
            expanded = f"{query} {' '.join(expansion_terms(query, best, self.settings))}"
            fused = fuse_with_keywords(expanded, fused.dense)
        if self.settings.phrase_weight > 0:
            _phrase_match(fused, query, self.settings.phrase_weight)
        if asked_on is not None and self.settings.recency_weight > 0:
            _near_asking(fused, asked_on, self.settings.recency_weight, self.settings.recency_days)
        if self.settings.headline_weight > 0:
            _headline_match(fused, query, self.settings.headline_weight)
        if self.settings.article_evidence > 0:
            _article_evidence(fused, self.settings.article_evidence)
        if self.settings.rerank_depth > 0:
            rerank(fused, query, asked_on, self.settings.rerank_depth, self.reranker)
        return fused

    def _first_candidates(
        self, query: str, limit: int, filters: Filters
    ) -> tuple[np.ndarray, Candidates | None]:
        """The query's vector, with the first fusion's candidates when they were fetched beside
        it: with a query worker (and a source asked in separate calls, not one round trip), the
        vector and the dense scan run on the worker while the keyword side runs here."""
        source = self.source
        if self.ahead is None or isinstance(source, OneTripSource):
            return self._vector(query), None
        pending = self.ahead.start(lambda: self._dense(query, limit, filters))
        keyword = source.keyword(query, limit, filters)
        articles = source.article_ranks(query, limit, filters)
        vector, dense = pending.result()
        return vector, with_best_passages(source, vector, dense, keyword, articles)

    def _vector(self, query: str) -> np.ndarray:
        vector = self.encoder.embed_query(query)
        if self.catalog.dimension is not None and len(vector) != self.catalog.dimension:
            raise IndexMismatch(
                f"the index holds {self.catalog.dimension}-dimension vectors but the embedder gives "
                f"{len(vector)}; run 'newsdesk index --rebuild'"
            )
        return vector

    def _dense(
        self, query: str, limit: int, filters: Filters
    ) -> tuple[np.ndarray, Sequence[tuple[PassageRef, float]]]:
        vector = self._vector(query)
        return vector, self.source.dense(vector, limit, filters)

    def _fuse(
        self,
        dense: Sequence[tuple[PassageRef, float]],
        keyword: Sequence[tuple[PassageRef, float]],
        filters: Filters,
        query: str,
        articles: dict[str, int],
        extra: Sequence[tuple[PassageRef, float | None]],
    ) -> _Ranking:
        """Reciprocal-rank fusion of dense and keyword passage ranks and the article's keyword rank."""
        rrf = self.settings.rrf_k
        fused = _Ranking(article_rank=articles)
        passages, score = fused.passages, fused.score
        dense_score, dense_rank, keyword_rank = fused.dense_score, fused.dense_rank, fused.keyword_rank
        for passage, value in extra:
            passages[passage.key] = passage
            score[passage.key] = 0.0
            dense_score[passage.key] = value
        dense_w, keyword_w = self.settings.dense_weight, self.settings.keyword_weight
        for rank, (passage, value) in enumerate(dense, 1):
            passages[passage.key] = passage
            score[passage.key] = dense_w / (rrf + rank)
            dense_score[passage.key] = value
            dense_rank[passage.key] = rank
            keyword_rank.pop(passage.key, None)
        for rank, (passage, _value) in enumerate(keyword, 1):
            prior = score.get(passage.key)
            if prior is None:
                passages[passage.key] = passage
                score[passage.key] = keyword_w / (rrf + rank)
                dense_score[passage.key] = None
                dense_rank.pop(passage.key, None)
            else:
                score[passage.key] = prior + keyword_w / (rrf + rank)
            keyword_rank[passage.key] = rank
        article_w = self.settings.article_weight
        for key, passage in passages.items():
            article_rank = articles.get(passage.doc_id)
            if article_rank is not None:
                score[key] = score[key] + article_w / (rrf + article_rank)
        fused.order = [key for key, passage in passages.items() if filters.admits(passage)]
        if _RECENT.search(query):
            _prefer_recent(fused)
        fused.sort()
        return fused


@dataclass(slots=True)
class _Ranking:
    """Candidates being ranked: plain scores and ranks keyed by passage key, ``order`` best
    first. The fusion and every prior work on these floats; :class:`SearchHit` objects (and
    whole passages, :meth:`PassageRef.full`) are made only for the hits the caller takes
    (:meth:`hits`), not once per candidate per step."""

    passages: dict[str, PassageRef] = field(default_factory=dict)
    score: dict[str, float] = field(default_factory=dict)
    dense_score: dict[str, float | None] = field(default_factory=dict)
    dense_rank: dict[str, int] = field(default_factory=dict)
    keyword_rank: dict[str, int] = field(default_factory=dict)
    #: doc id -> rank (from 1) of the whole article in the keyword search of the query
    article_rank: dict[str, int] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    #: the dense list it was fused from (an expanded query's fusion reuses it)
    dense: Sequence[tuple[PassageRef, float]] = field(default_factory=list)

    def sort(self) -> None:
        """Best first; ties keep their order (a stable sort, as each step has always done)."""
        self.order = sorted(self.order, key=self.score.__getitem__, reverse=True)

    def hits(self) -> Iterator[SearchHit]:
        for key in self.order:
            yield SearchHit(
                self.passages[key].full(),
                self.score[key],
                dense_score=self.dense_score.get(key),
                keyword_rank=self.keyword_rank.get(key),
                dense_rank=self.dense_rank.get(key),
            )


_STOP = frozenset(
    "about after also been before being between could during first from have into just more most "
    "other over said says some such than that their them there these they this those through "
    "under what when where which while will with would year years week weeks told according "
    "people including last time news".split()
)
_NAME = re.compile(r"\b[A-Z][\w'-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'-]+)+")


def expansion_terms(query: str, passages: Sequence[PassageRef], settings: SearchSettings) -> list[str]:
    """Pseudo-relevance feedback: the words most shared by the best few articles' passages
    (``passages`` best first) and absent from the query (each word counted once per article)."""
    asked = {w.lower() for w in _WORDS.findall(query)}
    docs: dict[str, set[str]] = {}
    for p in passages:
        if p.doc_id not in docs and len(docs) >= settings.expansion_docs:
            continue
        words = {w.lower() for w in _WORDS.findall(p.full().text)}
        docs.setdefault(p.doc_id, set()).update(words)
    counts: dict[str, int] = {}
    for words in docs.values():
        for w in words:
            if len(w) > 3 and w not in asked and w not in _STOP and not w.isdigit():
                counts[w] = counts.get(w, 0) + 1
    shared = sorted((w for w, n in counts.items() if n >= 2), key=lambda w: (-counts[w], w))
    return shared[: settings.expansion_terms]


def _phrase_match(fused: _Ranking, query: str, weight: float) -> None:
    """Raise passages that contain the query's names and phrases verbatim ("Antony Blinken")."""
    names = {m.group(0).lower() for m in _NAME.finditer(query)}
    if not names:
        return
    score = fused.score
    for key in fused.order:
        p = fused.passages[key].full()
        text = f"{p.title} {p.text}".lower()
        share = sum(n in text for n in names) / len(names)
        score[key] = score[key] * (1 + weight * share)
    fused.sort()


def _near_asking(fused: _Ranking, asked_on: date, weight: float, days: float) -> None:
    """Raise coverage published near the asking date: a news question asked on a day is
    mostly about that week's news (scores times ``1 + weight`` at age 0, fading with age;
    articles dated after the asking day count as far as they are)."""
    score = fused.score
    factors: dict[date, float] = {}
    for key in fused.order:
        published = fused.passages[key].published
        if published is None:
            continue
        factor = factors.get(published)
        if factor is None:
            age = abs((asked_on - published).days)
            factor = factors[published] = 1 + weight * days / (days + age)
        score[key] = score[key] * factor
    fused.sort()


def _headline_match(fused: _Ranking, query: str, weight: float) -> None:
    """Raise passages whose article headline shares the query's words (a headline field)."""
    words = {w for w in _WORDS.findall(query.lower()) if len(w) > 3}
    if not words:
        return
    score = fused.score
    shares: dict[str, float] = {}
    for key in fused.order:
        title = fused.passages[key].full().title
        share = shares.get(title)
        if share is None:
            share = shares[title] = len(words & set(_WORDS.findall(title.lower()))) / len(words)
        score[key] = score[key] * (1 + weight * share)
    fused.sort()


def _article_evidence(fused: _Ranking, weight: float) -> None:
    """Each passage also credited with its article's other strong passages (the article's
    second-best score times ``weight``), so an article matching in several places wins over
    one lucky passage."""
    score, passages = fused.score, fused.passages
    by_doc: dict[str, list[float]] = {}
    for key in fused.order:
        by_doc.setdefault(passages[key].doc_id, []).append(score[key])
    second = {d: sorted(s, reverse=True)[1] if len(s) > 1 else 0.0 for d, s in by_doc.items()}
    for key in fused.order:
        score[key] = score[key] + weight * second[passages[key].doc_id]
    fused.sort()


def _prefer_recent(fused: _Ranking) -> None:
    """Nudge newer passages up when the question asks for the latest news."""
    passages = fused.passages
    dated = sorted({d for key in fused.order if (d := passages[key].published)})
    if len(dated) < 2:
        return
    position = {d: i / (len(dated) - 1) for i, d in enumerate(dated)}
    score = fused.score
    for key in fused.order:
        published = passages[key].published
        if published:
            score[key] = score[key] * (1 + 0.5 * position.get(published, 0.0))


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
    hits: Iterable[SearchHit],
    threshold: float,
    story_of: Mapping[str, str] | None = None,
    limit: int | None = None,
) -> list[SearchHit]:
    """Drop hits whose sentences mostly appear in a better hit, or whose article belongs to
    the same story (syndicated copy) as a better hit's; record where they also ran.

    A hit is a duplicate of the first (best) kept hit holding at least ``threshold`` of its
    sentences; the kept hits sharing any sentence are found through an index of sentence keys,
    not by comparing with every kept hit."""
    story_of = story_of or {}
    kept: list[SearchHit] = []
    holders: dict[str, list[int]] = {}  # sentence key -> indices of the kept hits holding it
    stories: dict[str, int] = {}
    for hit in hits:
        if limit is not None and len(kept) >= limit:
            break
        keys = _sentence_keys(hit.passage)
        story = story_of.get(hit.passage.doc_id)
        dup_of = stories.get(story) if story is not None else None
        if dup_of is None and keys:
            if threshold <= 0:  # any kept hit qualifies, sharing nothing or not
                dup_of = 0 if kept else None
            else:
                shared: dict[int, int] = {}
                for key in keys:
                    for i in holders.get(key, ()):
                        shared[i] = shared.get(i, 0) + 1
                dup_of = min((i for i, n in shared.items() if n / len(keys) >= threshold), default=None)
        if dup_of is None:
            if story is not None:
                stories[story] = len(kept)
            for key in keys:
                holders.setdefault(key, []).append(len(kept))
            kept.append(hit)
            continue
        original = kept[dup_of]
        if hit.passage.doc_id != original.passage.doc_id and hit.passage.doc_id not in original.also_in:
            outlets = _also_outlets(original, hit.passage.outlet)
            kept[dup_of] = replace(
                original, also_in=(*original.also_in, hit.passage.doc_id), also_outlets=outlets
            )
    return kept


def _also_outlets(original: SearchHit, outlet: str | None) -> tuple[str, ...]:
    """``original``'s other outlets with ``outlet`` if it is a new one (the count only: ranking
    never reads it). A copy without an outlet, or from the original's outlet, adds none."""
    seen = {o.strip().casefold() for o in (original.passage.outlet, *original.also_outlets) if o}
    if not outlet or outlet.strip().casefold() in seen:
        return original.also_outlets
    return (*original.also_outlets, outlet)
