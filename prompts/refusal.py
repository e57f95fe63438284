"""When the offline answerer says "the coverage doesn't say", and what part it cannot answer.

Two hard reasons, then one calibrated one. Hard: a name (or number) in the question that the
retrieved evidence never mentions -- except words of time (months, weekdays, years, "week"),
which are matched against the articles' publication dates instead, since "the December
summit" is usually dated by its article, not by its text. Calibrated: the best sentence's
answer score (:mod:`prompts.sentence_scoring`) below :data:`MIN_CONFIDENCE`, a threshold set on
the tuning half of RealTimeQA against its unanswerable questions (see BENCHMARKS.md).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence

from prompts.answer_kinds import TIME_WORD, kind_of, new_spans, question_words
from prompts.questions import question_parts
from prompts.sentence_scoring import Candidate, read_question, term_weights
from prompts.terms import key_terms, names_in
from retrieval.models import SearchHit

#: Least answer score of the best sentence for an answer rather than a refusal (calibrated).
MIN_CONFIDENCE = 0.84
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
    """Names and numbers of ``question`` that the evidence never mentions (time words aside)."""
    evidence = set().union(*(key_terms(h.passage.text) for h in hits)) if hits else set()
    missing = []
    for word in names_in(question):
        if word in _QUESTION_OPENERS:
            continue
        if TIME_WORD.match(word.rstrip(".")):
            if not _dated(word, hits):
                missing.append(word)
            continue
        terms = key_terms(word)
        if terms <= evidence:
            continue
        if word.isupper() and len(word) <= 4 and _acronym_said(word, hits):
            continue
        missing.append(word)
    return missing


def confidence(
    question: str, lead: Candidate, best_dense: float, candidates: Sequence[Candidate] = ()
) -> float:
    """How sure the answer is: the share of the question's (weighted) words the lead sentence
    carries, plus the best passage's dense similarity. Of the measures tried on the tuning
    half this one separated answerable from unanswerable questions best. For a question that
    asks two things, the better-answered part counts (the other is named as not answered)."""
    words = lead.words
    parts = question_parts(question)
    if len(parts) > 1 and candidates:
        pool = [c.terms for c in candidates]
        for part in parts:
            weights = term_weights(read_question(part), pool)
            total = sum(weights.values())
            if total:
                words = max(words, sum(w for t, w in weights.items() if t in lead.terms) / total)
    return words + best_dense


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


__all__ = ["MIN_CONFIDENCE", "confidence", "confident", "missing_names", "unanswered_parts"]
