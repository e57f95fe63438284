"""What every benchmark shares: options, the machine and its load, timing, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.data import REPO, BenchSet, load_set

RESULTS = REPO / "bench" / "results"
DEFAULT_WORK = Path(os.environ.get("NEWSDESK_BENCH_WORK", "/tmp/newsdesk-bench"))  # noqa: S108
SMALL = 40


def parser(description: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--data", type=Path, default=None, help="RealTimeQA folder (default ../shared/...)")
    p.add_argument("--limit", type=int, default=None, help="use only this many articles")
    p.add_argument("--small", action="store_true", help=f"a fast version: --limit {SMALL}")
    p.add_argument("--synthetic", action="store_true", help="the seeded synthetic set, not RealTimeQA")
    p.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="indexes are built here")
    p.add_argument("--out", type=Path, default=RESULTS, help="folder for the JSON result")
    return p


def bench_set(args: argparse.Namespace) -> BenchSet:
    limit = SMALL if args.small and args.limit is None else args.limit
    return load_set(args.data, limit, args.synthetic)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = 0
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_mib": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "core": core_version(),
    }


def core_version() -> dict[str, Any]:
    """The commit of the tree and whether the core (config, retrieval, prompts) has edits."""
    import subprocess

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603, S607
        return done.stdout.strip()

    dirty = git("status", "--porcelain", "--", "config", "retrieval", "prompts")
    return {"commit": git("rev-parse", "--short", "HEAD"), "core_edits": dirty.splitlines()}


class LoadSampler:
    """The 1-minute load average sampled in the background while a benchmark runs."""

    def __init__(self, every_s: float = 5.0) -> None:
        self.every = every_s
        self.samples: list[float] = [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> LoadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1)
        self.samples.append(os.getloadavg()[0])

    def summary(self) -> dict[str, float]:
        return {
            "load1_mean": round(statistics.fmean(self.samples), 2),
            "load1_max": round(max(self.samples), 2),
            "load1_min": round(min(self.samples), 2),
        }


@contextmanager
def timed() -> Iterator[dict[str, float]]:
    box: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield box
    finally:
        box["s"] = time.perf_counter() - started


def percentiles(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    ordered = sorted(ms)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]

    return {
        "n": len(ordered),
        "p50_ms": round(pick(0.50), 2),
        "p95_ms": round(pick(0.95), 2),
        "max_ms": round(ordered[-1], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
    }


def interleaved(
    runners: dict[str, Callable[[str], Any]], queries: list[str], warmup: int = 5
) -> dict[str, list[float]]:
    """Per-query latency of each runner (wall ms, and process CPU ms under ``<name>_cpu``), the
    runners taking turns query by query so the machine's load falls on all of them alike."""
    for q in queries[:warmup]:
        for run in runners.values():
            run(q)
    times: dict[str, list[float]] = {name: [] for name in runners}
    times |= {f"{name}_cpu": [] for name in runners}
    for q in queries:
        for name, run in runners.items():
            started, cpu = time.perf_counter(), time.process_time()
            run(q)
            times[name].append((time.perf_counter() - started) * 1000)
            times[f"{name}_cpu"].append((time.process_time() - cpu) * 1000)
    return times


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def dir_mib(folder: Path) -> float:
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    return round(total / 2**20, 1)


def write_result(name: str, bset: BenchSet, payload: dict[str, Any], out: Path) -> Path:
    """``<out>/<name>-<set>.json`` with the machine, the set and the figures."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{bset.name}.json"
    doc = {
        "benchmark": name,
        "set": {
            "name": bset.name,
            "source": bset.source,
            "articles": len(bset.articles),
            "questions": len(bset.questions),
            "labelled": len(bset.labelled),
            "notes": bset.notes,
        },
        "machine": machine(),
        **payload,
    }
    path.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
    return path


def say(*parts: object) -> None:
    print(*parts, flush=True)
