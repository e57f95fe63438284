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

What the fits learn from (``--positives``, ``--negatives``, ``--sentences``; :class:`Targets`):
by default the refusal's positives are the silver-labelled questions (the answer string is in
some article) and its negatives ``unanswerable.jsonl``; with the judged relevance labels
(``bench/judgments.tsv``) the positives can be only the *judged-answerable* ones (an article a
reader on the quiz date would call relevant states the answer), the questions with no relevant
article left out or counted as negatives, and the sentence model fitted only on the judged-
answerable questions, or only on the sentences of their relevant articles. Cross-validation
folds group the tuning half's quiz weeks (a week's questions share their news), and report the
judged subsets and the out-of-fold trade-off too.
"""

from __future__ import annotations

import pickle
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
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
                        "date": q.date,
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
    """The dumped rows, each with its quiz ``week`` and its judged ``relevant`` articles
    (``None`` when the question was not judged; ``()`` when no article is relevant)."""
    from bench.judgments import judged_labels, load_judgments

    rows: list[dict[str, Any]] = pickle.loads(_dump_path(work, name).read_bytes())  # noqa: S301 -- our own file
    labels = judged_labels(load_judgments())
    for r in rows:
        day = r.get("date") or _id_date(r["id"])
        r["week"] = tuple(day.isocalendar()[:2]) if day else (0, 0)
        r["relevant"] = labels.get(r["id"]) if r["answerable"] else None
    return rows


def _id_date(qid: str) -> date | None:
    """The quiz date a RealTimeQA id starts with (``20230623_1``), for dumps made before the
    date was kept."""
    try:
        return date(int(qid[:4]), int(qid[4:6]), int(qid[6:8]))
    except ValueError:
        return None


def judged_answerable(r: dict[str, Any]) -> bool:
    """A silver-labelled question with an article judged relevant (or not judged at all)."""
    return bool(r["answerable"]) and (r.get("relevant") is None or bool(r["relevant"]))


def no_relevant_article(r: dict[str, Any]) -> bool:
    """A silver-labelled question judged to have no relevant article."""
    return bool(r["answerable"]) and r.get("relevant") == ()


@dataclass(frozen=True, slots=True)
class Targets:
    """What the two fits learn from. ``positives``: the refusal's answerable questions, all the
    silver-labelled ones or only the judged-answerable ones; ``negatives``: ``unanswerable.jsonl``
    alone, or with the questions judged to have no relevant article (``both``); ``sentences``:
    the sentence model's questions and candidates -- every silver-labelled question's
    (``all``), the judged-answerable questions' (``answerable``), or only the sentences of their
    judged-relevant articles (``relevant``)."""

    positives: str = "silver"
    negatives: str = "unanswerable"
    sentences: str = "all"

    def answerable(self, r: dict[str, Any]) -> bool | None:
        """The refusal fit's label of ``r``, or ``None`` to leave it out."""
        if not r["answerable"]:
            return False
        if self.positives == "silver" or judged_answerable(r):
            return True
        return False if self.negatives == "both" else None

    def sentence_rows(self, r: dict[str, Any]) -> bool:
        return bool(r["answerable"]) and (self.sentences == "all" or judged_answerable(r))

    def sentence_from(self, r: dict[str, Any], doc_id: str) -> bool:
        return self.sentences != "relevant" or not r.get("relevant") or doc_id in r["relevant"]


SHIPPED = Targets()


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
            "j_contains": [],
            "j_first": [],
            "j_refused": [],
            "nr_refused": [],
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
            if r.get("relevant") == ():
                got["nr_refused"].append(refused)
            elif r.get("relevant"):
                got["j_contains"].append(got["contains"][-1])
                got["j_first"].append(got["first"][-1])
                got["j_refused"].append(refused)
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


