"""Fit the gate of the direct answer line on the tuning half of RealTimeQA.

    .venv/bin/python -m bench.fit_short list --work-dir /tmp/x   # the tuning half's lines, right and wrong
    .venv/bin/python -m bench.fit_short cv --work-dir /tmp/x     # 4-fold CV by quiz week, before / after
    .venv/bin/python -m bench.fit_short fit --work-dir /tmp/x [--write]  # fit, print (write) weights

Reads the passages ``bench.fit_answerer dump`` kept. Each tuning question the shipped answerer
answers offers up to ``--sentences`` candidate direct answer lines, one per picked sentence
holding a span of the kind asked (:func:`prompts.short_answers.short_lines`, before the gate).
Every candidate is a row: its features (:func:`prompts.short_answers.short_features`) and its
label -- right when the line holds the normalised correct answer; a line on an unanswerable
question is always wrong. ``fit`` fits a logistic regression (:func:`bench.fit_answerer.logistic`)
over them; the answerer shows, of a question's candidates, the one of highest chance, so the
threshold is the least at which ``--precision`` of those chosen lines are right; ``--write`` puts
both into :mod:`prompts.answer_weights`. ``cv`` does the same on three quarters of the weeks and
scores the rest: lines given / right / wrong, right when given, and first sentence or short line
(silver-labelled and judged-answerable questions), before (the lead-most line, ungated) and after
(the gate, the hand-set tie rule :func:`prompts.short_answers.tied`, and either: what ships).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.answers import contains
from bench.fit_answerer import judged_answerable, load, logistic, week_folds
from bench.harness import bench_set, parser, say


@dataclass(frozen=True, slots=True)
class Option:
    """A candidate direct answer line: which picked sentence, its text, features and label."""

    sentence: int
    text: str
    features: tuple[float, ...]
    right: bool


@dataclass(frozen=True, slots=True)
class Line:
    """One tuning question as the shipped answerer answers it, and its candidate direct answer
    lines before the gate (``options``; ``short``: the lead-most, empty when there is none)."""

    id: str
    question: str
    answer_text: str
    answerable: bool
    judged: bool
    refused: bool
    lead: str
    options: tuple[Option, ...] = ()

    @property
    def short(self) -> str:
        return self.options[0].text if self.options else ""

    @property
    def right(self) -> bool:
        return bool(self.options) and self.options[0].right

    def first_or_short(self, short: str) -> bool:
        return not self.refused and contains(self.answer_text, f"{self.lead} | {short}")


def lines(rows: list[dict[str, Any]], sentences: int = 3) -> list[Line]:
    """Every row's answer through the shipped answer step, with its candidate lines from the
    first ``sentences`` picked sentences, before the gate."""
    from prompts.extractive import MAX_SENTENCES, _pick, _unrelated
    from prompts.refusal import confidence, confident
    from prompts.sentence_scoring import read_question, score_sentences
    from prompts.short_answers import short_features, short_lines

    out = []
    for r in rows:
        read = read_question(r["asked"])
        hits = r["hits"]
        related = hits and read.terms and not _unrelated(hits, 0.25)  # as answer_extractively
        cands = score_sentences(read, hits) if related else []
        sure = confidence(r["asked"], hits, cands) if cands else 0.0
        refused = not cands or not confident(sure)
        picked = [] if refused else _pick(cands, MAX_SENTENCES)
        options = tuple(
            Option(
                i,
                span.text,
                short_features(read, picked[i], span, sure),
                bool(r["answerable"]) and contains(r["answer_text"], span.text),
            )
            for i, span in short_lines(read, picked[:sentences])
        )
        out.append(
            Line(
                r["id"],
                r["question"],
                r["answer_text"],
                bool(r["answerable"]),
                judged_answerable(r),
                refused,
                picked[0].text if picked else "",
                options,
            )
        )
    return out


def chance_of(option: Option, beta: np.ndarray) -> float:
    return float(1 / (1 + np.exp(-(np.asarray(option.features) @ beta[:-1] + beta[-1]))))


def chosen(line: Line, beta: np.ndarray) -> Option | None:
    """The candidate :func:`prompts.short_answers.direct_answer` would weigh: the lead-most one
    tied to the question, else the one of highest chance under ``beta`` (lead-most of equals)."""
    from prompts.short_answers import tied

    best: tuple[float, Option] | None = None
    for o in line.options:
        if tied(o.features):
            return o
        c = chance_of(o, beta)
        if best is None or c > best[0]:
            best = (c, o)
    return best[1] if best else None


def fit_gate(given: list[Line], l2: float, precision: float) -> tuple[np.ndarray, float]:
    """The gate's weights (bias last), fitted over every candidate line of ``given``, and the
    least threshold of its chance at which ``precision`` of the lines it would show (each
    question's likeliest) are right (1.0: it keeps none)."""
    options = [o for g in given for o in g.options]
    x = np.array([o.features for o in options], dtype=float)
    y = np.array([o.right for o in options], dtype=float)
    beta = logistic(x, y, l2=l2)
    shown = [o for g in given if (o := chosen(g, beta)) is not None]
    chance = np.array([chance_of(o, beta) for o in shown])
    right = np.array([o.right for o in shown], dtype=float)
    for t in sorted(set(chance.tolist())):
        kept = chance >= t
        if right[kept].mean() >= precision:
            return beta, float(t)
    return beta, 1.0


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


def gated(line: Line, beta: np.ndarray, threshold: float) -> dict[str, str]:
    """What ``line`` shows under the gate ``beta``/``threshold``: its likeliest candidate when
    the gate gives it (``gate``), when it is tied (``tied``), or either (``after``, as shipped)."""
    from prompts.short_answers import tied

    o = chosen(line, beta)
    if o is None:
        return {"gate": "", "tied": "", "after": ""}
    keep = {"gate": chance_of(o, beta) >= threshold, "tied": tied(o.features)}
    keep["after"] = keep["gate"] or keep["tied"]
    return {name: o.text if kept else "" for name, kept in keep.items()}


def cross_validate(
    rows: list[dict[str, Any]], l2: float, precision: float, folds: int = 4, sentences: int = 3
) -> dict[str, dict[str, Any]]:
    """Before (the lead-most line, ungated) and after: the fitted gate (fitted on the other
    weeks), the hand-set tie rule (:func:`prompts.short_answers.tied`) alone, and either (as
    shipped); tuning half."""
    tune = sorted((r for r in rows if r["half"] == "tune"), key=lambda r: r["id"])
    fold_of = week_folds(tune, folds)
    all_lines = lines(tune, sentences)
    shown: dict[str, dict[str, str]] = {"before": {x.id: x.short for x in all_lines}}
    shown |= {"gate": {}, "tied": {}, "after": {}}
    for f in range(folds):
        train = [x for x, g in zip(all_lines, fold_of, strict=True) if g != f and x.options]
        test = [x for x, g in zip(all_lines, fold_of, strict=True) if g == f and x.options]
        beta, threshold = fit_gate(train, l2, precision)
        for x in test:
            for name, text in gated(x, beta, threshold).items():
                shown[name][x.id] = text
    return {name: figures(all_lines, got) for name, got in shown.items()}


#: Digits the weights and the threshold are written with: rounding to 3 left "India" out by .0004
#: (its chance was the fitted threshold itself); at 6 a line's chance moves by under 1e-5.
_DIGITS = 6


def written_threshold(threshold: float) -> float:
    """``threshold`` rounded *down* to :data:`_DIGITS` digits, so the line whose chance set it
    (the least chance of the lines the fit keeps) is kept by the written gate too."""
    return math.floor(threshold * 10**_DIGITS) / 10**_DIGITS


def _write(beta: np.ndarray, threshold: float) -> None:
    import prompts.answer_weights
    from prompts.answer_weights import SHORT_FEATURES

    path = Path(prompts.answer_weights.__file__)
    text = path.read_text(encoding="utf-8")
    body = "".join(
        f'    "{n}": {b:.{_DIGITS}f},\n' for n, b in zip([*SHORT_FEATURES, "bias"], beta, strict=True)
    )
    text = re.sub(
        r"SHORT_WEIGHTS: dict\[str, float\] = \{.*?\n\}",
        f"SHORT_WEIGHTS: dict[str, float] = {{\n{body}}}",
        text,
        flags=re.S,
    )
    text = re.sub(r"MIN_SHORT = [0-9.]+", f"MIN_SHORT = {written_threshold(threshold)}", text)
    path.write_text(text, encoding="utf-8")
    say("wrote SHORT_WEIGHTS and MIN_SHORT =", written_threshold(threshold))


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=("list", "cv", "fit"))
    p.add_argument("--l2", type=float, default=30.0, help="ridge penalty of the gate's fit (shipped: 30)")
    p.add_argument("--precision", type=float, default=0.85, help="share of shown lines that must be right")
    p.add_argument(
        "--sentences", type=int, default=3, choices=(1, 2, 3), help="lines from this many sentences"
    )
    p.add_argument(
        "--checks",
        default=None,
        help="comma-separated type checks of the line (prompts.short_answers.ALL_CHECKS; 'none' for "
        "none; default: the shipped TYPE_CHECKS)",
    )
    p.add_argument("--write", action="store_true", help="fit: write the weights into prompts/")
    args = p.parse_args(argv)
    import prompts.short_answers

    if args.checks is not None:
        wanted = frozenset(c for c in args.checks.split(",") if c and c != "none")
        unknown = wanted - set(prompts.short_answers.ALL_CHECKS)
        if unknown:
            p.error(f"unknown check(s): {', '.join(sorted(unknown))}")
        prompts.short_answers.TYPE_CHECKS = wanted
    say("type checks:", ",".join(sorted(prompts.short_answers.TYPE_CHECKS)) or "none")
    rows = load(args.work_dir, bench_set(args).name)
    if args.step == "cv":
        say(f"cv by week, l2={args.l2}, precision={args.precision}, sentences={args.sentences}:")
        for name, got in cross_validate(rows, args.l2, args.precision, sentences=args.sentences).items():
            say(f"  {name}:", got)
        return 0
    tune = [x for x in lines([r for r in rows if r["half"] == "tune"], args.sentences) if x.options]
    if args.step == "list":
        for x in sorted(tune, key=lambda x: (x.right, x.id)):
            flag = "J" if x.judged else "S" if x.answerable else "U"
            for o in x.options:
                cells = " ".join(f"{v:.2f}" for v in o.features)
                say(
                    "R" if o.right else "W",
                    flag,
                    o.sentence,
                    cells,
                    repr(o.text),
                    "<-",
                    x.question[-80:],
                    f"[{x.answer_text}]",
                )
        return 0
    beta, threshold = fit_gate(tune, args.l2, args.precision)
    from prompts.answer_weights import SHORT_FEATURES

    say("SHORT_WEIGHTS", dict(zip([*SHORT_FEATURES, "bias"], np.round(beta, 3).tolist(), strict=True)))
    everything = lines([r for r in rows if r["half"] == "tune"], args.sentences)
    kept = {x.id: gated(x, beta, threshold)["after"] for x in everything}
    say("MIN_SHORT", round(threshold, 3), "in-sample:", figures(everything, kept))
    if args.write:
        _write(beta, threshold)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
