"""Qdrant local mode (qdrant-client, embedded) at 100k synthetic passages: insert, query, memory.

One command: ``.venv/bin/python -m bench.qdrant_local_scale``; prints JSON. Synthetic seeded unit
vectors (embedding 100k passages for real would take over an hour here); complements
``bench.pg_scale``, whose llama-index insert path was too slow to finish at this size.
"""

import json
import resource
import tempfile
import time
import warnings

import numpy as np
from qdrant_client import QdrantClient, models


def main() -> None:
    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    n = 100_000
    d = 384
    vecs = rng.standard_normal((n, d)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    path = tempfile.mkdtemp()
    c = QdrantClient(path=path)
    c.create_collection("bench", vectors_config=models.VectorParams(size=d, distance=models.Distance.COSINE))
    t = time.time()
    for i in range(0, n, 1000):
        c.upload_collection(
            "bench",
            vectors=vecs[i : i + 1000],
            payload=[{"text": "x" * 200, "published": "2023-01-01"}] * len(vecs[i : i + 1000]),
            ids=list(range(i, i + len(vecs[i : i + 1000]))),
            batch_size=1000,
        )
    ins = time.time() - t
    qs = rng.standard_normal((40, d)).astype(np.float32)
    qs /= np.linalg.norm(qs, axis=1, keepdims=True)
    lat = []
    for q in qs:
        t = time.perf_counter()
        c.query_points("bench", query=q.tolist(), limit=40, with_payload=True)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    print(
        json.dumps(
            {
                "passages": n,
                "insert_s": round(ins, 1),
                "query_p50_ms": round(lat[len(lat) // 2], 1),
                "query_p95_ms": round(lat[int(len(lat) * 0.95)], 1),
                "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            }
        )
    )


if __name__ == "__main__":
    main()
