"""The ranking ablation of issue 14: each idea alone and combined, on both halves of the split.

    .venv/bin/python -m bench.ranking_ablation [--work-dir /tmp/newsdesk-bench]

Reads the full RealTimeQA newsdesk index (``<work>/newsdesk-rtqa-full``, never writes it) and
re-ranks the labelled questions with each variant of ``search.*`` settings; the backend's
candidate lists are cached per query, so a variant costs only the fusion. Every question is
asked as of its quiz date unless the row says "undated". Each row: Hits@4, Hits@10, MRR@10, and
RR@10 wins/losses against BM25 over whole articles with the sign test p-value, for the tuning
half and the held-back half (bench/split.py). Settings are picked on the tuning half only.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np

from bench.data import load_realtimeqa
from bench.harness import parser, percentiles, say
from bench.retrieval_quality import first_rank, head_to_head, summarise
from bench.split import half
from bench.systems import Bm25Articles, Newsdesk, first_unique, newsdesk_dir
from prompts.timeframes import resolve_time, strip_time
from retrieval.models import Passage
from retrieval.search import Filters

#: (label, settings changed from the code's defaults, options): the rows of the table.
OFF = {"recency_weight": 0.0, "keyword_weight": 1.0, "rerank_depth": 0}
WINNER = {"recency_weight": 1.0, "recency_days": 7.0, "keyword_weight": 0.5}
SHIPPED = {"recency_weight": 1.0, "recency_days": 7.0, "keyword_weight": 1.0, "rerank_depth": 0}
RERANKED = SHIPPED | {"rerank_depth": 5}
#: the best of the 324-setting fusion sweep (--sweep) on the tuning half, MiniLM index
SWEPT = SHIPPED | {
    "dense_weight": 0.75,
    "keyword_weight": 0.5,
    "article_weight": 2.5,
    "rrf_k": 15,
    "recency_days": 14.0,
}
VARIANTS: list[tuple[str, dict[str, Any], dict[str, bool]]] = [
    ("before (issue 14 start), undated", OFF, {"asked": False}),
    ("before, asked as of the quiz date", OFF, {}),
    ("time: window filter from the question", OFF, {"window": True}),
    ("time: recency prior w=1 d=7", OFF | {"recency_weight": 1.0, "recency_days": 7.0}, {}),
    ("headline match w=0.25", OFF | {"headline_weight": 0.25}, {}),
    ("article evidence w=0.25", OFF | {"article_evidence": 0.25}, {}),
    ("PRF 3 terms from 3 articles", OFF | {"expansion_terms": 3, "expansion_docs": 3}, {}),
    ("name/phrase match w=0.1", OFF | {"phrase_weight": 0.1}, {}),
    ("fusion: keyword_weight=0.5", OFF | {"keyword_weight": 0.5}, {}),
    ("fusion: article_weight=2", OFF | {"article_weight": 2.0}, {}),
    ("fusion: rrf_k=60", OFF | {"rrf_k": 60}, {}),
    ("combined: recency + keyword_weight=0.5", WINNER, {}),
    ("shipped default (recency w=1 d=7)", SHIPPED, {}),
    ("learned re-ranker, top 5 articles (pairwise, CV winner)", RERANKED, {}),
    ("fusion re-tuned: sweep winner on the tuning half", SWEPT, {}),
    ("winner, undated", WINNER, {"asked": False}),
    ("winner + PRF 3/3", WINNER | {"expansion_terms": 3, "expansion_docs": 3}, {}),
    ("winner + phrase 0.1", WINNER | {"phrase_weight": 0.1}, {}),
    ("winner + headline 0.25", WINNER | {"headline_weight": 0.25}, {}),
    ("winner + article evidence 0.25", WINNER | {"article_evidence": 0.25}, {}),
]


class CachedSource:
    """A SearchSource that remembers each answer (variants re-ask the same candidate lists)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.memo: dict[tuple[Any, ...], Any] = {}

    def _call(self, name: str, *args: Any) -> Any:
        key = (name, *(a.tobytes() if isinstance(a, np.ndarray) else a for a in args))
        if key not in self.memo:
            self.memo[key] = getattr(self.inner, name)(*args)
        return self.memo[key]

    def dense(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        return self._call("dense", vector, limit, filters)

    def keyword(self, query: str, limit: int, filters: Filters) -> list[tuple[Passage, float]]:
        return self._call("keyword", query, limit, filters)

    def article_ranks(self, query: str, limit: int, filters: Filters) -> dict[str, int]:
        return self._call("article_ranks", query, limit, filters)

    def best_passages(self, docs: Sequence[str], vector: np.ndarray) -> list[tuple[Passage, float | None]]:
        return self._call("best_passages", tuple(docs), vector)

    def close(self) -> None:
        self.inner.close()


def latency(desk: Newsdesk, questions: list[Any], rounds: int = 2) -> None:
    """Warm ``Desk.search`` (query embedding included, its cache emptied before each call),
    the shipped default without and with the learned re-ranker, taking turns question by question."""
    searcher = desk.desk.searcher
    defaults = searcher.settings
    encoder = desk.desk.encoder
    times: dict[str, list[float]] = {"before": [], "after": []}
    for q in questions[:5]:
        desk.desk.search(q.question)  # warm up
    for _ in range(rounds):
        for q in questions:
            desk._day = q.date
            for name, changes in (("before", SHIPPED), ("after", RERANKED)):
                searcher.settings = defaults.model_copy(update=changes)
                encoder._queries.clear()
                started = time.perf_counter()
                desk.desk.search(q.question)
                times[name].append((time.perf_counter() - started) * 1000)
    searcher.settings = defaults
    for name, ms in times.items():
        say(f"warm search {name}: {percentiles(ms)} ms over {len(ms)} searches")


#: the fusion grid of ``--sweep`` (324 settings; each run on the tuning half only)
GRID: dict[str, tuple[float, ...]] = {
    "dense_weight": (0.75, 1.0, 1.5),
    "keyword_weight": (0.5, 1.0),
    "article_weight": (1.0, 1.5, 2.5),
    "rrf_k": (15, 30, 60),
    "recency_weight": (1.0, 2.0),
    "recency_days": (3.0, 7.0, 14.0),
}


def sweep(searcher: Any, questions: list[Any], halves: dict[str, list[int]], cell: Any) -> None:
    """Every setting of :data:`GRID` on the tuning half; the best ten by tuning MRR@10 (then
    Hits@4), and the held-back half of the first one and of the shipped default only."""
    import itertools

    defaults = searcher.settings

    def ranks_of(changes: dict[str, Any], idx: list[int]) -> list[int | None]:
        searcher.settings = defaults.model_copy(update=changes)
        out: list[int | None] = [None] * len(questions)
        for i in idx:
            q = questions[i]
            hits = searcher.search(q.question, searcher.settings.candidates, Filters(), asked_on=q.date)
            out[i] = first_rank(first_unique([h.passage.doc_id for h in hits]), q.silver)
        return out

    tune = halves["tune"]
    results = []
    for values in itertools.product(*GRID.values()):
        changes = dict(zip(GRID, values, strict=True))
        s = summarise([r for i, r in enumerate(ranks_of(changes, tune)) if i in set(tune)])
        results.append((s["mrr@10"], s["hits@4"], s["hits@10"], changes))
    results.sort(key=lambda r: (r[0], r[1]), reverse=True)
    say(f"fusion sweep, {len(results)} settings, tuning half n={len(tune)}: best ten")
    for mrr, h4, h10, changes in results[:10]:
        say(f"  tune {h4:.3f} / {h10:.3f} / {mrr:.3f}  {changes}")
    everyone = halves["tune"] + halves["report"]
    shipped = ranks_of({}, everyone)
    winner = ranks_of(results[0][3], everyone)
    for label, changes, ranks in (("shipped", {}, shipped), ("tuning-half winner", results[0][3], winner)):
        say(f"| {label} {changes} | {cell(ranks, 'tune')} | {cell(ranks, 'report')} |")
    for which in ("tune", "report"):
        idx = halves[which]
        rr = head_to_head([winner[i] for i in idx], [shipped[i] for i in idx])
        say(
            f"winner vs shipped, {which}: "
            + ", ".join(f"{k} +{v['wins']}/-{v['losses']} p={v['sign_test_p']}" for k, v in rr.items())
        )
    searcher.settings = defaults


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--latency", action="store_true", help="time warm searches without and with the re-ranker")
    p.add_argument("--sweep", action="store_true", help="sweep the fusion settings on the tuning half")
    p.add_argument("--provider", default=None, help="the embedder the index was built with")
    args = p.parse_args(argv)
    bset = load_realtimeqa(args.data)
    questions = bset.labelled
    desk = Newsdesk(newsdesk_dir(args.work_dir, bset), provider=args.provider)
    if args.latency:
        latency(desk, questions)
        desk.close()
        return 0
    searcher = desk.desk.searcher
    defaults = searcher.settings
    searcher.source = CachedSource(searcher.source)
    embed = functools.lru_cache(maxsize=None)(searcher.encoder.embed_query)

    class Encoder:
        embed_query = staticmethod(embed)

    searcher.encoder = Encoder()
    bm25 = Bm25Articles(bset.articles)
    baseline = [first_rank(bm25.rank(q.question), q.silver) for q in questions]
    halves = {h: [i for i, q in enumerate(questions) if half(q) == h] for h in ("tune", "report")}

    def cell(ranks: list[int | None], which: str) -> str:
        idx = halves[which]
        s = summarise([ranks[i] for i in idx])
        rr = head_to_head([ranks[i] for i in idx], [baseline[i] for i in idx])["rr10"]
        return (
            f"{s['hits@4']:.3f} | {s['hits@10']:.3f} | {s['mrr@10']:.3f} | "
            f"+{rr['wins']}/-{rr['losses']} p={rr['sign_test_p']}"
        )

    if args.sweep:
        sweep(searcher, questions, halves, cell)
        desk.close()
        return 0
    say(f"tune n={len(halves['tune'])}, report (held back) n={len(halves['report'])}")
    say("| variant | tune H@4 | H@10 | MRR@10 | RR vs BM25 | held H@4 | H@10 | MRR@10 | RR vs BM25 |")
    say("|---|---|---|---|---|---|---|---|---|")
    say(f"| BM25 over whole articles | {cell(baseline, 'tune')} | {cell(baseline, 'report')} |")
    for label, changes, options in VARIANTS:
        searcher.settings = defaults.model_copy(update=changes)
        ranks = []
        for q in questions:
            query, filters, asked = q.question, Filters(), options.get("asked", True)
            day: date | None = q.date if asked else None
            if options.get("window") and q.date:
                frame = resolve_time(q.question, q.date)
                query, filters = strip_time(q.question), Filters(frame.since, frame.until)
            hits = searcher.search(query, searcher.settings.candidates, filters, asked_on=day)
            ranks.append(first_rank(first_unique([h.passage.doc_id for h in hits]), q.silver))
        say(f"| {label} | {cell(ranks, 'tune')} | {cell(ranks, 'report')} |")
    desk.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
