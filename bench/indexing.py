"""Indexing throughput against the embedder alone, and incremental reindex times.

    .venv/bin/python -m bench.indexing            # the full RealTimeQA corpus (~20 min)
    .venv/bin/python -m bench.indexing --small    # 40 articles

1. Splits the corpus with newsdesk's PassageParser and times the bare MiniLM encoder on a
   random sample of those passages, exactly as they are embedded (title line included) and in
   the configured batch size: the physical limit of indexing on this machine.
2. Builds the index from scratch with ``build_generation`` (parse, embed, Qdrant, BM25, catalog).
3. Times the encoder sample again (load changes while a long build runs; both are reported).
4. Reindexes with nothing changed, then, on a copy, with 1% of the articles changed.
The index built here is the one the other benchmarks use (``--work-dir``).
"""

from __future__ import annotations

import dataclasses
import math
import random
import shutil
import time
from typing import TYPE_CHECKING, Any

from bench.data import BenchSet
from bench.harness import LoadSampler, bench_set, dir_mib, parser, say, timed, write_result
from bench.systems import bench_settings, build_newsdesk, newsdesk_dir
from config.settings import EmbeddingSettings
from retrieval.models import Article

if TYPE_CHECKING:
    from retrieval.embedding import MiniLMEmbedding


def local_embedder(cfg: EmbeddingSettings) -> MiniLMEmbedding:
    """The embedder ``cfg`` names, which must be local: these benches time its encoder alone too."""
    from retrieval.embedding import MiniLMEmbedding, build_embedder

    embedder = build_embedder(cfg)
    if not isinstance(embedder, MiniLMEmbedding):
        raise SystemExit(f"this bench times a local encoder; embedding.provider {cfg.provider} is not one")
    return embedder


def embed_texts(bset: BenchSet, settings: Any, encoder: Any) -> tuple[list[str], float]:
    """The texts newsdesk embeds for ``bset`` (one per passage) and the seconds to split."""
    from llama_index.core.schema import MetadataMode

    from retrieval.passages import PassageParser, article_document

    parser_ = PassageParser(
        max_tokens=settings.splitting.max_tokens,
        overlap=settings.splitting.overlap_sentences,
        count_tokens=encoder.count_tokens,
    )
    with timed() as t:
        nodes = parser_.get_nodes_from_documents([article_document(a) for a in bset.articles])
    return [n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes], t["s"]


