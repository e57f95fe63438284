"""Do both store backends rank alike? The same RealTimeQA passages and vectors on each.

    .venv/bin/python -m bench.pg_agreement --embedded DATA_DIR --provider wordllama [--out DIR]

``DATA_DIR`` holds an embedded (Qdrant) index of the RealTimeQA set; it is copied (``newsdesk
migrate --to postgres``: same passages, same vectors) into a throwaway PostgreSQL (or the one at
``NEWSDESK_POSTGRES_DSN``) and the labelled questions are asked of both backends, and of the
PostgreSQL keyword side as it was before the bounded candidate set (``ts_rank`` of the whole OR
query over every match: ``legacy``). Reported per half of the split (:mod:`bench.split`):
- how much of the embedded BM25 passage top 10 / top 60 and article top 60 the PostgreSQL
  keyword side returns (candidate lists are what the one ``HybridSearcher`` fuses);
- hybrid Hits@4 / Hits@10 / MRR@10 on the silver labels, each system question by question
  against the embedded one; keyword-side latency.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import time
from pathlib import Path
from typing import Any

from bench.data import load_realtimeqa
from bench.harness import LoadSampler, percentiles
from bench.retrieval_quality import first_rank, head_to_head, summarise
from bench.split import half
from bench.systems import first_unique


def settings_for(data_dir: Path, provider: str, backend: str) -> Any:
    from config import load_settings

    return load_settings(data_dir=str(data_dir), embedding={"provider": provider}, store={"backend": backend})


def _overlap(ours: list[str], theirs: list[str], depth: int) -> float:
    return len(set(ours[:depth]) & set(theirs[:depth])) / max(1, min(depth, len(theirs)))


def compare(embedded_dir: Path, provider: str, work: Path) -> dict[str, Any]:
    from prompts.desk import Desk
    from retrieval.backends.postgres import migrate_to_postgres, published_generation
    from retrieval.search import Filters

    target = settings_for(embedded_dir, provider, "postgres")
    if published_generation(target.store) is None:  # else: migrated by an earlier run
        migrate_to_postgres(target, embedded_dir / "index")
    desks = {
        "embedded": Desk.open(settings_for(embedded_dir, provider, "qdrant"), embedded_dir, build=False),
        "postgres": Desk.open(settings_for(work / "pg", provider, "postgres"), work / "pg", build=False),
        "legacy": Desk.open(
            settings_for(work / "legacy", provider, "postgres"), work / "legacy", build=False
        ),
    }
    if os.environ.get("PG_AGREEMENT_QUICK"):  # experiment: the tuning half, no legacy
        desks.pop("legacy").close()
    legacy = desks["legacy"].searcher.source if "legacy" in desks else None
    if legacy is not None:
        legacy._bounded, legacy._plans = False, {}  # type: ignore[attr-defined]  # as before: rank every match
    bset = load_realtimeqa()
    questions = bset.labelled
    if os.environ.get("PG_AGREEMENT_QUICK"):
        questions = [q for q in questions if half(q) == "tune"]
    ranked: dict[str, list[list[str]]] = {name: [] for name in desks}
    overlaps: dict[str, list[tuple[float, float, float]]] = {n: [] for n in desks if n != "embedded"}
    keyword_ms: dict[str, list[float]] = {n: [] for n in overlaps}
    pool, nothing = desks["embedded"].settings.search.candidates, Filters()
    with LoadSampler() as load:
        for q in questions:
            for name, desk in desks.items():
                ranked[name].append(first_unique([h.passage.doc_id for h in desk.search(q.question, k=pool)]))
            source = desks["embedded"].searcher.source
            bm25 = [p.key for p, _ in source.keyword(q.question, pool, nothing)]
            articles = list(source.article_ranks(q.question, pool, nothing))
            for name in overlaps:
                pg = desks[name].searcher.source
                pg._recent.clear()  # type: ignore[attr-defined]  # the search just asked the same
                pg._plans.clear()  # type: ignore[attr-defined]
                started = time.perf_counter()
                passages = [p.key for p, _ in pg.keyword(q.question, pool, nothing)]
                docs = list(pg.article_ranks(q.question, pool, nothing))
                keyword_ms[name].append((time.perf_counter() - started) * 1000)
                overlaps[name].append(
                    (
                        _overlap(passages, bm25, 10),
                        _overlap(passages, bm25, pool),
                        _overlap(docs, articles, pool),
                    )
                )
    for desk in desks.values():
        desk.close()
    out: dict[str, Any] = {"questions": len(questions), "provider": provider, "load": load.summary()}
    for part in ("tune", "report", "all"):
        chosen = [i for i, q in enumerate(questions) if part == "all" or half(q) == part]
        if not chosen:
            continue
        ranks = {n: [first_rank(rows[i], questions[i].silver) for i in chosen] for n, rows in ranked.items()}
        out[part] = {
            "hybrid": {n: summarise(r) for n, r in ranks.items()},
            "vs_embedded": {
                n: head_to_head(r, ranks["embedded"]) for n, r in ranks.items() if n != "embedded"
            },
            "keyword_overlap_with_bm25": {
                n: dict(
                    zip(
                        ("passages_top10", f"passages_top{pool}", f"articles_top{pool}"),
                        (round(statistics.fmean(o[i][k] for i in chosen), 3) for k in range(3)),
                        strict=True,
                    )
                )
                for n, o in overlaps.items()
            },
        }
    out["keyword_side_ms"] = {n: percentiles(t) for n, t in keyword_ms.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument("--embedded", type=Path, required=True, help="data dir of an embedded RealTimeQA index")
    p.add_argument("--provider", default="wordllama")
    p.add_argument("--work-dir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    args = p.parse_args(argv)
    work = args.work_dir or args.embedded.parent / f"{args.embedded.name}-pg-agreement"
    copy = work / "embedded"  # migrate only reads it, but opening an index may tidy its folder
    if not copy.exists():
        shutil.copytree(args.embedded, copy, symlinks=True)
    server = None
    if not os.environ.get("NEWSDESK_POSTGRES_DSN"):
        from bench.scale_pg import start_server

        server = start_server()
        os.environ["NEWSDESK_POSTGRES_DSN"] = server.create_database()
    try:
        result = compare(copy, args.provider, work)
    finally:
        if server is not None:
            server.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"pg_agreement-{args.provider}.json").write_text(
        json.dumps(result, indent=1), encoding="utf-8"
    )
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
