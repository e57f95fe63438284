"""Retrieval quality at the article level on the silver and judged labels, newsdesk against the baselines.

    .venv/bin/python -m bench.retrieval_quality            # full corpus (reuses the indexes)
    .venv/bin/python -m bench.retrieval_quality --labels judged   # only the judged labels
    .venv/bin/python -m bench.retrieval_quality --small    # 40 articles

Each question is asked as of its quiz date (``newsdesk``: the desk's clock set to that day, as a
user would have asked it) and, for comparison, without it (``newsdesk-undated``: today's clock).
Results are reported for all labelled questions and per half of the agreed split
(:mod:`bench.split`: ISO week of the quiz date, even = tuning, odd = held back).

Systems, same corpus, same run: (a) newsdesk as configured (hybrid BM25 + dense, RRF, duplicate
collapse), (b) the llama-index default (VectorStoreIndex, default splitting, same MiniLM
embedder), (c) BM25 over whole articles (bm25s), (d) dense alone (newsdesk's passages and
vectors), and newsdesk's passage BM25 alone as an ablation. Hits@4, Hits@10 and MRR@10 over the
questions with silver labels, and newsdesk compared with each system question by question.
The labels are exact answer-string matches, which favours keyword search.
"""

from __future__ import annotations

import math
import statistics
import time
from typing import Any

from bench.data import BenchSet, Question
from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.split import half
from bench.systems import (
    AsOfQuizDate,
    Bm25Articles,
    LlamaDefault,
    Newsdesk,
    NewsdeskDense,
    NewsdeskKeyword,
    ensure_llama_default,
    ensure_newsdesk,
)


def first_rank(ranked: list[str], relevant: tuple[str, ...], depth: int = 10) -> int | None:
    """1-based rank of the first relevant article within ``depth``, or None."""
    wanted = set(relevant)
    return next((i for i, d in enumerate(ranked[:depth], 1) if d in wanted), None)


def scores(rank: int | None) -> dict[str, float]:
    return {
        "h4": float(rank is not None and rank <= 4),
        "h10": float(rank is not None),
        "rr10": 1.0 / rank if rank else 0.0,
    }


def summarise(ranks: list[int | None]) -> dict[str, float]:
    if not ranks:
        return {"n": 0}
    rows = [scores(r) for r in ranks]
    return {"n": len(ranks)} | {
        name: round(statistics.fmean(r[key] for r in rows), 3)
        for name, key in (("hits@4", "h4"), ("hits@10", "h10"), ("mrr@10", "rr10"))
    }


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact sign test p-value (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(0, min(wins, losses) + 1)) / 2**n
    return round(min(1.0, 2 * tail), 4)


def head_to_head(ours: list[int | None], theirs: list[int | None]) -> dict[str, Any]:
    """Wins, losses and ties of ours against theirs, per metric, question by question."""
    out: dict[str, Any] = {}
    for key in ("h4", "h10", "rr10"):
        a = [scores(r)[key] for r in ours]
        b = [scores(r)[key] for r in theirs]
        wins = sum(x > y for x, y in zip(a, b, strict=True))
        losses = sum(x < y for x, y in zip(a, b, strict=True))
        out[key] = {
            "wins": wins,
            "losses": losses,
            "ties": len(a) - wins - losses,
            "sign_test_p": sign_test(wins, losses),
        }
    return out


def rank_all(systems: dict[str, Any], questions: list[Question]) -> tuple[dict, dict]:
    """Each system's article ranking for each question, systems taking turns per question."""
    ranked: dict[str, list[list[str]]] = {name: [] for name in systems}
    times: dict[str, list[float]] = {name: [] for name in systems}
    for q in questions:
        for name, system in systems.items():
            started = time.perf_counter()
            ranked[name].append(system.rank(q.question))
            times[name].append((time.perf_counter() - started) * 1000)
    return ranked, times


