"""bench.scale end to end on a dozen synthetic articles: every figure is there and sane."""

from __future__ import annotations

import json
from pathlib import Path

from bench import scale
from bench.data import synthetic_set


def test_scale_builds_reindexes_and_serves_a_small_corpus(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.jsonl"
    rows = [
        {
            "id": a.doc_id,
            "title": a.title,
            "body": a.text.split("\n\n", 1)[1],
            "source": a.outlet,
            "published_at": a.published.isoformat() if a.published else None,
            "url": None,
        }
        for a in synthetic_set(12).articles
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = scale.run(
        corpus, "embedded", "minilm", None, tmp_path / "work", queries=4, sample=8, timeout_s=600
    )
    built = result["build"]
    assert built["articles"] == 12 and built["full"]["embedded"] == built["full"]["passages"] >= 12
    assert built["no_change"]["embedded"] == 0
    assert 0 < built["one_percent"]["embedded"] < built["full"]["passages"]
    assert built["full"]["peak_rss_mib"] > 0 and result["build_vs_encoder"] > 0
    served = result["serving"]
    assert served["queries"] == 4 and served["search"]["p95_ms"] > 0 and served["answer"]["p50_ms"] > 0
    assert served["dense_recall_at_10"] == 1.0  # the embedded backend's dense search is exact
    assert served["peak_rss_mib"] > 0 and result["disk_mib"] > 0
