"""The evidence the retrieval layer hands up: articles, passages and search hits."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Article:
    """One cleaned article. ``text`` is what passage offsets and quotes refer to."""

    doc_id: str
    title: str
    text: str
    outlet: str | None = None
    published: date | None = None
    url: str | None = None
    source: str = ""


@dataclass(frozen=True, slots=True)
class Passage:
    """A span of an article's cleaned text, ``text == article.text[start:end]``."""

    key: str
    doc_id: str
    title: str
    text: str
    start: int
    end: int
    outlet: str | None = None
    published: date | None = None
    url: str | None = None
    sentences: tuple[tuple[int, int], ...] = ()
    """Sentence spans relative to ``text``."""
    terms: str = field(default="", compare=False, repr=False)
    """Each sentence's key terms as stored when it was indexed (:func:`retrieval.terms.sentence_terms`),
    or none: a speed-up only, never compared or shown."""

    def sentence_texts(self) -> list[str]:
        spans = self.sentences or ((0, len(self.text)),)
        return [self.text[s:e] for s, e in spans]

    def full(self) -> Passage:
        """Itself (a :class:`PassageRef` that is already whole)."""
        return self


class PassageRef(Protocol):
    """A search candidate as fusion ranks it: its key, article, date and outlet, with
    :meth:`full` for the whole passage. A :class:`Passage` is one; a backend that reads
    passages from disk may hand lighter refs and decode a passage only when it is shown
    (hybrid search reads ~60-70 candidates a question and shows a handful)."""

    @property
    def key(self) -> str: ...
    @property
    def doc_id(self) -> str: ...
    @property
    def outlet(self) -> str | None: ...
    @property
    def published(self) -> date | None: ...
    def full(self) -> Passage: ...


@dataclass(frozen=True, slots=True)
class SearchHit:
    """A passage as ranked by hybrid search; ``also_in`` lists doc ids of collapsed duplicates."""

    passage: Passage
    score: float
    dense_score: float | None = None
    keyword_rank: int | None = None
    dense_rank: int | None = None
    also_in: tuple[str, ...] = field(default_factory=tuple)
    also_outlets: tuple[str, ...] = field(default_factory=tuple)
    """The outlets of those duplicates other than this passage's own, each once: what "+N
    outlets" counts (copies of one file under two names, or from one outlet, are not outlets)."""
