"""Summaries of the coverage: a topic's stories in date order, or one article, every sentence cited.

Map-reduce over stories (:mod:`prompts.stories` selects and groups the evidence): offline each
story is summarised by its representative sentences (:mod:`prompts.excerpts`) and the overall
summary is each story's lead sentence, in date order; in model mode the model writes both from
the evidence and every sentence is verified as answers are (:mod:`prompts.summary_model`).
Every summary states the coverage window it drew on, warns when its newest article is old, and
notes which outlets covered each story and what only one of them mentions.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from prompts.citations import CANNOT_ANSWER, Answer, AnswerMode, Citation, Coverage, coverage_of
from prompts.excerpts import Numbering, Picker, reading_order
from prompts.extractive import key_terms
from prompts.searching import SearchScope
from prompts.stories import StoryHits, SummaryOptions, cluster_stories, main_stories, select_passages
from prompts.timeframes import join_notices, resolve_time, stale_notice, strip_time
from retrieval.models import SearchHit
from retrieval.search import Filters

LEFT_OUT = "{n} smaller stor{ies} on the topic {are} left out."
_NAME = re.compile(r"\b[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")
_CALENDAR = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday january february march april may june "
    "july august september october november december".split()
)


@dataclass(frozen=True, slots=True)
class ArticleRef:
    """An article a story draws on."""

    doc_id: str
    title: str
    outlet: str | None
    published: date | None
    url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "outlet": self.outlet,
            "published": self.published.isoformat() if self.published else None,
            "url": self.url,
        }


def describe_when(start: date | None, end: date | None) -> str:
    """ "15 Dec 2021", "2–3 Feb 2022", "28 Feb – 3 Mar 2022", or "undated"."""
    if start is None or end is None:
        return "undated"
    if start == end:
        return f"{start.day} {start:%b %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%b %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


@dataclass(frozen=True, slots=True)
class Story:
    """One event or story of the coverage: its dates, a headline, and its cited summary."""

    start: date | None
    end: date | None
    label: str
    text: str
    citations: tuple[Citation, ...]
    articles: tuple[ArticleRef, ...]

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.outlet or "Unknown outlet" for a in self.articles))

    @property
    def when(self) -> str:
        return describe_when(self.start, self.end)

    def heading(self) -> str:
        return f"{self.when} · {', '.join(self.outlets)} — {self.label}"

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat() if self.start else None,
            "to": self.end.isoformat() if self.end else None,
            "label": self.label,
            "text": self.text,
            "outlets": list(self.outlets),
            "citations": [c.n for c in self.citations],
            "articles": [a.to_json() for a in self.articles],
        }


@dataclass(frozen=True, slots=True)
class OutletNote:
    """Where outlets differ on a story: who covered it, and names only one of them mentions."""

    story: int
    """Index into :attr:`Summary.stories`."""
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"story": self.story, "text": self.text}


@dataclass(frozen=True, slots=True)
class Summary:
    """A summary whose ``text`` (and each story's) carries ``[n]`` markers into ``citations``."""

    topic: str
    text: str
    citations: tuple[Citation, ...]
    stories: tuple[Story, ...]
    mode: AnswerMode
    coverage: Coverage = field(default_factory=Coverage)
    outlet_notes: tuple[OutletNote, ...] = ()
    notice: str | None = None
    filters: Filters = field(default_factory=Filters)
    timings_ms: dict[str, float] = field(default_factory=dict)

    @property
    def grounded(self) -> bool:
        return bool(self.citations)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "topic": self.topic,
            "mode": self.mode,
            "grounded": self.grounded,
            "summary": self.text,
            "coverage": self.coverage.to_json(),
            "filters": self.filters.to_json(),
            "stories": [s.to_json() for s in self.stories],
            "outlet_notes": [n.to_json() for n in self.outlet_notes],
            "citations": [c.to_json() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }
        if self.notice:
            data["notice"] = self.notice
        return data

    def render_text(self) -> str:
        """The summary for reading: overall text (model mode), each story under a heading,
        then where outlets differ. Citation markers as in :attr:`text`."""
        blocks = [self.text] if self.mode == "llm" or not self.stories else []
        blocks += [f"{story.heading()}\n{story.text}" for story in self.stories]
        if self.outlet_notes:
            blocks.append("Where outlets differ:\n" + "\n".join(f"- {n.text}" for n in self.outlet_notes))
        return "\n\n".join(blocks)

    def as_answer(self) -> Answer:
        """The summary as an :class:`Answer`, for front ends that render answers."""
        return Answer(
            question=f"Summary: {self.topic}",
            text=self.render_text(),
            citations=self.citations,
            grounded=self.grounded,
            mode=self.mode,
            coverage=self.coverage,
            timings_ms=self.timings_ms,
            notice=self.notice,
        )

    def __str__(self) -> str:
        return self.render_text()


def article_refs(hits: Sequence[SearchHit]) -> tuple[ArticleRef, ...]:
    refs = {
        h.passage.doc_id: ArticleRef(
            h.passage.doc_id, h.passage.title, h.passage.outlet, h.passage.published, h.passage.url
        )
        for h in hits
    }
    return tuple(sorted(refs.values(), key=lambda a: (a.published or date.max, a.doc_id)))


def names_in(hits: Sequence[SearchHit]) -> Counter[str]:
    """Capitalised names in the hits' sentences (not a sentence's first word, not a weekday)."""
    found: Counter[str] = Counter()
    for hit in hits:
        for sentence in hit.passage.sentence_texts():
            for match in _NAME.finditer(sentence.strip(), 1):
                name = match.group(0)
                if name.lower() not in _CALENDAR and key_terms(name):
                    found[name] += 1
    return found


def outlet_notes(
    stories: Sequence[Story], evidence: Sequence[Sequence[SearchHit]], topic: str
) -> tuple[OutletNote, ...]:
    """Per story: the outlets that covered it and, when several did, names only one mentions."""
    all_outlets = {o for s in stories for o in s.outlets}
    topic_words = set(topic.lower().split())
    notes = []
    for i, (story, hits) in enumerate(zip(stories, evidence, strict=True)):
        outlets = story.outlets
        if len(outlets) == 1:
            if len(all_outlets) > 1:
                notes.append(OutletNote(i, f"{story.when}: only {outlets[0]} covered this."))
            continue
        own = {o: [h for h in hits if (h.passage.outlet or "Unknown outlet") == o] for o in outlets}
        only = []
        for outlet, mine in own.items():
            others = " ".join(h.passage.text for o, hs in own.items() if o != outlet for h in hs).lower()
            names = [
                n
                for n, _ in names_in(mine).most_common()
                if not any(w in others or w in topic_words for w in n.lower().split())
            ][:3]
            if names:
                only.append(f"only {outlet} mentions {', '.join(names)}")
        detail = f"; {'; '.join(only)}" if only else ""
        notes.append(OutletNote(i, f"{story.when}: covered by {' and '.join(outlets)}{detail}."))
    return tuple(notes)


def cannot_summarise(topic: str, filters: Filters, notice: str | None = None) -> Summary:
    return Summary(
        topic=topic,
        text=CANNOT_ANSWER,
        citations=(),
        stories=(),
        mode="extractive",
        notice=notice,
        filters=filters,
    )


def extractive_summary(
    topic: str, stories: Sequence[StoryHits], options: SummaryOptions, filters: Filters | None = None
) -> Summary:
    """Each story's representative sentences; overall, each story's lead sentence, date order."""
    filters = filters or Filters()
    picker = Picker(key_terms(topic))
    numbering = Numbering()
    built: list[Story] = []
    leads, evidence = [], []
    for story in stories:
        excerpts = picker.pick(story.hits, options.sentences_per_story)
        if not excerpts:
            continue
        text, cited = numbering.cite(reading_order(excerpts))
        built.append(
            Story(
                story.start,
                story.end,
                story.lead.hits[0].passage.title,
                text,
                cited,
                article_refs(story.hits),
            )
        )
        leads.append(excerpts[0])
        evidence.append(story.hits)
    if not built:
        return cannot_summarise(topic, filters)
    overall, _ = numbering.cite(leads)
    citations = tuple(numbering.citations)
    return Summary(
        topic=topic,
        text=overall,
        citations=citations,
        stories=tuple(built),
        mode="extractive",
        coverage=coverage_of(citations),
        outlet_notes=outlet_notes(built, evidence, topic),
        filters=filters,
    )


def finish(summary: Summary, today: date, left_out: int, timings: dict[str, float]) -> Summary:
    """The summary with its notices (old evidence, stories left out) and timings."""
    noun = ("y", "is") if left_out == 1 else ("ies", "are")
    dropped = LEFT_OUT.format(n=left_out, ies=noun[0], are=noun[1]) if left_out else None
    stale = stale_notice(summary.coverage.end, today, "The newest article in this summary")
    summary.timings_ms.update(timings)
    return replace(summary, notice=join_notices(summary.notice, stale, dropped))


def topic_window(topic: str, filters: Filters, today: date) -> tuple[str, Filters]:
    """The topic without its window phrases, and the filters narrowed by them
    ("Putin and Xi meetings since 2023" searches "Putin and Xi meetings" from 2023-01-01)."""
    frame = resolve_time(topic, today).within(filters.since, filters.until)
    return strip_time(topic), Filters(frame.since, frame.until, filters.outlet)


def gather(
    scope: SearchScope, topic: str, filters: Filters, options: SummaryOptions
) -> tuple[list[StoryHits], int, dict[str, float]]:
    """The topic's stories (the most relevant ``max_stories``), how many were left out, timings."""
    started = time.perf_counter()
    topic = scope.check_question(topic)
    hits = select_passages(scope.searcher, topic, filters, options)
    selected = time.perf_counter()
    stories, left_out = main_stories(cluster_stories(hits, options), options.max_stories)
    clustered = time.perf_counter()
    return (
        stories,
        left_out,
        {"select": (selected - started) * 1000, "cluster": (clustered - selected) * 1000},
    )


def summarize_offline(
    scope: SearchScope,
    topic: str,
    since: date | None = None,
    until: date | None = None,
    outlet: str | None = None,
    *,
    today: date | None = None,
    options: SummaryOptions | None = None,
) -> Summary:
    """The extractive summary of ``topic``; blocking (run it in a thread from async code)."""
    started = time.perf_counter()
    options, today = options or SummaryOptions(), today or scope.today()
    query, filters = topic_window(topic, Filters(since, until, outlet), today)
    stories, left_out, timings = gather(scope, query, filters, options)
    summary = replace(extractive_summary(query, stories, options, filters), topic=topic)
    timings["total"] = (time.perf_counter() - started) * 1000
    return finish(summary, today, left_out, timings)


def find_article(scope: SearchScope, ref: str) -> str | None:
    """The doc id of the article ``ref`` names: its id, its headline, or the best search hit."""
    articles = scope.catalog.articles
    if ref in articles:
        return ref
    wanted = key_terms(ref)
    if not wanted:
        return None
    shares = {d: len(wanted & key_terms(e.title)) / len(wanted) for d, e in articles.items()}
    best = max(shares, key=lambda d: shares[d], default=None)
    if best is not None and shares[best] >= 0.6:
        return best
    hits = scope.search(ref, k=1)
    return hits[0].passage.doc_id if hits and (hits[0].dense_score or 0.0) >= 0.35 else None


def article_hits(scope: SearchScope, doc_id: str, options: SummaryOptions) -> list[SearchHit]:
    """The passages of one article, in text order."""
    from prompts.stories import wide_searcher

    entry = scope.catalog.articles[doc_id]
    day = entry.published_date
    searcher = wide_searcher(scope.searcher, options.pool)
    hits = searcher.search(entry.title or doc_id, options.max_passages, Filters(day, day))
    return sorted((h for h in hits if h.passage.doc_id == doc_id), key=lambda h: h.passage.start)


def summarize_article(
    scope: SearchScope, article: str, *, today: date | None = None, options: SummaryOptions | None = None
) -> Summary:
    """A short extractive summary of one article, by id or headline; blocking."""
    started = time.perf_counter()
    options = options or SummaryOptions()
    doc_id = find_article(scope, " ".join(article.split()))
    hits = article_hits(scope, doc_id, options) if doc_id else []
    if not hits:
        return cannot_summarise(article, Filters(), f"No article matches {article!r}.")
    title = hits[0].passage.title
    picker = Picker(key_terms(title))
    excerpts = reading_order(picker.pick(hits, options.sentences_per_story + 1))
    text, cited = Numbering().cite(excerpts)
    refs = article_refs(hits)
    story = Story(refs[0].published, refs[0].published, title, text, cited, refs)
    summary = Summary(
        topic=title,
        text=text,
        citations=cited,
        stories=(story,),
        mode="extractive",
        coverage=coverage_of(cited),
    )
    return finish(summary, today or scope.today(), 0, {"total": (time.perf_counter() - started) * 1000})


__all__ = [
    "ArticleRef",
    "OutletNote",
    "Story",
    "Summary",
    "SummaryOptions",
    "describe_when",
    "extractive_summary",
    "find_article",
    "outlet_notes",
    "summarize_article",
    "summarize_offline",
    "topic_window",
]
