"""The tables of BENCHMARKS.md, printed as Markdown from the JSON results of one set.

.venv/bin/python -m bench.report                 # bench/results/*-rtqa-full.json
.venv/bin/python -m bench.report --set rtqa-40
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from bench.harness import RESULTS


def _load(out: Path, name: str, set_name: str) -> dict[str, Any] | None:
    path = out / f"{name}-{set_name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _head(doc: dict[str, Any]) -> str:
    m = doc["machine"]
    load = m["loadavg_at_start"][0]
    core = m.get("core", {})
    return (
        f"_{m['date']}, {m['cpus']} cores ({m['cpu_model']}), load {load} at start, "
        f"core {core.get('commit', '?')}{' + edits' if core.get('core_edits') else ''}_\n"
    )


def quality(doc: dict[str, Any]) -> str:
    lines = [_head(doc)]
    for label in ("silver", "silver_recent"):
        part = doc[label]
        lines += [
            f"\n{label} labels:\n",
            "| system | n | Hits@4 | Hits@10 | MRR@10 | newsdesk W/L/T on H@4 | H@10 | RR@10 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, row in part["summary"].items():
            vs = part["newsdesk_vs"].get(name)
            cells = (
                ["—", "—", "—"]
                if vs is None
                else [
                    f"+{vs[k]['wins']}/−{vs[k]['losses']}/={vs[k]['ties']} (p {vs[k]['sign_test_p']})"
                    for k in ("h4", "h10", "rr10")
                ]
            )
            lines.append(
                f"| {name} | {row['n']} | {row['hits@4']:.3f} | {row['hits@10']:.3f} | "
                f"{row['mrr@10']:.3f} | " + " | ".join(cells) + " |"
            )
    lat = doc["rank_latency"]
    lines.append(
        "\nranking latency p50/p95 ms (top-10 articles): "
        + ", ".join(f"{n} {p['p50_ms']}/{p['p95_ms']}" for n, p in lat.items())
    )
    lines.append(f"\nload while ranking: {doc['load']}; systems: {doc['systems']}")
    return "\n".join(lines)


def answers(doc: dict[str, Any]) -> str:
    lines = [
        _head(doc),
        "| half | silver questions | answer contains it | first sentence or short | "
        "refused | BM25 top-3 sentences | BM25 top article, first 3 | ceiling top 3 / top 5 "
        "passages | unanswerable refused (no time phrase) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name in ("tune", "report"):
        a, u = doc["halves"][name]["answerable"], doc["halves"][name]["unanswerable"]
        lines.append(
            f"| {name} | {a['n']} | {a.get('contains')} | {a.get('first_or_short')} | "
            f"{a.get('refused')} | {a.get('bm25_sentences')} | {a.get('bm25_article_lead')} | "
            f"{a.get('top3')} / {a.get('top5')} | {u['refused']} "
            f"({u['refused_without_time_phrase']}, n={u['n_without_time_phrase']}) |"
        )
    t = doc["latency"]["total"]
    lines.append(f"\nfull offline answer p50/p95 {t.get('p50_ms')}/{t.get('p95_ms')} ms; load {doc['load']}")
    return "\n".join(lines)


def indexing(doc: dict[str, Any]) -> str:
    e, f, z, o = doc["encoder_alone"], doc["full"], doc["no_change"], doc["one_percent"]
    return "\n".join(
        [
            _head(doc),
            "| measure | value |",
            "|---|---|",
            f"| passages | {doc['passages']:,} (split in {doc['split_seconds']} s) |",
            f"| encoder alone, before / after the build | {e['before']['passages_per_s']} / "
            f"{e['after']['passages_per_s']} passages/s (wall) |",
            f"| full index | {f['seconds']:.0f} s: {f['articles_per_s']} articles/s, {f['passages_per_s']} "
            f"passages/s = {f['share_of_encoder_alone']:.0%} of the encoder alone |",
            *(
                [
                    f"| per CPU-second | build {f['passages_per_cpu_s']} "
                    f"vs encoder {e['mean_passages_per_cpu_s']} "
                    f"passages = {f['cpu_share_of_encoder_alone']:.0%} |"
                ]
                if "cpu_seconds" in f
                else []
            ),
            f"| reindex, nothing changed | {z['seconds']} s = {z['share_of_full']:.2%} of full |",
            f"| reindex, 1% changed ({o['articles_changed']} articles, {o['embedded']} passages embedded) | "
            f"{o['seconds']} s = {o['share_of_full']:.2%} of full |",
            f"| index on disk | {doc['index_mib']} MiB |",
            f"\nload: {doc['load']}",
        ]
    )


def latency(doc: dict[str, Any]) -> str:
    lines = [
        _head(doc),
        "| articles | passages / llama nodes | newsdesk retrieval | newsdesk answer | "
        "llama-index retrieval | llama-index answer (MockLLM) | load mean |",
        "|---" * 7 + "|",
    ]
    for row in doc["sizes"]:
        lat = row["latency"]

        def cell(name: str, lat: dict[str, Any] = lat) -> str:
            w, c = lat[name], lat.get(f"{name}_cpu")
            cpu = f" (CPU {c['p50_ms']}/{c['p95_ms']})" if c else ""
            return f"{w['p50_ms']} / {w['p95_ms']}{cpu}"

        lines.append(
            f"| {row['articles']:,} | {row['newsdesk_passages']:,} / {row['llamaindex_nodes']:,} | "
            + " | ".join(
                cell(n)
                for n in (
                    "newsdesk_retrieval",
                    "newsdesk_answer",
                    "llamaindex_retrieval",
                    "llamaindex_answer",
                )
            )
            + f" | {row['load']['load1_mean']} |"
        )
    lines.append(f"\n{doc['queries']} questions per size; p50 / p95 ms wall (process CPU ms in brackets)")
    return "\n".join(lines)


def memory(doc: dict[str, Any]) -> str:
    lines = [
        _head(doc),
        "| articles | Desk process: cold start to first answer | peak RSS | `newsdesk ask` "
        "wall | its peak RSS | index on disk | llama-index default process |",
        "|---" * 7 + "|",
    ]
    for row in doc["sizes"]:
        d, c = row["newsdesk_process"], row["newsdesk_cli_ask"]
        llama = row.get("llamaindex_process")
        other = (
            (
                f"{llama['cold_start_s']} s, {llama['peak_rss_mib']} MiB, "
                f"{row['llamaindex_persisted_mib']} MiB on disk"
            )
            if llama
            else "—"
        )
        lines.append(
            f"| {row['articles']:,} | {d['cold_start_s']} s (open {d['open_s']} s) | "
            f"{d['peak_rss_mib']} MiB | {c['wall_s']} s | {c['peak_rss_mib']} MiB | "
            f"{row['newsdesk_index_mib']} MiB | {other} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--set", default="rtqa-full")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    for name, render in (
        ("retrieval_quality", quality),
        ("answers", answers),
        ("indexing", indexing),
        ("latency", latency),
        ("memory_coldstart", memory),
    ):
        doc = _load(args.out, name, args.set)
        print(f"\n### {name}\n")
        print(render(doc) if doc else "(no result yet)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
