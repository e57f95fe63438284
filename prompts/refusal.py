"""When the offline answerer says "the coverage doesn't say", and what part it cannot answer.

One calibrated reason: the answerability model (:data:`prompts.answer_weights.ANSWERABLE_WEIGHTS`,
a logistic regression fitted on the tuning half of RealTimeQA: questions an article judged
relevant answers -- ``bench/judgments.tsv`` -- against unanswerable ones) gives a probability
below :data:`MIN_CONFIDENCE`, the least threshold that refuses 85% of that half's unanswerable
questions (see BENCHMARKS.md section 2). Its features are the best sentence's chance of
carrying the answer, how close the top passage is and how much of the question it mentions, and
what the evidence never mentions -- nothing that needs a second report, so a small coverage's one
article is enough. A name (or number) of the question the evidence never mentions lowers the
confidence rather than vetoing the answer (as a veto it cost more answerable questions than it
saved unanswerable ones), and the answer names it. Words of time
(months, weekdays, years) are matched against the articles' publication dates instead, since
"the December summit" is usually dated by its article, not by its text.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Sequence

from prompts.answer_kinds import TIME_WORD, kind_of, new_spans, question_words
from prompts.answer_weights import ANSWERABLE_WEIGHTS, FEATURES, QUESTION_FEATURES, probability
from prompts.questions import question_parts
from prompts.sentence_scoring import (
    Candidate,
    folded_terms,
    passage_terms,
    read_question,
    score_sentences,
    term_weights,
)
from prompts.terms import key_terms, names_in
from retrieval.models import SearchHit

#: Least answerability (a probability) for an answer rather than a refusal (calibrated).
MIN_CONFIDENCE = 0.21
_QUESTION_OPENERS = frozenset(
    "What When Who Whom Whose How Why Where Which Did Does Do Is Are Was Were Will Has Have Had Can "
    "Could Should Would In On At After Before During Since For From".split()
)
_MONTHS = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})
_MONTHS["sept"] = 9


def _dated(word: str, hits: Sequence[SearchHit]) -> bool:
    """Whether a time word of the question fits the evidence's publication dates (or text)."""
    lower = word.lower().rstrip(".")
    dates = [h.passage.published for h in hits if h.passage.published]
    if lower in _MONTHS:
        month = _MONTHS[lower]
        # a month is named in its own month's news and in the weeks after it
        return not dates or any(d.month in (month, month % 12 + 1) for d in dates) or _said(word, hits)
    if re.fullmatch(r"(?:19|20)\d{2}", lower):
        year = int(lower)
        return not dates or any(d.year in (year, year + 1) for d in dates) or _said(word, hits)
    return True  # weekdays, "week", "today": relative to each article's own date


def _said(word: str, hits: Sequence[SearchHit]) -> bool:
    pattern = re.compile(rf"\b{re.escape(word)}\b", re.I)
    return any(pattern.search(h.passage.text) for h in hits)


def _acronym_said(word: str, hits: Sequence[SearchHit]) -> bool:
    """``US`` written ``U.S.``, ``UK`` written ``U.K.``."""
    dotted = ".".join(word) + "."
    return any(dotted in h.passage.text for h in hits)


def missing_names(question: str, hits: Sequence[SearchHit]) -> list[str]:
    """Names and numbers of ``question`` that the evidence never mentions (time words aside); a
    country and its people count as one ("Australian" is mentioned by "Australia")."""
    evidence = frozenset().union(*(passage_terms(h.passage) for h in hits)) if hits else frozenset()
    missing = []
    for word in names_in(question):
        if word in _QUESTION_OPENERS:
            continue
        if TIME_WORD.match(word.rstrip(".")):
            if not _dated(word, hits):
                missing.append(word)
            continue
        if folded_terms(word) <= evidence:
            continue
        if word.isupper() and len(word) <= 4 and _acronym_said(word, hits):
            continue
        missing.append(word)
    return missing


def unmentioned(question: str, hits: Sequence[SearchHit]) -> list[str]:
    """Names and numbers of ``question`` the evidence never mentions, words of time aside."""
    return [w for w in missing_names(question, hits) if not TIME_WORD.match(w.rstrip("."))]


