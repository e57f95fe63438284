"""Timelines: a topic's stories as dated events, each told by its best sentence and its source.

The stories are those a summary would cover (:mod:`prompts.stories`); each event is the
story's lead sentence, quoted and cited, dated by when the story was published.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from prompts.citations import CANNOT_ANSWER, Answer, Citation, Coverage, coverage_of
from prompts.excerpts import Numbering, Picker
from prompts.extractive import key_terms
from prompts.searching import SearchScope
from prompts.stories import SummaryOptions
from prompts.summaries import LEFT_OUT, Story, article_refs, gather, topic_window
from prompts.timeframes import join_notices, stale_notice
from retrieval.search import Filters


class TimelineEvent(Story):
    """One dated event: the sentence that tells it, cited, and the articles that reported it
    (a story told by one sentence; same fields and JSON as :class:`prompts.summaries.Story`)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Timeline:
    """Events in date order; their texts carry ``[n]`` markers into ``citations``."""

    topic: str
    events: tuple[TimelineEvent, ...]
    citations: tuple[Citation, ...]
    coverage: Coverage = field(default_factory=Coverage)
    notice: str | None = None
    filters: Filters = field(default_factory=Filters)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def grounded(self) -> bool:
        return bool(self.events)

    def render_text(self) -> str:
        """A dated bullet per event: ``- 15 Dec 2021 — sentence [1] (Al Jazeera)``."""
        if not self.events:
            return CANNOT_ANSWER
        return "\n".join(f"- {e.when} — {e.text} ({', '.join(e.outlets)})" for e in self.events)

    def as_answer(self) -> Answer:
        """The timeline as an :class:`Answer`, for front ends that render answers."""
        return Answer(
            question=f"Timeline: {self.topic}",
            text=self.render_text(),
            citations=self.citations,
            grounded=self.grounded,
            mode="extractive",
            coverage=self.coverage,
            timings_ms=self.timings_ms,
            notice=self.notice,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "topic": self.topic,
            "grounded": self.grounded,
            "coverage": self.coverage.to_json(),
            "filters": self.filters.to_json(),
            "events": [e.to_json() for e in self.events],
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.notice:
            data["notice"] = self.notice
        return data

    def __str__(self) -> str:
        return self.render_text()


def build_timeline(
    scope: SearchScope,
    topic: str,
    since: date | None = None,
    until: date | None = None,
    outlet: str | None = None,
    *,
    today: date | None = None,
    options: SummaryOptions | None = None,
) -> Timeline:
    """The timeline of ``topic``; blocking (run it in a thread from async code)."""
    started = time.perf_counter()
    options, today = options or SummaryOptions(), today or scope.today()
    query, filters = topic_window(topic, Filters(since, until, outlet), today)
    stories, left_out, timings = gather(scope, query, filters, options)
    picker, numbering = Picker(key_terms(query)), Numbering()
    events = []
    for story in stories:
        lead = picker.pick(story.hits, 1)
        if lead:
            text, cited = numbering.cite(lead)
            events.append(
                TimelineEvent(
                    story.start,
                    story.end,
                    story.lead.hits[0].passage.title,
                    text,
                    cited,
                    article_refs(story.hits),
                )
            )
    citations = tuple(numbering.citations)
    coverage = coverage_of(citations)
    noun = ("y", "is") if left_out == 1 else ("ies", "are")
    notice = join_notices(
        stale_notice(coverage.end, today, "The newest event here"),
        LEFT_OUT.format(n=left_out, ies=noun[0], are=noun[1]) if left_out else None,
    )
    timings["total"] = (time.perf_counter() - started) * 1000
    return Timeline(topic, tuple(events), citations, coverage, notice, filters, timings)


async def timeline(
    scope: SearchScope,
    topic: str,
    since: date | None = None,
    until: date | None = None,
    outlet: str | None = None,
    *,
    today: date | None = None,
    options: SummaryOptions | None = None,
) -> Timeline:
    """:func:`build_timeline` off the event loop."""
    import asyncio

    return await asyncio.to_thread(
        build_timeline, scope, topic, since, until, outlet, today=today, options=options
    )


__all__ = ["Timeline", "TimelineEvent", "build_timeline", "timeline"]
