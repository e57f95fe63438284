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
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from prompts.citations import Answer, answered_as
from prompts.extractive import answer_extractively
from prompts.model_answering import ModelAnswering
from prompts.questions import QuestionError, Turn, check_question, standalone_question
from prompts.summarising import Summarising
from retrieval.catalog import Catalog, current_generation
from retrieval.index import IndexBuilder, Progress, ReindexBusy, ReindexReport
from retrieval.minilm import MiniLMEncoder
from retrieval.models import SearchHit
from retrieval.search import Filters, HybridSearcher
from retrieval.sources import CorpusError, read_folder

__all__ = [
    "CorpusError",
    "CoverageStats",
    "Desk",
    "QuestionError",
    "ReindexBusy",
    "Turn",
    "check_question",
    "standalone_question",
]


def default_data_dir() -> Path:
    import os

    from platformdirs import user_data_dir

    env = os.environ.get("NEWSDESK_DATA_DIR")
    return Path(env) if env else Path(user_data_dir("newsdesk", appauthor=False))


@dataclass(frozen=True, slots=True)
class CoverageStats:
    articles: int
    passages: int
    outlets: tuple[str, ...]
    start: date | None
    end: date | None
    last_reindex: datetime | None


class Desk(ModelAnswering, Summarising):
    """The index and answerers behind every front end; see the module docstring."""

    def __init__(self, settings: Settings, data_dir: Path, encoder: MiniLMEncoder) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.index_root = data_dir / "index"
        self.encoder = encoder
        self._searcher: HybridSearcher | None = None
        self._swap = threading.Lock()
        self._embed_model: Any = None
        self._stats: tuple[Catalog, CoverageStats] | None = None

    @classmethod
    def open(
        cls,
        settings: Settings,
        data_dir: Path | None = None,
        build: bool = True,
        progress: Progress | None = None,
    ) -> Desk:
        """Open the index under ``data_dir``, building it from the corpus first if there is none."""
        desk = cls(
            settings,
            data_dir or settings.data_dir or default_data_dir(),
            MiniLMEncoder(threads=settings.embedding.threads),
        )
        if desk.resolve_mode(None) == "llm":
            from prompts.templates import load_prompts

            load_prompts()  # a broken template fails at start-up, not on the first question
        # start from the index other processes published (postgres)
        desk._follow_shared_index(force=True)
        has_index = current_generation(desk.index_root) is not None
        if not has_index and build:
            desk.reindex(progress=progress)
        if desk._searcher is None and (has_index or build):
            desk._load()
        return desk

    # -- reading ---------------------------------------------------------------------------

    def _load(self) -> None:
        generation = current_generation(self.index_root)
        if generation is None:
            raise CorpusError(f"no index in {self.data_dir}; run 'newsdesk index' first")
        if self._searcher is not None and self._searcher.generation == generation:
            return
        searcher = HybridSearcher(
            generation, self.settings.store, self.settings.search, self._query_encoder()
        )
        if self.settings.sources:  # syndicated copies grouped into stories by the last collection
            from retrieval.collecting import read_stories

            searcher.stories = read_stories(self.data_dir).story_of
        with self._swap:
            old, self._searcher = self._searcher, searcher
        if old is not None:
            old.close()

    # several processes share one index; each follows the one last published.
    def _follow_shared_index(self, force: bool = False) -> None:
        """Switch to the newest generation (``index/CURRENT``, on postgres the database's) when
        another process built one; checked at most every ``store.poll_s`` seconds."""
        now = time.monotonic()
        if not force and now - getattr(self, "_polled_at", -1e9) < self.settings.store.poll_s:
            return
        self._polled_at = now
        if self.settings.store.backend == "postgres":
            from retrieval.pgindex import sync_generation
            from retrieval.store import StoreError

            try:
                sync_generation(self.settings, self.index_root)
            except StoreError as exc:  # keep answering from the index we have
                logging.getLogger(__name__).warning("cannot check for a newer index: %s", exc)
        generation = current_generation(self.index_root)
        if self._searcher is not None and generation not in (None, self._searcher.generation):
            self._load()

    def _query_encoder(self) -> Any:
        if self.settings.embedding.provider == "minilm":
            return self.encoder
        return _EmbeddingQueries(self._indexing_embedder())

    @property
    def searcher(self) -> HybridSearcher:
        # pick up an index another process built, without a restart
        self._follow_shared_index()
        if self._searcher is None:
            self._load()
        if self._searcher is None:
            raise CorpusError(f"no index in {self.data_dir}; run 'newsdesk index' first")
        # vectors of another embedder: one plain line, not a failure deep inside a search
        self._searcher.catalog.check_embedder(self.settings.embedding)
        return self._searcher

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
        mode = mode or self.settings.answer.mode
        if mode == "auto":
            llm = self.settings.llm
            return "llm" if llm.base_url or Settings.secret(llm.api_key_env) else "extractive"
        return mode

    # -- writing ---------------------------------------------------------------------------

    def _indexing_embedder(self) -> Any:
        if self._embed_model is None:
            from retrieval.embedding import build_embedder

            self._embed_model = build_embedder(self.settings.embedding, self.encoder)
        return self._embed_model

    def corpus_path(self, corpus: Path | None = None) -> Path:
        if corpus is not None:
            return corpus
        if self.settings.corpus.path is not None:
            return self.settings.corpus.path
        from corpus import SAMPLE_CORPUS

        return SAMPLE_CORPUS

    def reindex(
        self,
        corpus: Path | None = None,
        rebuild: bool = False,
        progress: Progress | None = None,
        source: str | None = None,
    ) -> ReindexReport:
        """Re-read the corpus and update the index; blocking (run it in a thread)."""
        # configured sources (folders, URL lists, feeds); ``source`` refreshes one.
        if self.settings.sources and corpus is None:
            from retrieval.collecting import collect

            collected = collect(self.settings, self.data_dir, only=source)
            articles, problems, where = collected.articles, collected.problems, "the configured sources"
        elif source is not None:
            raise CorpusError("no sources are configured; add a 'sources:' list to the config")
        else:
            folder = self.corpus_path(corpus)
            articles, problems = read_folder(folder, self.settings.corpus.manifest)
            where = str(folder)
        if progress:
            progress(0, 0, f"read {len(articles)} articles from {where}")
        # build on what another process may have published meanwhile
        self._follow_shared_index(force=True)
        builder = IndexBuilder(self.settings, self.index_root, self._indexing_embedder())
        report = builder.run(articles, problems, rebuild=rebuild, progress=progress)
        if self._searcher is not None or current_generation(self.index_root) is not None:
            self._load()
        return report

    def stats(self) -> CoverageStats:
        catalog = self.catalog
        cached = self._stats
        if cached is not None and cached[0] is catalog:
            return cached[1]
        dates = sorted(d for e in catalog.articles.values() if (d := e.published_date))
        outlets = sorted({e.outlet for e in catalog.articles.values() if e.outlet})
        stats = CoverageStats(
            articles=len(catalog.articles),
            passages=catalog.passages,
            outlets=tuple(outlets),
            start=dates[0] if dates else None,
            end=dates[-1] if dates else None,
            last_reindex=catalog.built,
        )
        self._stats = (catalog, stats)  # a catalog never changes; a reindex brings a new one
        return stats

    def close(self) -> None:
        with self._swap:
            searcher, self._searcher = self._searcher, None
        if searcher is not None:
            searcher.close()


class _EmbeddingQueries:
    """Query vectors from a llama-index embedder (for an API embedding provider)."""

    def __init__(self, embed_model: Any) -> None:
        self.embed_model = embed_model

    def embed_query(self, query: str) -> Any:
        import numpy as np

        return np.asarray(self.embed_model.get_query_embedding(query), dtype=np.float32)
