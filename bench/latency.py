"""Warm query latency at three corpus sizes, newsdesk and the llama-index default side by side.

    .venv/bin/python -m bench.latency                      # 500, 2,837 and 10,000 articles
    .venv/bin/python -m bench.latency --small              # 20, 40 and 120 articles

For each size: retrieval alone and a full offline answer, newsdesk (``Desk.search`` /
``Desk.ask_offline``) and the llama-index default (``as_retriever().retrieve`` / a query engine
with MockLLM), the four taking turns query by query. Every question is new to the system: the
query-vector cache of the shared encoder is emptied before each call (with it, a repeated
question skips the 2-4 ms of embedding). Sizes other than the corpus's own are made by
bench.scaling (subset, or copies under changed ids with their vectors reused).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.data import BenchSet
from bench.harness import (
    LoadSampler,
    bench_set,
    current_rss_mib,
    dir_mib,
    interleaved,
    parser,
    percentiles,
    say,
    write_result,
)
from bench.scaling import derive_llama, derive_newsdesk
from bench.systems import LlamaDefault, Newsdesk, ensure_llama_default, ensure_newsdesk, newsdesk_dir
from retrieval.catalog import Catalog, current_generation


def article_order(bset: BenchSet) -> list[str]:
    """Articles labelled for some question first, so a subset still answers questions."""
    first = [d for q in bset.questions for d in q.silver]
    return list(dict.fromkeys([*first, *(a.doc_id for a in bset.articles)]))


def default_sizes(bset: BenchSet) -> list[int]:
    n = len(bset.articles)
    return sorted({min(500, n // 2), n, 10_000 if n > 1000 else 3 * n})


def sized_dir(work: Path, bset: BenchSet, size: int) -> Path:
    """A newsdesk data dir of ``size`` articles (the built one, or derived and cached). Larger
    ones get no Qdrant folder: local search reads dense.npy, and 100k+ points take minutes to
    write to embedded Qdrant here; their size on disk is reported without it."""
    with_qdrant = size < len(bset.articles)
    full = ensure_newsdesk(work, bset)
    if size == len(bset.articles):
        return full
    target = Path(f"{newsdesk_dir(work, bset)}-n{size}")
    generation = current_generation(target / "index")
    if generation is None or len(Catalog.read(generation).articles) != size:
        say(f"deriving a {size}-article newsdesk index")
        derive_newsdesk(
            full, target, size, article_order(bset), with_qdrant=with_qdrant, articles=bset.articles
        )
    return target


def _fresh(encoder: Any, call: Any) -> Any:
    def run(question: str) -> Any:
        encoder._queries.clear()  # each question new: no cached query vector
        return call(question)

    return run


def measure_size(
    bset: BenchSet, work: Path, size: int, llama_full: Any, embed: Any, queries: list[str]
) -> dict[str, Any]:
    data_dir = sized_dir(work, bset, size)
    rss_before = current_rss_mib()
    ours = Newsdesk(data_dir, {q.question: q.date for q in bset.questions})
    rss_newsdesk = current_rss_mib()
    if size == len(bset.articles):
        llama_index = llama_full
    else:
        llama_index = derive_llama(llama_full, size, article_order(bset), embed)
    llama = LlamaDefault(llama_index)
    encoder = ours.desk.encoder
    runners = {
        "newsdesk_retrieval": _fresh(encoder, ours.retrieve),
        "newsdesk_answer": _fresh(encoder, ours.answer),
        "llamaindex_retrieval": _fresh(encoder, llama.retrieve),
        "llamaindex_answer": _fresh(encoder, llama.answer),
    }
    with LoadSampler() as load:
        times = interleaved(runners, queries)
    generation = current_generation(data_dir / "index")
    result = {
        "articles": size,
        "newsdesk_passages": ours.desk.catalog.passages,
        "llamaindex_nodes": len(llama_index.docstore.docs),
        "latency": {name: percentiles(t) for name, t in times.items()},
        "newsdesk_index_mib": dir_mib(generation) if generation else None,
        "newsdesk_loaded_rss_growth_mib": round(rss_newsdesk - rss_before, 1),
        "load": load.summary(),
    }
    ours.close()
    return result


def run(bset: BenchSet, work: Path, sizes: list[int], n_queries: int) -> dict[str, Any]:
    from retrieval.embedding import MiniLMEmbedding
    from retrieval.minilm import MiniLMEncoder

    embed = MiniLMEmbedding(MiniLMEncoder())
    ensure_newsdesk(work, bset)
    llama_full, _ = ensure_llama_default(work, bset, embed)
    questions = [q.question for q in bset.questions]
    queries = questions[:n_queries]
    rows = []
    for size in sizes:
        say(f"size {size}: {len(queries)} queries")
        row = measure_size(bset, work, size, llama_full, embed, queries)
        for name, p in row["latency"].items():
            say(f"  {name:26s} p50 {p['p50_ms']:8.2f} ms  p95 {p['p95_ms']:8.2f} ms")
        rows.append(row)
    return {
        "sizes": rows,
        "queries": len(queries),
        "how_sized": "subset of the built index, or copies of every article under changed ids with "
        "their passages' vectors reused (bench/scaling.py); no re-embedding",
        "cache": "query-vector cache emptied before every call",
        "llamaindex_answer": "as_query_engine(llm=MockLLM(max_tokens=64)): retrieval (top 2) and "
        "response synthesis, no model time",
        "goals": {"answer_p50_ms_max": 10, "answer_p95_ms_max": 25, "at_articles": len(bset.articles)},
    }


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="*", help="corpus sizes (default 500, all, 10,000)")
    p.add_argument("--queries", type=int, default=200, help="questions timed per size")
    args = p.parse_args(argv)
    bset = bench_set(args)
    sizes = args.sizes or default_sizes(bset)
    result = run(bset, args.work_dir, sizes, args.queries)
    say("wrote", write_result("latency", bset, result, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
