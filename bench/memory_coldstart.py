"""Memory and cold start: a fresh process per corpus size, from start to its first answer.

    .venv/bin/python -m bench.memory_coldstart             # 500, 2,837 and 10,000 articles
    .venv/bin/python -m bench.memory_coldstart --small     # 20, 40 and 120 articles

For each size, a fresh Python process opens the Desk the bot and the CLI share
(``Desk.open(build=False)``), answers one question (the cold start is measured by this parent
from spawning the process to reading that answer), answers ``--more`` questions, and reports
its peak RSS. The same is timed for the real ``newsdesk ask`` command (``/usr/bin/time``: wall
time and peak RSS) and, where the persisted llama-index default exists (the corpus's own size),
for a process that loads it and answers with a MockLLM query engine.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.data import BenchSet
from bench.harness import LoadSampler, bench_set, dir_mib, parser, say, write_result

PYTHON = sys.executable
NEWSDESK = str(Path(sys.executable).with_name("newsdesk"))


def _child(kind: str, folder: str, questions: list[str]) -> None:
    """Runs in the fresh process: open, answer one question, say so, answer the rest, report."""
    started = time.perf_counter()
    answer: Callable[[str], object]
    if kind == "newsdesk":
        from bench.systems import bench_settings
        from prompts.desk import Desk

        desk = Desk.open(bench_settings(Path(folder)), Path(folder), build=False)
        opened = time.perf_counter()
        answer = desk.ask_offline
    else:
        from llama_index.core import StorageContext, load_index_from_storage
        from llama_index.core.llms import MockLLM

        from retrieval.embedding import MiniLMEmbedding

        context = StorageContext.from_defaults(persist_dir=folder)
        index = load_index_from_storage(context, embed_model=MiniLMEmbedding())
        opened = time.perf_counter()
        answer = index.as_query_engine(llm=MockLLM(max_tokens=64)).query
    answer(questions[0])
    first = time.perf_counter()
    print("ANSWERED", flush=True)
    for q in questions[1:]:
        answer(q)
    print(
        json.dumps(
            {
                "open_s": round(opened - started, 3),
                "first_answer_s": round(first - opened, 3),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            }
        ),
        flush=True,
    )


def spawn(kind: str, folder: Path, questions: list[str]) -> dict[str, Any]:
    """Start a fresh process; seconds from spawn to its first answer, and what it reports."""
    started = time.perf_counter()
    args = [PYTHON, "-m", "bench.memory_coldstart", "--child", kind, str(folder), *questions]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with subprocess.Popen(  # noqa: S603
        args,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parents[1],
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        cold = time.perf_counter() - started
        rest = proc.stdout.read()
        proc.wait()
    if line.strip() != "ANSWERED" or proc.returncode:
        raise RuntimeError(f"{kind} child failed ({proc.returncode}): {line}{rest}")
    return {"cold_start_s": round(cold, 3), **json.loads(rest.strip().splitlines()[-1])}


def cli_ask(folder: Path, question: str) -> dict[str, Any]:
    """``newsdesk ask`` as a user runs it: wall seconds and peak RSS from /usr/bin/time."""
    timer = shutil.which("time") or "/usr/bin/time"
    args = [timer, "-f", "%e %M", NEWSDESK, "--data-dir", str(folder), "ask", question, "--json"]
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode:
        raise RuntimeError(f"newsdesk ask failed: {done.stderr[-500:]}")
    wall, kib = done.stderr.strip().splitlines()[-1].split()
    return {"wall_s": float(wall), "peak_rss_mib": round(int(kib) / 1024, 1)}


def _median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {key: round(statistics.median(r[key] for r in runs), 3) for key in runs[0]} | {"runs": runs}


def run(bset: BenchSet, work: Path, sizes: list[int], repeats: int, more: int) -> dict[str, Any]:
    from bench.latency import sized_dir
    from bench.systems import llama_dir

    questions = [q.question for q in bset.questions][: more + 1]
    rows = []
    for size in sizes:
        folder = sized_dir(work, bset, size)
        with LoadSampler() as load:
            desk = _median_of([spawn("newsdesk", folder, questions) for _ in range(repeats)])
            cli = _median_of([cli_ask(folder, questions[0]) for _ in range(repeats)])
            row: dict[str, Any] = {"articles": size, "newsdesk_process": desk, "newsdesk_cli_ask": cli}
            llama = llama_dir(work, bset)
            if size == len(bset.articles) and (llama / "docs.json").is_file():
                row["llamaindex_process"] = _median_of(
                    [spawn("llamaindex", llama, questions) for _ in range(repeats)]
                )
                row["llamaindex_persisted_mib"] = dir_mib(llama)
        generation = folder / "index"
        row["newsdesk_index_mib"] = dir_mib(generation)
        row["load"] = load.summary()
        say(
            f"size {size}: newsdesk cold {desk['cold_start_s']} s, peak {desk['peak_rss_mib']} MiB; "
            f"cli {cli['wall_s']} s, {cli['peak_rss_mib']} MiB; index {row['newsdesk_index_mib']} MiB"
        )
        rows.append(row)
    return {"sizes": rows, "repeats": repeats, "questions_per_process": len(questions)}


def main(argv: list[str] | None = None) -> int:
    if argv is None and len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4:])
        return 0
    from bench.latency import default_sizes

    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", help="corpus sizes (default 500, all, 10,000)")
    p.add_argument("--repeats", type=int, default=3, help="fresh processes per measurement")
    p.add_argument("--more", type=int, default=20, help="questions answered after the first")
    args = p.parse_args(argv)
    bset = bench_set(args)
    result = run(bset, args.work_dir, args.sizes or default_sizes(bset), args.repeats, args.more)
    say("wrote", write_result("memory_coldstart", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
