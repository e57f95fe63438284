"""Fit the gate of the direct answer line on the tuning half of RealTimeQA.

    .venv/bin/python -m bench.fit_short list --work-dir /tmp/x   # the tuning half's lines, right and wrong
    .venv/bin/python -m bench.fit_short cv --work-dir /tmp/x     # 4-fold CV by quiz week, before / after
    .venv/bin/python -m bench.fit_short fit --work-dir /tmp/x [--write]  # fit, print (write) weights

Reads the passages ``bench.fit_answerer dump`` kept. Each tuning question the shipped answerer
answers with a direct answer line (:func:`prompts.short_answers.short_answer`, before the gate)
is a row: the line's features (:func:`prompts.short_answers.short_features`) and its label --
right when the line holds the normalised correct answer; a line on an unanswerable question is
always wrong. ``fit`` fits a logistic regression (:func:`bench.fit_answerer.logistic`) and picks
the least threshold at which ``--precision`` of the lines it keeps are right; ``--write`` puts
both into :mod:`prompts.answer_weights`. ``cv`` does the same on three quarters of the weeks and
scores the rest: lines given / right / wrong, right when given, and first sentence or short
line (silver-labelled and judged-answerable questions), before (every line) and after (the gate,
the hand-set tie rule :func:`prompts.short_answers.tied`, and either: what ships).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.answers import contains
from bench.fit_answerer import judged_answerable, load, logistic, week_folds
from bench.harness import bench_set, parser, say


@dataclass(frozen=True, slots=True)
class Line:
    """One tuning question as the shipped answerer answers it, and its direct answer line before
    the gate (``short`` empty when it has none)."""

    id: str
    question: str
    answer_text: str
    answerable: bool
    judged: bool
    refused: bool
    lead: str
    short: str
    features: tuple[float, ...]

    @property
    def right(self) -> bool:
        return bool(self.short) and self.answerable and contains(self.answer_text, self.short)

    def first_or_short(self, short: str) -> bool:
        return not self.refused and contains(self.answer_text, f"{self.lead} | {short}")


def lines(rows: list[dict[str, Any]]) -> list[Line]:
    """Every row's answer through the shipped answer step, with its line before the gate."""
    from prompts.extractive import MAX_SENTENCES, _pick, _unrelated
    from prompts.refusal import confidence, confident
    from prompts.sentence_scoring import read_question, score_sentences
    from prompts.short_answers import short_answer, short_features

    out = []
    for r in rows:
        read = read_question(r["asked"])
        hits = r["hits"]
        related = hits and read.terms and not _unrelated(hits, 0.25)  # as answer_extractively
        cands = score_sentences(read, hits) if related else []
        sure = confidence(r["asked"], hits, cands) if cands else 0.0
        refused = not cands or not confident(sure)
        picked = [] if refused else _pick(cands, MAX_SENTENCES)
        found = short_answer(read, picked) if picked else None
        short = ""
        features: tuple[float, ...] = ()
        if found is not None:
            i, span = found
            short, features = span.text, short_features(read, picked[i], span, sure)
        out.append(
            Line(
                r["id"],
                r["question"],
                r["answer_text"],
                bool(r["answerable"]),
                judged_answerable(r),
                refused,
                picked[0].text if picked else "",
                short,
                features,
            )
        )
    return out


def fit_gate(given: list[Line], l2: float, precision: float) -> tuple[np.ndarray, float]:
    """The gate's weights (bias last) and the least threshold of its chance at which
    ``precision`` of the lines it keeps are right (1.0: it keeps none)."""
    x = np.array([g.features for g in given], dtype=float)
    y = np.array([g.right for g in given], dtype=float)
    beta = logistic(x, y, l2=l2)
    chance = 1 / (1 + np.exp(-(x @ beta[:-1] + beta[-1])))
    for t in sorted(set(chance.tolist())):
        kept = chance >= t
        if y[kept].mean() >= precision:
            return beta, float(t)
    return beta, 1.0


def chances(given: list[Line], beta: np.ndarray) -> np.ndarray:
    x = np.array([g.features for g in given], dtype=float)
    return 1 / (1 + np.exp(-(x @ beta[:-1] + beta[-1])))


def figures(all_lines: list[Line], shown: dict[str, str]) -> dict[str, Any]:
    """Lines given / right / wrong and right when given (every question), first sentence or
    short line (silver-labelled, judged-answerable), with ``shown`` the line each id gets."""
    given = [x for x in all_lines if shown.get(x.id)]
    right = sum(contains(x.answer_text, shown[x.id]) and x.answerable for x in given)
    silver = [x for x in all_lines if x.answerable]
    judged = [x for x in silver if x.judged]
    return {
        "given": len(given),
        "right": right,
        "wrong": len(given) - right,
        "right_when_given": round(right / len(given), 3) if given else None,
        "first_or_short_silver": round(
            sum(x.first_or_short(shown.get(x.id, "")) for x in silver) / len(silver), 3
        ),
        "first_or_short_judged": round(
            sum(x.first_or_short(shown.get(x.id, "")) for x in judged) / len(judged), 3
        ),
        "given_unanswerable": sum(not x.answerable for x in given),
    }


