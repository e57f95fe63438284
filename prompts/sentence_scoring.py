"""How well each sentence of the retrieved passages answers a question.

Each candidate sentence gets features (:data:`prompts.answer_weights.FEATURES`): how much of
the question's rarer words it carries (weighted by how few of the candidate sentences carry them,
so the words every passage repeats count little), alone and with the sentence before it (a
sentence opening with a pronoun borrows its subject from there), whether it carries a span of the
kind of answer asked for that the question does not already name (a date for "when", a number
for "how many", a name for "who", a country for "which country"), whether the other candidates
name the same answer (answers recur across the reports of a story; a stray name rarely does), and
how its passage ranked.
Its score is the chance that it carries the answer under a logistic model fitted on the tuning
half of RealTimeQA (``python -m bench.fit_answerer``). Headlines are never candidates: they are
titles, not sentences of the report.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from prompts.answer_kinds import (
    HOW_NUMBER_WORDS,
    TIME_WORD,
    Kind,
    Span,
    asks_which,
    kind_of,
    new_spans,
    question_words,
    tense_of,
)
from prompts.answer_weights import FEATURES, SENTENCE_WEIGHTS, scorer
from prompts.places import ASKS_FOR_COUNTRY, countries_in
from prompts.questions import question_parts
from prompts.terms import key_terms, learn_terms
from retrieval.models import Passage, SearchHit

#: The score's factor when a sentence has / lacks a span of the kind of answer asked for: a
#: "when" question is not answered by a sentence without a date.
KIND_FACTORS: dict[str, tuple[float, float]] = {
    "when": (1.0, 0.4),
    "number": (1.0, 0.4),
    "who": (1.0, 0.4),
    "where": (1.0, 0.4),
    "why": (1.0, 0.7),
    "what": (1.0, 1.0),
}
#: Kinds whose questions are too few in the data to fit (4 "when", 6 "how many" of 107 in the
#: tuning half): their hand-set factor multiplies the fitted chance, as it did in session 2.
GATED_KINDS = frozenset({"when", "number"})
#: A sentence opening with one of these leans on the sentence before it for its subject.
_LEANS = re.compile(r"^[\"“‘']?(?:he|she|they|it|its|his|her|their|this|that|these|those|the\s+\w+)\b", re.I)
MIN_WORDS, MAX_WORDS = 4, 90
_KIND_FACTOR, _WORDS, _CONTEXT, _AGREE = (
    FEATURES.index(f) for f in ("kind_factor", "words", "context", "agree")
)
_QUOTED = re.compile(r"[\"“”]")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence of a retrieved passage, with how well it answers."""

    hit: SearchHit
    rank: int
    start: int
    end: int
    text: str
    terms: frozenset[str]
    words: float
    context: float
    spans: tuple[Span, ...]
    score: float
    features: tuple[float, ...] = ()
    """The sentence's features, in the order of :data:`prompts.answer_weights.FEATURES`."""

    @property
    def key(self) -> tuple[str, int]:
        """Where the sentence stands in its article (overlapping passages repeat sentences)."""
        return (self.hit.passage.doc_id, self.hit.passage.start + self.start)


@dataclass(frozen=True, slots=True)
class Question:
    """A question read for answering: its key terms, their weights, the kind of answer."""

    text: str
    terms: frozenset[str]
    kind: Kind
    words: frozenset[str]
    kinds: tuple[Kind, ...] = ()
    """The kind of each part of a question that asks two things."""
    tense: str = ""
    which: bool = False
    """ "Which breed ...": a "what" question asking for a thing by its noun (a span answers it)."""


@lru_cache(maxsize=50_000)
def folded_terms(text: str) -> frozenset[str]:
    """Key terms with a country and its people made one ("Russia's" and "Russian": russ)."""
    return frozenset(
        t[:-3] if t.endswith("ian") and len(t) > 5 else t[:-2] if t.endswith("ia") and len(t) > 4 else t
        for t in key_terms(text)
    )


@lru_cache(maxsize=4096)
def passage_terms(passage: Passage) -> frozenset[str]:
    """The folded key terms of a whole passage: the union of its sentences' (each cached, and
    the candidate sentences' already read for scoring) instead of reading its text once more;
    its whole text when its sentences do not cover it (a passage stored without them)."""
    text, spans = passage.text, passage.sentences
    learn_terms((passage,))
    if not spans or not _covers(text, spans):
        return folded_terms(text)
    return frozenset().union(*(folded_terms(text[a:b]) for a, b in spans))


def _covers(text: str, spans: Sequence[tuple[int, int]]) -> bool:
    """Whether nothing but white space lies outside ``spans`` (in order, not overlapping)."""
    ends = [0, *(b for _, b in spans)]
    starts = [*(a for a, _ in spans), len(text)]
    return all(e <= a and not text[e:a].strip() for e, a in zip(ends, starts, strict=True))


