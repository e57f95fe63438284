"""The offline answerer: the sentences of the retrieved passages that best answer the question.

It never writes a sentence of its own: every sentence of the answer is a verbatim sentence of a
passage, followed by its citation, so every quote is a substring of the cited article. It leads
with the sentence that answers (:mod:`prompts.sentence_scoring`), gives the direct answer as a
span of that sentence when the evidence ties one to the question (:mod:`prompts.short_answers`),
adds at most two more sentences that say something else, and says the coverage doesn't answer
when the fitted answerability model is not confident enough (:mod:`prompts.refusal`); a name of
the question that the evidence never mentions lowers that confidence and is named in the answer's
notice.
"""

from __future__ import annotations

from collections.abc import Sequence

from prompts.citations import CANNOT_ANSWER, Answer, Citation, ShortAnswer, coverage_of
from prompts.refusal import confidence, confident, unanswered_parts, unmentioned
from prompts.sentence_scoring import Candidate, read_question, score_sentences
from prompts.short_answers import direct_answer
from prompts.terms import key_terms, named_terms
from retrieval.models import SearchHit

#: The offline answerer reads this many passages. Six did better on the tuning half (BENCHMARKS.md
#: section 2) but lose the bundled two-part question, whose answer is in the 7th passage.
ANSWER_PASSAGES = 8
#: An offline answer quotes at most this many sentences, whatever the settings allow.
MAX_SENTENCES = 3
#: Supporting sentences whose chance of carrying the answer is below this share of the lead's
#: are left out (set on the tuning half).
RELATIVE_CUTOFF = 0.4
#: Two sentences sharing this share of their key terms say the same thing (wire copy).
SAME_SENTENCE = 0.7


def _same(a: frozenset[str], b: frozenset[str]) -> bool:
    return bool(a and b) and len(a & b) / min(len(a), len(b)) >= SAME_SENTENCE


def _pick(candidates: Sequence[Candidate], limit: int) -> list[Candidate]:
    picked: list[Candidate] = []
    best = candidates[0].score if candidates else 0.0
    for cand in candidates:
        if cand.score < best * RELATIVE_CUTOFF or any(_same(cand.terms, p.terms) for p in picked):
            continue
        picked.append(cand)
        if len(picked) == limit:
            break
    return picked


def _unrelated(hits: Sequence[SearchHit], min_relevance: float) -> bool:
    """No passage is close in meaning (dense similarity below ``min_relevance``) and keyword
    search matched none of them either. Low similarity alone is not enough: a short question
    ("Who is the union leader?") is far in meaning from the sentence that answers it ("... union
    leader Maria Kovacs said"), and on the tuning half the similarity gate alone refused nothing
    the fitted confidence would answer (BENCHMARKS.md section 2, session 7)."""
    best_dense = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    return best_dense < min_relevance and all(h.keyword_rank is None for h in hits)


def refusal(question: str, notice: str | None = None, confidence: float | None = None) -> Answer:
    """The plain "the coverage doesn't say" answer."""
    return Answer(
        question=question,
        text=CANNOT_ANSWER,
        citations=(),
        grounded=False,
        mode="extractive",
        notice=notice,
        confidence=confidence,
    )


def _citation(n: int, cand: Candidate) -> Citation:
    return Citation.of(n, cand.hit, cand.start, cand.end)


def _not_said(parts: list[str], names: list[str]) -> str | None:
    """What the answer leaves out: the parts of the question it does not answer, and the names
    of the question the evidence never mentions (they lower the confidence; they do not veto)."""
    notes = []
    if parts:
        said = "; ".join(f"{p[0].lower()}{p[1:]}" for p in parts)
        notes.append(
            f"The coverage doesn't say {said}." if len(parts) == 1 else f"The coverage doesn't say: {said}."
        )
    if names:
        notes.append(f"The coverage doesn't mention {', '.join(dict.fromkeys(names))}.")
    return " ".join(notes) or None


def answer_extractively(
    question: str, hits: list[SearchHit], *, min_relevance: float, max_sentences: int
) -> Answer:
    """An answer made only of cited sentences from ``hits``, or a refusal."""
    read = read_question(question)
    if not hits or not read.terms or _unrelated(hits, min_relevance):
        return refusal(question, confidence=0.0)
    candidates = score_sentences(read, hits)
    if not candidates:
        return refusal(question, confidence=0.0)
    sure = confidence(question, hits, candidates)
    if not confident(sure):
        return refusal(question, confidence=sure)
    picked = _pick(candidates, min(max_sentences, MAX_SENTENCES))
    citations = tuple(_citation(n, cand) for n, cand in enumerate(picked, 1))
    short = None
    found = direct_answer(read, picked, sure)
    if found is not None:
        i, span = found
        cited = citations[i]
        short = ShortAnswer(
            picked[i].text[span.start : span.end], cited.n, cited.start + span.start, cited.start + span.end
        )
    return Answer(
        question=question,
        text=" ".join(f"{c.quote} [{c.n}]" for c in citations),
        citations=citations,
        grounded=True,
        mode="extractive",
        coverage=coverage_of(citations),
        notice=_not_said(unanswered_parts(question, picked), unmentioned(question, hits)),
        short=short,
        confidence=sure,
    )


__all__ = ["ANSWER_PASSAGES", "MAX_SENTENCES", "answer_extractively", "key_terms", "named_terms", "refusal"]
