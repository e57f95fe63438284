"""Offline summaries: the representative sentences of a story, quoted and cited.

Like the offline answerer it never writes a sentence of its own. A story's sentences are
scored by how much of the topic they name, how central they are to the story (their words
recur across its passages), how close their passage is to the topic, and how near the top of
the article they stand (news puts the event first). The best are picked greedily, skipping any
that repeat a sentence already picked anywhere in the summary (wire copy), and spreading the
picks across the story's articles; they are shown in date and article order.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from prompts.citations import Citation
from prompts.extractive import key_terms
from retrieval.models import SearchHit

#: Two sentences sharing this share of their key terms say the same thing.
SAME_SENTENCE = 0.7
#: Each further pick from the same article is worth this much less.
SAME_ARTICLE_PENALTY = 0.8
MIN_WORDS, MAX_WORDS = 6, 70
_ENDS_SENTENCE = re.compile(r"[.!?][\"'”’)]*$")
_WEIGHTS = {"topic": 0.45, "central": 0.25, "dense": 0.15, "lead": 0.15}


@dataclass(frozen=True, slots=True)
class Excerpt:
    """One sentence of a passage, as it would be quoted."""

    hit: SearchHit
    start: int
    end: int
    text: str
    terms: frozenset[str]
    score: float = 0.0

    @property
    def key(self) -> tuple[str, int]:
        """Where the sentence stands in its article (overlapping passages repeat sentences)."""
        return (self.hit.passage.doc_id, self.hit.passage.start + self.start)

    @property
    def order(self) -> tuple[str, str, int]:
        published = self.hit.passage.published
        return (published.isoformat() if published else "9999", self.key[0], self.key[1])

    def citation(self, n: int) -> Citation:
        return Citation.of(n, self.hit, self.start, self.end, quote=self.text)


def same(a: Iterable[str], b: Iterable[str]) -> bool:
    """Whether two sentences' key terms overlap enough to say the same thing."""
    x, y = set(a), set(b)
    return bool(x and y) and len(x & y) / min(len(x), len(y)) >= SAME_SENTENCE


def sentences_of(hits: Sequence[SearchHit], strict: bool = True) -> list[Excerpt]:
    """Each distinct sentence of ``hits`` worth quoting (complete, neither tiny nor huge)."""
    found: dict[tuple[str, int], Excerpt] = {}
    for hit in hits:
        text = hit.passage.text
        for start, end in hit.passage.sentences or ((0, len(text)),):
            sentence = text[start:end].strip()
            words = len(sentence.split())
            if strict and not (MIN_WORDS <= words <= MAX_WORDS and _ENDS_SENTENCE.search(sentence)):
                continue
            excerpt = Excerpt(hit, start, start + len(sentence), sentence, frozenset(key_terms(sentence)))
            if excerpt.terms and excerpt.key not in found:
                found[excerpt.key] = excerpt
    return list(found.values())


def _scored(candidates: list[Excerpt], topic: set[str]) -> list[Excerpt]:
    df = Counter(t for c in candidates for t in c.terms)
    central = {c.key: sum(df[t] for t in c.terms) / len(c.terms) for c in candidates}
    top = max(central.values(), default=1.0) or 1.0
    scored = []
    for c in candidates:
        parts = {
            "topic": len(topic & c.terms) / len(topic) if topic else 0.0,
            "central": central[c.key] / top,
            "dense": c.hit.dense_score or 0.0,
            "lead": 1.0 if c.key[1] < 400 else 0.5 if c.key[1] < 1500 else 0.0,
        }
        score = sum(_WEIGHTS[k] * v for k, v in parts.items())
        scored.append(Excerpt(c.hit, c.start, c.end, c.text, c.terms, score))
    return scored


@dataclass
class Picker:
    """Picks excerpts across a whole summary, so no sentence is said twice."""

    topic: set[str]
    seen: list[frozenset[str]] = field(default_factory=list)

    def pick(self, hits: Sequence[SearchHit], limit: int) -> list[Excerpt]:
        """Up to ``limit`` excerpts of ``hits``, best first (the first is the story's lead)."""
        candidates = sentences_of(hits) or sentences_of(hits, strict=False)
        pool = _scored(candidates, self.topic)
        picked: list[Excerpt] = []
        per_article: Counter[str] = Counter()
        while pool and len(picked) < limit:
            pool = [c for c in pool if not any(same(c.terms, s) for s in self.seen)]
            if not pool:
                break
            best = max(pool, key=lambda c: c.score * SAME_ARTICLE_PENALTY ** per_article[c.key[0]])
            picked.append(best)
            per_article[best.key[0]] += 1
            self.seen.append(best.terms)
        return picked


def reading_order(excerpts: Iterable[Excerpt]) -> list[Excerpt]:
    """Excerpts by publication date, then article, then position in the article."""
    return sorted(excerpts, key=lambda e: e.order)


class Numbering:
    """``[n]`` numbers for excerpts, in order of first use, and their citations."""

    def __init__(self) -> None:
        self._numbers: dict[tuple[str, int], int] = {}
        self.citations: list[Citation] = []

    def number(self, excerpt: Excerpt) -> int:
        n = self._numbers.get(excerpt.key)
        if n is None:
            n = self._numbers[excerpt.key] = len(self._numbers) + 1
            self.citations.append(excerpt.citation(n))
        return n

    def cite(self, excerpts: Iterable[Excerpt]) -> tuple[str, tuple[Citation, ...]]:
        """The excerpts as text with markers, and the citations they use."""
        parts, used = [], []
        for excerpt in excerpts:
            n = self.number(excerpt)
            parts.append(f"{excerpt.text} [{n}]")
            used.append(self.citations[n - 1])
        return " ".join(parts), tuple(used)


__all__ = ["Excerpt", "Numbering", "Picker", "reading_order", "same", "sentences_of"]
