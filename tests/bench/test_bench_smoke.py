"""Every benchmark runs end to end on a few dozen synthetic articles, so the scripts cannot rot.

The figures are not checked against goals here (that is what the full runs are for); only that
each benchmark produces sane, complete results. The RealTimeQA loader is checked on a slice of
the shared set when it is present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import answers, indexing, latency, memory_coldstart, retrieval_quality, search_latency
from bench.data import BenchSet, has_realtimeqa, load_realtimeqa, synthetic_set
from bench.harness import percentiles, write_result
from bench.retrieval_quality import first_rank, head_to_head, sign_test, summarise
from bench.scaling import copy_plan

N_ARTICLES = 30


@pytest.fixture(scope="module")
def bset() -> BenchSet:
    return synthetic_set(N_ARTICLES)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory, bset: BenchSet) -> Path:
    """A work dir whose newsdesk index is built by the indexing benchmark itself."""
    folder = tmp_path_factory.mktemp("bench-work")
    result = indexing.run(bset, folder, sample=8)
    assert result["full"]["passages"] >= N_ARTICLES
    assert result["full"]["passages_per_s"] > 0
    assert result["encoder_alone"]["mean_passages_per_s"] > 0
    assert result["no_change"]["embedded"] == 0
    assert 0 < result["one_percent"]["embedded"] < result["full"]["embedded"]
    assert result["one_percent"]["changed"] == 1
    return folder


def test_synthetic_set_labels_one_article_per_question(bset: BenchSet) -> None:
    ids = {a.doc_id for a in bset.articles}
    assert len(bset.articles) == N_ARTICLES
    assert all(len(q.silver) == 1 and q.silver[0] in ids for q in bset.questions)
    assert all(q.answer_text in a.text for q, a in zip(bset.questions, bset.articles, strict=True))


def test_metrics_count_the_first_relevant_article() -> None:
    assert first_rank(["a", "b", "c"], ("c", "b")) == 2
    assert first_rank(["a"] * 10 + ["b"], ("b",)) is None
    assert summarise([1, 5, None, 2]) == {"n": 4, "hits@4": 0.5, "hits@10": 0.75, "mrr@10": 0.425}
    versus = head_to_head([1, None, 3], [2, None, 1])
    assert versus["rr10"] == {"wins": 1, "losses": 1, "ties": 1, "sign_test_p": 1.0}
    assert sign_test(10, 0) == pytest.approx(0.002, abs=1e-3)


def test_copy_plan_subsets_and_copies_under_new_ids() -> None:
    assert copy_plan(["a", "b", "c"], 2) == [("a", "a"), ("b", "b")]
    assert copy_plan(["a", "b"], 5) == [("a", "a"), ("b", "b"), ("a~2", "a"), ("b~2", "b"), ("a~3", "a")]


def test_percentiles() -> None:
    p = percentiles([float(i) for i in range(1, 101)])
    assert (p["n"], p["p50_ms"], p["p95_ms"], p["max_ms"]) == (100, 51.0, 95.0, 100.0)


def test_retrieval_quality_compares_all_systems(bset: BenchSet, work: Path) -> None:
    result = retrieval_quality.run(bset, work)
    summary = result["silver"]["summary"]
    assert set(summary) == {
        "newsdesk",
        "newsdesk-undated",
        "llamaindex-default",
        "bm25-articles",
        "bm25-articles-asof",
        "dense",
        "newsdesk-bm25-passages",
    }
    halves = [result[f"silver_{h}"]["summary"]["newsdesk"]["n"] for h in ("tune", "report")]
    assert sum(halves) == summary["newsdesk"]["n"]
    assert summary["newsdesk"]["hits@10"] >= 0.9
    versus = result["silver"]["newsdesk_vs"]["bm25-articles"]["rr10"]
    assert versus["wins"] + versus["losses"] + versus["ties"] == len(bset.questions)


def test_answers_contain_the_answer_and_verify(bset: BenchSet, work: Path) -> None:
    result = answers.run(bset, work)
    rows = [result["halves"][h]["answerable"] for h in ("tune", "report")]
    assert sum(r["n"] for r in rows) == len(bset.questions)
    for row in rows:
        assert row["refused"] <= 0.2 and row["citations_all_verify"] == 1.0
        assert row["contains"] > 0.5 and row["top5"] >= row["top3"]
    assert result["latency"]["total"]["n"] == len(bset.questions)


def test_answer_strings_are_compared_normalised() -> None:
    assert answers.contains("13-14 million", "vaccinate 13–14 Million people")
    assert answers.contains("The Scallywags", "nicknamed “scallywags”.")
    assert not answers.contains("Leno", "Jay Lenon said")


def test_latency_at_three_sizes(bset: BenchSet, work: Path) -> None:
    result = latency.run(bset, work, [10, N_ARTICLES, 2 * N_ARTICLES], n_queries=4)
    sizes = result["sizes"]
    assert [s["articles"] for s in sizes] == [10, N_ARTICLES, 2 * N_ARTICLES]
    assert sizes[2]["newsdesk_passages"] == 2 * sizes[1]["newsdesk_passages"]
    for row in sizes:
        names = {"newsdesk_retrieval", "newsdesk_answer", "llamaindex_retrieval", "llamaindex_answer"}
        assert set(row["latency"]) == names | {f"{n}_cpu" for n in names}
        assert all(row["latency"][n]["p50_ms"] > 0 for n in names)


def test_search_latency_times_every_variant(bset: BenchSet, work: Path) -> None:
    from bench.systems import Newsdesk, newsdesk_dir

    newsdesk = Newsdesk(newsdesk_dir(work, bset), {q.question: q.date for q in bset.questions})
    try:
        result = search_latency.run(
            newsdesk, [q.question for q in bset.questions[:4]], answer=False, rounds=1
        )
    finally:
        newsdesk.close()
    assert set(result["latency"]) == set(search_latency.VARIANTS)
    assert all(row["p50_ms"] > 0 for row in result["latency"].values())


def test_memory_and_cold_start_in_fresh_processes(bset: BenchSet, work: Path, tmp_path: Path) -> None:
    result = memory_coldstart.run(bset, work, [N_ARTICLES], repeats=1, more=1)
    row = result["sizes"][0]
    assert row["newsdesk_process"]["cold_start_s"] > 0
    assert row["newsdesk_process"]["peak_rss_mib"] > 50
    assert row["newsdesk_cli_ask"]["peak_rss_mib"] > 50
    assert row["llamaindex_process"]["cold_start_s"] > 0
    path = write_result("memory_coldstart", bset, result, tmp_path)
    assert json.loads(path.read_text())["set"]["articles"] == N_ARTICLES


@pytest.mark.skipif(not has_realtimeqa(), reason="../shared/benchmarks/realtimeqa is not here")
def test_realtimeqa_slice_keeps_labelled_questions_answerable() -> None:
    bset = load_realtimeqa(limit=30)
    ids = {a.doc_id for a in bset.articles}
    assert len(bset.articles) <= 30 and bset.labelled
    assert all(set(q.silver) <= ids for q in bset.labelled)
    assert all(a.text.startswith(a.title) for a in bset.articles)


def test_judged_subsets_split_rows_by_the_judged_labels() -> None:
    rows = [{"id": "q1"}, {"id": "q2"}, {"id": "q3"}]
    labels = {"q1": ("a",), "q2": ()}
    assert answers.judged_subsets(rows, labels) == {
        "answerable": [{"id": "q1"}],
        "no_relevant_article": [{"id": "q2"}],
    }
    assert answers.judged_subsets(rows, {}) == {}
