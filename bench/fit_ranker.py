"""Fit the learned re-ranker (:mod:`retrieval.reranking`) on the tuning half of RealTimeQA.

    .venv/bin/python -m bench.fit_ranker extract --work-dir /tmp/rank14-work [--provider wordllama]
    .venv/bin/python -m bench.fit_ranker fit --work-dir /tmp/rank14-work [--write] [--labels judged]

``extract`` asks every labelled question (as of its quiz date) of the full RealTimeQA index
(``<work>/newsdesk-rtqa-full``, opened read-only, re-ranker off) and stores, per question, the
features of its best ``--depth`` fused articles and the fused article order
(``<work>/rerank-<provider>.pkl``). ``fit`` fits a linear listwise model (softmax over a
question's candidates, the silver articles the target; L2 penalty; plain numpy gradient
descent) on the tuning half (even ISO weeks) only: it reports the cross-validated figures per
penalty (folds by quiz week), fits the chosen penalty on the whole tuning half, prints the
weights module (``--write`` writes ``retrieval/rerank_weights.py``) and reports the held-back
half once, beside the fused order it re-ranks and BM25 over whole articles is not needed here
(``bench.retrieval_quality`` compares the systems).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.data import load_realtimeqa
from bench.harness import parser, say
from bench.retrieval_quality import first_rank, head_to_head, summarise
from bench.split import half
from retrieval.reranking import FEATURES, RerankWeights

PENALTIES = (0.001, 0.01, 0.1, 1.0)
DEPTHS = (5, 10, 15, 20, 30)
LOSS = "softmax"  # or "pairwise" (--loss)


@dataclass
class Row:
    question: str
    week: tuple[int, int]
    half: str
    silver: tuple[str, ...]
    docs: list[str]  # the re-ranked candidates, fused order
    features: np.ndarray
    fused: list[str]  # every fused article, best first


def _cache(work: Path, provider: str) -> Path:
    return work / f"rerank-{provider}.json"


def _save(rows: list[Row], path: Path) -> None:
    path.write_text(json.dumps([{**vars(r), "features": r.features.tolist()} for r in rows]))


def _load(path: Path) -> list[Row]:
    rows = []
    for r in json.loads(path.read_text()):
        shape = (len(r["docs"]), len(FEATURES))
        features = np.array(r["features"], dtype=float).reshape(shape)
        rows.append(
            Row(**{**r, "week": tuple(r["week"]), "silver": tuple(r["silver"]), "features": features})
        )
    return rows


def judged(rows: list[Row], data: Path | None) -> list[Row]:
    """The rows with their silver labels replaced by the judged ones (:mod:`bench.judgments`);
    questions judged to have no relevant article are left out, as in ``bench.retrieval_quality``."""
    from dataclasses import replace

    from bench.judgments import judged_labels, load_judgments

    labels = judged_labels(load_judgments())
    by_key: dict[tuple[str, tuple[int, int]], set[str]] = {}
    for q in load_realtimeqa(data).labelled:
        if q.id in labels and q.date:
            iso = q.date.isocalendar()
            by_key.setdefault((q.question, (iso[0], iso[1])), set()).update(labels[q.id])
    out = [replace(r, silver=tuple(sorted(by_key.get((r.question, r.week), ())))) for r in rows]
    return [r for r in out if r.silver]


def extract(work: Path, data: Path | None, provider: str, depth: int) -> list[Row]:
    from config import load_settings
    from prompts.desk import Desk
    from retrieval.reranking import article_features

    bset = load_realtimeqa(data)
    folder = work / f"newsdesk-{bset.name}"
    settings = load_settings(data_dir=str(folder), embedding={"provider": provider})
    settings = settings.model_copy(update={"search": settings.search.model_copy(update={"rerank_depth": 0})})
    desk = Desk.open(settings, folder, build=False)
    searcher = desk.searcher
    rows = []
    for q in bset.labelled:
        ranking = searcher.ranking(q.question, asked_on=q.date)
        docs, _keys, x = article_features(ranking, q.question, q.date, depth)
        fused = list(dict.fromkeys(ranking.passages[k].doc_id for k in ranking.order))
        iso = q.date.isocalendar() if q.date else (0, 0, 0)
        rows.append(Row(q.question, (iso[0], iso[1]), half(q), tuple(q.silver), docs, x, fused))
    desk.close()
    return rows


def _ranked(row: Row, w: np.ndarray | None, mu: np.ndarray, sd: np.ndarray, depth: int) -> list[str]:
    docs = row.docs[:depth]
    if w is None or len(docs) < 2:
        return row.fused
    z = ((row.features[: len(docs)] - mu) / sd) @ w
    order = sorted(range(len(docs)), key=lambda i: -z[i])  # stable: ties keep fused order
    head = [docs[i] for i in order]
    return head + [d for d in row.fused if d not in set(head)]


def _fit(
    rows: list[Row], penalty: float, mu: np.ndarray, sd: np.ndarray, depth: int, steps: int = 500
) -> np.ndarray:
    """Softmax cross-entropy over each question's best ``depth`` candidates (target: its silver
    ones, evenly), plus ``penalty`` times the squared weights; full-batch gradient descent with
    momentum (questions with no silver candidate carry no signal and are left out)."""
    chosen = [r for r in rows if len(r.docs) > 1 and any(d in r.silver for d in r.docs[:depth])]
    x = np.zeros((len(chosen), depth, len(FEATURES)))
    t = np.zeros((len(chosen), depth))
    mask = np.zeros((len(chosen), depth), dtype=bool)
    for i, r in enumerate(chosen):
        n = min(depth, len(r.docs))
        x[i, :n] = (r.features[:n] - mu) / sd
        y = np.array([d in r.silver for d in r.docs[:n]], dtype=float)
        t[i, :n] = y / y.sum()
        mask[i, :n] = True
    w = np.zeros(len(FEATURES))
    w[FEATURES.index("position")] = -1.0
    velocity = np.zeros_like(w)
    positive, negative = (t > 0) & mask, (t == 0) & mask
    pairs = positive[:, :, None] & negative[:, None, :]  # (q, silver i, other j)
    n_pairs = max(int(pairs.sum()), 1)
    for _ in range(steps):
        if LOSS == "pairwise":  # RankNet: log(1 + exp(-(z_i - z_j))) over silver i, other j
            z = x @ w
            diff = z[:, :, None] - z[:, None, :]
            g = np.where(pairs, -1.0 / (1.0 + np.exp(np.clip(diff, -30, 30))), 0.0)
            coef = g.sum(axis=2) - g.sum(axis=1)  # d loss / d z per candidate
            grad = np.einsum("qd,qdf->f", coef, x) / n_pairs + penalty * 2 * w
        else:
            z = np.where(mask, x @ w, -np.inf)
            p = np.exp(z - z.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            grad = np.einsum("qd,qdf->f", p - t, x) / max(len(chosen), 1) + penalty * 2 * w
        velocity = 0.9 * velocity - 0.1 * grad
        w = w + velocity
    return w


def _metrics(rows: list[Row], ranked: list[list[str]]) -> dict[str, Any]:
    return summarise([first_rank(r_, row.silver) for row, r_ in zip(rows, ranked, strict=True)])


def _weeks_folds(rows: list[Row], k: int = 5) -> list[list[int]]:
    weeks = sorted({r.week for r in rows})
    return [[i for i, r in enumerate(rows) if weeks.index(r.week) % k == f] for f in range(k)]


def fit(rows: list[Row], write: bool, report: bool) -> None:
    tune = [r for r in rows if r.half == "tune"]
    held = [r for r in rows if r.half == "report"]
    stacked = np.vstack([r.features for r in tune])
    mu, sd = stacked.mean(0), stacked.std(0)
    sd[sd == 0] = 1.0
    base_tune = _metrics(tune, [r.fused for r in tune])
    say(f"tuning half n={len(tune)}, held back n={len(held)}; fused order (tuning): {base_tune}")
    best: tuple[float, int, float] | None = None
    for depth in DEPTHS:
        for penalty in PENALTIES:
            ranked: list[list[str]] = [[] for _ in tune]
            for fold in _weeks_folds(tune):
                train = [r for i, r in enumerate(tune) if i not in set(fold)]
                w = _fit(train, penalty, mu, sd, depth)
                for i in fold:
                    ranked[i] = _ranked(tune[i], w, mu, sd, depth)
            m = _metrics(tune, ranked)
            rr = head_to_head(
                [first_rank(x, r.silver) for x, r in zip(ranked, tune, strict=True)],
                [first_rank(r.fused, r.silver) for r in tune],
            )["rr10"]
            say(
                f"CV (5 folds by quiz week) depth {depth} penalty {penalty}: {m['hits@4']} / "
                f"{m['hits@10']} / {m['mrr@10']}, RR@10 vs fused +{rr['wins']}/-{rr['losses']} "
                f"p={rr['sign_test_p']}"
            )
            if best is None or m["mrr@10"] > best[2]:
                best = (penalty, depth, m["mrr@10"])
    assert best is not None
    penalty, depth, _ = best
    w = _fit(tune, penalty, mu, sd, depth)
    say(
        f"chosen depth {depth}, penalty {penalty}; weights: "
        + ", ".join(f"{f} {v:+.3f}" for f, v in zip(FEATURES, w, strict=True))
    )
    say(f"tuning half, fitted on all of it: {_metrics(tune, [_ranked(r, w, mu, sd, depth) for r in tune])}")
    if not report:
        return
    before = [first_rank(r.fused, r.silver) for r in held]
    after = [first_rank(_ranked(r, w, mu, sd, depth), r.silver) for r in held]
    say(f"HELD-BACK half: fused {summarise(before)} -> re-ranked {summarise(after)}")
    say(f"held back, re-ranked vs fused: {head_to_head(after, before)}")

    def named(values: np.ndarray) -> dict[str, float]:
        return dict(zip(FEATURES, values.round(4).tolist(), strict=True))

    module = _module(RerankWeights(named(w), named(mu), named(sd)), penalty, len(tune))
    if write:
        Path(__file__).resolve().parents[1].joinpath("retrieval", "rerank_weights.py").write_text(module)
        say("wrote retrieval/rerank_weights.py")
    else:
        print(module)


def _module(weights: RerankWeights, penalty: float, n: int) -> str:
    def block(name: str, values: Any) -> str:
        body = "".join(f'        "{f}": {values[f]!r},\n' for f in FEATURES)
        return f"    {name}={{\n{body}    }},\n"

    return (
        '"""The re-ranker\'s fitted weights: plain numbers, so searching needs no fitting library.\n\n'
        "A linear score over an article's standardised features (:data:`retrieval.reranking.FEATURES`),\n"
        f"fitted by ``python -m bench.fit_ranker fit`` on the tuning half of RealTimeQA ({n} questions,\n"
        f"even ISO weeks; L2 penalty {penalty}; BENCHMARKS.md section 1b), never on the held-back half.\n"
        '"""\n\nfrom __future__ import annotations\n\nfrom retrieval.reranking import RerankWeights\n\n'
        "RERANK_WEIGHTS = RerankWeights(\n"
        + block("weights", weights.weights)
        + block("mean", weights.mean)
        + block("scale", weights.scale)
        + ")\n"
    )


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("mode", choices=("extract", "fit"))
    p.add_argument("--provider", default="minilm")
    p.add_argument("--depth", type=int, default=30)
    p.add_argument("--loss", choices=("softmax", "pairwise"), default="softmax")
    p.add_argument("--write", action="store_true", help="fit: write retrieval/rerank_weights.py")
    p.add_argument("--report", action="store_true", help="fit: also report the held-back half (once)")
    p.add_argument(
        "--labels", choices=("silver", "judged"), default="silver", help="fit: the labels to fit and score on"
    )
    args = p.parse_args(argv)
    cache = _cache(args.work_dir, args.provider)
    if args.mode == "extract":
        rows = extract(args.work_dir, args.data, args.provider, args.depth)
        _save(rows, cache)
        say(f"wrote {cache} ({len(rows)} questions)")
        return 0
    global LOSS
    LOSS = args.loss
    rows = _load(cache)
    fit(judged(rows, args.data) if args.labels == "judged" else rows, args.write, args.report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
