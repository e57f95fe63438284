"""Everything the coverage says about a topic, grouped into stories: the map step's input.

Summaries need every relevant article, not the top few passages. :func:`select_passages`
searches with a wide candidate pool and keeps the passages above a relevance threshold (dense
similarity, absolute and relative to the best, plus a share of the topic's key terms);
:func:`cluster_stories` groups their articles into stories: articles published within a few
days of each other whose relevant passages share their distinctive words (TF-IDF cosine) form
one story. Lexical rather than MiniLM similarity: encoding every selected passage again costs
tens of milliseconds each on a small CPU, and within a few days' window the shared names,
places and numbers of one event separate it well enough from another.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from prompts.extractive import key_terms
from retrieval.models import SearchHit
from retrieval.search import Filters, HybridSearcher


@dataclass(frozen=True, slots=True)
class SummaryOptions:
    """Tuning of topic selection, story clustering and extractive summaries."""

    pool: int = 400
    """Candidates taken from each retriever (the answerers take ``search.candidates``)."""
    max_passages: int = 240
    min_dense: float = 0.3
    """A passage's dense similarity to the topic must reach this..."""
    relative_dense: float = 0.6
    """...and this share of the best passage's."""
    min_term_share: float = 0.5
    """Share of the topic's key terms a passage must contain (at least one)."""
    named_dense: float = 0.15
    """The absolute floor for a passage that holds every key term of the topic: a name the
    embedder does not know ("Eastbay") scores low on meaning while the text names it (the
    relative floor still applies)."""
    story_gap_days: int = 4
    """Articles this many days apart or less may report the same story."""
    story_similarity: float = 0.15
    """TF-IDF cosine between an article and a story's centroid for the article to join it."""
    max_stories: int = 12
    sentences_per_story: int = 3
    model_passages_per_story: int = 6


@dataclass(eq=False, slots=True)
class ArticleHits:
    """One article's relevant passages, best first."""

    doc_id: str
    hits: list[SearchHit]

    @property
    def published(self) -> date | None:
        return self.hits[0].passage.published

    @property
    def relevance(self) -> float:
        return max(h.dense_score or 0.0 for h in self.hits)


@dataclass(eq=False, slots=True)
class StoryHits:
    """The articles of one story, in date order, with the centroid of their vectors."""

    articles: list[ArticleHits]
    centroid: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))

    @property
    def start(self) -> date | None:
        return min((a.published for a in self.articles if a.published), default=None)

    @property
    def end(self) -> date | None:
        return max((a.published for a in self.articles if a.published), default=None)

    @property
    def hits(self) -> list[SearchHit]:
        return sorted((h for a in self.articles for h in a.hits), key=lambda h: -(h.dense_score or 0.0))

    @property
    def relevance(self) -> float:
        return sum(a.relevance for a in self.articles)

    @property
    def lead(self) -> ArticleHits:
        """The story's most relevant article (its headline names the story)."""
        return max(self.articles, key=lambda a: a.relevance)


def wide_searcher(searcher: HybridSearcher, pool: int) -> HybridSearcher:
    """``searcher`` taking ``pool`` candidates from each retriever; shares its indexes."""
    if pool <= searcher.settings.candidates:
        return searcher
    wide = copy.copy(searcher)
    wide.settings = searcher.settings.model_copy(update={"candidates": pool})
    return wide


def is_relevant(hit: SearchHit, best: float, terms: set[str], options: SummaryOptions) -> bool:
    """Whether ``hit`` is about the topic: close enough in meaning (absolutely, and relative to
    the best passage ``best``) and holding enough of the topic's key ``terms``."""
    dense = hit.dense_score or 0.0
    if dense < options.relative_dense * best:
        return False
    if not terms:
        return dense >= options.min_dense
    found = terms & key_terms(hit.passage.title + "\n" + hit.passage.text)
    floor = options.named_dense if found == terms else options.min_dense
    return dense >= floor and bool(found) and len(found) / len(terms) >= options.min_term_share


def select_passages(
    searcher: HybridSearcher, topic: str, filters: Filters, options: SummaryOptions
) -> list[SearchHit]:
    """Every passage relevant to ``topic`` within ``filters`` (up to ``max_passages``)."""
    hits = wide_searcher(searcher, options.pool).search(topic, options.max_passages, filters)
    best = max((h.dense_score or 0.0 for h in hits), default=0.0)
    terms = key_terms(topic)
    return [h for h in hits if is_relevant(h, best, terms, options)]


def by_article(hits: Sequence[SearchHit]) -> list[ArticleHits]:
    """Hits grouped per article, articles in date order (undated last)."""
    groups: dict[str, list[SearchHit]] = {}
    for hit in hits:
        groups.setdefault(hit.passage.doc_id, []).append(hit)
    articles = [ArticleHits(doc_id, group) for doc_id, group in groups.items()]
    return sorted(articles, key=lambda a: (a.published is None, a.published or date.min, a.doc_id))


def _article_terms(article: ArticleHits) -> Counter[str]:
    terms: Counter[str] = Counter()
    for hit in article.hits:
        terms.update(key_terms(hit.passage.text))
    terms.update({t: 2 for t in key_terms(article.hits[0].passage.title)})
    return terms


def article_vectors(articles: Sequence[ArticleHits]) -> np.ndarray:
    """One unit TF-IDF vector per article over the key terms of its relevant passages and
    headline (sublinear counts; document frequencies among ``articles``)."""
    counts = [_article_terms(a) for a in articles]
    vocabulary = {t: i for i, t in enumerate(sorted({t for c in counts for t in c}))}
    df = Counter(t for c in counts for t in c)
    out = np.zeros((len(articles), max(1, len(vocabulary))), dtype=np.float32)
    for row, c in enumerate(counts):
        for term, n in c.items():
            idf = math.log((len(articles) + 1) / (df[term] + 1)) + 1
            out[row, vocabulary[term]] = (1 + math.log(n)) * idf
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norms == 0, 1, norms)


def _join(story: StoryHits, article: ArticleHits, vector: np.ndarray) -> None:
    size = len(story.articles)
    centroid = story.centroid * size + vector
    story.centroid = centroid / max(float(np.linalg.norm(centroid)), 1e-9)
    story.articles.append(article)


def cluster_stories(hits: Sequence[SearchHit], options: SummaryOptions) -> list[StoryHits]:
    """The stories ``hits`` report, in date order; see the module docstring."""
    articles = by_article(hits)
    if not articles:
        return []
    vectors = article_vectors(articles)
    stories: list[StoryHits] = []
    gap = timedelta(days=options.story_gap_days)
    for article, vector in zip(articles, vectors, strict=True):
        day = article.published
        open_ = [s for s in stories if day and s.end and day - s.end <= gap]
        best = max(open_, key=lambda s: float(s.centroid @ vector), default=None)
        if best is not None and float(best.centroid @ vector) >= options.story_similarity:
            _join(best, article, vector)
        else:
            stories.append(StoryHits([article], vector.copy()))
    return stories


def main_stories(stories: list[StoryHits], limit: int) -> tuple[list[StoryHits], int]:
    """The ``limit`` most relevant stories in date order, and how many were left out."""
    if len(stories) <= limit:
        return stories, 0
    kept = {id(s) for s in sorted(stories, key=lambda s: s.relevance, reverse=True)[:limit]}
    return [s for s in stories if id(s) in kept], len(stories) - limit


__all__ = [
    "ArticleHits",
    "StoryHits",
    "SummaryOptions",
    "article_vectors",
    "by_article",
    "cluster_stories",
    "is_relevant",
    "main_stories",
    "select_passages",
    "wide_searcher",
]
