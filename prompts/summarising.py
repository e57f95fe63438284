"""The Desk's summaries, timelines and dates in questions (:mod:`prompts.summaries`,
:mod:`prompts.timelines`, :mod:`prompts.timeframes`; imported when first used)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, cast

from prompts.citations import Answer, with_notice
from prompts.questions import QuestionError
from retrieval.models import SearchHit

if TYPE_CHECKING:
    from config.settings import Settings
    from prompts.desk import Desk


class Summarising:
    """Summaries, timelines, and time-aware questions; a Desk mixin."""

    if TYPE_CHECKING:  # provided by Desk
        settings: Settings

        def stats(self) -> Any: ...

    def today(self) -> date:
        """Today, for "latest", "last year" and old-evidence notices (tests replace it)."""
        from prompts.timeframes import local_today

        return local_today()

    def _timeframe(self, question: str, since: date | None, until: date | None) -> Any:
        from prompts.timeframes import resolve_time

        return resolve_time(question, self.today()).within(since, until)

    def _untimed(self, text: str) -> str:
        from prompts.timeframes import strip_time

        return strip_time(text)

    def _timed_hits(self, frame: Any, hits: list[SearchHit]) -> list[SearchHit]:
        from prompts.timeframes import focus_recent

        if not frame.prefer_recent:
            return hits
        return focus_recent(hits, self.settings.search.top_k, self.settings.answer.min_relevance)

    def _dated(self, answer: Answer, frame: Any) -> Answer:
        from prompts.timeframes import empty_window_notice, join_notices, stale_notice

        notices = [answer.notice]
        if not answer.citations and frame.phrase:
            stats = self.stats()
            notices.append(empty_window_notice(frame, stats.start, stats.end))
        if frame.prefer_recent:
            notices.append(stale_notice(answer.coverage.end, self.today()))
        notice = join_notices(*notices)
        return answer if notice == answer.notice else with_notice(answer, notice or "")

    @property
    def _desk(self) -> Desk:
        return cast("Desk", self)  # Summarising is only ever mixed into Desk

    async def summarize(
        self,
        topic: str | None = None,
        *,
        article: str | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
        timeline: bool = False,
        mode: str | None = None,
    ) -> Any:
        """A cited :class:`prompts.summaries.Summary` of ``topic`` (or of one ``article``, by id or
        headline), or with ``timeline=True`` a :class:`prompts.timelines.Timeline`. Both have
        ``to_json()``, ``render_text()`` and ``as_answer()``."""
        import asyncio

        from prompts.summaries import summarize_article, summarize_topic

        if article:
            return await asyncio.to_thread(summarize_article, self._desk, article)
        if not topic:
            raise QuestionError("give a topic to summarise, or an article")
        if timeline:
            return await self.timeline(topic, since, until, outlet)
        return await summarize_topic(self._desk, topic, since, until, outlet, mode)

    async def timeline(
        self,
        topic: str,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Any:
        """A :class:`prompts.timelines.Timeline`: the topic's stories as dated, cited events."""
        from prompts.timelines import timeline

        return await timeline(self._desk, topic, since, until, outlet)
