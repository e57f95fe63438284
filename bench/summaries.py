"""Summary and timeline latency over an existing index, offline (extractive) mode.

    .venv/bin/python -m bench.summaries --data-dir /tmp/newsdesk-bench/newsdesk-rtqa-full

Opens the index in ``--data-dir`` (it never builds one), summarises each topic once cold and
``--repeats`` times warm, builds its timeline, and prints JSON: per topic the passages selected,
stories, articles cited and the stage timings; overall the cold time and warm p50/p95/max. With
no ``--data-dir`` it indexes the bundled seeds in a temporary folder (seconds) and uses their
topic. Figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from config import load_settings
from prompts.desk import Desk
from prompts.stories import SummaryOptions, select_passages
from prompts.summaries import summarize_offline
from prompts.timelines import build_timeline
from retrieval.search import Filters

#: Topics RealTimeQA's 2022-2023 news covers; the seeds get their own.
RTQA_TOPICS = [
    "war in Ukraine",
    "inflation and interest rates",
    "Elon Musk and Twitter",
    "COVID-19 pandemic",
    "Queen Elizabeth II",
    "World Cup in Qatar",
    "Joe Biden",
    "climate change",
    "earthquake in Turkey and Syria",
    "US midterm elections",
]
SEED_TOPICS = ["Putin and Xi meetings", "sanctions against Russia", "Winter Olympics in Beijing"]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def measure(desk: Desk, topic: str, repeats: int) -> dict[str, Any]:
    options = SummaryOptions()
    started = time.perf_counter()
    summary = summarize_offline(desk, topic)
    cold = time.perf_counter() - started
    warm = []
    for _ in range(repeats):
        started = time.perf_counter()
        summary = summarize_offline(desk, topic)
        warm.append(time.perf_counter() - started)
    started = time.perf_counter()
    timeline = build_timeline(desk, topic)
    timeline_s = time.perf_counter() - started
    selected = select_passages(desk.searcher, topic, Filters(), options)
    return {
        "topic": topic,
        "passages_selected": len(selected),
        "articles_selected": len({h.passage.doc_id for h in selected}),
        "stories": len(summary.stories),
        "articles_cited": summary.coverage.articles,
        "coverage": summary.coverage.describe(),
        "timeline_events": len(timeline.events),
        "cold_ms": _ms(cold),
        "warm_ms": [_ms(w) for w in warm],
        "timeline_ms": _ms(timeline_s),
        "stages_ms": {k: round(v, 1) for k, v in summary.timings_ms.items()},
    }


def _overall(rows: list[dict[str, Any]]) -> dict[str, Any]:
    warm = sorted(w for r in rows for w in r["warm_ms"])
    if not warm:
        return {}
    return {
        "summaries_timed": len(warm),
        "warm_p50_ms": round(statistics.median(warm), 1),
        "warm_p95_ms": warm[min(len(warm) - 1, int(0.95 * len(warm)))],
        "warm_max_ms": warm[-1],
        "cold_max_ms": max(r["cold_ms"] for r in rows),
        "timeline_p50_ms": round(statistics.median(r["timeline_ms"] for r in rows), 1),
    }


def run(data_dir: Path | None, topics: list[str] | None, repeats: int) -> dict[str, Any]:
    settings = load_settings()
    with tempfile.TemporaryDirectory(prefix="newsdesk-summaries-") as scratch:
        started = time.perf_counter()
        desk = Desk.open(settings, data_dir or Path(scratch), build=data_dir is None)
        opened = time.perf_counter() - started
        try:
            stats = desk.stats()
            chosen = topics or (RTQA_TOPICS if data_dir else SEED_TOPICS)
            rows = [measure(desk, topic, repeats) for topic in chosen]
        finally:
            desk.close()
    return {
        "index": str(data_dir) if data_dir else "bundled seeds (temporary index)",
        "articles": stats.articles,
        "passages": stats.passages,
        "open_s": round(opened, 2),
        "overall": _overall(rows),
        "topics": rows,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", type=Path, help="a newsdesk data folder holding an index")
    p.add_argument("--topic", action="append", dest="topics", help="a topic (repeatable)")
    p.add_argument("--repeats", type=int, default=5, help="warm runs per topic")
    args = p.parse_args(argv)
    if args.data_dir is not None and not (args.data_dir / "index").is_dir():
        p.error(f"{args.data_dir} holds no index (expected {args.data_dir / 'index'})")
    print(json.dumps(run(args.data_dir, args.topics, args.repeats), indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