#: The word after "how" says what kind of answer is asked ("how many" -> a number), not what it is
#: about: not a term to find in the sentences ("often" is no word of "twice a day").
_HOW_WORD = re.compile(
    rf"\b(how)\s+(?:{'|'.join((*HOW_NUMBER_WORDS, 'frequently', 'soon', 'deep', 'wide'))})\b", re.I
)


def read_question(question: str) -> Question:
    """``question`` read for answering; its words of time are left to the articles' dates, the
    word after "how" to the kind of answer asked."""
    words = frozenset(question_words(question))
    asked = _HOW_WORD.sub(r"\1", question)
    timeless = " ".join(w for w in asked.split() if not TIME_WORD.match(w.strip("?,.;:!'\"")))
    kinds = tuple(kind_of(p) for p in question_parts(question))
    return Question(
        question,
        folded_terms(timeless),
        kind_of(question),
        words,
        kinds,
        tense_of(question),
        asks_which(question),
    )


#: Bullets that open a standfirst line (the summary points under a headline).
BULLETS = ("•", "▪", "◦", "·", "* ", "- ")


def _is_headline(hit: SearchHit, start: int, text: str) -> bool:
    """The article's headline: its title, or the first line of its text unless that reads as a
    sentence (ends with a full stop: the body of an article whose title is in its metadata), or a
    bulleted standfirst line that does not end as a sentence does."""
    passage = hit.passage
    first = passage.start + start == 0 and not text.rstrip().endswith(".")
    stripped = text.strip()
    standfirst = stripped.startswith(BULLETS) and not stripped.endswith((".", "!", "?", "”", '"'))
    return first or standfirst or stripped == passage.title.strip()


def _sentences(hits: Sequence[SearchHit]) -> list[tuple[SearchHit, int, int, int, str, str]]:
    """(hit, rank, start, end, text, previous sentence) of each distinct sentence, best rank first."""
    seen: set[tuple[str, int]] = set()
    found = []
    for rank, hit in enumerate(hits):
        text = hit.passage.text
        previous = ""
        for start, end in hit.passage.sentences or ((0, len(text)),):
            sentence = text[start:end]
            key = (hit.passage.doc_id, hit.passage.start + start)
            words = len(sentence.split())
            fits = MIN_WORDS <= words <= MAX_WORDS and not _is_headline(hit, start, sentence)
            if fits and key not in seen:
                seen.add(key)
                found.append((hit, rank, start, end, sentence, previous))
            previous = sentence
    return found


def term_weights(question: Question, sentence_terms: Sequence[frozenset[str]]) -> dict[str, float]:
    """Each question term's weight: rarer among the candidate sentences weighs more."""
    n = len(sentence_terms)
    df = Counter(t for terms in sentence_terms for t in terms & question.terms)
    return {t: math.log((n + 1) / (df[t] + 0.5)) + 0.1 for t in question.terms}


def _lead(offset: int) -> float:
    """News puts the event first: the top of an article weighs a little more."""
    return 1.0 if offset < 600 else 0.5 if offset < 1500 else 0.0


def _share(weights: dict[str, float], terms: frozenset[str] | set[str]) -> float:
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 0.0


def _kind_factor(question: Question, text: str, spans: tuple[Span, ...]) -> float:
    """The old hand-set factor: a sentence lacking the kind of answer asked for counts less."""
    factor = KIND_FACTORS[question.kind][0 if spans else 1]
    if len(question.kinds) > 1:  # a two-part question: each part must be answered
        found = [bool(new_spans(text, k, set(question.words))) for k in question.kinds]
        factor = math.prod(KIND_FACTORS[k][0 if f else 1] for k, f in zip(question.kinds, found, strict=True))
    return factor


def _features(
    question: Question,
    row: tuple[SearchHit, int, int, int, str, str],
    own: frozenset[str],
    weights: dict[str, float],
    top: float,
    asks_country: bool,
) -> tuple[tuple[float, ...], list[Span]]:
    """The sentence's features, and its spans of the kind of answer asked for."""
    hit, rank, start, _, text, previous = row
    around = own | folded_terms(previous) if previous else own
    words = _share(weights, own)
    leans = bool(previous and _LEANS.search(text))
    if leans:
        words = max(words, 0.8 * _share(weights, around))
    spans = new_spans(text, question.kind, set(question.words), question.tense)
    names = (
        spans if question.kind in ("who", "where", "what") else new_spans(text, "what", set(question.words))
    )
    offset = hit.passage.start + start
    feats = {
        "words": words,
        "context": _share(weights, around),
        "plain": len(own & question.terms) / len(question.terms) if question.terms else 0.0,
        "novel": len(own - question.terms) / len(own) if own else 0.0,
        "kind": float(bool(spans) and question.kind != "what"),
        "kind_factor": _kind_factor(question, text, tuple(spans)),
        "names": min(len(names), 3) / 3,
        "dense": hit.dense_score or 0.0,
        "fused": hit.score / top,
        "rank": 1.0 / (1 + rank),
        "lead": _lead(offset),
        "first": float(offset < 400),
        "length": min(len(text.split()), 60) / 60,
        "quote": float(bool(_QUOTED.search(text))),
        "leans": float(leans),
        "country": float(
            asks_country and any(not question_words(c) <= question.words for c in countries_in(text))
        ),
        "agree": 0.0,  # set once every candidate's spans are known (_agreement)
    }
    return tuple(feats[f] for f in FEATURES), spans


