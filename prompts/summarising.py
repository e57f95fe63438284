"""Summaries and timelines of the coverage, offline or written by the model
(:mod:`prompts.summaries`, :mod:`prompts.timelines`, :mod:`prompts.summary_model`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from prompts.questions import QuestionError
from prompts.searching import Searching
from prompts.stories import SummaryOptions
from prompts.summaries import Summary, summarize_article, summarize_offline
from prompts.timelines import Timeline, build_timeline
from retrieval.search import Filters

if TYPE_CHECKING:
    from prompts.model_answering import ModelAnswers


NO_MODEL = "no model is configured; this is the offline summary."


class Summariser:
    """Summaries of a topic or one article, and timelines, on the searching's clock."""

    def __init__(
        self,
        searching: Searching,
        model: ModelAnswers | None,
        resolve_mode: Callable[[str | None], str],
    ) -> None:
        self.searching = searching
        self.model = model
        self.resolve_mode = resolve_mode

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
    ) -> Summary | Timeline:
        """A cited :class:`Summary` of ``topic`` (or of one ``article``, by id or headline), or
        with ``timeline=True`` a :class:`Timeline`. Both have ``to_json()``, ``render_text()``
        and ``as_answer()``."""
        if article:
            return await asyncio.to_thread(summarize_article, self.searching, article)
        if not (topic and topic.strip()):  # blank too: it names no topic, and it is no question
            raise QuestionError(
                "give a topic to follow" if timeline else "give a topic to summarise, or an article"
            )
        if timeline:
            result: Summary | Timeline = await self.timeline(topic, since, until, outlet)
        else:
            result = await self.topic(topic, since, until, outlet, mode)
        return self.searching.windowed(result, since, until)  # nothing found: a window past the coverage?

    async def topic(
        self,
        topic: str,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
        mode: str | None = None,
    ) -> Summary:
        """The summary of ``topic`` in the configured (or given) mode."""
        if self.resolve_mode(mode) != "llm":
            return await asyncio.to_thread(summarize_offline, self.searching, topic, since, until, outlet)
        from prompts.summary_model import summarize_with_model

        answerer = (
            self.model.answerer() if self.model else "no model is configured; this is the offline summary."
        )
        today = self.searching.today()
        return await summarize_with_model(
            self.searching, answerer, topic, Filters(since, until, outlet), today, SummaryOptions()
        )

    async def timeline(
        self,
        topic: str,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Timeline:
        """The topic's stories as dated, cited events; off the event loop."""
        return await asyncio.to_thread(build_timeline, self.searching, topic, since, until, outlet)