def sentence_table(
    rows: list[dict[str, Any]], targets: Targets = SHIPPED
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and question index of every candidate sentence of answerable questions
    (which questions and sentences: ``targets``)."""
    from prompts.sentence_scoring import read_question, sentence_features

    xs, ys, qs = [], [], []
    for i, r in enumerate(rows):
        if not targets.sentence_rows(r) or not r["hits"]:
            continue
        question = read_question(r["asked"])
        wanted = normalise(r["answer_text"])
        for cand in sentence_features(question, r["hits"]):
            if not targets.sentence_from(r, cand.hit.passage.doc_id):
                continue
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
    {"words", "context", "plain", "kind", "kind_factor", "dense", "fused", "rank", "country", "agree"}
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
    rows: list[dict[str, Any]],
    l2: float,
    drop: Sequence[str] = (),
    quiet: bool = False,
    targets: Targets = SHIPPED,
) -> dict[str, float]:
    from prompts.answer_weights import FEATURES

    x, y, q = sentence_table(rows, targets)
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
    rows: list[dict[str, Any]],
    l2: float,
    drop: Sequence[str] = (),
    quiet: bool = False,
    targets: Targets = SHIPPED,
) -> dict[str, float]:
    from prompts.answer_weights import QUESTION_FEATURES
    from prompts.refusal import answerability
    from prompts.sentence_scoring import read_question, score_sentences

    xa, ya = [], []
    for r in rows:
        label = targets.answerable(r)
        if not r["hits"] or label is None:
            continue
        candidates = score_sentences(read_question(r["asked"]), r["hits"])
        if candidates:
            xa.append(answerability(r["asked"], r["hits"], candidates))
            ya.append(label)
    xs = np.array(xa, dtype=float)
    for name in drop:
        xs[:, QUESTION_FEATURES.index(name)] = 0.0
    beta = logistic(xs, np.array(ya, dtype=float), l2=l2)
    if not quiet:
        _print_weights("ANSWERABLE_WEIGHTS", QUESTION_FEATURES, beta)
    return dict(zip([*QUESTION_FEATURES, "bias"], beta.tolist(), strict=True))


def answered_at(pairs: Sequence[tuple[bool, float]], refuse: float) -> tuple[float, float]:
    """From (answerable, confidence) pairs: the least threshold refusing ``refuse`` of the
    unanswerable ones, and the share of the answerable ones answered at it."""
    unans = sorted(c for a, c in pairs if not a)
    ans = [c for a, c in pairs if a]
    t = next(t for t in (i / 1000 for i in range(1001)) if sum(c < t for c in unans) / len(unans) >= refuse)
    return t, round(sum(c > 0 and c >= t for c in ans) / len(ans), 3) if ans else 0.0


def curve(rows: list[dict[str, Any]], answer: Callable[[str, list[Any]], Any]) -> list[float]:
    """Per half: (silver answerable answered, judged-answerable answered, unanswerable refused)
    at each threshold; the threshold that refuses 85% of the tuning half's unanswerable
    questions."""
    conf: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        c = answer(r["asked"], r["hits"]).confidence or 0.0
        group = "u" if not r["answerable"] else "a"
        conf.setdefault((r["half"], group), []).append(c)
        if r.get("relevant"):
            conf.setdefault((r["half"], "j"), []).append(c)
    unans = sorted(conf[("tune", "u")])
    chosen = next(t for t in (i / 200 for i in range(201)) if sum(c < t for c in unans) / len(unans) >= 0.85)
    print("threshold | silver answered, judged-answerable answered, unanswerable refused: tune | report")
    for t in sorted({*(i / 20 for i in range(21)), chosen}):
        cells = []
        for name in sorted({h for h, _ in conf}, reverse=True):
            for group in ("a", "j"):
                mine = conf.get((name, group), [])
                cells.append(sum(c > 0 and c >= t for c in mine) / len(mine) if mine else float("nan"))
            u_ = conf[(name, "u")]
            cells.append(sum(not (c > 0 and c >= t) for c in u_) / len(u_))
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


def fit(
    rows: list[dict[str, Any]],
    report: bool,
    l2: float,
    write: bool = False,
    targets: Targets = SHIPPED,
    refusal_only: bool = False,
) -> None:
    """Fit both models on the tuning half (or, ``refusal_only``, the refusal alone over the
    shipped sentence model), print the curve, and with ``write`` put them into ``prompts/``."""
    import prompts.refusal as refusal
    from prompts.answer_weights import ANSWERABLE_WEIGHTS, SENTENCE_WEIGHTS
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    tune = [r for r in rows if r["half"] == "tune"]
    shown = rows if report else tune
    say("targets:", targets)
    if not refusal_only:
        new = fit_sentences(tune, l2, targets=targets)
        SENTENCE_WEIGHTS.clear()
        SENTENCE_WEIGHTS.update(new)
    refusal.MIN_CONFIDENCE = 0.0
    say("threshold 0:", evaluate(shown, shipped))
    answerable = fit_answerable(tune, l2, targets=targets)
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


def week_folds(rows: list[dict[str, Any]], folds: int) -> list[int]:
    """Each row's fold: its quiz week's place among the rows' weeks, modulo ``folds`` (a week's
    questions share their news, so they are never split between fitting and scoring)."""
    weeks = sorted({r["week"] for r in rows})
    place = {w: i for i, w in enumerate(weeks)}
    return [place[r["week"]] % folds for r in rows]


def cross_validate(
    rows: list[dict[str, Any]],
    l2: float,
    folds: int = 4,
    drop: Sequence[str] = (),
    drop_q: Sequence[str] = (),
    targets: Targets = SHIPPED,
    by_week: bool = True,
    refusal_only: bool = False,
) -> dict[str, Any]:
    """Both fits (``refusal_only``: the refusal alone, over the shipped sentence model) and the
    threshold on (folds - 1) parts of the tuning half, scored on the part left out, for every
    part: an estimate of the tuning half's figures that is not in-sample.
    Also the out-of-fold trade-off: judged-answerable (and silver) answered at 80 / 85 / 90% of
    the unanswerable refused, each threshold read off the pooled out-of-fold confidences."""
    import prompts.refusal as refusal
    from prompts.answer_weights import ANSWERABLE_WEIGHTS, SENTENCE_WEIGHTS
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    saved = (dict(SENTENCE_WEIGHTS), dict(ANSWERABLE_WEIGHTS), refusal.MIN_CONFIDENCE)
    tune = sorted((r for r in rows if r["half"] == "tune"), key=lambda r: r["id"])
    fold_of = week_folds(tune, folds) if by_week else [i % folds for i in range(len(tune))]
    left_out: list[dict[str, Any]] = []
    try:
        for f in range(folds):
            train = [r for r, g in zip(tune, fold_of, strict=True) if g != f]
            if not refusal_only:
                SENTENCE_WEIGHTS.clear()
                SENTENCE_WEIGHTS.update(fit_sentences(train, l2, drop, quiet=True, targets=targets))
            ANSWERABLE_WEIGHTS.clear()
            ANSWERABLE_WEIGHTS.update(fit_answerable(train, l2, drop_q, quiet=True, targets=targets))
            refusal.MIN_CONFIDENCE = _threshold(train, shipped)
            for r, g in zip(tune, fold_of, strict=True):
                if g == f:
                    left_out.append({**r, "answer": shipped(r["asked"], r["hits"])})
    finally:
        SENTENCE_WEIGHTS.clear()
        SENTENCE_WEIGHTS.update(saved[0])
        ANSWERABLE_WEIGHTS.clear()
        ANSWERABLE_WEIGHTS.update(saved[1])
        refusal.MIN_CONFIDENCE = saved[2]
    figures: dict[str, Any] = evaluate(left_out)["tune"]
    unans = [(False, r["answer"].confidence or 0.0) for r in left_out if not r["answerable"]]
    for name, test in (("oof_judged", judged_answerable), ("oof_silver", lambda r: bool(r["answerable"]))):
        pairs = unans + [
            (True, r["answer"].confidence or 0.0) for r in left_out if r["answerable"] and test(r)
        ]
        figures[name] = [answered_at(pairs, refuse)[1] for refuse in (0.80, 0.85, 0.90)]
    return figures


def main(argv: list[str] | None = None) -> int:
    p = parser(__doc__.splitlines()[0])
    p.add_argument("step", choices=("dump", "fit", "eval", "cv"))
    p.add_argument("--drop", default="", help="cv: sentence features to leave out, comma-separated")
    p.add_argument("--drop-q", default="", help="cv: answerability features to leave out")
    p.add_argument("--report", action="store_true", help="show the reporting half too (only at the end)")
    p.add_argument("--l2", type=float, default=10.0, help="ridge penalty of both fits")
    p.add_argument("--write", action="store_true", help="write the fitted constants into prompts/")
    p.add_argument(
        "--positives",
        choices=("silver", "judged"),
        default="silver",
        help="the refusal's positives",
    )
    p.add_argument(
        "--negatives",
        choices=("unanswerable", "both"),
        default="unanswerable",
        help="the refusal's negatives: unanswerable.jsonl, or also the questions with no relevant article",
    )
    p.add_argument(
        "--sentences",
        choices=("all", "answerable", "relevant"),
        default="all",
        help="the sentence model's data: every silver-labelled question, the judged-answerable ones,"
        " or only their relevant articles' sentences",
    )
    p.add_argument(
        "--refusal-only",
        action="store_true",
        help="fit, cv: keep the shipped sentence model, refit the refusal",
    )
    p.add_argument(
        "--folds", choices=("week", "order"), default="week", help="cv: folds by quiz week or by id"
    )
    args = p.parse_args(argv)
    targets = Targets(args.positives, args.negatives, args.sentences)
    bset = bench_set(args)
    if args.step == "dump":
        say("wrote", dump(bset, args.work_dir, args.data))
        return 0
    rows = load(args.work_dir, bset.name)
    if args.step == "cv":
        drop = [d for d in args.drop.split(",") if d]
        drop_q = [d for d in args.drop_q.split(",") if d]
        figures = cross_validate(
            rows,
            args.l2,
            drop=drop,
            drop_q=drop_q,
            targets=targets,
            by_week=args.folds == "week",
            refusal_only=args.refusal_only,
        )
        say(
            f"cv {targets} folds={args.folds} l2={args.l2} drop={drop} drop_q={drop_q}"
            f" refusal_only={args.refusal_only}:",
            figures,
        )
        return 0
    if args.step == "fit":
        fit(rows, args.report, args.l2, args.write, targets, args.refusal_only)
        return 0
    from prompts.extractive import answer_extractively

    def shipped(question: str, hits: list[Any]) -> Any:
        return answer_extractively(question, hits, min_relevance=0.25, max_sentences=4)

    say(evaluate(rows, shipped))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
