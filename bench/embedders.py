"""The embedders compared: indexing throughput and hybrid retrieval quality of each.

    .venv/bin/python -m bench.embedders build --provider wordllama     # index the set with it
    .venv/bin/python -m bench.embedders rate --sample 2000             # bare encoders, same run
    .venv/bin/python -m bench.embedders quality --index minilm=/tmp/newsdesk-bench/newsdesk-rtqa-full \\
        --index wordllama=/tmp/embedders-work/newsdesk-rtqa-full-wordllama

``build`` indexes the bench set with newsdesk's own builder under ``--work-dir`` as
``newsdesk-<set>-<provider>`` and times it. ``rate`` times each local encoder on the same random
passages (as they are embedded, title line included), providers taking turns per batch, so the
load of this shared machine falls on all of them alike. ``quality`` opens each index with its
own embedder and ranks the labelled questions (each asked as of its quiz date) with the full
hybrid search and each embedder's own search settings (``search.dense_weight`` etc.): Hits@4/10 and MRR@10
on the tuning half and on the held-back half (bench.split), and each against the first index
question by question. Add ``--small`` or ``--limit N`` for a slice.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from bench.data import BenchSet, Question
from bench.harness import LoadSampler, bench_set, parser, percentiles, say, write_result
from bench.retrieval_quality import first_rank, head_to_head, summarise
from bench.split import half
from bench.systems import first_unique
from config import Settings, load_settings

PROVIDERS = ("minilm", "minilm-l3", "wordllama")


def settings_for(data_dir: Path, provider: str) -> Settings:
    return load_settings(data_dir=str(data_dir), embedding={"provider": provider})


def index_dir(work: Path, bset: BenchSet, provider: str) -> Path:
    return work / f"newsdesk-{bset.name}-{provider}"


def build(bset: BenchSet, work: Path, provider: str) -> dict[str, Any]:
    """Index ``bset`` from scratch with ``provider``; passages per second of the whole build."""
    from retrieval.backends import open_backend
    from retrieval.embedding import build_embedder
    from retrieval.index import build_generation

    data_dir = index_dir(work, bset, provider)
    settings = settings_for(data_dir, provider)
    embedder = build_embedder(settings.embedding)
    started, cpu = time.perf_counter(), time.process_time()
    with LoadSampler() as load:
        report = build_generation(
            open_backend(settings), settings, data_dir / "index", embedder, bset.articles, [], rebuild=True
        )
    seconds = time.perf_counter() - started
    from retrieval.catalog import Catalog, current_generation

    generation = current_generation(data_dir / "index")
    passages = Catalog.read(generation).passages if generation else 0
    return {
        "provider": provider,
        "index": str(data_dir),
        "articles": len(bset.articles),
        "passages": passages,
        "build_s": round(seconds, 1),
        "passages_per_s": round(passages / seconds, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "report": str(report),
        "load": load.summary(),
    }


def reembed(source: Path, target: Path, provider: str) -> dict[str, Any]:
    """A copy of the index at ``source`` with its passage vectors (``dense.npy``, which the
    embedded backend's search reads) re-embedded by ``provider``: the same passages, another
    embedder, without splitting again. Bench only: the copy's docstore says its passages are
    embedded, so never reindex it incrementally."""
    import dataclasses
    import shutil

    import numpy as np
    from llama_index.core.schema import MetadataMode

    from retrieval.backends.embedded import generation_nodes, write_dense
    from retrieval.catalog import DENSE_FILE, Catalog, current_generation, embedder_model
    from retrieval.encoders import local_encoder
    from retrieval.ingest import settings_key

    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    settings = settings_for(target, provider)
    generation = current_generation(target / "index")
    if generation is None:
        raise SystemExit(f"no index in {source}")
    nodes = generation_nodes(generation)
    texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    encoder = local_encoder(settings.embedding)
    assert encoder is not None
    batch = settings.embedding.batch_size
    started, cpu = time.perf_counter(), time.process_time()
    with LoadSampler() as load:
        vectors = np.concatenate([encoder.encode(texts[i : i + batch]) for i in range(0, len(texts), batch)])
    seconds = time.perf_counter() - started
    for node, vector in zip(nodes, vectors, strict=True):
        node.embedding = vector.tolist()
    write_dense(generation / DENSE_FILE, nodes)
    catalog = Catalog.read(generation)
    dataclasses.replace(
        catalog,
        embedder=provider,
        embedding_model=embedder_model(settings.embedding),
        dimension=int(vectors.shape[1]),
        settings_key=settings_key(settings),
    ).write(generation)
    return {
        "provider": provider,
        "source": str(source),
        "index": str(target),
        "passages": len(texts),
        "encode_s": round(seconds, 1),
        "passages_per_s": round(len(texts) / seconds, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "batch": batch,
        "load": load.summary(),
    }


def rate(bset: BenchSet, sample: int, batch: int) -> dict[str, Any]:
    """Passages per second of each bare local encoder on the same passages, taking turns."""
    from bench.indexing import embed_texts
    from retrieval.encoders import local_encoder
    from retrieval.minilm import MiniLMEncoder

    settings = load_settings()
    minilm = MiniLMEncoder(threads=settings.embedding.threads)
    encoders = {p: local_encoder(settings_for(Path("/nonexistent"), p).embedding, minilm) for p in PROVIDERS}
    texts, _ = embed_texts(bset, settings, minilm)
    texts = random.Random(7).sample(texts, min(sample, len(texts)))
    spent = dict.fromkeys(PROVIDERS, 0.0)
    query_ms: dict[str, list[float]] = {p: [] for p in PROVIDERS}
    with LoadSampler() as load:
        for i in range(0, len(texts), batch):
            for p, enc in encoders.items():
                started = time.perf_counter()
                enc.encode(texts[i : i + batch])  # type: ignore[union-attr]
                spent[p] += time.perf_counter() - started
        for q in [q.question for q in bset.questions[:200]]:
            for p, enc in encoders.items():
                started = time.perf_counter()
                enc.encode([q])  # type: ignore[union-attr]
                query_ms[p].append((time.perf_counter() - started) * 1000)
    return {
        "passages": len(texts),
        "batch": batch,
        "threads": settings.embedding.threads,
        "passages_per_s": {p: round(len(texts) / s, 1) for p, s in spent.items()},
        "query_embed_ms": {p: percentiles(v) for p, v in query_ms.items()},
        "load": load.summary(),
    }


def _rank(indexes: dict[str, Path], questions: list[Question]) -> tuple[dict, dict]:
    """Each index's article ranking per question, asked as of the question's quiz date (the
    desks' clock set to that day, as ``bench.retrieval_quality`` asks newsdesk)."""
    from prompts.desk import Desk
    from prompts.timeframes import local_today

    day: list[Any] = [None]
    desks = {
        p: Desk.open(settings_for(d, p), d, build=False, today=lambda: day[0] or local_today())
        for p, d in indexes.items()
    }
    ranked: dict[str, list[list[str]]] = {p: [] for p in desks}
    times: dict[str, list[float]] = {p: [] for p in desks}
    for q in questions:
        day[0] = q.date
        for p, desk in desks.items():
            started = time.perf_counter()
            hits = desk.search(q.question, k=desk.settings.search.candidates)
            times[p].append((time.perf_counter() - started) * 1000)
            ranked[p].append(first_unique([h.passage.doc_id for h in hits]))
    for desk in desks.values():
        desk.close()
    return ranked, times


def quality(bset: BenchSet, indexes: dict[str, Path]) -> dict[str, Any]:
    questions = bset.labelled
    ranked, times = _rank(indexes, questions)
    first = next(iter(indexes))
    out: dict[str, Any] = {"indexes": {p: str(d) for p, d in indexes.items()}}
    for name in ("tune", "report", "all"):
        chosen = [i for i, q in enumerate(questions) if name == "all" or half(q) == name]
        ranks = {p: [first_rank(rows[i], questions[i].silver) for i in chosen] for p, rows in ranked.items()}
        out[name] = {
            "summary": {p: summarise(r) for p, r in ranks.items()},
            f"{first}_vs": {p: head_to_head(ranks[first], r) for p, r in ranks.items() if p != first},
        }
    out["search_ms"] = {p: percentiles(t) for p, t in times.items()}
    return out


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("mode", choices=("build", "reembed", "rate", "quality"))
    p.add_argument("--source", type=Path, default=None, help="reembed: data dir to re-embed")
    p.add_argument("--provider", choices=PROVIDERS, default="wordllama", help="build: the embedder")
    p.add_argument("--sample", type=int, default=2000, help="rate: passages timed")
    p.add_argument("--batch", type=int, default=None, help="rate: batch size (default: the config's)")
    p.add_argument(
        "--index",
        action="append",
        default=[],
        metavar="PROVIDER=DIR",
        help="quality: an index and the embedder that built it (the first is the reference)",
    )
    args = p.parse_args(argv)
    bset = bench_set(args)
    if args.mode == "build":
        result = build(bset, args.work_dir, args.provider)
        say(
            f"{args.provider}: {result['passages']} passages in {result['build_s']} s "
            f"= {result['passages_per_s']} passages/s"
        )
        say("wrote", write_result(f"embedders_build_{args.provider}", bset, result, args.out))
    elif args.mode == "reembed":
        if args.source is None:
            p.error("reembed needs --source DIR (a data dir holding an index)")
        result = reembed(args.source, index_dir(args.work_dir, bset, args.provider), args.provider)
        say(
            f"{args.provider}: re-embedded {result['passages']} passages in {result['encode_s']} s "
            f"= {result['passages_per_s']} passages/s"
        )
        say("wrote", write_result(f"embedders_reembed_{args.provider}", bset, result, args.out))
    elif args.mode == "rate":
        result = rate(bset, args.sample, args.batch or load_settings().embedding.batch_size)
        say(result["passages_per_s"], {k: v.get("p50_ms") for k, v in result["query_embed_ms"].items()})
        say("wrote", write_result("embedders_rate", bset, result, args.out))
    else:
        pairs = [item.split("=", 1) for item in args.index]
        if not pairs or any(len(pair) != 2 or pair[0] not in PROVIDERS for pair in pairs):
            p.error(f"give --index PROVIDER=DIR at least once (PROVIDER one of {', '.join(PROVIDERS)})")
        result = quality(bset, {prov: Path(folder) for prov, folder in pairs})
        for name in ("tune", "report", "all"):
            for prov, row in result[name]["summary"].items():
                say(f"{name:6s} {prov:10s} {row}")
        say("wrote", write_result("embedders_quality", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
