"""Fit the offline answerer's sentence model and its refusal on the tuning half of RealTimeQA.

    .venv/bin/python -m bench.fit_answerer dump --work-dir /tmp/x   # ask once, keep what search found
    .venv/bin/python -m bench.fit_answerer cv --work-dir /tmp/x     # 4-fold cross-validation (tuning)
    .venv/bin/python -m bench.fit_answerer fit --work-dir /tmp/x [--write]  # fit, print (write) weights
    .venv/bin/python -m bench.fit_answerer eval --work-dir /tmp/x   # the shipped answerer, both halves

``dump`` asks every silver-labelled and every unanswerable question once through the Desk (as
of its quiz date, like :mod:`bench.answers`) and keeps the passages the offline answerer was
given, so fitting and evaluating the answer step take seconds instead of a search per try.
``fit`` fits, on the tuning half only (:mod:`bench.split`), a logistic regression over each
candidate sentence's features (:func:`prompts.sentence_scoring.sentence_features`; label: the
sentence contains the normalised correct answer) and one over each question's answerability
features (:func:`prompts.refusal.answerability`; label: answerable question vs unanswerable
one), picks the least threshold refusing 85% of the tuning half's unanswerable questions, and
prints the curve; ``--write`` puts the weights into :mod:`prompts.answer_weights` and the
threshold into :mod:`prompts.refusal` (the runtime needs no fitting library: plain numbers).
numpy only, so nothing new is installed. ``cv`` estimates the tuning half's figures out of
sample (fits and threshold on three quarters, scored on the rest). ``eval`` scores the answerer
as shipped on the dumped passages, both halves -- look at the reporting half only at the end of
an idea; the figures to report come from :mod:`bench.answers`, which also searches.
"""

from __future__ import annotations

import pickle
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.answers import contains, normalise, unanswerable_questions
from bench.harness import bench_set, parser, say
from bench.split import half
from bench.systems import Newsdesk, ensure_newsdesk


def _dump_path(work: Path, name: str) -> Path:
    return work / f"answer-hits-{name}.pkl"


def dump(bset: Any, work: Path, data: Path | None) -> Path:
    """Ask every question once; keep (question as answered, hits) per question."""
    from prompts.timeframes import resolve_time

    data_dir = ensure_newsdesk(work, bset)
    unanswerable = unanswerable_questions(data) if bset.name.startswith("rtqa") else []
    asked_on = {q.question: q.date for q in [*bset.questions, *unanswerable]}
    system = Newsdesk(data_dir, asked_on)
    seen: list[tuple[str, Any]] = []
    offline = system.desk.offline
    plain = offline.answer

    def recording(question: str, hits: Sequence[Any]) -> Any:
        seen.append((question, list(hits)))
        return plain(question, hits)

    offline.answer = recording  # type: ignore[method-assign]
    rows = []
    try:
        for answerable, questions in ((True, bset.labelled), (False, unanswerable)):
            for q in questions:
                seen.clear()
                system.answer(q.question)
                asked, hits = seen[-1] if seen else (q.question, [])
                day = asked_on[q.question] or bset.questions[0].date
                rows.append(
                    {
                        "id": q.id,
                        "half": half(q),
                        "question": q.question,
                        "asked": asked,
                        "answer_text": q.answer_text,
                        "answerable": answerable,
                        "time_phrase": bool(resolve_time(q.question, day).phrase),
                        "hits": hits,
                    }
                )
    finally:
        system.close()
    path = _dump_path(work, bset.name)
    path.write_bytes(pickle.dumps(rows))
    return path


def load(work: Path, name: str) -> list[dict[str, Any]]:
    return pickle.loads(_dump_path(work, name).read_bytes())  # noqa: S301 -- our own file


# -- evaluating an answer step on the dumped passages -----------------------------------------


Answering = Callable[[str, list[Any]], Any]


