"""Every benchmark in turn, on one set: indexing first (it builds the index the others use).

    .venv/bin/python -m bench.run_all                   # full RealTimeQA (~1 h on 2 cores)
    .venv/bin/python -m bench.run_all --small           # 40 articles, about a minute
    .venv/bin/python -m bench.run_all --skip indexing   # reuse the index already built

Common options (--data, --limit, --small, --synthetic, --work-dir, --out) are passed to each.
"""

from __future__ import annotations

import sys
import time

from bench import answers, indexing, latency, memory_coldstart, retrieval_quality
from bench.harness import parser, say

ORDER = {
    "indexing": indexing.main,
    "retrieval_quality": retrieval_quality.main,
    "answers": answers.main,
    "latency": latency.main,
    "memory_coldstart": memory_coldstart.main,
}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--skip", nargs="*", default=[], choices=list(ORDER), help="benchmarks to leave out")
    args, _ = p.parse_known_args(argv)
    common = [a for a in argv if a != "--skip" and a not in ORDER]
    for name, run in ORDER.items():
        if name in args.skip:
            continue
        say(f"== {name} ==")
        started = time.perf_counter()
        run(common)
        say(f"== {name}: {time.perf_counter() - started:.0f} s ==")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
