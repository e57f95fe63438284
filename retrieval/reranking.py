"""A learned re-ranker of the fused candidates, article by article (issue 14).

Hybrid search fuses three ranked lists by reciprocal rank, which throws away how far apart the
candidates are and what else is known about each article. This step takes the best
``depth`` articles of the fused ranking, describes each by a few numbers already at hand (its
fused and keyword ranks, its best dense cosine, how many of its passages the lists found, its
age on the asking day, its headline's and lede's word overlap with the question, ...; see
:data:`FEATURES`), scores them with a linear model whose weights are plain numbers
(:mod:`retrieval.rerank_weights`, fitted by ``python -m bench.fit_ranker``), and re-orders the
passages: the articles by that score, each article's passages after its best one by how far
below it they were fused. Articles past ``depth`` keep their fused order below.

No model download, no fitting library at search time: a few dozen multiplications per article.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

import numpy as np

from retrieval.models import PassageRef

_WORDS = re.compile(r"\w+")
_RECENT = re.compile(r"\b(latest|most recent|newest|recently|last|current|now|today)\b", re.I)
_NAME = re.compile(r"\b[A-Z][\w'-]+(?:\s+(?:of\s+|de\s+|the\s+)?[A-Z][\w'-]+)+")
_SHORT = frozenset(
    "what which when where who whom whose does this that with from have were about into".split()
)

#: An article's features, in this order (see :func:`article_features`).
FEATURES = (
    "position",  # log of its place among the fused articles (1 = first)
    "fused",  # log of its best passage's fused score over the top passage's
    "article_keyword",  # 10 / (10 + rank) of the whole article in the keyword search (0 = not found)
    "passage_keyword",  # the same for its best passage in the passage keyword search
    "dense_rank",  # the same for its best passage in the dense search
    "cosine",  # its best passage's dense cosine with the question
    "cosine_gap",  # that cosine less the best cosine of any candidate
    "dense_hits",  # log(1 + its passages in the dense list)
    "keyword_hits",  # log(1 + its passages in the keyword list)
    "age",  # log(1 + days between its date and the asking day) / log(366); 1 when undated
    "future",  # published after the asking day
    "recent_age",  # "age" when the question asks for the latest news, else 0
    "headline",  # share of the question's words in its headline
    "lede",  # its opening passage is among the candidates
    "overlap",  # share of the question's words in its best passage (headline included)
    "names",  # share of the question's capitalised names its candidate passages quote
)


@dataclass(frozen=True, slots=True)
class RerankWeights:
    """A linear score over standardised features: ``sum(w * (x - mean) / scale)``."""

    weights: Mapping[str, float]
    mean: Mapping[str, float]
    scale: Mapping[str, float]

    def vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w = np.array([self.weights.get(f, 0.0) for f in FEATURES])
        mu = np.array([self.mean.get(f, 0.0) for f in FEATURES])
        sd = np.array([self.scale.get(f, 1.0) or 1.0 for f in FEATURES])
        return w, mu, sd

    def score(self, x: np.ndarray) -> np.ndarray:
        w, mu, sd = self.vectors()
        return np.asarray(((x - mu) / sd) @ w)


class Candidates(Protocol):
    """What the re-ranker reads and rewrites (``retrieval.search._Ranking``)."""

    passages: dict[str, PassageRef]
    score: dict[str, float]
    dense_score: dict[str, float | None]
    dense_rank: dict[str, int]
    keyword_rank: dict[str, int]
    article_rank: dict[str, int]
    order: list[str]


def _inverse(rank: int | None) -> float:
    return 10.0 / (10.0 + rank) if rank else 0.0


def _words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if len(w) > 3 and w not in _SHORT}


def _share(words: set[str], text: str) -> float:
    """Share of ``words`` (from :func:`_words`) that are words of ``text``."""
    return len(words.intersection(_WORDS.findall(text.lower()))) / len(words) if words else 0.0


def article_features(
    ranking: Candidates, query: str, asked_on: date | None, depth: int
) -> tuple[list[str], list[list[str]], np.ndarray]:
    """The best ``depth`` articles of ``ranking`` (doc ids, in fused order), each article's
    candidate passage keys (fused order), and their feature matrix (rows follow the doc ids)."""
    docs: list[str] = []
    keys: dict[str, list[str]] = {}
    for key in ranking.order:
        doc = ranking.passages[key].doc_id
        if doc not in keys:
            if len(docs) >= depth:
                continue
            docs.append(doc)
            keys[doc] = []
        keys[doc].append(key)
    if not docs:
        return [], [], np.zeros((0, len(FEATURES)))
    asked = _words(query)
    names = {m.group(0).lower() for m in _NAME.finditer(query)}
    recent = bool(_RECENT.search(query))
    cosines = [c for c in ranking.dense_score.values() if c is not None]
    top_cos = max(cosines, default=0.0)
    floor = min(cosines, default=0.0)
    top_score = max(ranking.score[ranking.order[0]], 1e-12)
    rows = []
    for position, doc in enumerate(docs, 1):
        own = keys[doc]
        best = ranking.passages[own[0]].full()
        kw = [r for k in own if (r := ranking.keyword_rank.get(k)) is not None]
        dr = [r for k in own if (r := ranking.dense_rank.get(k)) is not None]
        cos = max((c for k in own if (c := ranking.dense_score.get(k)) is not None), default=floor)
        if asked_on is not None and best.published is not None:
            days = (best.published - asked_on).days
            age, future = math.log1p(abs(days)) / math.log(366), float(days > 0)
        else:
            age, future = 1.0, 0.0
        text = " ".join(ranking.passages[k].full().text for k in own).lower() if names else ""
        rows.append(
            [
                math.log(position),
                math.log(max(ranking.score[own[0]], 1e-12) / top_score),
                _inverse(ranking.article_rank.get(doc)),
                _inverse(min(kw, default=None)),
                _inverse(min(dr, default=None)),
                cos,
                cos - top_cos,
                math.log1p(len(dr)),
                math.log1p(len(kw)),
                age,
                future,
                age if recent else 0.0,
                _share(asked, best.title),
                float(any(ranking.passages[k].full().start == 0 for k in own)),
                _share(asked, f"{best.title} {best.text}"),
                sum(n in text for n in names) / len(names) if names else 0.0,
            ]
        )
    return docs, [keys[d] for d in docs], np.array(rows)


def rerank(
    ranking: Candidates, query: str, asked_on: date | None, depth: int, weights: RerankWeights
) -> None:
    """Re-order ``ranking`` in place: its best ``depth`` articles by the model's score (each
    passage at its article's score less how far below the article's best it was fused), the
    rest after them in fused order. Scores stay positive and fall with the order."""
    docs, keys, x = article_features(ranking, query, asked_on, depth)
    if len(docs) < 2:
        return
    z = weights.score(x)
    z = z - z.max()
    score = ranking.score
    top = max(score[ranking.order[0]], 1e-12)
    new: dict[str, float] = {}
    for doc_z, own in zip(z.tolist(), keys, strict=True):
        best = max(score[own[0]], 1e-12)
        for key in own:
            new[key] = top * math.exp(doc_z + math.log(max(score[key], 1e-12) / best))
    head = sorted(new, key=new.__getitem__, reverse=True)
    rest = [k for k in ranking.order if k not in new]
    if rest:
        floor, first = min(new.values()), max(score[rest[0]], 1e-12)
        for key in rest:
            new[key] = 0.99 * floor * max(score[key], 1e-12) / first
    score.update(new)
    ranking.order = head + rest


__all__: Sequence[str] = ("FEATURES", "RerankWeights", "article_features", "rerank")
