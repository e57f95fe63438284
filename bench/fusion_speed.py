"""The cheap fusion, old and new side by side: identical rankings, and warm search latency.

    .venv/bin/python -m bench.fusion_speed --work-dir /tmp/fastfuse-work [--before 8556db9]

Loads ``retrieval/search.py`` as it was at ``--before`` (git; default: the commit before the
fusion worked on plain scores) next to the current one, both over the same index source,
encoder, catalog and story map of the full RealTimeQA newsdesk index
(``<work>/newsdesk-rtqa-full``, read only). For every labelled question, asked as of its quiz
date, under several ``search.*`` settings and filters: the whole fused list (keys, scores,
ranks, ``also_in``; the benches' depth, 60) of old and new must be equal. Then warm
``Desk.search`` (top_k, as the bot asks) is timed, old and new taking turns question by
question: with the query's vector cache emptied before each call (a new question) and with it
warm (fusion and the backend only).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.data import load_realtimeqa
from bench.harness import parser, percentiles, say
from bench.systems import Newsdesk, newsdesk_dir

ROOT = Path(__file__).resolve().parents[1]
VARIANTS: list[tuple[str, dict[str, Any]]] = [
    ("defaults", {}),
    ("no recency, keyword_weight 1", {"recency_weight": 0.0, "keyword_weight": 1.0}),
    ("PRF 3/3 + phrase 0.1", {"expansion_terms": 3, "expansion_docs": 3, "phrase_weight": 0.1}),
    ("headline 0.25 + article evidence 0.25", {"headline_weight": 0.25, "article_evidence": 0.25}),
]


def load_before(rev: str) -> types.ModuleType:
    source = subprocess.run(  # noqa: S603 -- a fixed git command
        ["git", "show", f"{rev}:retrieval/search.py"],  # noqa: S607 -- git on PATH, as bench.harness
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    module = types.ModuleType("retrieval._search_before")
    sys.modules[module.__name__] = module  # dataclasses look their module up
    exec(compile(source, f"{rev}:retrieval/search.py", "exec"), module.__dict__)  # noqa: S102 -- our own file at a revision
    return module


def twin(before: types.ModuleType, searcher: Any) -> Any:
    """An old-code searcher sharing every part of ``searcher``."""
    old = before.HybridSearcher.__new__(before.HybridSearcher)
    for name in ("generation", "source", "settings", "encoder", "catalog", "stories"):
        setattr(old, name, getattr(searcher, name))
    return old


def fingerprint(hits: list[Any]) -> list[tuple[Any, ...]]:
    return [(h.passage.key, h.score, h.dense_score, h.keyword_rank, h.dense_rank, h.also_in) for h in hits]


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--before", default="8556db9", help="git revision of the old retrieval/search.py")
    p.add_argument("--rounds", type=int, default=2, help="timing rounds over the questions")
    args = p.parse_args(argv)
    bset = load_realtimeqa(args.data)
    questions = bset.labelled
    desk = Newsdesk(newsdesk_dir(args.work_dir, bset))
    index = desk.desk.index
    new = desk.desk.searcher
    old = twin(load_before(args.before), new)
    defaults = new.settings
    encoder = desk.desk.encoder

    def search(searcher: Any, question: str, k: int | None = desk.depth, **kw: Any) -> list[Any]:
        index._searcher = searcher
        return desk.desk.search(question, k=k, **kw)

    say(f"load average {os.getloadavg()}")
    compared = differ = 0
    for label, changes in VARIANTS:
        new.settings = old.settings = defaults.model_copy(update=changes)
        for q in questions:
            desk._day = q.date
            since: dict[str, Any] = {"since": q.date - timedelta(days=30)} if q.date else {}
            for kw in ({}, since, {"outlet": "a"}):
                compared += 1
                if fingerprint(search(old, q.question, **kw)) != fingerprint(search(new, q.question, **kw)):
                    differ += 1
                    say(f"DIFFERENT: {label} {kw} {q.question!r}")
    new.settings = old.settings = defaults
    say(f"identical fused lists: {compared - differ} of {compared} (questions x settings x filters)")

    times: dict[str, list[float]] = {
        f"{n} {c}": [] for c in ("new vector", "cached vector") for n in ("old", "new")
    }
    for q in questions[:5]:
        search(new, q.question)
        search(old, q.question)
    started_load = os.getloadavg()
    for _ in range(args.rounds):
        for q in questions:
            desk._day = q.date
            for name, searcher in (("old", old), ("new", new)):
                encoder._queries.clear()
                started = time.perf_counter()
                search(searcher, q.question, k=None)
                times[f"{name} new vector"].append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                search(searcher, q.question, k=None)
                times[f"{name} cached vector"].append((time.perf_counter() - started) * 1000)
    index._searcher = new
    say(f"load average before timing {started_load}, after {os.getloadavg()}")
    for name, ms in times.items():
        say(f"warm search {name}: {percentiles(ms)} ms over {len(ms)} searches")
    desk.close()
    return 1 if differ else 0


if __name__ == "__main__":
    raise SystemExit(main())
