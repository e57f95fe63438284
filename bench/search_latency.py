"""Warm search (or full offline answer) latency of the dense-scan and query-graph variants.

    .venv/bin/python -m bench.search_latency --work-dir DIR            # Desk.search
    .venv/bin/python -m bench.search_latency --work-dir DIR --answer   # Desk.ask_offline

One process, one Desk; the variants take turns question by question (the order rotating), and
every question is new to the encoder (its query-vector cache is emptied before each call):

- ``float``: the float32 dense scan and the float query graph (what main had before session 6);
- ``scan``: the int8 first pass of the dense scan, rescored in float32 (shipped);
- ``int8``: that, and questions embedded by the int8 graph (``embedding.int8_queries``).

A question's second and third variants find the passages the first decoded, so read the
ratios; the level of the shipped code is :mod:`bench.latency`'s.
"""

from __future__ import annotations

import time
from typing import Any

from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.systems import Newsdesk, ensure_newsdesk
from retrieval.int8_scan import Int8Scan

#: variant -> (int8 query graph, int8 first pass)
VARIANTS = {"float": (False, False), "scan": (False, True), "int8": (True, True)}


def run(newsdesk: Newsdesk, questions: list[str], answer: bool, rounds: int) -> dict[str, Any]:
    desk = newsdesk.desk
    encoder, exact = desk.encoder, getattr(desk.searcher.source, "exact", None)
    if exact is None:
        raise SystemExit("bench.search_latency needs the embedded backend's local vectors")
    original = exact.first
    first = original or Int8Scan(exact.matrix)  # a small index has none of its own
    for int8 in (True, False):  # both query sessions made before timing
        encoder.int8_queries = int8
        encoder.prepare_queries()
    call = newsdesk.answer if answer else newsdesk.retrieve
    for question in questions[:20]:
        call(question)
    names = list(VARIANTS)
    times: dict[str, list[float]] = {name: [] for name in names}
    with LoadSampler() as load:
        for _ in range(rounds):
            for i, question in enumerate(questions):
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    encoder.int8_queries, scan = VARIANTS[name]
                    exact.first = first if scan else None
                    encoder._queries.clear()
                    started = time.perf_counter()
                    call(question)
                    times[name].append((time.perf_counter() - started) * 1000)
    exact.first = original
    return {
        "call": "Desk.ask_offline" if answer else "Desk.search",
        "questions": len(questions),
        "rounds": rounds,
        "latency": {name: percentiles(t) for name, t in times.items()},
        "variants": {name: {"int8_queries": q, "int8_scan": s} for name, (q, s) in VARIANTS.items()},
        "load": load.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--answer", action="store_true", help="time the full offline answer, not the search")
    p.add_argument("--rounds", type=int, default=1, help="passes over the questions")
    args = p.parse_args(argv)
    bset = bench_set(args)
    data_dir = ensure_newsdesk(args.work_dir, bset)
    newsdesk = Newsdesk(data_dir, {q.question: q.date for q in bset.questions})
    try:
        result = run(newsdesk, [q.question for q in bset.questions], args.answer, args.rounds)
    finally:
        newsdesk.close()
    for name, p50 in result["latency"].items():
        say(f"  {name:6s} p50 {p50['p50_ms']:7.2f} ms  p95 {p50['p95_ms']:7.2f} ms")
    say("load", result["load"])
    say("wrote", write_result("search_latency", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
