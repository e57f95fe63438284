"""A PostgreSQL build killed part way and resumed, against a clean build (issue 17).

    .venv/bin/python -m bench.resume_pg --corpus ../shared/benchmarks/realtimeqa-2024/corpus.jsonl \
        --provider wordllama --limit 1000 --kill-at 0.8 --work-dir /tmp/pg-resume

On one throwaway PostgreSQL 18 + pgvector (as ``bench.scale_pg`` starts it), each build a real
``build_generation`` in its own process over the first ``limit`` articles:
- **clean**: a build from nothing, in its own database;
- **killed**: the same build in another database, SIGKILLed once the docstore of its unfinished
  generation records ``kill_at`` of the articles (what its committed batches hold);
- **resumed**: the same build run again on that data dir and database.
Reported: each run's time and passages embedded, how many passages the killed run had saved and
how many it lost (committed rows the docstore had not recorded yet: the batch being saved), and
whether the resumed table holds the clean one's passages and vectors (a digest) and searches like
it (top 10 keys of ``queries`` questions, beside a second clean build: HNSW graphs differ).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.scale_pg import DSN_ENV, REPO, query_texts, read_articles, settings_for, start_server


def build_step(corpus_path: Path, provider: str, limit: int, data_dir: Path) -> dict[str, Any]:
    from retrieval.backends import open_backend
    from retrieval.embedding import build_embedder
    from retrieval.index import build_generation

    articles = read_articles(corpus_path, limit)
    settings = settings_for(data_dir, provider)
    embedder = build_embedder(settings.embedding)
    started = time.perf_counter()
    report = build_generation(open_backend(settings), settings, data_dir / "index", embedder, articles, [])
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "passages": report.passages,
        "embedded": report.embedded,
        "added": report.added,
    }


def search_step(corpus_path: Path, provider: str, data_dir: Path, queries: int) -> dict[str, Any]:
    from prompts.desk import Desk

    desk = Desk.open(settings_for(data_dir, provider), data_dir, build=False)
    try:
        return {
            "top10": [
                [h.passage.key for h in desk.search(q, k=10)] for q in query_texts(corpus_path, queries)
            ]
        }
    finally:
        desk.close()


def _command(step: str, corpus: Path, provider: str, limit: int, data_dir: Path, queries: int) -> list[str]:
    return [
        sys.executable, "-m", "bench.resume_pg", "--step", step, "--corpus", str(corpus), "--provider",
        provider, "--limit", str(limit), "--data-dir", str(data_dir), "--queries", str(queries),
    ]  # fmt: skip


def _child(command: list[str], dsn: str) -> dict[str, Any]:
    env = os.environ | {DSN_ENV: dsn, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    out = subprocess.run(  # noqa: S603 - this interpreter, this module
        command, check=False, capture_output=True, text=True, cwd=REPO, env=env, timeout=3600
    )
    if out.returncode != 0:
        raise RuntimeError(f"{command[3]} exited {out.returncode}:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def _recorded(index_root: Path) -> set[str]:
    """The articles the unfinished generation's docstore records (saved with each batch)."""
    try:
        (saved,) = index_root.glob("building-*/docstore.json")
        data = json.loads(saved.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    return set(data.get("docstore/metadata", {}))


def _query(dsn: str, statement: str) -> list[tuple[Any, ...]]:
    import psycopg2

    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())
    except psycopg2.errors.UndefinedTable:
        return []
    finally:
        conn.close()


def _rows(dsn: str, index_root: Path) -> dict[str, int]:
    """Passages per article in the unfinished generation's table."""
    folders = list(index_root.glob("building-*"))
    if len(folders) != 1:
        return {}
    table = f"data_newsdesk_g{folders[0].name.removeprefix('building-').lower()}"
    found = _query(dsn, f"SELECT metadata_->>'ref_doc_id', count(*) FROM {table} GROUP BY 1")  # noqa: S608
    return {str(d): int(n) for d, n in found}


def _digest(dsn: str) -> str:
    """A digest of the published table's passages (article, text, vector), in a fixed order."""
    ((table,),) = _query(dsn, "SELECT vector_table FROM newsdesk_generations WHERE current")
    ((digest,),) = _query(
        dsn,
        "SELECT md5(string_agg(metadata_->>'ref_doc_id' || text || embedding::text, '|'"  # noqa: S608
        f" ORDER BY metadata_->>'ref_doc_id', text)) FROM {table}",
    )
    return str(digest)


