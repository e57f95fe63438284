"""retrieval.reranking: the learned re-ranker's features and how it re-orders the candidates."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from retrieval.models import Passage
from retrieval.reranking import FEATURES, RerankWeights, article_features, rerank
from retrieval.search import _Ranking


def _passage(doc: str, n: int, published: date, title: str = "Talks in Beijing") -> Passage:
    text = f"passage {n} of {doc} about gas talks"
    return Passage(f"{doc}:{n}", doc, title, text, n * 100, n * 100 + len(text), published=published)


def _ranking() -> _Ranking:
    ranking = _Ranking()
    rows = [  # key order = fused order: old a, recent b, old a again, recent c
        (_passage("a", 0, date(2023, 1, 1)), 0.10, 0.61, 1, 2),
        (_passage("b", 0, date(2023, 6, 30)), 0.08, 0.55, 2, None),
        (_passage("a", 1, date(2023, 1, 1)), 0.05, 0.50, 3, 1),
        (_passage("c", 2, date(2023, 6, 29), "Weather"), 0.04, None, None, 3),
    ]
    for passage, score, cosine, dense_rank, keyword_rank in rows:
        ranking.passages[passage.key] = passage
        ranking.score[passage.key] = score
        ranking.dense_score[passage.key] = cosine
        if dense_rank:
            ranking.dense_rank[passage.key] = dense_rank
        if keyword_rank:
            ranking.keyword_rank[passage.key] = keyword_rank
        ranking.order.append(passage.key)
    ranking.article_rank = {"a": 1, "c": 2}
    return ranking


def test_features_describe_each_article_once_in_fused_order() -> None:
    docs, keys, x = article_features(_ranking(), "gas talks in Beijing", date(2023, 7, 1), depth=30)
    assert docs == ["a", "b", "c"]
    assert keys == [["a:0", "a:1"], ["b:0"], ["c:2"]]
    assert x.shape == (3, len(FEATURES))
    row = dict(zip(FEATURES, x[0], strict=True))
    assert row["position"] == 0.0 and row["fused"] == 0.0
    assert row["dense_hits"] == row["keyword_hits"] == pytest.approx(np.log1p(2))
    assert row["lede"] == 1.0 and row["headline"] == 1.0  # "talks", "beijing"; short words left out
    assert dict(zip(FEATURES, x[1], strict=True))["age"] < row["age"]  # b is a day old, a half a year
    assert dict(zip(FEATURES, x[2], strict=True))["cosine"] == 0.50  # no cosine: the lowest known
    docs, _, _ = article_features(_ranking(), "gas", None, depth=2)
    assert docs == ["a", "b"]


def test_rerank_orders_articles_by_the_model_and_keeps_each_articles_passages_in_order() -> None:
    ranking = _ranking()
    recent_first = RerankWeights(weights={"age": -1.0}, mean={}, scale={})
    rerank(ranking, "gas talks", date(2023, 7, 1), depth=30, weights=recent_first)
    docs = list(dict.fromkeys(ranking.passages[k].doc_id for k in ranking.order))
    assert docs == ["b", "c", "a"]
    assert ranking.order.index("a:0") < ranking.order.index("a:1")
    scores = [ranking.score[k] for k in ranking.order]
    assert all(s > 0 for s in scores) and scores == sorted(scores, reverse=True)
    assert max(scores) == 0.10  # the top keeps the fused scale the answerer reads


def test_articles_past_the_depth_keep_their_fused_order_below() -> None:
    ranking = _ranking()
    rerank(ranking, "gas talks", date(2023, 7, 1), depth=2, weights=RerankWeights({"age": -1.0}, {}, {}))
    assert ranking.order == ["b:0", "a:0", "a:1", "c:2"]
    scores = [ranking.score[k] for k in ranking.order]
    assert scores == sorted(scores, reverse=True)


def test_the_position_alone_keeps_the_fused_order() -> None:
    ranking = _ranking()
    before = list(ranking.order)
    keep = RerankWeights({"position": -1.0}, {}, {})
    rerank(ranking, "gas talks", date(2023, 7, 1), depth=30, weights=keep)
    assert list(dict.fromkeys(ranking.passages[k].doc_id for k in ranking.order)) == ["a", "b", "c"]
    assert set(ranking.order) == set(before)
