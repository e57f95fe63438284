"""What a reader model would cost: one transformer pass per (question, candidate sentence) pair.

    .venv/bin/python -m bench.fit_answerer dump --work-dir W     # once: the passages each question got
    .venv/bin/python -m bench.reader_cost --work-dir W [--threads 1,2] [--limit 200]

Issue 13's remaining goals (the lead sentence, refusing only what the coverage does not say) need
a model that reads a sentence against the question -- an extractive-QA model or a cross-encoder
re-ranker. None ships its weights in a package here (``shared/notes/stack.md``), so this bench
measures the cheapest stand-in the machine has: the shipped MiniLM-L6 encoder (the same size as
the small cross-encoders, ms-marco-MiniLM-L-6) run over "question + sentence" for the offline
answerer's own best 1, 3 and 10 candidate sentences of each dumped question. Beside it, in the
same process and taking turns question by question: the shipped answer step on the same passages
(:func:`prompts.extractive.answer_extractively`), the baseline it would be added to. It says
nothing about quality: the encoder is not trained to read pairs.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from bench.fit_answerer import load
from bench.harness import LoadSampler, machine, parser, percentiles, say
from config.settings import AnswerSettings
from prompts.extractive import answer_extractively
from prompts.sentence_scoring import read_question, score_sentences
from prompts.timeframes import strip_time
from retrieval.minilm import MiniLMEncoder

#: How many of the answerer's best candidate sentences a reader would read.
READ = (1, 3, 10)


def measure(rows: list[dict[str, Any]], threads: int) -> dict[str, Any]:
    encoder = MiniLMEncoder(threads=threads)
    encoder.encode(["warm up"])
    floor = AnswerSettings().min_relevance
    times: dict[str, list[float]] = {"answer_step": [], **{f"read_{n}": [] for n in READ}}
    tokens: list[int] = []
    for row in rows:
        hits = row["hits"]
        question = strip_time(row["asked"])
        t = time.perf_counter()
        answer_extractively(question, list(hits), min_relevance=floor, max_sentences=3)
        times["answer_step"].append((time.perf_counter() - t) * 1000)
        read = read_question(question)
        candidates = score_sentences(read, hits) if read.terms and hits else []
        pairs = [f"{question} {c.text}" for c in candidates[: max(READ)]]
        if not pairs:
            continue
        tokens.extend(encoder.count_tokens(p) for p in pairs[:3])
        for n in READ:
            t = time.perf_counter()
            encoder.encode(pairs[:n])
            times[f"read_{n}"].append((time.perf_counter() - t) * 1000)
    return {
        "threads": threads,
        "questions": len(rows),
        "pair_tokens": percentiles([float(x) for x in tokens]),
        "ms": {k: percentiles(v) for k, v in times.items()},
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--threads", default="1,2", help="onnxruntime threads to try, comma-separated")
    p.add_argument("--name", default="rtqa-full", help="the dump's set name")
    p.add_argument("--every", type=int, default=3, help="take every n-th dumped question")
    args = p.parse_args(argv)
    rows = load(args.work_dir, args.name)[:: args.every]
    if args.limit:
        rows = rows[: args.limit]
    out: dict[str, Any] = {"benchmark": "reader_cost", "machine": machine(), "runs": []}
    with LoadSampler() as sampler:
        for threads in (int(t) for t in args.threads.split(",")):
            run = measure(rows, threads)
            out["runs"].append(run)
            ms = run["ms"]
            reads = "".join(
                f" read {n} p50 {ms[f'read_{n}']['p50_ms']:.1f} / p95 {ms[f'read_{n}']['p95_ms']:.1f} ms;"
                for n in READ
            )
            tokens = run["pair_tokens"]["p50_ms"]  # percentiles() names every figure *_ms
            say(
                f"threads {threads}, {run['questions']} questions, pair tokens p50 {tokens:.0f}:"
                f" answer step p50 {ms['answer_step']['p50_ms']:.2f} ms;{reads}"
            )
    out["load"] = sampler.summary()
    args.out.mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "reader-cost-rtqa-full.json"
    path.write_text(json.dumps(out, indent=1, default=str), encoding="utf-8")
    say(f"wrote {path}; load {out['load']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
