"""The core every front end talks to: one Desk, built from its parts, delegating to them.

CONTRACT (stable; front ends rely on it):

    desk = Desk.open(settings, data_dir=None, today=None)  # loads (or builds) the index
    answer = await desk.ask(question, history=(), mode=None, since=None, until=None, outlet=None)
    answer = desk.ask_offline(question, history=(), since=None, until=None, outlet=None)
    async for item in desk.ask_stream(question, ...):  # drafts (model mode), then the Answer
    hits = desk.search(query, k=None, since=None, until=None, outlet=None)  # list[SearchHit]
    result = await desk.summarize(topic, article=None, timeline=False, ...)  # Summary / Timeline
    report = desk.reindex(corpus=None, rebuild=False, progress=None, source=None)  # blocking; thread
    stats = desk.stats()                                # CoverageStats
    ok = await desk.model_reachable()                   # True / False; None without a model
    await desk.aclose()                                 # or desk.close() outside an event loop

The parts: the index (:class:`retrieval.index.NewsIndex`: open, reindex, follow, describe),
the question search with its one clock (:class:`prompts.searching.Searching`), the offline
answerer, the model answerer (or None), and the summariser. Errors a front end shows as one
line are :class:`config.errors.UserError`s (question, corpus, store, model configuration).
During a reindex, questions are answered from the last good index; the new one is swapped in
atomically when it is complete.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from prompts.citations import Answer, with_notice
from prompts.model_answering import ModelAnswers
from prompts.offline import OfflineAnswerer
from prompts.questions import QuestionError, Turn, check_question, standalone_question
from prompts.searching import Clock, Searching
from prompts.summarising import Summariser
from prompts.timeframes import local_today
from retrieval.catalog import Catalog
from retrieval.index import CoverageStats, NewsIndex, Progress, ReindexBusy, ReindexReport, default_data_dir
from retrieval.models import SearchHit
from retrieval.search import HybridSearcher
from retrieval.sources import CorpusError

if TYPE_CHECKING:
    from prompts.generative import AnswerDraft
    from prompts.summaries import Summary
    from prompts.timelines import Timeline

__all__ = [
    "CorpusError",
    "CoverageStats",
    "Desk",
    "QuestionError",
    "ReindexBusy",
    "Turn",
    "check_question",
    "default_data_dir",
    "resolve_mode",
    "standalone_question",
]

NO_MODEL = "no model is configured; this is the offline answer."


def resolve_mode(settings: Settings, mode: str | None) -> str:
    """The answer mode asked for (or configured): "auto" is the model when one is configured."""
    mode = mode or settings.answer.mode
    if mode == "auto":
        llm = settings.llm
        return "llm" if llm.base_url or Settings.secret(llm.api_key_env) else "extractive"
    return mode


class Desk:
    """The index and answerers behind every front end; see the module docstring."""

    def __init__(
        self,
        index: NewsIndex,
        searching: Searching,
        offline: OfflineAnswerer,
        model: ModelAnswers | None,
        summariser: Summariser,
    ) -> None:
        self.index = index
        self.searching = searching
        self.offline = offline
        self.model = model
        self.summariser = summariser

    @classmethod
    def open(
        cls,
        settings: Settings,
        data_dir: Path | None = None,
        build: bool = True,
        progress: Progress | None = None,
        today: Clock | None = None,
    ) -> Desk:
        """Open the index under ``data_dir`` (building it from the corpus first if there is
        none) and compose the answerers over it, all on the clock ``today``."""
        if resolve_mode(settings, None) == "llm":
            from prompts.templates import load_prompts

            load_prompts()  # a broken template fails at start-up, not on the first question
        index = NewsIndex.open(settings, data_dir, build, progress)
        return cls.compose(index, today or local_today)

    @classmethod
    def compose(cls, index: NewsIndex, today: Clock) -> Desk:
        """The Desk's parts over ``index``, sharing one clock."""
        settings = index.settings
        searching = Searching(index, settings, today)
        offline = OfflineAnswerer(searching, settings.answer)
        model = ModelAnswers(searching, offline, settings, index.encoder)
        summariser = Summariser(searching, model, lambda mode: resolve_mode(settings, mode))
        return cls(index, searching, offline, model, summariser)

    # -- what the parts hold -----------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.index.settings

    @property
    def data_dir(self) -> Path:
        return self.index.data_dir

    @property
    def index_root(self) -> Path:
        return self.index.index_root

    @property
    def encoder(self) -> Any:
        return self.index.encoder

    @property
    def searcher(self) -> HybridSearcher:
        return self.index.searcher

    @property
    def catalog(self) -> Catalog:
        return self.index.catalog

    def today(self) -> date:
        return self.searching.today()

    def stats(self) -> CoverageStats:
        return self.index.stats()

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport:
        """Re-read the corpus and update the index; blocking (run it in a thread)."""
        return self.index.reindex(corpus, rebuild, progress, source)

    # -- questions ---------------------------------------------------------------------------

    def check_question(self, question: str) -> str:
        return self.searching.check_question(question)

    def search(
        self,
        query: str,
        k: int | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> list[SearchHit]:
        return self.searching.search(query, k, since, until, outlet)

    def resolve_mode(self, mode: str | None) -> str:
        return resolve_mode(self.settings, mode)

    def ask_offline(
        self,
        question: str,
        history: Sequence[Turn] = (),
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Answer:
        """The extractive answer: cited sentences of the coverage, or a plain refusal."""
        return self.offline.ask(question, history, since, until, outlet)

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
        if self.resolve_mode(mode) == "llm":
            if self.model is None:
                answer = await asyncio.to_thread(self.ask_offline, question, history, since, until, outlet)
                return with_notice(answer, NO_MODEL)
            return await self.model.ask(question, history, since, until, outlet)
        # off the event loop: a Discord bot keeps acknowledging others while this one searches
        return await asyncio.to_thread(self.ask_offline, question, history, since, until, outlet)

    async def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        mode: str | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> AsyncIterator[AnswerDraft | Answer]:
        """Like :meth:`ask`, for front ends that show the answer as it is written: drafts
        (``prompts.generative.AnswerDraft``, unverified text so far), then the final
        :class:`Answer`, always last. Offline, the answer is the only item."""
        if self.model is None or self.resolve_mode(mode) != "llm":
            yield await self.ask(question, history, mode, since, until, outlet)
            return
        async for item in self.model.stream(question, history, since, until, outlet):
            yield item

    # -- summaries ---------------------------------------------------------------------------

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
        """See :meth:`prompts.summarising.Summariser.summarize`."""
        return await self.summariser.summarize(
            topic, article=article, since=since, until=until, outlet=outlet, timeline=timeline, mode=mode
        )

    async def timeline(
        self, topic: str, since: date | None = None, until: date | None = None, outlet: str | None = None
    ) -> Timeline:
        return await self.summariser.timeline(topic, since, until, outlet)

    # -- the model ---------------------------------------------------------------------------

    async def model_reachable(self) -> bool | None:
        """Whether the model answers (for /status); None when answers are offline."""
        if self.model is None or self.resolve_mode(None) != "llm":
            return None
        return await self.model.reachable()

    # -- closing -----------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close what the Desk opened: the model client, then the index."""
        if self.model is not None:
            await self.model.aclose()
        self.close()

    def close(self) -> None:
        """Close the index (from sync code; a model client is closed by :meth:`aclose`)."""
        self.index.close()