def evaluate(rows: list[dict[str, Any]], answer: Answering | None = None) -> dict[str, Any]:
    """contains / first_or_short / refused per half (answerable), refused (unanswerable); the
    answers are ``answer``'s, or each row's own ``"answer"`` when no ``answer`` is given."""
    out: dict[str, Any] = {}
    times = []
    for name in ("tune", "report"):
        got: dict[str, list[bool]] = {
            "contains": [],
            "first": [],
            "refused": [],
            "short": [],
            "short_given": [],
            "u_refused": [],
            "u_nt": [],
        }
        for r in (r for r in rows if r["half"] == name):
            started = time.perf_counter()
            a = answer(r["asked"], r["hits"]) if answer else r["answer"]
            times.append((time.perf_counter() - started) * 1000)
            refused = not a.grounded or not a.citations
            if not r["answerable"]:
                got["u_refused"].append(refused)
                if not r["time_phrase"]:
                    got["u_nt"].append(refused)
                continue
            quotes = [c.quote for c in a.citations]
            short = a.short.text if a.short else ""
            got["refused"].append(refused)
            got["short"].append(bool(short) and contains(r["answer_text"], short))
            got["short_given"].append(bool(short))
            got["contains"].append(not refused and contains(r["answer_text"], " ".join(quotes) + " " + short))
            got["first"].append(
                not refused and contains(r["answer_text"], (quotes[0] if quotes else "") + " | " + short)
            )
        out[name] = {k: round(sum(v) / len(v), 3) if v else None for k, v in got.items()}
    out["answer_ms_p50"] = round(statistics.median(times), 2) if times else None
    return out


# -- fitting ----------------------------------------------------------------------------------


def logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, w: np.ndarray | None = None) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; the last weight is the bias.
    Columns are standardised inside and the weights returned in the original scale."""
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = np.hstack([(x - mean) / std, np.ones((len(x), 1))])
    sample = np.ones(len(x)) if w is None else w
    beta = np.zeros(z.shape[1])
    reg = np.full(z.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-z @ beta))
        grad = z.T @ (sample * (p - y)) + reg * beta
        hess = (z * (sample * p * (1 - p))[:, None]).T @ z + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        beta -= step
        if np.abs(step).max() < 1e-8:
            break
    weights = beta[:-1] / std
    bias = beta[-1] - float((beta[:-1] * mean / std).sum())
    return np.append(weights, bias)


def sentence_table(rows: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and question index of every candidate sentence of answerable questions."""
    from prompts.sentence_scoring import read_question, sentence_features

    xs, ys, qs = [], [], []
    for i, r in enumerate(rows):
        if not r["answerable"] or not r["hits"]:
            continue
        question = read_question(r["asked"])
        wanted = normalise(r["answer_text"])
        for cand in sentence_features(question, r["hits"]):
            xs.append(cand.features)
            ys.append(wanted in normalise(cand.text))
            qs.append(i)
    return np.array(xs, dtype=float), np.array(ys, dtype=float), np.array(qs)


def _top1(x: np.ndarray, y: np.ndarray, q: np.ndarray, beta: np.ndarray) -> float:
    """Share of questions with an answer among their candidates whose best-scored one has it."""
    z = x @ beta[:-1] + beta[-1]
    hits = total = 0
    for i in set(q.tolist()):
        mine = q == i
        if y[mine].any():
            total += 1
            hits += bool(y[mine][np.argmax(z[mine])])
    return hits / total if total else 0.0


def _print_weights(name: str, names: Sequence[str], beta: np.ndarray) -> None:
    print(f"{name}: dict[str, float] = {{")
    for n, b in zip([*names, "bias"], beta, strict=True):
        print(f'    "{n}": {b:.3f},')
    print("}")


#: Features whose weight may not be negative: more of the question in the sentence, a span of
#: the kind asked for, a closer or better-ranked passage never makes a sentence less likely to
#: answer. (Unconstrained, "words" came out negative beside the collinear "context" and
#: "plain", and the sentence repeating the question lost to its neighbour on the seed set.)
MONOTONE = frozenset(
    {"words", "context", "plain", "kind", "kind_factor", "dense", "fused", "rank", "country"}
)