def run(
    corpus: Path, provider: str, limit: int, kill_at: float, work_dir: Path, queries: int
) -> dict[str, Any]:
    server = start_server()
    result: dict[str, Any] = {"provider": provider, "limit": limit, "kill_at": kill_at}
    result["load_at_start"] = [round(x, 2) for x in os.getloadavg()]
    try:
        clean_db, again_db, killed_db = (server.create_database() for _ in range(3))
        clean_dir, again_dir, killed_dir = work_dir / "clean", work_dir / "clean-again", work_dir / "killed"
        result["clean"] = _child(_command("build", corpus, provider, limit, clean_dir, queries), clean_db)
        _child(_command("build", corpus, provider, limit, again_dir, queries), again_db)

        env = os.environ | {DSN_ENV: killed_db, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        started = time.perf_counter()
        build = subprocess.Popen(  # noqa: S603
            _command("build", corpus, provider, limit, killed_dir, queries),
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        index_root = killed_dir / "index"
        # killed once the table holds kill_at of the articles: the batch just added may not
        # be recorded yet (the worst case)
        while len(_rows(killed_db, index_root)) < kill_at * limit and build.poll() is None:
            time.sleep(0.05)
        build.send_signal(signal.SIGKILL)
        build.wait(timeout=60)
        recorded, rows = _recorded(index_root), _rows(killed_db, index_root)
        result["killed"] = {
            "seconds": round(time.perf_counter() - started, 1),
            "returncode": build.returncode,
            "articles_saved": len(recorded),
            "passages_saved": sum(n for d, n in rows.items() if d in recorded),
            "passages_lost": sum(n for d, n in rows.items() if d not in recorded),
            "articles_lost": sum(1 for d in rows if d not in recorded),
        }
        result["resumed"] = _child(_command("build", corpus, provider, limit, killed_dir, queries), killed_db)
        clean = _child(_command("search", corpus, provider, limit, clean_dir, queries), clean_db)["top10"]
        resumed = _child(_command("search", corpus, provider, limit, killed_dir, queries), killed_db)["top10"]
        again = _child(_command("search", corpus, provider, limit, again_dir, queries), again_db)["top10"]
        result["queries"] = len(clean)
        # two clean builds differ by their HNSW graphs only (pgvector draws levels at random)
        for name, other in (("resumed", resumed), ("clean_again", again)):
            result[f"same_top10_{name}"] = sum(a == b for a, b in zip(clean, other, strict=True))
            result[f"same_top10_sets_{name}"] = sum(
                set(a) == set(b) for a, b in zip(clean, other, strict=True)
            )
        digests = {name: _digest(dsn) for name, dsn in (("clean", clean_db), ("resumed", killed_db))}
        result["same_passages_and_vectors"] = digests["clean"] == digests["resumed"]
    finally:
        server.stop()
    result["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    p.add_argument(
        "--corpus", type=Path, default=REPO.parent / "shared/benchmarks/realtimeqa-2024/corpus.jsonl"
    )
    p.add_argument("--provider", default="wordllama")
    p.add_argument("--limit", type=int, default=1000, help="articles")
    p.add_argument("--kill-at", type=float, default=0.8, help="share of the articles saved when killed")
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "newsdesk-resume-pg")
    p.add_argument("--step", choices=["build", "search"], help=argparse.SUPPRESS)
    p.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.step == "build":
        print(json.dumps(build_step(args.corpus, args.provider, args.limit, args.data_dir)))
        return 0
    if args.step == "search":
        print(json.dumps(search_step(args.corpus, args.provider, args.data_dir, args.queries)))
        return 0
    if not args.corpus.is_file():
        print(f"no corpus at {args.corpus} (--corpus FILE.jsonl)", file=sys.stderr)
        return 2
    if args.work_dir.exists() and any(args.work_dir.iterdir()):
        print(f"{args.work_dir} is not empty (--work-dir NEW_FOLDER)", file=sys.stderr)
        return 2
    result = run(args.corpus, args.provider, args.limit, args.kill_at, args.work_dir, args.queries)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
