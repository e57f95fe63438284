"""The answerer's fitting tool: a plain logistic regression, signs kept where they must be."""

from __future__ import annotations

import numpy as np

from bench.fit_answerer import MONOTONE, _signed, logistic


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
