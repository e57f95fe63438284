"""How a question searches the index: checked, its dates read against one clock.

Every answerer, summary and timeline searches through one :class:`Searching`, so "latest",
"in 2022" and "last year" mean the same thing everywhere and the injected ``today`` reaches
all of them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar, Protocol, TypeVar

from config.settings import Settings
from prompts.citations import Answer, Citation, with_notice
from prompts.questions import check_question
from prompts.timeframes import (
    TimeFrame,
    empty_window_notice,
    focus_recent,
    join_notices,
    outside_coverage_notice,
    resolve_time,
    stale_notice,
    strip_time,
)
from retrieval.catalog import Catalog
from retrieval.index import CoverageStats
from retrieval.models import SearchHit
from retrieval.search import Filters, HybridSearcher

#: What "today" is, for every date in a question, summary and notice (tests inject a fixed day).
Clock = Callable[[], date]


class Index(Protocol):
    """What answering needs of the index (:class:`retrieval.index.NewsIndex` has it)."""

    @property
    def searcher(self) -> HybridSearcher: ...

    @property
    def catalog(self) -> Catalog: ...

    def stats(self) -> CoverageStats: ...


class SearchScope(Protocol):
    """What summaries and timelines search: :class:`Searching` (or a Desk, which delegates)."""

    @property
    def searcher(self) -> HybridSearcher: ...

    @property
    def catalog(self) -> Catalog: ...

    def check_question(self, question: str) -> str: ...

    def search(
        self,
        query: str,
        k: int | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> list[SearchHit]: ...

    def today(self) -> date: ...


class Noticed(Protocol):
    """A result that may carry a notice: an :class:`Answer`, a summary or a timeline."""

    __dataclass_fields__: ClassVar[dict[str, Any]]

    @property
    def citations(self) -> tuple[Citation, ...]: ...

    @property
    def notice(self) -> str | None: ...


_Result = TypeVar("_Result", bound=Noticed)


@dataclass(frozen=True, slots=True)
class Framed:
    """A question's search: the question without its date words, its window, and the hits."""

    query: str
    frame: TimeFrame
    hits: list[SearchHit]


class Searching:
    """The index searched for questions, with one clock; see the module docstring."""

    def __init__(self, index: Index, settings: Settings, today: Clock) -> None:
        self.index = index
        self.settings = settings
        self._today = today

    def today(self) -> date:
        return self._today()

    @property
    def searcher(self) -> HybridSearcher:
        return self.index.searcher

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog

    def check_question(self, question: str) -> str:
        return check_question(question, self.settings.answer.max_question_chars)

    def search(
        self,
        query: str,
        k: int | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> list[SearchHit]:
        query = self.check_question(query)
        filters = Filters(since, until, outlet)
        filters.check_window()
        return self.searcher.search(query, k, filters, asked_on=self.today())

    def framed(
        self, query: str, since: date | None, until: date | None, outlet: str | None, k: int | None = None
    ) -> Framed:
        """The ``k`` best passages (``search.top_k`` by default): dates in the question narrow
        the search ("in 2022"); "latest" keeps the newest story."""
        Filters(since, until, outlet).check_window()  # the user's own window, before the question's
        frame = resolve_time(query, self.today()).within(since, until)
        query = strip_time(query)  # the window is a filter now, not words to match
        hits = self.searcher.search(
            query, k, Filters(frame.since, frame.until, outlet), asked_on=self.today()
        )
        if frame.prefer_recent:
            hits = focus_recent(hits, self.settings.search.top_k, self.settings.answer.min_relevance)
        return Framed(query, frame, hits)

    def dated(self, answer: Answer, frame: TimeFrame) -> Answer:
        """``answer`` with a notice when the question's window is empty or its evidence is old."""
        notices = [answer.notice]
        if not answer.citations and frame.phrase:
            stats = self.index.stats()
            notices.append(empty_window_notice(frame, stats.start, stats.end))
        elif not answer.citations:  # the window given with --since/--until, if any
            notices.append(self.window_notice(frame.since, frame.until))
        if frame.prefer_recent:
            notices.append(stale_notice(answer.coverage.end, self.today()))
        notice = join_notices(*notices)
        return answer if notice == answer.notice else with_notice(answer, notice or "")

    def window_notice(self, since: date | None, until: date | None) -> str | None:
        """Why nothing was found, when the window asked for lies outside the coverage's dates."""
        if not (since or until):
            return None
        stats = self.index.stats()
        return outside_coverage_notice(since, until, stats.start, stats.end)

    def windowed(self, result: _Result, since: date | None, until: date | None) -> _Result:
        """``result`` (an answer, summary or timeline) with :meth:`window_notice` added when it
        cites nothing (the model's answers and summaries, which :meth:`dated` does not see)."""
        if result.citations:
            return result
        notice = self.window_notice(since, until)
        if notice is None or notice in (result.notice or ""):
            return result
        return dataclasses.replace(result, notice=join_notices(result.notice, notice))
