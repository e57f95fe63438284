"""The fitted weights are plain numbers over named features; the names cannot drift apart."""

from __future__ import annotations

from prompts.answer_weights import (
    ANSWERABLE_WEIGHTS,
    FEATURES,
    QUESTION_FEATURES,
    SENTENCE_WEIGHTS,
    log_odds,
    probability,
    scorer,
)
from prompts.refusal import answerability
from prompts.sentence_scoring import read_question, score_sentences, sentence_features
from tests.prompts.test_answer_targeting import FERRY, hit


def test_every_weight_names_a_feature_or_the_bias() -> None:
    assert set(SENTENCE_WEIGHTS) <= {*FEATURES, "bias"}
    assert set(ANSWERABLE_WEIGHTS) <= {*QUESTION_FEATURES, "bias"}


def test_each_sentence_and_question_has_one_value_per_feature() -> None:
    question = read_question("When is the first crossing?")
    candidates = sentence_features(question, [hit(FERRY)])
    assert candidates and all(len(c.features) == len(FEATURES) for c in candidates)
    scored = score_sentences(question, [hit(FERRY)])
    assert len(answerability(question.text, [hit(FERRY)], scored)) == len(QUESTION_FEATURES)


def test_the_probability_is_the_logistic_of_the_weighted_sum() -> None:
    weights = {"a": 2.0, "b": -1.0, "bias": 0.5}
    assert log_odds(weights, [1.0, 3.0], ["a", "b"]) == 2.0 - 3.0 + 0.5
    assert probability(weights, [0.0, 0.5], ["a", "b"]) == 0.5
    assert 0.0 < probability(weights, [-1e6, 0.0], ["a", "b"]) < 1e-20  # no overflow


def test_scores_are_probabilities_best_first() -> None:
    scored = score_sentences(read_question("When is the first crossing?"), [hit(FERRY)])
    assert all(0.0 < c.score < 1.0 for c in scored)
    assert [c.score for c in scored] == sorted((c.score for c in scored), reverse=True)


def test_a_scorer_gives_the_same_probability() -> None:
    weights = {"a": 2.0, "b": -1.0, "bias": 0.5}
    assert scorer(weights, ["a", "b"])([0.3, 0.7]) == probability(weights, [0.3, 0.7], ["a", "b"])