def open_systems(bset: BenchSet, work: Any, llama: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    from retrieval.embedding import MiniLMEmbedding

    data_dir = ensure_newsdesk(work, bset)
    ours = Newsdesk(data_dir, asked_on={q.question: q.date for q in bset.questions})
    undated = Newsdesk(data_dir)
    systems: dict[str, Any] = {"newsdesk": ours, "newsdesk-undated": undated}
    info: dict[str, Any] = {"newsdesk_passages": ours.desk.catalog.passages}
    if llama:
        index, build_s = ensure_llama_default(work, bset, MiniLMEmbedding(ours.desk.encoder))
        systems["llamaindex-default"] = LlamaDefault(index)
        info |= {
            "llamaindex_build_s": round(build_s, 1) if build_s else "reused",
            "llamaindex_nodes": len(index.docstore.docs),
        }
    else:
        info["llamaindex"] = "skipped (--no-llama)"
    bm25 = Bm25Articles(bset.articles)
    systems |= {
        "bm25-articles": bm25,
        "bm25-articles-asof": AsOfQuizDate(bm25, bset.articles, {q.question: q.date for q in bset.questions}),
        "dense": NewsdeskDense(ours),
        "newsdesk-bm25-passages": NewsdeskKeyword(ours),
    }
    return systems, info


def evaluate(
    ranked: dict[str, list[list[str]]],
    questions: list[Question],
    field: str | dict[str, tuple[str, ...]],
    which: str | None = None,
) -> dict[str, Any]:
    """Scores on the questions labelled in ``field`` (a Question field, or judged labels by
    question id); only those of one half when ``which``."""

    def labels(q: Question) -> tuple[str, ...]:
        return getattr(q, field) if isinstance(field, str) else field.get(q.id, ())

    chosen = [i for i, q in enumerate(questions) if labels(q) and which in (None, half(q))]
    ranks = {
        name: [first_rank(rows[i], labels(questions[i])) for i in chosen] for name, rows in ranked.items()
    }
    summary = {name: summarise(r) for name, r in ranks.items()}
    versus = {name: head_to_head(ranks["newsdesk"], r) for name, r in ranks.items() if name != "newsdesk"}
    return {
        "summary": summary,
        "newsdesk_vs": versus,
        "per_question": {questions[i].id: {n: ranks[n][j] for n in ranks} for j, i in enumerate(chosen)},
    }


def judged(ranked: dict[str, list[list[str]]], questions: list[Question]) -> dict[str, Any]:
    """The same scores on the judged labels (:mod:`bench.judgments`), per judged half: only
    questions with at least one article judged relevant count (the others are counted)."""
    from bench.judgments import agreement, judged_labels, load_judgments

    judgments = load_judgments()
    labels = judged_labels(judgments)
    out: dict[str, Any] = {"agreement": agreement(questions, judgments)}
    for which in ("tune", "report"):
        if any(half(q) == which and q.id in labels for q in questions):
            out[f"judged_{which}"] = evaluate(ranked, questions, labels, which)
    return out


def run(bset: BenchSet, work: Any, llama: bool = True, labels: str = "both") -> dict[str, Any]:
    systems, info = open_systems(bset, work, llama)
    questions = bset.labelled
    say(f"{len(questions)} labelled questions, {len(bset.articles)} articles")
    with LoadSampler() as load:
        ranked, times = rank_all(systems, questions)
    result: dict[str, Any] = {
        "systems": info,
        "split": "ISO week of the quiz date: even = tune, odd = report (held back); bench/split.py",
    }
    if labels in ("silver", "both"):
        result |= {
            "silver": evaluate(ranked, questions, "silver"),
            "silver_tune": evaluate(ranked, questions, "silver", "tune"),
            "silver_report": evaluate(ranked, questions, "silver", "report"),
            "silver_recent": evaluate(ranked, questions, "silver_recent"),
        }
    if labels in ("judged", "both"):
        result |= judged(ranked, questions)
    result |= {
        "rank_latency": {name: percentiles(t) for name, t in times.items()},
        "load": load.summary(),
        "note": "silver labels: exact answer-string matches in each question's own search results; "
        "they favour keyword retrieval. judged labels: bench/judgments.tsv (bench.judgments)",
    }
    systems["newsdesk"].close()
    systems["newsdesk-undated"].close()
    return result


def prepare(bset: BenchSet, work: Any) -> dict[str, Any]:
    """Build (or find) the llama-index default index only, timing the build."""
    from retrieval.embedding import MiniLMEmbedding

    cpu = time.process_time()
    with LoadSampler() as load:
        index, build_s = ensure_llama_default(work, bset, MiniLMEmbedding())
    nodes = len(index.docstore.docs)
    return {
        "llamaindex_build_s": round(build_s, 1) if build_s else "reused",
        "llamaindex_nodes": nodes,
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "load": load.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--prepare", action="store_true", help="only build the llama-index default index")
    p.add_argument("--no-llama", action="store_true", help="leave out the llama-index default")
    p.add_argument(
        "--labels",
        choices=("silver", "judged", "both"),
        default="both",
        help="score on the silver labels, the judged ones (bench/judgments.tsv), or both (default)",
    )
    args = p.parse_args(argv)
    bset = bench_set(args)
    if args.prepare:
        say("wrote", write_result("llamaindex_build", bset, prepare(bset, args.work_dir), args.out))
        return 0
    result = run(bset, args.work_dir, llama=not args.no_llama, labels=args.labels)
    for part in ("silver", "silver_tune", "silver_report", "judged_tune", "judged_report"):
        if part not in result:
            continue
        say(f"-- {part}")
        for name, row in result[part]["summary"].items():
            say(f"{name:24s} {row}")
        for name, row in result[part]["newsdesk_vs"].items():
            say(
                f"newsdesk vs {name:24s} "
                + ", ".join(
                    f"{k} +{v['wins']}/-{v['losses']}/={v['ties']} p={v['sign_test_p']}"
                    for k, v in row.items()
                )
            )
    if "agreement" in result:
        say("-- silver vs judged", result["agreement"])
    say("wrote", write_result("retrieval_quality", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
