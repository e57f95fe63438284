"""Warm latency of a full offline answer, ways of running the query path taking turns.

    .venv/bin/python -m bench.answer_latency --work-dir W          # all 715 RealTimeQA questions
    .venv/bin/python -m bench.answer_latency --work-dir W --variants before,after --rounds 2

One process, one index, one Desk: every question (the 198 silver-labelled ones, then the 517
unanswerable ones; each as of its quiz date, as :mod:`bench.answers` asks them) is answered by
``Desk.ask_offline`` once per variant, the variants taking turns question by question (their
order rotating), so the machine's load falls on all alike. A variant is how the query vector is
made beside the rest of the search:

- ``before``: in turn (newsdesk until session 5);
- ``after``: what newsdesk ships: the vector and the dense scan on the query worker while the
  keyword side runs;
- ``seq1`` / ``ahead1``: the same two on a 1-thread onnxruntime session instead of
  ``embedding.threads`` (2), to see whether the second thread pays for itself.

Each question is new to every variant (no cached query vector). The answers of every variant
must be identical (text, notice, citations, short answer, confidence); the run says how many
are. Reported: p50 / p95 of ``timings_ms["total"]`` (the latency row of :mod:`bench.answers`)
and of process CPU per answer, with the load average.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from bench.answers import unanswerable_questions
from bench.data import BenchSet
from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.systems import Newsdesk, ensure_newsdesk
from retrieval.minilm import MiniLMEncoder
from retrieval.query_vectors import VectorsAhead

#: variant -> (query vector beside the keyword side, onnxruntime threads; 0: the Desk's own)
VARIANTS: dict[str, tuple[bool, int]] = {
    "before": (False, 0),
    "after": (True, 0),
    "seq1": (False, 1),
    "ahead1": (True, 1),
}


class _Uncached:
    """An encoder's query vector computed every time (each question new to each variant):
    what ``embed_query`` computes when the vector is not cached."""

    def __init__(self, encoder: MiniLMEncoder) -> None:
        self.encoder = encoder

    def embed_query(self, query: str) -> np.ndarray:
        return self.encoder.encode([query])[0]


def _spread(ms: list[float]) -> dict[str, float]:
    """The percentiles of :func:`bench.harness.percentiles` and the low ones: on a shared
    machine the fastest answers are the ones nothing else ran beside (a quiet machine's)."""
    ordered = sorted(ms)
    low = {f"p{q}_ms": round(ordered[round(q / 100 * (len(ordered) - 1))], 2) for q in (5, 10, 25)}
    return low | percentiles(ms)


def _answer_key(answer: Any) -> tuple[Any, ...]:
    return (
        answer.text,
        answer.notice,
        repr(answer.citations),
        repr(getattr(answer, "short", None)),
        getattr(answer, "confidence", None),
    )


def run(bset: BenchSet, args: Any) -> dict[str, Any]:
    unanswerable = unanswerable_questions(args.data)
    questions = [*bset.labelled, *unanswerable][: args.questions]
    asked_on = {q.question: q.date for q in [*bset.questions, *unanswerable]}
    system = Newsdesk(ensure_newsdesk(args.work_dir, bset), asked_on)
    searcher = system.desk.searcher
    encoder = searcher.encoder
    assert isinstance(encoder, MiniLMEncoder), "this bench times the bundled MiniLM encoder"
    ahead = searcher.ahead or VectorsAhead()
    threads = system.desk.settings.embedding.threads
    names = args.variants.split(",")

    one_thread = MiniLMEncoder(threads=1) if any(VARIANTS[n][1] == 1 for n in names) else None

    def variant(name: str) -> Callable[[str], Any]:
        beside, threads = VARIANTS[name]
        uncached = _Uncached(one_thread if threads == 1 and one_thread else encoder)

        def answer(question: str) -> Any:
            searcher.ahead, searcher.encoder = (ahead if beside else None), uncached
            return system.answer(question)

        return answer

    runners = {name: variant(name) for name in names}
    total: dict[str, list[float]] = {n: [] for n in names}
    cpu: dict[str, list[float]] = {n: [] for n in names}
    keys: dict[str, list[tuple[Any, ...]]] = {n: [] for n in names}
    try:
        for name in names:  # warm: every session run once, caches of the first question filled
            runners[name](questions[0].question)
        with LoadSampler() as load:
            for rnd in range(args.rounds):
                for i, q in enumerate(questions):
                    turn = (i + rnd) % len(names)
                    for name in names[turn:] + names[:turn]:
                        started = time.process_time()
                        answer = runners[name](q.question)
                        cpu[name].append((time.process_time() - started) * 1000)
                        total[name].append(answer.timings_ms.get("total", 0.0))
                        if rnd == 0:
                            keys[name].append(_answer_key(answer))
    finally:
        system.close()
    first = names[0]
    return {
        "questions": len(questions),
        "rounds": args.rounds,
        "variants": {
            name: {
                "threads": VARIANTS[name][1] or threads,
                "vector_beside_keywords": VARIANTS[name][0],
                "total": _spread(total[name]),
                "cpu": _spread(cpu[name]),
                f"answers_identical_to_{first}": sum(
                    a == b for a, b in zip(keys[name], keys[first], strict=True)
                ),
            }
            for name in names
        },
        "load": load.summary(),
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--variants", default="before,after,seq1,ahead1", help=f"of {', '.join(VARIANTS)}")
    p.add_argument("--rounds", type=int, default=1, help="times every question is asked per variant")
    p.add_argument("--questions", type=int, default=None, help="only the first N questions")
    p.add_argument("--label", default="", help="suffix for the result file")
    args = p.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        p.error(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    bset = bench_set(args)
    result = run(bset, args)
    for name, figures in result["variants"].items():
        say(name, figures)
    say("load:", result["load"])
    name = f"answer-latency-{args.label}" if args.label else "answer-latency"
    say("wrote", write_result(name, bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