def _lead_words(question: str, lead: Candidate, candidates: Sequence[Candidate]) -> float:
    """The share of the question's (weighted) words the lead sentence carries; for a question
    that asks two things, the better-answered part counts (the other is named as not answered)."""
    words = lead.words
    parts = question_parts(question)
    if len(parts) > 1 and candidates:
        pool = [c.terms for c in candidates]
        for part in parts:
            weights = term_weights(read_question(part), pool)
            total = sum(weights.values())
            if total:
                words = max(words, sum(w for t, w in weights.items() if t in lead.terms) / total)
    return words


def _share_in(terms: frozenset[str], hits: Sequence[SearchHit]) -> float:
    """The share of ``terms`` that ``hits`` mention anywhere."""
    if not terms or not hits:
        return 0.0
    said = frozenset().union(*(passage_terms(h.passage) for h in hits))
    return len(terms & said) / len(terms)


def answerability(
    question: str, hits: Sequence[SearchHit], candidates: Sequence[Candidate]
) -> tuple[float, ...]:
    """The question's answerability features (:data:`QUESTION_FEATURES`): how well the best
    sentence answers, how close and how on-topic the top passage is, and what the evidence never
    mentions -- a missing name lowers the confidence instead of vetoing the answer. Only the
    question and its evidence: nothing about when it was asked, and nothing that needs a second
    report (the second-best sentence, the next passages' similarity or words): a fact that one
    article of a small coverage states is as answerable as one that ten articles repeat."""
    lead = candidates[0]
    dense = [h.dense_score or 0.0 for h in hits]
    names = [w for w in names_in(question) if w not in _QUESTION_OPENERS]
    missing = missing_names(question, hits)
    undated = [w for w in missing if TIME_WORD.match(w.rstrip("."))]
    terms = read_question(question).terms
    p = min(max(lead.score, 1e-6), 1 - 1e-6)
    return (
        math.log(p / (1 - p)),
        _lead_words(question, lead, candidates),
        max(dense, default=0.0),
        float(len(missing) - len(undated)),
        (len(missing) - len(undated)) / len(names) if names else 0.0,
        float(len(undated)),
        _share_in(terms, hits[:1]),
        lead.features[FEATURES.index("plain")] if lead.features else 0.0,
    )


def confidence(question: str, hits: Sequence[SearchHit], candidates: Sequence[Candidate]) -> float:
    """How likely the coverage answers ``question``: the fitted answerability model's
    probability (:data:`ANSWERABLE_WEIGHTS`). A question that asks two things is as answerable
    as its better-answered part asked alone (the other part is named as not answered)."""
    sure = probability(ANSWERABLE_WEIGHTS, answerability(question, hits, candidates), QUESTION_FEATURES)
    parts = question_parts(question)
    if len(parts) > 1:
        for part in parts:
            own = score_sentences(read_question(part), hits)
            if own:
                features = answerability(part, hits, own)
                sure = max(sure, probability(ANSWERABLE_WEIGHTS, features, QUESTION_FEATURES))
    return sure


def confident(score: float) -> bool:
    """Whether the answer is sure enough to be given (the calibrated gate)."""
    return score >= MIN_CONFIDENCE


def unanswered_parts(question: str, picked: Sequence[Candidate]) -> list[str]:
    """The parts of ``question`` that no picked sentence answers (for a two-part question)."""
    parts = question_parts(question)
    if len(parts) < 2:
        return []
    others = [key_terms(p) for p in parts]
    left = []
    for i, part in enumerate(parts):
        kind = kind_of(part)
        own = others[i] - set().union(*(t for j, t in enumerate(others) if j != i))
        words = question_words(part)
        by_kind = kind != "what" and any(new_spans(c.text, kind, words) for c in picked)
        # a part asking for a kind of answer (who, when, ...) needs that kind; others, their words
        by_words = kind == "what" and bool(own) and any(len(own & c.terms) / len(own) >= 0.5 for c in picked)
        if not (by_kind or by_words):
            left.append(part)
    return left


__all__ = [
    "MIN_CONFIDENCE",
    "answerability",
    "confidence",
    "confident",
    "missing_names",
    "unanswered_parts",
    "unmentioned",
]
