"""The offline answerer's fitted weights: plain numbers, so answering needs no fitting library.

All three are logistic regressions fitted on the tuning half of RealTimeQA (even ISO weeks; see
BENCHMARKS.md section 2), never on the reporting half: the first two by ``python -m
bench.fit_answerer fit``, the third by ``python -m bench.fit_short fit``.

- :data:`SENTENCE_WEIGHTS`: the chance that a candidate sentence carries the answer, from its
  features (:func:`prompts.sentence_scoring.sentence_features`).
- :data:`SHORT_WEIGHTS`: the chance that a direct answer line is right, from the refusal's
  confidence, its sentence's chance and how the sentence ties the span to the question
  (:func:`prompts.short_answers.short_features`).
- :data:`ANSWERABLE_WEIGHTS`: the chance that the coverage answers the question at all, from the
  best sentence and what the evidence does not mention (:func:`prompts.refusal.answerability`);
  fitted with ``--refusal-only --positives judged``: the positives are the questions whose
  answer an article judged relevant states (``bench/judgments.tsv``), not every question whose
  answer string occurs somewhere (a third of those only in background or unrelated articles).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

#: A candidate sentence's features, in this order (see ``sentence_features``).
FEATURES = (
    "words",  # share of the question's words it carries, weighted by rarity among the candidates
    "context",  # the same with the sentence before it
    "plain",  # share of the question's words, unweighted
    "novel",  # share of its own words the question does not contain
    "kind",  # it holds a span of the kind asked for (a date for "when", ...) the question lacks
    "kind_factor",  # the hand-set factor of session 2 (1.0 with that span, 0.4 without)
    "names",  # names the question does not already give (capped at 3, scaled to 0..1)
    "dense",  # its passage's dense similarity to the question
    "fused",  # its passage's fused search score, relative to the best passage's
    "rank",  # 1 / (1 + its passage's rank)
    "lead",  # near the top of its article (news puts the event first)
    "first",  # within the article's first 400 characters
    "length",  # its length in words (capped at 60, scaled to 0..1)
    "quote",  # it quotes someone
    "leans",  # it opens with a pronoun (its subject is in the sentence before)
    "country",  # "which country ...": it names a country the question does not
    "agree",  # other candidates name the same answer span (weighted by their share of the question)
)

SENTENCE_WEIGHTS: dict[str, float] = {
    "words": 0.000,
    "context": 1.780,
    "plain": 0.568,
    "novel": -0.298,
    "kind": 0.000,
    "kind_factor": 2.432,
    "names": 0.184,
    "dense": 2.658,
    "fused": 1.656,
    "rank": 0.348,
    "lead": 0.102,
    "first": 0.137,
    "length": 0.573,
    "quote": -0.049,
    "leans": -0.115,
    "country": 1.998,
    "agree": 1.371,
    "bias": -8.689,
}

#: A question's answerability features, in this order (see ``prompts.refusal.answerability``).
QUESTION_FEATURES = (
    "best",  # the best sentence's log-odds of carrying the answer
    "words",  # the share of the question's words the best sentence carries (weighted)
    "dense",  # the best passage's dense similarity
    "missing",  # names and numbers of the question the evidence never mentions
    "missing_share",  # ... as a share of the question's names
    "undated",  # months and years of the question neither said nor fitting the articles' dates
    "said_top1",  # share of the question's words the top passage mentions
    "plain",  # the best sentence's unweighted share of the question's words
)
# Left out (session 7, BENCHMARKS.md section 2): the second-best sentence's probability, the top
# three passages' mean similarity and words, all passages' words, and "the top passage is among
# keyword search's best three". They measure corroboration by other reports, which a fact one
# article of a small coverage states never has ("How many visitors did the jazz festival draw?"
# was refused in a three-article folder); without them the tuning half's trade-off is within
# one question.

ANSWERABLE_WEIGHTS: dict[str, float] = {
    "best": 0.930,
    "words": 1.566,
    "dense": 2.209,
    "missing": -0.170,
    "missing_share": 0.092,
    "undated": -2.459,
    "said_top1": 2.187,
    "plain": 1.095,
    "bias": -3.174,
}


#: A direct answer line's features, in this order (see ``prompts.short_answers.short_features``).
SHORT_FEATURES = (
    "confidence",  # the refusal's confidence that the coverage answers the question
    "sentence",  # the chance that the span's sentence carries the answer (the sentence model)
    "spans",  # how many spans of the kind asked for that sentence holds (by the noun asked, for a
    # line by it; capped at 4, scaled to 0..1)
    "near",  # share of the question's words within 8 words of the span (what ties it to the question)
    "noun",  # the sentence ties the span to the noun a "which X" question asks by, or it holds X
)

#: The chance that a direct answer line is right, fitted by ``python -m bench.fit_short fit``
#: on the tuning half's candidate lines, one per picked sentence holding a span of the kind asked
#: (label: the line holds the correct answer; a line on an unanswerable question is wrong; ridge
#: 30, chosen by 4-fold CV by week: BENCHMARKS.md section 2, sessions 7b and 9), over the lines
#: that pass :data:`prompts.short_answers.TYPE_CHECKS`; written to 6 digits so that rounding
#: does not decide a line.
SHORT_WEIGHTS: dict[str, float] = {
    "confidence": 0.636553,
    "sentence": 1.971176,
    "spans": -1.962583,
    "near": 0.254840,
    "noun": 0.482133,
    "bias": -1.070041,
}

#: The likeliest line is given when its chance is at least this (the least threshold at which 85%
#: of the tuning half's lines it would show are right, rounded down so the line that set it stays) ...
MIN_SHORT = 0.522711

#: ... or when the line is tied to the question by hand-set rule: at least this share of the
#: question's words stand within ``prompts.short_answers.NEAR_WORDS`` words of it ("Xi last
#: visited Russia in 2019." for "When did Xi last visit Russia?") ...
TIED_NEAR = 0.75
#: ... and the refusal is at least this confident that the coverage answers the question.
TIED_CONFIDENCE = 0.85


def log_odds(
    weights: Mapping[str, float], features: Sequence[float], names: Sequence[str] = FEATURES
) -> float:
    """The linear score of ``features`` (named by ``names``) under ``weights``."""
    return weights.get("bias", 0.0) + sum(
        weights.get(n, 0.0) * v for n, v in zip(names, features, strict=True)
    )


def probability(
    weights: Mapping[str, float], features: Sequence[float], names: Sequence[str] = FEATURES
) -> float:
    """The logistic of :func:`log_odds`: a probability in (0, 1)."""
    z = log_odds(weights, features, names)
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


def scorer(
    weights: Mapping[str, float], names: Sequence[str] = FEATURES
) -> Callable[[Sequence[float]], float]:
    """:func:`probability` with the weights lined up once, for scoring many feature vectors."""
    aligned = [weights.get(n, 0.0) for n in names]
    bias = weights.get("bias", 0.0)

    def score(features: Sequence[float]) -> float:
        z = bias + sum(w * v for w, v in zip(aligned, features, strict=True))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    return score


__all__ = [
    "ANSWERABLE_WEIGHTS",
    "FEATURES",
    "MIN_SHORT",
    "QUESTION_FEATURES",
    "SENTENCE_WEIGHTS",
    "SHORT_FEATURES",
    "SHORT_WEIGHTS",
    "TIED_CONFIDENCE",
    "TIED_NEAR",
    "log_odds",
    "probability",
    "scorer",
]