def encoder_rate(encoder: Any, texts: list[str], batch: int) -> dict[str, float]:
    """Passages per second of the bare encoder over ``texts``."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(texts), batch):
        encoder.encode(texts[i : i + batch])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {
        "passages": len(texts),
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu, 2),
        "passages_per_s": round(len(texts) / seconds, 2),
        "passages_per_cpu_s": round(len(texts) / max(cpu, 1e-9), 2),
    }


def changed(articles: list[Article], share: float, seed: int = 1) -> tuple[list[Article], int]:
    """``articles`` with ``share`` of them edited (a correction appended to the text)."""
    n = max(1, math.ceil(len(articles) * share))
    picked = set(random.Random(seed).sample(range(len(articles)), n))
    out = [
        dataclasses.replace(a, text=a.text + "\n\nCorrection: an earlier version misstated a date.")
        if i in picked
        else a
        for i, a in enumerate(articles)
    ]
    return out, n


def _report(report: Any) -> dict[str, Any]:
    data = {k: v for k, v in dataclasses.asdict(report).items() if k != "problems"}
    data["seconds"] = round(report.seconds, 2)
    return data


def reindex_only(bset: BenchSet, work: Any, sample: int) -> dict[str, Any]:
    """Encoder alone, no-change and 1%-change reindex against the index already built."""
    data_dir = newsdesk_dir(work, bset)
    settings = bench_settings(data_dir)
    embedder = local_embedder(settings.embedding)
    texts, split_s = embed_texts(bset, settings, embedder.encoder)
    with LoadSampler() as load_encoder:
        alone = encoder_rate(
            embedder.encoder,
            random.Random(0).sample(texts, min(sample, len(texts))),
            settings.embedding.batch_size,
        )
    say("encoder alone:", alone)
    with LoadSampler() as load_reindex:
        prepared = build_newsdesk(data_dir, bset.articles, embedder, rebuild=False)  # a newer core's files
        same = build_newsdesk(data_dir, bset.articles, embedder, rebuild=False)
        say("no change:", same.summary())
        scratch = work / f"reindex-{bset.name}"
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(data_dir, scratch)
        edited, n_changed = changed(bset.articles, 0.01)
        one = build_newsdesk(scratch, edited, embedder, rebuild=False)
        say("1% changed:", one.summary())
        shutil.rmtree(scratch, ignore_errors=True)
    return {
        "passages": len(texts),
        "split_seconds": round(split_s, 2),
        "encoder_alone": alone,
        "prepare": _report(prepared),
        "no_change": _report(same),
        "one_percent": {**_report(one), "articles_changed": n_changed},
        "index_mib": dir_mib(data_dir / "index"),
        "load": {"encoder": load_encoder.summary(), "reindex": load_reindex.summary()},
    }


def run(bset: BenchSet, work: Any, sample: int) -> dict[str, Any]:
    data_dir = newsdesk_dir(work, bset)
    shutil.rmtree(data_dir, ignore_errors=True)
    settings = bench_settings(data_dir)
    embedder = local_embedder(settings.embedding)
    encoder = embedder.encoder
    texts, split_s = embed_texts(bset, settings, encoder)
    rng = random.Random(0)
    before_texts = rng.sample(texts, min(sample, len(texts)))
    after_texts = rng.sample(texts, min(sample, len(texts)))
    batch = settings.embedding.batch_size
    say(f"{len(bset.articles)} articles -> {len(texts)} passages (split {split_s:.1f} s)")
    with LoadSampler() as load_before:
        before = encoder_rate(encoder, before_texts, batch)
    say("encoder alone (before):", before)
    timeline: list[tuple[float, int, int]] = []
    started = time.perf_counter()

    def progress(done: int, total: int, label: str) -> None:
        if not timeline or done - timeline[-1][1] >= 500 or done == total:
            timeline.append((round(time.perf_counter() - started, 1), done, total))

    cpu = time.process_time()
    with LoadSampler() as load_build:
        full = build_newsdesk(data_dir, bset.articles, embedder, rebuild=True, progress=progress)
    build_cpu = time.process_time() - cpu
    say("full index:", full.summary())
    with LoadSampler() as load_after:
        after = encoder_rate(encoder, after_texts, batch)
    say("encoder alone (after):", after)
    with LoadSampler() as load_reindex:
        same = build_newsdesk(data_dir, bset.articles, embedder, rebuild=False)
        say("no change:", same.summary())
        scratch = work / f"reindex-{bset.name}"
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.copytree(data_dir, scratch)
        edited, n_changed = changed(bset.articles, 0.01)
        one = build_newsdesk(scratch, edited, embedder, rebuild=False)
        say("1% changed:", one.summary())
        shutil.rmtree(scratch, ignore_errors=True)
    limit = (before["passages_per_s"] + after["passages_per_s"]) / 2
    cpu_limit = (before["passages_per_cpu_s"] + after["passages_per_cpu_s"]) / 2
    rate = full.passages / full.seconds
    return {
        "passages": len(texts),
        "split_seconds": round(split_s, 2),
        "encoder_alone": {
            "before": before,
            "after": after,
            "mean_passages_per_s": round(limit, 2),
            "mean_passages_per_cpu_s": round(cpu_limit, 2),
            "batch_size": batch,
            "threads": settings.embedding.threads,
        },
        "full": {
            **_report(full),
            "articles_per_s": round(len(bset.articles) / full.seconds, 2),
            "passages_per_s": round(rate, 2),
            "share_of_encoder_alone": round(rate / limit, 3),
            "cpu_seconds": round(build_cpu, 1),
            "passages_per_cpu_s": round(full.passages / build_cpu, 2),
            "cpu_share_of_encoder_alone": round(full.passages / build_cpu / cpu_limit, 3),
            "timeline_s_done_total": timeline,
        },
        "no_change": {**_report(same), "share_of_full": round(same.seconds / full.seconds, 4)},
        "one_percent": {
            **_report(one),
            "articles_changed": n_changed,
            "share_of_full": round(one.seconds / full.seconds, 4),
        },
        "index_mib": dir_mib(data_dir / "index"),
        "load": {
            "encoder_before": load_before.summary(),
            "build": load_build.summary(),
            "encoder_after": load_after.summary(),
            "reindex": load_reindex.summary(),
        },
        "goals": {"throughput_share_min": 0.8, "no_change_share_max": 0.05},
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sample", type=int, default=400, help="passages per encoder-alone timing")
    p.add_argument(
        "--reindex-only",
        action="store_true",
        help="keep the built index: time the encoder and the reindexes only",
    )
    args = p.parse_args(argv)
    bset = bench_set(args)
    if args.reindex_only:
        result = reindex_only(bset, args.work_dir, args.sample)
        say("wrote", write_result("reindex", bset, result, args.out))
        return 0
    result = run(bset, args.work_dir, args.sample)
    say("wrote", write_result("indexing", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
