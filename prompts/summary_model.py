"""Topic summaries written by the chat model, map-reduce, every sentence verified.

Map: each story's best passages go into the ``story_summary`` prompt under keys that are unique
across the summary (P1..Pn); the reply is verified against those passages
(:func:`prompts.verification.verify_answer`). Reduce: the verified story summaries, still citing
their keys, go into the ``overall_summary`` prompt; that reply is verified against all the
passages. A story whose summary does not verify is quoted instead (the offline way); when the
model cannot be reached the whole summary is the offline one, with a notice saying why.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prompts.chat_model import ModelError
from prompts.citations import CANNOT_ANSWER, Citation, coverage_of
from prompts.excerpts import Numbering, Picker, reading_order
from prompts.extractive import key_terms
from prompts.generative import ChatLike, format_passages
from prompts.searching import SearchScope
from prompts.stories import StoryHits, SummaryOptions
from prompts.summaries import (
    Story,
    Summary,
    article_refs,
    cannot_summarise,
    describe_when,
    extractive_summary,
    finish,
    gather,
    outlet_notes,
    topic_window,
)
from prompts.templates import TEMPLATE_DIR, PromptTemplate, load_template
from prompts.timeframes import join_notices
from prompts.verification import SentenceEmbedder, verify_answer
from retrieval.models import SearchHit
from retrieval.search import Filters

if TYPE_CHECKING:
    from prompts.generative import ModelAnswerer

log = logging.getLogger(__name__)

STORY_VARIABLES = frozenset({"today", "topic", "when", "passages", "cannot_answer", "max_sentences"})
OVERALL_VARIABLES = frozenset({"today", "topic", "stories", "cannot_answer", "max_sentences"})
MODEL_UNAVAILABLE = "The language model was unavailable ({reason}), so this summary quotes the coverage."
QUOTED = (
    "The model's summary of {n} stor{ies} could not be checked against the coverage, so {it} {are} quoted."
)
REMOVED = "{n} sentence(s) of the model's summary were left out because their sources don't support them."
#: Model requests in flight at once for one summary.
CONCURRENCY = 4
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class SummaryPrompts:
    story: PromptTemplate
    overall: PromptTemplate


@lru_cache(maxsize=4)
def load_summary_prompts(directory: Path = TEMPLATE_DIR) -> SummaryPrompts:
    """The two summary templates, validated (:class:`prompts.templates.TemplateError` if not)."""
    return SummaryPrompts(
        story=load_template("story_summary", directory, STORY_VARIABLES),
        overall=load_template("overall_summary", directory, OVERALL_VARIABLES),
    )


@dataclass(frozen=True, slots=True)
class Part:
    """Checked text whose ``[n]`` markers number into its own ``citations``."""

    text: str
    citations: tuple[Citation, ...]
    removed: int = 0


@dataclass
class ModelRun:
    """What one model summary needs: the chat model, the verifier's embedder, the prompts."""

    chat: ChatLike
    embedder: SentenceEmbedder
    prompts: SummaryPrompts
    topic: str
    today: date
    options: SummaryOptions

    async def story(self, keyed: Mapping[str, SearchHit], when: str) -> Part | None:
        """The verified summary of one story, or None when nothing of it holds."""
        messages = self.prompts.story.render(
            today=self.today.isoformat(),
            topic=_data(self.topic),
            when=when,
            passages=format_passages(keyed),
            cannot_answer=CANNOT_ANSWER,
            max_sentences=self.options.sentences_per_story,
        )
        return await self._checked(messages, keyed)

    async def overall(self, block: str, keyed: Mapping[str, SearchHit], stories: int) -> Part | None:
        messages = self.prompts.overall.render(
            today=self.today.isoformat(),
            topic=_data(self.topic),
            stories=block,
            cannot_answer=CANNOT_ANSWER,
            max_sentences=min(2 * stories, 8),
        )
        return await self._checked(messages, keyed)

    async def _checked(self, messages: Any, keyed: Mapping[str, SearchHit]) -> Part | None:
        reply = await self.chat.complete(messages)
        checked = await asyncio.to_thread(verify_answer, reply, keyed, self.embedder, self.topic)
        if checked.unknown_keys:
            log.info("summary cited keys that match no passage: %s", ", ".join(checked.unknown_keys))
        if not checked.citations:
            return None
        return Part(checked.text, checked.citations, len(checked.removed))


