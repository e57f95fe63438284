"""A year of news, indexed and served: build rate, reindex, query latency, recall, memory, disk.

    .venv/bin/python -m bench.scale --backend embedded --provider wordllama     # the 2024 year
    .venv/bin/python -m bench.scale --backend embedded --provider minilm --limit 170
    .venv/bin/python -m bench.scale --backend postgres --provider wordllama     # bench.scale_pg

On ``--corpus`` (default ``../shared/benchmarks/realtimeqa-2024/corpus.jsonl``, 8,812 articles,
~100k passages; ``--limit N``: its first N articles), for the embedded backend:

1. **encoder alone**: the bare encoder on ``--encoder-sample`` of the corpus's own passages
   (as they are embedded, in the configured batch size), before and after the build: the
   rate the build is compared with (goal: the build at >= 80% of it).
2. **build** from scratch in a child process (``newsdesk``'s own ``build_generation``): seconds,
   passages/s, CPU seconds, the child's peak RSS; then a no-change reindex and a 1%-changed
   one in the same child (the latter re-embeds only the changed articles).
3. **serving**: a separate child opens the index as the bot does and answers ``--queries``
   questions (the RealTimeQA 2023 quiz questions when present, else headline questions):
   search and full offline-answer p50/p95, dense recall@10 against exact search, its peak RSS.
   The embedded backend's dense search *is* exact (a full scan of ``dense.npy``), so its
   recall is 1.0 by construction; it is checked on the same queries anyway.
4. disk size of the generation.

``--backend postgres`` calls ``bench.scale_pg.run(corpus, provider, limit, work_dir)`` (the
PostgreSQL side), which returns the same kind of dict.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.data import REPO, article_from_row
from bench.harness import DEFAULT_WORK, RESULTS, LoadSampler, dir_mib, machine, percentiles, say
from retrieval.models import Article

DEFAULT_CORPUS = REPO.parent / "shared" / "benchmarks" / "realtimeqa-2024" / "corpus.jsonl"
QUESTIONS = REPO.parent / "shared" / "benchmarks" / "realtimeqa" / "questions.jsonl"


def read_articles(corpus: Path, limit: int | None) -> list[Article]:
    articles: list[Article] = []
    with corpus.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                articles.append(article_from_row(json.loads(line)))
            if limit is not None and len(articles) >= limit:
                break
    return articles


def settings_for(data_dir: Path, provider: str) -> Any:
    from config import load_settings

    return load_settings(data_dir=str(data_dir), embedding={"provider": provider})


def questions(articles: list[Article], n: int) -> tuple[list[str], str]:
    """``n`` fixed questions: the RealTimeQA 2023 quiz questions, else one per sampled headline."""
    if QUESTIONS.is_file():
        with QUESTIONS.open(encoding="utf-8") as fh:
            rows = [json.loads(line) for line in fh if line.strip()]
        return [r["question"] for r in rows[:n]], f"the first {n} RealTimeQA 2023 quiz questions"
    picked = random.Random(0).sample(articles, min(n, len(articles)))
    return [f"What happened: {a.title}?" for a in picked], f"{len(picked)} headline questions"


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- child processes ------------------------------------------------------------------------


def child_build(corpus: Path, provider: str, limit: int | None, data_dir: Path) -> dict[str, Any]:
    """Build from scratch, then reindex unchanged and 1% changed (run in its own process)."""
    from bench.indexing import changed
    from retrieval.backends import open_backend
    from retrieval.embedding import build_embedder
    from retrieval.index import build_generation

    articles = read_articles(corpus, limit)
    shutil.rmtree(data_dir, ignore_errors=True)  # from nothing: no earlier run to resume
    settings = settings_for(data_dir, provider)
    embedder = build_embedder(settings.embedding)
    backend = open_backend(settings)

    def build(items: list[Article], rebuild: bool) -> dict[str, Any]:
        started, cpu = time.perf_counter(), time.process_time()
        report = build_generation(backend, settings, data_dir / "index", embedder, items, [], rebuild)
        seconds = time.perf_counter() - started
        return {
            "seconds": round(seconds, 2),
            "cpu_seconds": round(time.process_time() - cpu, 1),
            "passages": report.passages,
            "embedded": report.embedded,
            "changed": report.changed,
            "passages_per_s": round(report.embedded / seconds, 1) if report.embedded else None,
        }

    full = build(articles, rebuild=True)
    full["peak_rss_mib"] = peak_rss_mib()
    no_change = build(articles, rebuild=False)
    edited, n = changed(articles, 0.01)
    one = build(edited, rebuild=False) | {"articles_changed": n}
    return {
        "articles": len(articles),
        "full": full,
        "no_change": no_change,
        "one_percent": one,
        "peak_rss_mib": peak_rss_mib(),
    }


def child_serve(provider: str, data_dir: Path, asked: list[str]) -> dict[str, Any]:
    """Open the index as the bot does and answer ``asked`` (run in its own process)."""
    import numpy as np

    from prompts.desk import Desk
    from retrieval.catalog import DENSE_FILE, current_generation
    from retrieval.search import Filters

    started = time.perf_counter()
    desk = Desk.open(settings_for(data_dir, provider), data_dir, build=False)
    desk.search("warm up")
    ready_s = time.perf_counter() - started
    search_ms, answer_ms, search_cpu, answer_cpu = [], [], [], []
    for q in asked:
        t, c = time.perf_counter(), time.process_time()
        desk.search(q)
        search_ms.append((time.perf_counter() - t) * 1000)
        search_cpu.append((time.process_time() - c) * 1000)
        t, c = time.perf_counter(), time.process_time()
        desk.ask_offline(q)
        answer_ms.append((time.perf_counter() - t) * 1000)
        answer_cpu.append((time.process_time() - c) * 1000)
    source = desk.searcher.source
    generation = current_generation(desk.index_root)
    assert generation is not None
    matrix = np.load(generation / DENSE_FILE, mmap_mode="r")
    rows = getattr(source, "passages").column("node_id")  # noqa: B009
    recall = []
    for q in asked:
        vector = desk.searcher.encoder.embed_query(q)
        exact = {rows[i] for i in np.argsort(-(matrix @ vector))[:10]}
        found = {p.key for p, _s in source.dense(vector, 10, Filters())}
        recall.append(len(exact & found) / max(1, min(10, len(exact))))
    peak = peak_rss_mib()
    desk.close()
    return {
        "ready_s": round(ready_s, 2),
        "search": percentiles(search_ms),
        "search_cpu": percentiles(search_cpu),
        "answer_cpu": percentiles(answer_cpu),
        "answer": percentiles(answer_ms),
        "dense_recall_at_10": round(float(np.mean(recall)), 4),
        "queries": len(asked),
        "peak_rss_mib": peak,
    }


def _in_child(args: list[str], timeout_s: float) -> dict[str, Any]:
    """``python -m bench.scale <args>`` in a fresh process; its JSON result."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bench.scale", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.scale {args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- the parent ------------------------------------------------------------------------------


def encoder_alone(articles: list[Article], provider: str, sample: int, data_dir: Path) -> dict[str, Any]:
    """The bare encoder's rate on ``sample`` passages of the corpus (split from its first articles)."""
    from bench.data import BenchSet
    from bench.indexing import embed_texts, encoder_rate, local_embedder

    settings = settings_for(data_dir, provider)
    encoder = local_embedder(settings.embedding).encoder
    texts: list[str] = []
    start = 0
    while len(texts) < sample and start < len(articles):
        more, _s = embed_texts(BenchSet("sample", articles[start : start + 50], []), settings, encoder)
        texts += more
        start += 50
    rate = encoder_rate(encoder, texts[:sample], settings.embedding.batch_size)
    return rate | {"batch": settings.embedding.batch_size}


def run_embedded(
    corpus: Path,
    provider: str,
    limit: int | None,
    work_dir: Path,
    queries: int,
    sample: int,
    timeout_s: float,
) -> dict[str, Any]:
    articles = read_articles(corpus, limit)
    data_dir = work_dir / f"scale-embedded-{provider}-{limit or 'all'}"
    asked, asked_what = questions(articles, queries)
    with LoadSampler() as load_before:
        before = encoder_alone(articles, provider, sample, data_dir)
    say("encoder alone (before):", before)
    common = ["--provider", provider, "--data-dir", str(data_dir), "--corpus", str(corpus)]
    limit_args = ["--limit", str(limit)] if limit else []
    with LoadSampler() as load_build:
        built = _in_child(["_build", *common, *limit_args], timeout_s)
    say("build:", built)
    with LoadSampler() as load_after:
        after = encoder_alone(articles, provider, sample, data_dir)
    say("encoder alone (after):", after)
    with LoadSampler() as load_serve:
        served = _in_child(["_serve", *common, "--asked", json.dumps(asked)], timeout_s)
    say("serving:", served)
    from retrieval.catalog import current_generation

    generation = current_generation(data_dir / "index")
    alone = (before["passages_per_s"] + after["passages_per_s"]) / 2
    return {
        "backend": "embedded",
        "provider": provider,
        "corpus": str(corpus),
        "limit": limit,
        "questions": asked_what,
        "encoder_alone": {"before": before, "after": after},
        "build": built,
        "build_vs_encoder": round(built["full"]["passages_per_s"] / alone, 3),
        "serving": served,
        "disk_mib": dir_mib(generation) if generation else None,
        "load": {
            "encoder_before": load_before.summary(),
            "build": load_build.summary(),
            "encoder_after": load_after.summary(),
            "serving": load_serve.summary(),
        },
    }


def run(
    corpus: Path,
    backend: str,
    provider: str,
    limit: int | None,
    work_dir: Path,
    queries: int = 200,
    sample: int = 2000,
    timeout_s: float = 7200,
) -> dict[str, Any]:
    if backend == "postgres":
        try:
            from bench import scale_pg
        except ImportError:
            raise SystemExit("--backend postgres needs bench/scale_pg.py (the PostgreSQL side)") from None
        return dict(scale_pg.run(corpus, provider, limit, work_dir, queries=queries))
    return run_embedded(corpus, provider, limit, work_dir, queries, sample, timeout_s)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("step", nargs="?", choices=["_build", "_serve"], help=argparse.SUPPRESS)
    p.add_argument("--backend", choices=["embedded", "postgres"], default="embedded")
    p.add_argument("--provider", default="wordllama", help="minilm, minilm-l3 or wordllama")
    p.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="JSONL of articles")
    p.add_argument("--limit", type=int, default=None, help="only the first N articles")
    p.add_argument("--queries", type=int, default=200, help="questions asked of the serving process")
    p.add_argument("--encoder-sample", type=int, default=2000, help="passages timed with the bare encoder")
    p.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="indexes are built here")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    p.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--asked", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step == "_build":
        print(json.dumps(child_build(args.corpus, args.provider, args.limit, args.data_dir)))
        return 0
    if args.step == "_serve":
        print(json.dumps(child_serve(args.provider, args.data_dir, json.loads(args.asked))))
        return 0
    if not args.corpus.is_file():
        print(f"bench.scale: no corpus at {args.corpus} (give --corpus)", file=sys.stderr)
        return 2
    started = machine()
    result = run(
        args.corpus, args.backend, args.provider, args.limit, args.work_dir, args.queries, args.encoder_sample
    )
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"scale-{args.backend}-{args.provider}-{args.limit or 'all'}.json"
    path.write_text(
        json.dumps({"benchmark": "scale", "machine": started, **result}, indent=1), encoding="utf-8"
    )
    say(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