def _signed(x: np.ndarray, y: np.ndarray, l2: float, weight: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """The logistic fit with every :data:`MONOTONE` weight >= 0: a feature whose weight comes
    out negative is left out and the rest refitted (an active-set fit)."""
    x = x.copy()
    while True:
        beta = logistic(x, y, l2=l2, w=weight)
        wrong = [i for i, n in enumerate(names) if n in MONOTONE and beta[i] < 0]
        if not wrong:
            return beta
        x[:, wrong] = 0.0


def fit_sentences(
    rows: list[dict[str, Any]], l2: float, drop: Sequence[str] = (), quiet: bool = False
) -> dict[str, float]:
    from prompts.answer_weights import FEATURES

    x, y, q = sentence_table(rows)
    for name in drop:
        x[:, FEATURES.index(name)] = 0.0
    counts = {i: int((q == i).sum()) for i in set(q.tolist())}
    weight = np.array([20.0 / counts[i] for i in q])  # each question weighs the same
    beta = _signed(x, y, l2, weight, FEATURES)
    if quiet:
        return dict(zip([*FEATURES, "bias"], beta.tolist(), strict=True))
    say(
        f"sentences: {len(set(q.tolist()))} questions, {len(y)} sentences, {int(y.sum())} carry the answer;"
        f" best-scored carries it (of questions where one does): {_top1(x, y, q, beta):.3f}"
    )
    _print_weights("SENTENCE_WEIGHTS", FEATURES, beta)
    return dict(zip([*FEATURES, "bias"], beta.tolist(), strict=True))


def fit_answerable(
    rows: list[dict[str, Any]], l2: float, drop: Sequence[str] = (), quiet: bool = False
) -> dict[str, float]:
    from prompts.answer_weights import QUESTION_FEATURES
    from prompts.refusal import answerability
    from prompts.sentence_scoring import read_question, score_sentences

    xa, ya = [], []
    for r in rows:
        if not r["hits"]:
            continue
        candidates = score_sentences(read_question(r["asked"]), r["hits"])
        if candidates:
            xa.append(answerability(r["asked"], r["hits"], candidates))
            ya.append(r["answerable"])
    xs = np.array(xa, dtype=float)
    for name in drop:
        xs[:, QUESTION_FEATURES.index(name)] = 0.0
    beta = logistic(xs, np.array(ya, dtype=float), l2=l2)
    if not quiet:
        _print_weights("ANSWERABLE_WEIGHTS", QUESTION_FEATURES, beta)
    return dict(zip([*QUESTION_FEATURES, "bias"], beta.tolist(), strict=True))


def curve(rows: list[dict[str, Any]], answer: Callable[[str, list[Any]], Any]) -> list[float]:
    """Per half: (answerable answered, unanswerable refused) at each threshold; the threshold
    that refuses 85% of the tuning half's unanswerable questions."""
    conf: dict[tuple[str, bool], list[float]] = {}
    for r in rows:
        a = answer(r["asked"], r["hits"])
        conf.setdefault((r["half"], r["answerable"]), []).append(a.confidence or 0.0)
    unans = sorted(conf[("tune", False)])
    chosen = next(t for t in (i / 200 for i in range(201)) if sum(c < t for c in unans) / len(unans) >= 0.85)
    print("threshold | answered, unanswerable refused: tune | report")
    for t in sorted({*(i / 20 for i in range(21)), chosen}):
        cells = []
        for name in sorted({h for h, _ in conf}, reverse=True):
            a_ = conf[(name, True)]
            u_ = conf[(name, False)]
            answered = sum(c > 0 and c >= t for c in a_) / len(a_)
            cells += [answered, sum(not (c > 0 and c >= t) for c in u_) / len(u_)]
        print(f"{t:.3f} | " + " | ".join(f"{c:.3f}" for c in cells))
    return [chosen]


def _write(sentence: dict[str, float], answerable: dict[str, float], threshold: float) -> None:
    """Rewrite the fitted constants in the package (prompts/answer_weights.py, prompts/refusal.py)."""
    import re

    import prompts.answer_weights
    import prompts.refusal

    def block(name: str, weights: dict[str, float]) -> str:
        lines = "".join(f'    "{k}": {v:.3f},\n' for k, v in weights.items())
        return f"{name}: dict[str, float] = {{\n{lines}}}"

    path = Path(prompts.answer_weights.__file__)
    text = path.read_text(encoding="utf-8")
    for name, weights in (("SENTENCE_WEIGHTS", sentence), ("ANSWERABLE_WEIGHTS", answerable)):
        text = re.sub(rf"{name}: dict\[str, float\] = \{{.*?\n\}}", block(name, weights), text, flags=re.S)
    path.write_text(text, encoding="utf-8")
    path = Path(prompts.refusal.__file__)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"MIN_CONFIDENCE = [0-9.]+", f"MIN_CONFIDENCE = {threshold}", text)
    path.write_text(text, encoding="utf-8")
    say("wrote the weights and MIN_CONFIDENCE =", threshold)