def _data(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def keyed_stories(stories: Sequence[StoryHits], per_story: int) -> list[dict[str, SearchHit]]:
    """Each story's best passages under keys unique across the summary, P1..Pn."""
    keyed: list[dict[str, SearchHit]] = []
    n = 0
    for story in stories:
        block: dict[str, SearchHit] = {}
        for hit in sorted(story.hits[:per_story], key=lambda h: (h.passage.doc_id, h.passage.start)):
            n += 1
            block[f"P{n}"] = hit
        keyed.append(block)
    return keyed


def with_keys(part: Part, keyed: Mapping[str, SearchHit]) -> str:
    """``part``'s text citing prompt keys again (for the reduce prompt)."""
    key_of = {hit.passage.key: key for key, hit in keyed.items()}
    local = {c.n: key_of.get(c.passage_key) for c in part.citations}
    return _MARKER.sub(
        lambda m: f"[{local[int(m.group(1))]}]" if local.get(int(m.group(1))) else "", part.text
    )


def merge(parts: Sequence[Part]) -> tuple[list[str], tuple[Citation, ...]]:
    """The parts' texts numbered into one list of citations (one per quote), first use first."""
    numbers: dict[tuple[str, int, int], int] = {}
    citations: list[Citation] = []
    texts = []
    for part in parts:
        local: dict[int, int] = {}
        for c in part.citations:
            ident = (c.doc_id, c.start, c.end)
            if ident not in numbers:
                numbers[ident] = len(numbers) + 1
                citations.append(replace(c, n=numbers[ident]))
            local[c.n] = numbers[ident]
        texts.append(renumber(part.text, local))
    return texts, tuple(citations)


def renumber(text: str, numbers: Mapping[int, int]) -> str:
    """``text`` with each ``[n]`` marker replaced by ``[numbers[n]]``."""
    return _MARKER.sub(lambda m: f"[{numbers[int(m.group(1))]}]", text)


def _quoted(story: StoryHits, picker: Picker, limit: int) -> Part:
    text, cited = Numbering().cite(reading_order(picker.pick(story.hits, limit)))
    return Part(text, cited)


def _stories_block(
    stories: Sequence[StoryHits], parts: Sequence[Part], keyed: Sequence[Mapping[str, SearchHit]]
) -> str:
    blocks = []
    for n, (story, part, keys) in enumerate(zip(stories, parts, keyed, strict=True), start=1):
        outlets = ", ".join(dict.fromkeys(a.outlet or "unknown" for a in article_refs(story.hits)))
        when = describe_when(story.start, story.end)
        head = f'<story n="{n}" published="{when}" outlets="{_data(outlets)}">'
        blocks.append(f"{head}\n{_data(with_keys(part, keys))}\n</story>")
    return "\n\n".join(blocks)


async def _map_reduce(run: ModelRun, stories: Sequence[StoryHits]) -> tuple[list[Part], Part | None, int]:
    """Story parts (quoted where the model's did not verify), the overall part, and how many
    stories were quoted."""
    keyed = keyed_stories(stories, run.options.model_passages_per_story)
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(story: StoryHits, keys: Mapping[str, SearchHit]) -> Part | None:
        async with slots:
            return await run.story(keys, describe_when(story.start, story.end))

    drafted = await asyncio.gather(*(one(s, k) for s, k in zip(stories, keyed, strict=True)))
    picker = Picker(key_terms(run.topic))
    limit = run.options.sentences_per_story
    parts = [p or _quoted(s, picker, limit) for p, s in zip(drafted, stories, strict=True)]
    quoted = sum(p is None for p in drafted)
    overall = None
    if len(stories) > 1:
        every = {k: h for block in keyed for k, h in block.items()}
        overall = await run.overall(_stories_block(stories, parts, keyed), every, len(stories))
    return parts, overall, quoted


def assemble(
    run: ModelRun,
    stories: Sequence[StoryHits],
    parts: list[Part],
    overall: Part | None,
    quoted: int,
    filters: Filters,
) -> Summary:
    texts, citations = merge([*parts, *([overall] if overall else [])])
    by_n = {c.n: c for c in citations}
    built = []
    for story, text in zip(stories, texts[: len(stories)], strict=True):
        cited = tuple(by_n[n] for n in dict.fromkeys(int(m) for m in _MARKER.findall(text)))
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
    removed = sum(p.removed for p in [*parts, *([overall] if overall else [])])
    noun = ("y", "is") if quoted == 1 else ("ies", "are")
    notice = join_notices(
        QUOTED.format(n=quoted, ies=noun[0], it="it" if quoted == 1 else "they", are=noun[1])
        if quoted
        else None,
        REMOVED.format(n=removed) if removed else None,
    )
    text = texts[-1] if overall else "\n\n".join(texts)
    return Summary(
        topic=run.topic,
        text=text,
        citations=citations,
        stories=tuple(built),
        mode="llm",
        coverage=coverage_of(citations),
        outlet_notes=outlet_notes(built, [s.hits for s in stories], run.topic),
        notice=notice,
        filters=filters,
    )


async def summarize_with_model(
    scope: SearchScope,
    answerer: ModelAnswerer | str,
    topic: str,
    filters: Filters,
    today: date,
    options: SummaryOptions,
) -> Summary:
    """The model's verified summary of ``topic``; the offline one, with a notice, when there is
    no model or it cannot be reached."""
    started = time.perf_counter()
    query, filters = topic_window(topic, filters, today)
    stories, left_out, timings = await asyncio.to_thread(gather, scope, query, filters, options)
    if not stories:
        summary = cannot_summarise(topic, filters)
    elif isinstance(answerer, str):
        summary = replace(extractive_summary(query, stories, options, filters), notice=answerer)
    else:
        run = ModelRun(answerer.chat, answerer.embedder, load_summary_prompts(), query, today, options)
        model_started = time.perf_counter()
        try:
            parts, overall, quoted = await _map_reduce(run, stories)
            summary = assemble(run, stories, parts, overall, quoted, filters)
        except ModelError as exc:
            log.warning("model summary failed: %s", exc)
            summary = replace(
                extractive_summary(query, stories, options, filters),
                notice=MODEL_UNAVAILABLE.format(reason=exc),
            )
        timings["model"] = (time.perf_counter() - model_started) * 1000
    timings["total"] = (time.perf_counter() - started) * 1000
    return finish(replace(summary, topic=topic), today, left_out, timings)


__all__ = [
    "MODEL_UNAVAILABLE",
    "OVERALL_VARIABLES",
    "QUOTED",
    "REMOVED",
    "STORY_VARIABLES",
    "Part",
    "SummaryPrompts",
    "load_summary_prompts",
    "merge",
    "summarize_with_model",
]
