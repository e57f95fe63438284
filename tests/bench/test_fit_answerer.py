"""The answerer's fitting tool: a plain logistic regression, signs kept where they must be."""

from __future__ import annotations

import numpy as np

from bench.fit_answerer import (
    MONOTONE,
    Targets,
    _signed,
    answered_at,
    judged_answerable,
    logistic,
    no_relevant_article,
    week_folds,
)


def test_logistic_regression_finds_the_informative_feature() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    y = (x[:, 0] + 0.1 * rng.normal(size=400) > 0).astype(float)
    beta = logistic(x, y, l2=0.1)
    assert beta[0] > 3 * abs(beta[1])
    p = 1 / (1 + np.exp(-(x @ beta[:-1] + beta[-1])))
    assert ((p > 0.5) == (y > 0)).mean() > 0.9


def test_a_monotone_feature_never_gets_a_negative_weight() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 2))
    y = (x[:, 1] - x[:, 0] > 0).astype(float)  # the first feature lowers the chance
    names = ["words", "novel"]
    assert "words" in MONOTONE and "novel" not in MONOTONE
    beta = _signed(x, y, 1.0, np.ones(400), names)
    assert beta[0] == 0.0 and beta[1] > 0


def _row(qid: str, answerable: bool, relevant: tuple[str, ...] | None) -> dict[str, object]:
    return {"id": qid, "answerable": answerable, "relevant": relevant}


def test_the_refusals_targets_follow_the_judged_labels() -> None:
    judged = _row("20230623_1", True, ("a1",))
    background_only = _row("20230623_2", True, ())
    not_judged = _row("20230623_3", True, None)
    unanswerable = _row("20210108_0", False, None)
    silver = Targets()
    assert [silver.answerable(r) for r in (judged, background_only, not_judged, unanswerable)] == [
        True,
        True,
        True,
        False,
    ]
    clean = Targets(positives="judged")
    assert [clean.answerable(r) for r in (judged, background_only, not_judged, unanswerable)] == [
        True,
        None,  # left out of the fit
        True,
        False,
    ]
    assert Targets(positives="judged", negatives="both").answerable(background_only) is False
    assert judged_answerable(judged) and not judged_answerable(background_only)
    assert no_relevant_article(background_only) and not no_relevant_article(not_judged)


def test_the_sentence_model_can_learn_from_the_relevant_articles_only() -> None:
    judged = _row("20230623_1", True, ("a1",))
    relevant = Targets(sentences="relevant")
    assert relevant.sentence_from(judged, "a1") and not relevant.sentence_from(judged, "b2")
    assert Targets().sentence_from(judged, "b2")
    assert not Targets(sentences="answerable").sentence_rows(_row("20230623_2", True, ()))


def test_cross_validation_folds_keep_a_week_together() -> None:
    rows = [{"week": (2023, w)} for w in (24, 24, 26, 28, 30, 26, 32)]
    folds = week_folds(rows, 4)
    by_week: dict[object, set[int]] = {}
    for r, f in zip(rows, folds, strict=True):
        by_week.setdefault(r["week"], set()).add(f)
    assert all(len(f) == 1 for f in by_week.values())
    assert set(folds) == {0, 1, 2, 3}


def test_answered_at_reads_the_threshold_off_the_unanswerable() -> None:
    pairs = [(False, c) for c in (0.1, 0.2, 0.3, 0.4)] + [(True, c) for c in (0.35, 0.5, 0.05)]
    threshold, answered = answered_at(pairs, 0.75)
    assert threshold == 0.301  # the least that refuses three of the four unanswerable
    assert answered == 0.667  # 0.35 and 0.5 answered, 0.05 refused