def _answer_key(text: str, kind: Kind) -> str:
    """What an answer span is known by: a name by its last word ("Taylor Swift" and "Swift" are
    one), a date or an amount by all of it ("last year" and "next year" are not); a date without
    a number is none ("Friday" and "last year" are each article's own)."""
    words = re.findall(r"[a-z0-9]+", text.lower().replace(".", ""))
    if kind == "when" and not any(w.isdigit() for w in words):
        return ""
    if kind in ("when", "number"):
        return " ".join(words)
    return words[-1] if words else ""


def _agreement(question: Question, made: Sequence[tuple[tuple[float, ...], list[Span]]]) -> list[float]:
    """For each candidate: how much the other candidates back its best-backed answer span (one of
    the kind asked for; a name for "which X") -- the summed share of the question's words, with
    the sentence before, of the others that hold a span known by the same word -- relative to the
    best-backed candidate's (1.0). Answers recur across reports of the same story; a stray name
    next to the question's words rarely does. Not for questions answered by a statement ("what
    did X say", "why") nor for two-part ones (each part needs its own answer)."""
    if question.kind == "why" or (question.kind == "what" and not question.which) or len(question.kinds) > 1:
        return [0.0] * len(made)
    keys = [{_answer_key(s.text, question.kind) for s in spans} - {""} for _, spans in made]
    weights = [vector[_CONTEXT] for vector, _ in made]
    backing: dict[str, float] = {}
    for own, w in zip(keys, weights, strict=True):
        for k in own:
            backing[k] = backing.get(k, 0.0) + w
    found = [max((backing[k] - w for k in own), default=0.0) for own, w in zip(keys, weights, strict=True)]
    top = max(found, default=0.0)
    return [f / top for f in found] if top > 0 else found


def sentence_features(
    question: Question, hits: Sequence[SearchHit], weights: Mapping[str, float] | None = None
) -> list[Candidate]:
    """Every candidate sentence of ``hits`` with its features (:data:`FEATURES`), scored by the
    fitted model's ``weights`` when given (the chance that the sentence carries the answer)."""
    learn_terms(h.passage for h in hits)  # the sentences' terms stored at indexing, if any
    rows = _sentences(hits)
    terms = [folded_terms(r[4]) for r in rows]
    shares = term_weights(question, terms)
    top = max((h.score for h in hits), default=0.0) or 1.0
    asks_country = bool(ASKS_FOR_COUNTRY.search(question.text))
    gated = question.kind in GATED_KINDS or len(question.kinds) > 1
    chance = scorer(weights) if weights is not None else None
    found = []
    made = [
        _features(question, row, own, shares, top, asks_country) for row, own in zip(rows, terms, strict=True)
    ]
    agree = _agreement(question, made)
    for row, own, (vector, spans), backing in zip(rows, terms, made, agree, strict=True):
        hit, rank, start, end, text, _ = row
        vector = (*vector[:_AGREE], backing, *vector[_AGREE + 1 :])
        score = 0.0
        if chance is not None:
            # the kinds too rare to fit keep their hand-set factor on top of the fitted chance
            score = chance(vector) * (vector[_KIND_FACTOR] if gated else 1.0)
        words, context = vector[_WORDS], vector[_CONTEXT]
        found.append(Candidate(hit, rank, start, end, text, own, words, context, tuple(spans), score, vector))
    return found


def score_sentences(question: Question, hits: Sequence[SearchHit]) -> list[Candidate]:
    """Every candidate sentence of ``hits``, best answer first; its score is the fitted model's
    probability that the sentence carries the answer (:data:`SENTENCE_WEIGHTS`)."""
    return sorted(sentence_features(question, hits, SENTENCE_WEIGHTS), key=lambda c: c.score, reverse=True)


__all__ = [
    "KIND_FACTORS",
    "Candidate",
    "Question",
    "passage_terms",
    "read_question",
    "score_sentences",
    "sentence_features",
    "term_weights",
]