def fit(rows: list[dict[str, Any]], report: bool, l2: float, write: bool = False) -> None:
    import prompts.refusal as refusal
    from prompts.answer_weights import ANSWERABLE_WEIGHTS, SENTENCE_WEIGHTS
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    tune = [r for r in rows if r["half"] == "tune"]
    shown = rows if report else tune
    new = fit_sentences(tune, l2)
    SENTENCE_WEIGHTS.clear()
    SENTENCE_WEIGHTS.update(new)
    refusal.MIN_CONFIDENCE = 0.0
    say("threshold 0:", evaluate(shown, shipped))
    answerable = fit_answerable(tune, l2)
    ANSWERABLE_WEIGHTS.clear()
    ANSWERABLE_WEIGHTS.update(answerable)
    (chosen,) = curve(shown, shipped)
    refusal.MIN_CONFIDENCE = chosen
    say(f"threshold {chosen}:", evaluate(shown, shipped))
    if write:
        _write(dict(SENTENCE_WEIGHTS), answerable, chosen)


def _threshold(
    rows: list[dict[str, Any]], answer: Callable[[str, list[Any]], Any], target: float = 0.85
) -> float:
    """The least threshold refusing ``target`` of the unanswerable ``rows``."""
    conf = sorted(answer(r["asked"], r["hits"]).confidence or 0.0 for r in rows if not r["answerable"])
    return next(t for t in (i / 200 for i in range(201)) if sum(c < t for c in conf) / len(conf) >= target)


def cross_validate(
    rows: list[dict[str, Any]],
    l2: float,
    folds: int = 4,
    drop: Sequence[str] = (),
    drop_q: Sequence[str] = (),
) -> dict[str, Any]:
    """Both fits and the threshold on (folds - 1) parts of the tuning half, scored on the part
    left out, for every part: an estimate of the tuning half's figures that is not in-sample."""
    import prompts.refusal as refusal
    from prompts.answer_weights import ANSWERABLE_WEIGHTS, SENTENCE_WEIGHTS
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    saved = (dict(SENTENCE_WEIGHTS), dict(ANSWERABLE_WEIGHTS), refusal.MIN_CONFIDENCE)
    tune = sorted((r for r in rows if r["half"] == "tune"), key=lambda r: r["id"])
    left_out: list[dict[str, Any]] = []
    try:
        for f in range(folds):
            train = [r for i, r in enumerate(tune) if i % folds != f]
            SENTENCE_WEIGHTS.clear()
            SENTENCE_WEIGHTS.update(fit_sentences(train, l2, drop, quiet=True))
            ANSWERABLE_WEIGHTS.clear()
            ANSWERABLE_WEIGHTS.update(fit_answerable(train, l2, drop_q, quiet=True))
            refusal.MIN_CONFIDENCE = _threshold(train, shipped)
            test = [r for i, r in enumerate(tune) if i % folds == f]
            for r in test:
                a = shipped(r["asked"], r["hits"])
                left_out.append({**r, "answer": a})
    finally:
        SENTENCE_WEIGHTS.clear()
        SENTENCE_WEIGHTS.update(saved[0])
        ANSWERABLE_WEIGHTS.clear()
        ANSWERABLE_WEIGHTS.update(saved[1])
        refusal.MIN_CONFIDENCE = saved[2]
    return evaluate(left_out)["tune"]


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=("dump", "fit", "eval", "cv"))
    p.add_argument("--drop", default="", help="cv: sentence features to leave out, comma-separated")
    p.add_argument("--drop-q", default="", help="cv: answerability features to leave out")
    p.add_argument("--report", action="store_true", help="show the reporting half too (only at the end)")
    p.add_argument("--l2", type=float, default=10.0, help="ridge penalty of both fits")
    p.add_argument("--write", action="store_true", help="write the fitted constants into prompts/")
    args = p.parse_args(argv)
    bset = bench_set(args)
    if args.step == "dump":
        say("wrote", dump(bset, args.work_dir, args.data))
        return 0
    rows = load(args.work_dir, bset.name)
    if args.step == "cv":
        drop = [d for d in args.drop.split(",") if d]
        drop_q = [d for d in args.drop_q.split(",") if d]
        figures = cross_validate(rows, args.l2, drop=drop, drop_q=drop_q)
        say(f"cv l2={args.l2} drop={drop} drop_q={drop_q}:", figures)
        return 0
    if args.step == "fit":
        fit(rows, args.report, args.l2, args.write)
        return 0
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    say(evaluate(rows, shipped))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
