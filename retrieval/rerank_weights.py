"""The re-ranker's fitted weights: plain numbers, so searching needs no fitting library.

A linear score over an article's standardised features (:data:`retrieval.reranking.FEATURES`),
fitted by ``python -m bench.fit_ranker fit`` on the tuning half of RealTimeQA (107 questions,
even ISO weeks; L2 penalty 0.1; BENCHMARKS.md section 1b), never on the held-back half.
"""

from __future__ import annotations

from retrieval.reranking import RerankWeights

RERANK_WEIGHTS = RerankWeights(
    weights={
        "position": -0.2115,
        "fused": 0.2206,
        "article_keyword": 0.1872,
        "passage_keyword": 0.1074,
        "dense_rank": 0.1463,
        "cosine": 0.1558,
        "cosine_gap": 0.1592,
        "dense_hits": 0.0903,
        "keyword_hits": 0.0891,
        "age": -0.4695,
        "future": -0.2276,
        "recent_age": -0.0319,
        "headline": -0.0314,
        "lede": 0.0339,
        "overlap": -0.0275,
        "names": 0.1195,
    },
    mean={
        "position": 2.4886,
        "fused": -0.9404,
        "article_keyword": 0.4282,
        "passage_keyword": 0.2824,
        "dense_rank": 0.1983,
        "cosine": 0.3391,
        "cosine_gap": -0.3232,
        "dense_hits": 0.6054,
        "keyword_hits": 0.7736,
        "age": 0.9505,
        "future": 0.0632,
        "recent_age": 0.132,
        "headline": 0.0851,
        "lede": 0.385,
        "overlap": 0.3484,
        "names": 0.1421,
    },
    scale={
        "position": 0.8361,
        "fused": 0.4923,
        "article_keyword": 0.203,
        "passage_keyword": 0.2546,
        "dense_rank": 0.2657,
        "cosine": 0.221,
        "cosine_gap": 0.2162,
        "dense_hits": 0.7502,
        "keyword_hits": 0.6153,
        "age": 0.294,
        "future": 0.2434,
        "recent_age": 0.342,
        "headline": 0.1385,
        "lede": 0.4866,
        "overlap": 0.2132,
        "names": 0.3351,
    },
)
