"""The offline answerer: the sentences of the retrieved passages that best answer the question.

It never writes a sentence of its own: every sentence of the answer is a verbatim sentence of a
passage, followed by its citation, so every quote is a substring of the cited article. When the
evidence is weak (low dense similarity, or no sentence sharing the question's key terms) it says
the coverage doesn't answer instead of quoting something loosely related.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from prompts.citations import CANNOT_ANSWER, Answer, Citation, coverage_of
from retrieval.models import SearchHit

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'-]*|\d+")
_STOP = frozenset(
    """a about above after again against all also am an and any are as at be because been before
    being between both but by can could did do does doing down during each few for from further
    had has have having he her here hers him his how i if in into is it its itself just me more
    most my no nor not now of off on once only or other our out over own same she should so some
    such than that the their them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your say said
    says tell told happen happened according news coverage article articles report reported""".split()
)
#: Share of the question's key terms a sentence must contain to be quoted at all.
MIN_SENTENCE_OVERLAP = 0.34
#: Sentences scoring below this share of the best one are left out.
RELATIVE_CUTOFF = 0.6
#: Two sentences sharing this share of their key terms say the same thing (wire copy).
SAME_SENTENCE = 0.7
_NAME = re.compile(r"(?<!^)(?<![.?!]\s)\b([A-Z][\w'-]*|\d{2,4})")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=20_000)
def _key_terms(text: str) -> frozenset[str]:
    words = [w.lower().strip("'-") for w in _TOKEN.findall(text)]
    return frozenset(_stemmer().stemWords([w for w in words if w and w not in _STOP]))


def key_terms(text: str) -> set[str]:
    """Stemmed content words of ``text`` (cached: passages recur across questions)."""
    return set(_key_terms(text))


@dataclass(frozen=True, slots=True)
class _Candidate:
    hit: SearchHit
    start: int
    end: int
    text: str
    score: float


def _candidates(question_terms: set[str], hits: list[SearchHit]) -> list[_Candidate]:
    found: list[_Candidate] = []
    for rank, hit in enumerate(hits):
        relevance = (hit.dense_score or 0.0) + 1.0 / (rank + 4)
        spans = hit.passage.sentences or ((0, len(hit.passage.text)),)
        for start, end in spans:
            text = hit.passage.text[start:end]
            terms = key_terms(text)
            overlap = len(question_terms & terms) / max(1, len(question_terms))
            if overlap < MIN_SENTENCE_OVERLAP or len(text.split()) < 5:
                continue
            found.append(_Candidate(hit, start, end, text, relevance * (0.3 + overlap)))
    return sorted(found, key=lambda c: c.score, reverse=True)


def named_terms(question: str) -> set[str]:
    """Stemmed names and numbers in the question (capitalised words after the first)."""
    return key_terms(" ".join(_NAME.findall(question.strip())))


def _same(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= SAME_SENTENCE


def _pick(candidates: list[_Candidate], limit: int) -> list[_Candidate]:
    picked: list[_Candidate] = []
    seen: list[set[str]] = []
    best = candidates[0].score if candidates else 0.0
    for cand in candidates:
        terms = key_terms(cand.text)
        if cand.score < best * RELATIVE_CUTOFF or any(_same(terms, prior) for prior in seen):
            continue
        seen.append(terms)
        picked.append(cand)
        if len(picked) == limit:
            break
    return picked


def refusal(question: str, notice: str | None = None) -> Answer:
    """The plain "the coverage doesn't say" answer."""
    return Answer(
        question=question, text=CANNOT_ANSWER, citations=(), grounded=False, mode="extractive", notice=notice
    )


def answer_extractively(
    question: str, hits: list[SearchHit], *, min_relevance: float, max_sentences: int
) -> Answer:
    """An answer made only of cited sentences from ``hits``, or a refusal."""
    best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    terms = key_terms(question)
    if not hits or not terms or best_dense < min_relevance:
        return refusal(question)
    evidence_terms = set().union(*(key_terms(h.passage.text) for h in hits))
    if named_terms(question) - evidence_terms:  # a name the evidence never mentions
        return refusal(question)
    picked = _pick(_candidates(terms, hits), max_sentences)
    if not picked:
        return refusal(question)
    # present in document order within the answer: most relevant first, as ranked
    citations: list[Citation] = []
    parts: list[str] = []
    for n, cand in enumerate(picked, 1):
        passage = cand.hit.passage
        citations.append(
            Citation(
                n=n,
                doc_id=passage.doc_id,
                title=passage.title,
                quote=cand.text,
                start=passage.start + cand.start,
                end=passage.start + cand.end,
                outlet=passage.outlet,
                published=passage.published,
                url=passage.url,
                passage_key=passage.key,
                also_in=cand.hit.also_in,
            )
        )
        parts.append(f"{cand.text} [{n}]")
    cited = tuple(citations)
    return Answer(
        question=question,
        text=" ".join(parts),
        citations=cited,
        grounded=True,
        mode="extractive",
        coverage=coverage_of(cited),
    )
