"""Citations and answers as typed data, and the one "cannot answer" phrase."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

from retrieval.models import SearchHit

#: Said when the coverage does not answer; shared by prompts, code and tests.
CANNOT_ANSWER = "The coverage doesn't say."

AnswerMode = Literal["extractive", "llm"]


@dataclass(frozen=True, slots=True)
class Citation:
    """Reference ``[n]`` in an answer; ``quote`` is a verbatim substring of the article text."""

    n: int
    doc_id: str
    title: str
    quote: str
    start: int
    end: int
    outlet: str | None = None
    published: date | None = None
    url: str | None = None
    passage_key: str = ""
    also_in: tuple[str, ...] = ()
    also_outlets: tuple[str, ...] = ()

    @classmethod
    def of(cls, n: int, hit: SearchHit, start: int, end: int, quote: str | None = None) -> Citation:
        """Reference ``n`` to ``hit.passage.text[start:end]`` (or ``quote`` found there), with the
        article's offsets."""
        passage = hit.passage
        return cls(
            n=n,
            doc_id=passage.doc_id,
            title=passage.title,
            quote=passage.text[start:end] if quote is None else quote,
            start=passage.start + start,
            end=passage.start + end,
            outlet=passage.outlet,
            published=passage.published,
            url=passage.url,
            passage_key=passage.key,
            also_in=hit.also_in,
            # hits pickled before the field existed (bench dumps) have none
            also_outlets=getattr(hit, "also_outlets", ()),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
            "quote": self.quote,
            "also_in": list(self.also_in),
            "also_outlets": list(self.also_outlets),
        }


@dataclass(frozen=True, slots=True)
class Coverage:
    """The articles an answer drew on: how many, and the date window they span."""

    articles: int = 0
    start: date | None = None
    end: date | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
        }

    def describe(self) -> str:
        if not self.articles:
            return "no articles"
        noun = "article" if self.articles == 1 else "articles"
        if self.start and self.end and self.start != self.end:
            span = f"{self.start:%b %Y} to {self.end:%b %Y}"
            if span.split(" to ")[0] == span.split(" to ")[1]:
                span = f"{self.start:%b %Y}"
            return f"based on {self.articles} {noun}, {span}"
        if self.start:
            return f"based on {self.articles} {noun}, {self.start:%b %Y}"
        return f"based on {self.articles} {noun}"


@dataclass(frozen=True, slots=True)
class ShortAnswer:
    """The direct answer: a verbatim span of citation ``n``'s quote, ``start``/``end`` in the article."""

    text: str
    n: int
    start: int
    end: int

    def render(self) -> str:
        return f"{self.text} [{self.n}]"

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "citation": self.n, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Answer:
    """An answer whose ``text`` carries ``[n]`` markers resolving to ``citations``."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    grounded: bool
    mode: AnswerMode
    coverage: Coverage = field(default_factory=Coverage)
    timings_ms: dict[str, float] = field(default_factory=dict)
    notice: str | None = None
    short: ShortAnswer | None = None
    """The direct answer line, shown before the supporting sentences (offline answers)."""
    confidence: float | None = None
    """How well the best sentence answers (offline answers; refusals below the threshold)."""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "question": self.question,
            "short": self.short.to_json() if self.short else None,
            "answer": self.text,
            "grounded": self.grounded,
            "mode": self.mode,
            "citations": [c.to_json() for c in self.citations],
            "coverage": self.coverage.to_json(),
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.notice:
            data["notice"] = self.notice
        return data


def with_notice(answer: Answer, notice: str) -> Answer:
    """``answer`` carrying ``notice`` (what the reader should know about how it was made)."""
    return replace(answer, notice=notice)


def answered_as(answer: Answer, question: str) -> Answer:
    """``answer`` as the answer to what the user asked, not to the rewritten follow-up."""
    return answer if answer.question == question else replace(answer, question=question)


def coverage_of(citations: tuple[Citation, ...] | list[Citation]) -> Coverage:
    """The coverage window of the articles behind ``citations``."""
    docs = {c.doc_id: c.published for c in citations}
    dates = sorted(d for d in docs.values() if d is not None)
    return Coverage(len(docs), dates[0] if dates else None, dates[-1] if dates else None)


__all__ = [
    "CANNOT_ANSWER",
    "Answer",
    "Citation",
    "Coverage",
    "ShortAnswer",
    "answered_as",
    "coverage_of",
    "with_notice",
]
