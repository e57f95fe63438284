"""The core every front end talks to: one Desk holds the index and the answerers.

CONTRACT (stable; front ends and the model-answer code rely on it):

    desk = Desk.open(settings, data_dir=None)        # loads (or builds) the index
    answer = await desk.ask(question, history=(), mode=None, since=None, until=None, outlet=None)
    answer = desk.ask_offline(question, history=(), since=None, until=None, outlet=None)
    async for item in desk.ask_stream(question, ...):  # drafts (model mode), then the Answer
    hits = desk.search(query, k=None, since=None, until=None, outlet=None)  # list[SearchHit]
    report = desk.reindex(corpus=None, rebuild=False, progress=None, source=None)  # blocking; thread
    stats = desk.stats()                                # CoverageStats
    desk.close()

Errors a front end shows as a one-line message: QuestionError (empty / too long question),
ReindexBusy (a reindex is already running), config.ConfigError, retrieval.sources.CorpusError.
During a reindex, questions are answered from the last good index; the new one is swapped in
atomically when it is complete.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from config.settings import Settings
from prompts.citations import Answer, answered_as
from prompts.extractive import answer_extractively
from prompts.model_answering import ModelAnswering
from prompts.questions import QuestionError, Turn, check_question, standalone_question
from prompts.summarising import Summarising
from retrieval.catalog import Catalog
from retrieval.index import CoverageStats, NewsIndex, Progress, ReindexBusy, ReindexReport, default_data_dir
from retrieval.models import SearchHit
from retrieval.search import Filters, HybridSearcher
from retrieval.sources import CorpusError

__all__ = [
    "CorpusError",
    "CoverageStats",
    "Desk",
    "QuestionError",
    "ReindexBusy",
    "Turn",
    "check_question",
    "default_data_dir",
    "standalone_question",
]


def resolve_mode(settings: Settings, mode: str | None) -> str:
    """The answer mode asked for (or configured): "auto" is the model when one is configured."""
    mode = mode or settings.answer.mode
    if mode == "auto":
        llm = settings.llm
        return "llm" if llm.base_url or Settings.secret(llm.api_key_env) else "extractive"
    return mode


class Desk(ModelAnswering, Summarising):
    """The index and answerers behind every front end; see the module docstring."""

    def __init__(self, index: NewsIndex) -> None:
        self.index = index
        self.settings = index.settings
        self.data_dir = index.data_dir
        self.index_root = index.index_root
        self.encoder = index.encoder

    @classmethod
    def open(
        cls,
        settings: Settings,
        data_dir: Path | None = None,
        build: bool = True,
        progress: Progress | None = None,
    ) -> Desk:
        """Open the index under ``data_dir``, building it from the corpus first if there is none."""
        if resolve_mode(settings, None) == "llm":
            from prompts.templates import load_prompts

            load_prompts()  # a broken template fails at start-up, not on the first question
        return cls(NewsIndex.open(settings, data_dir, build, progress))

    @property
    def searcher(self) -> HybridSearcher:
        return self.index.searcher

    @property
    def catalog(self) -> Catalog:
        return self.searcher.catalog

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
        return self.searcher.search(query, k, Filters(since, until, outlet))

    def ask_offline(
        self,
        question: str,
        history: Sequence[Turn] = (),
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Answer:
        """The extractive answer: cited sentences of the coverage, or a plain refusal."""
        started = time.perf_counter()
        question = self.check_question(question)
        query = standalone_question(question, history)
        # dates in the question narrow the search; "latest" keeps the newest story
        frame, asked = self._timeframe(query, since, until), question
        question, query = self._untimed(question), self._untimed(query)
        filters = Filters(frame.since, frame.until, outlet)
        hits = self._timed_hits(frame, self.searcher.search(query, None, filters))
        searched = time.perf_counter()
        answer = answer_extractively(
            question,
            hits,
            min_relevance=self.settings.answer.min_relevance,
            max_sentences=self.settings.answer.max_sentences,
        )
        done = time.perf_counter()
        answer.timings_ms.update(
            {
                "retrieval": (searched - started) * 1000,
                "answer": (done - searched) * 1000,
                "total": (done - started) * 1000,
            }
        )
        # say when the question's window is empty or the evidence is old
        return self._dated(answered_as(answer, asked), frame)

    async def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        mode: str | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Answer:
        """Answer in the configured (or given) mode; offline when no model is configured."""
        resolved = self.resolve_mode(mode)
        if resolved == "llm":
            return await self._ask_model(question, history, since, until, outlet)
        # off the event loop: a Discord bot keeps acknowledging others while this one searches
        return await asyncio.to_thread(self.ask_offline, question, history, since, until, outlet)

    def resolve_mode(self, mode: str | None) -> str:
        return resolve_mode(self.settings, mode)

    # -- writing ---------------------------------------------------------------------------

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport:
        """Re-read the corpus and update the index; blocking (run it in a thread)."""
        return self.index.reindex(corpus, rebuild, progress, source)

    def stats(self) -> CoverageStats:
        return self.index.stats()

    def close(self) -> None:
        self.index.close()