def cross_validate(
    rows: list[dict[str, Any]], l2: float, precision: float, folds: int = 4
) -> dict[str, dict[str, Any]]:
    """Before (every line) and after: the fitted gate (fitted on the other weeks), the hand-set
    tie rule (:func:`prompts.short_answers.tied`) alone, and either (as shipped); tuning half."""
    from prompts.short_answers import tied

    tune = sorted((r for r in rows if r["half"] == "tune"), key=lambda r: r["id"])
    fold_of = week_folds(tune, folds)
    all_lines = lines(tune)
    shown: dict[str, dict[str, str]] = {"before": {x.id: x.short for x in all_lines}}
    shown |= {"gate": {}, "tied": {}, "after": {}}
    for f in range(folds):
        train = [x for x, g in zip(all_lines, fold_of, strict=True) if g != f and x.short]
        test = [x for x, g in zip(all_lines, fold_of, strict=True) if g == f and x.short]
        beta, threshold = fit_gate(train, l2, precision)
        for x, c in zip(test, chances(test, beta), strict=True):
            keep = {"gate": c >= threshold, "tied": tied(x.features)}
            keep["after"] = keep["gate"] or keep["tied"]
            for name, kept in keep.items():
                shown[name][x.id] = x.short if kept else ""
    return {name: figures(all_lines, got) for name, got in shown.items()}


def _write(beta: np.ndarray, threshold: float) -> None:
    import prompts.answer_weights
    from prompts.answer_weights import SHORT_FEATURES

    path = Path(prompts.answer_weights.__file__)
    text = path.read_text(encoding="utf-8")
    body = "".join(f'    "{n}": {b:.3f},\n' for n, b in zip([*SHORT_FEATURES, "bias"], beta, strict=True))
    text = re.sub(
        r"SHORT_WEIGHTS: dict\[str, float\] = \{.*?\n\}",
        f"SHORT_WEIGHTS: dict[str, float] = {{\n{body}}}",
        text,
        flags=re.S,
    )
    text = re.sub(r"MIN_SHORT = [0-9.]+", f"MIN_SHORT = {threshold:.3f}", text)
    path.write_text(text, encoding="utf-8")
    say("wrote SHORT_WEIGHTS and MIN_SHORT =", round(threshold, 3))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=("list", "cv", "fit"))
    p.add_argument("--l2", type=float, default=10.0, help="ridge penalty of the gate's fit (shipped: 10)")
    p.add_argument("--precision", type=float, default=0.85, help="share of kept lines that must be right")
    p.add_argument("--write", action="store_true", help="fit: write the weights into prompts/")
    args = p.parse_args(argv)
    rows = load(args.work_dir, bench_set(args).name)
    if args.step == "cv":
        say(f"cv by week, l2={args.l2}, precision={args.precision}:")
        for name, got in cross_validate(rows, args.l2, args.precision).items():
            say(f"  {name}:", got)
        return 0
    tune = [x for x in lines([r for r in rows if r["half"] == "tune"]) if x.short]
    if args.step == "list":
        for x in sorted(tune, key=lambda x: (x.right, x.id)):
            flags = "R" if x.right else "W", "J" if x.judged else "S" if x.answerable else "U"
            cells = " ".join(f"{v:.2f}" for v in x.features)
            say(*flags, cells, repr(x.short), "<-", x.question[-90:], f"[{x.answer_text}]")
        return 0
    beta, threshold = fit_gate(tune, args.l2, args.precision)
    from prompts.answer_weights import SHORT_FEATURES

    say("SHORT_WEIGHTS", dict(zip([*SHORT_FEATURES, "bias"], np.round(beta, 3).tolist(), strict=True)))
    say("MIN_SHORT", round(threshold, 3), "in-sample:", figures(_all(rows), _kept(rows, beta, threshold)))
    if args.write:
        _write(beta, threshold)
    return 0


def _all(rows: list[dict[str, Any]]) -> list[Line]:
    return lines([r for r in rows if r["half"] == "tune"])


def _kept(rows: list[dict[str, Any]], beta: np.ndarray, threshold: float) -> dict[str, str]:
    from prompts.short_answers import tied

    given = [x for x in _all(rows) if x.short]
    return {
        x.id: x.short
        for x, c in zip(given, chances(given, beta), strict=True)
        if c >= threshold or tied(x.features)
    }


if __name__ == "__main__":
    raise SystemExit(main())
