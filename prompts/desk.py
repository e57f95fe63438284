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
import logging  # HOOK(issue 7)
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from config.settings import Settings
from prompts.citations import Answer
from prompts.extractive import answer_extractively
from retrieval.catalog import Catalog, current_generation
from retrieval.index import IndexBuilder, Progress, ReindexBusy, ReindexReport
from retrieval.minilm import MiniLMEncoder
from retrieval.models import SearchHit
from retrieval.search import Filters, HybridSearcher
from retrieval.sources import CorpusError, read_folder

__all__ = ["CorpusError", "CoverageStats", "Desk", "QuestionError", "ReindexBusy", "Turn"]

_ENTITY = re.compile(r"\b(?:[A-Z][\w'’-]+(?:\s+[A-Z][\w'’-]+)*|\d{4})\b")
_FOLLOW_UP = re.compile(r"\b(he|she|they|them|it|its|his|her|their|that|this|those|there|then)\b", re.I)


_QUESTION_WORDS = frozenset("What When Who How Why Where Which Did Does Do Is Are Was Were Will Has".split())


class QuestionError(ValueError):
    """A question that cannot be asked as it is (empty, too long)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One earlier exchange of a conversation."""

    question: str
    answer: str


@dataclass(frozen=True, slots=True)
class CoverageStats:
    articles: int
    passages: int
    outlets: tuple[str, ...]
    start: date | None
    end: date | None
    last_reindex: datetime | None


def check_question(question: str, limit: int) -> str:
    """The question with white space folded; QuestionError when empty or over ``limit``."""
    text = " ".join((question or "").split())
    if not text:
        raise QuestionError("the question is empty; ask something about the coverage")
    if len(text) > limit:
        raise QuestionError(f"the question is {len(text):,} characters; keep it under {limit:,}")
    return text


def default_data_dir() -> Path:
    import os

    from platformdirs import user_data_dir

    env = os.environ.get("NEWSDESK_DATA_DIR")
    return Path(env) if env else Path(user_data_dir("newsdesk", appauthor=False))


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """Offline follow-ups: carry the previous question's names when this one leans on them."""
    if not history:
        return question
    if not (_FOLLOW_UP.search(question) or len(question.split()) <= 5):
        return question
    previous = history[-1].question
    own = {m.lower() for m in _ENTITY.findall(question)}
    carried = [m for m in _ENTITY.findall(previous) if m.lower() not in own and m not in _QUESTION_WORDS]
    return f"{question} ({' '.join(dict.fromkeys(carried))})" if carried else question


class Desk:
    """The index and answerers behind every front end; see the module docstring."""

    def __init__(self, settings: Settings, data_dir: Path, encoder: MiniLMEncoder) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.index_root = data_dir / "index"
        self.encoder = encoder
        self._searcher: HybridSearcher | None = None
        self._swap = threading.Lock()
        self._embed_model: Any = None

    @classmethod
    def open(cls, settings: Settings, data_dir: Path | None = None, build: bool = True,
             progress: Progress | None = None) -> Desk:
        """Open the index under ``data_dir``, building it from the corpus first if there is none."""
        desk = cls(settings, data_dir or settings.data_dir or default_data_dir(),
                   MiniLMEncoder(threads=settings.embedding.threads))
        if desk.resolve_mode(None) == "llm":
            from prompts.templates import load_prompts

            load_prompts()  # a broken template fails at start-up, not on the first question
        # HOOK(issue 7): start from the index other processes published (postgres)
        desk._follow_shared_index(force=True)
        # END HOOK(issue 7)
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
        searcher = HybridSearcher(generation, self.settings.store, self.settings.search,
                                  self._query_encoder())
        if self.settings.sources:  # syndicated copies grouped into stories by the last collection
            from retrieval.collecting import read_stories

            searcher.stories = read_stories(self.data_dir).story_of
        with self._swap:
            old, self._searcher = self._searcher, searcher
        if old is not None:
            old.close()

    # HOOK(issue 7): several processes share one index; each follows the one last published.
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
    # END HOOK(issue 7)

    def _query_encoder(self) -> Any:
        if self.settings.embedding.provider == "minilm":
            return self.encoder
        return _EmbeddingQueries(self._indexing_embedder())

    @property
    def searcher(self) -> HybridSearcher:
        # HOOK(issue 7): pick up an index another process built, without a restart
        self._follow_shared_index()
        # END HOOK(issue 7)
        if self._searcher is None:
            self._load()
        if self._searcher is None:
            raise CorpusError(f"no index in {self.data_dir}; run 'newsdesk index' first")
        return self._searcher

    @property
    def catalog(self) -> Catalog:
        return self.searcher.catalog

    def check_question(self, question: str) -> str:
        return check_question(question, self.settings.answer.max_question_chars)

    def search(self, query: str, k: int | None = None, since: date | None = None,
               until: date | None = None, outlet: str | None = None) -> list[SearchHit]:
        query = self.check_question(query)
        return self.searcher.search(query, k, Filters(since, until, outlet))

    def ask_offline(self, question: str, history: Sequence[Turn] = (), since: date | None = None,
                    until: date | None = None, outlet: str | None = None) -> Answer:
        """The extractive answer: cited sentences of the coverage, or a plain refusal."""
        started = time.perf_counter()
        question = self.check_question(question)
        query = standalone_question(question, history)
        # HOOK(issue 6): dates in the question narrow the search; "latest" keeps the newest story
        frame, asked = self._timeframe(query, since, until), question
        question, query = self._untimed(question), self._untimed(query)
        filters = Filters(frame.since, frame.until, outlet)
        hits = self._timed_hits(frame, self.searcher.search(query, None, filters))
        # END HOOK(issue 6)
        searched = time.perf_counter()
        answer = answer_extractively(
            question, hits, min_relevance=self.settings.answer.min_relevance,
            max_sentences=self.settings.answer.max_sentences,
        )
        done = time.perf_counter()
        answer.timings_ms.update({"retrieval": (searched - started) * 1000,
                                  "answer": (done - searched) * 1000,
                                  "total": (done - started) * 1000})
        # HOOK(issue 6): say when the question's window is empty or the evidence is old
        return self._dated(_asked(answer, asked), frame)
        # END HOOK(issue 6)

    async def ask(self, question: str, history: Sequence[Turn] = (), mode: str | None = None,
                  since: date | None = None, until: date | None = None,
                  outlet: str | None = None) -> Answer:
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

    # HOOK(issue 3): the model-answer path, prompts.generative (openai loads only when used).
    async def _ask_model(self, question: str, history: Sequence[Turn], since: date | None,
                         until: date | None, outlet: str | None) -> Answer:
        """The model's verified answer; the offline one with a notice when no model is
        configured, it cannot be reached, or nothing it says checks out."""
        started = time.perf_counter()
        question = self.check_question(question)
        answerer = self._model_answerer()
        if isinstance(answerer, str):
            return _noticed(self.ask_offline(question, history, since, until, outlet), answerer)
        query, hits = await self._model_search(answerer, question, history, since, until, outlet)
        searched = time.perf_counter()
        answer = await answerer.answer(query, hits, self._offline_fallback(query, hits))
        done = time.perf_counter()
        answer.timings_ms.update({"retrieval": (searched - started) * 1000,
                                  "total": (done - started) * 1000})
        return _asked(answer, question)

    async def ask_stream(self, question: str, history: Sequence[Turn] = (),
                         mode: str | None = None, since: date | None = None,
                         until: date | None = None, outlet: str | None = None) -> Any:
        """Like :meth:`ask`, for front ends that show the answer as it is written: an async
        iterator of ``prompts.generative.AnswerDraft`` (unverified text so far), then the final
        :class:`Answer`, always last. Offline, the answer is the only item."""
        answerer = self._model_answerer() if self.resolve_mode(mode) == "llm" else None
        if answerer is None or isinstance(answerer, str):
            yield await self.ask(question, history, mode, since, until, outlet)
            return
        question = self.check_question(question)
        query, hits = await self._model_search(answerer, question, history, since, until, outlet)
        async for item in answerer.stream(query, hits, self._offline_fallback(query, hits)):
            yield _asked(item, question) if isinstance(item, Answer) else item

    def _model_answerer(self) -> Any:
        """The ``ModelAnswerer`` (built once), or why there is none as a notice string."""
        from prompts.chat_model import ModelConfigError
        from prompts.generative import ModelAnswerer

        if getattr(self, "_answerer", None) is None:
            try:
                self._answerer = ModelAnswerer.from_settings(self.settings, self.encoder)
            except ModelConfigError as exc:
                return f"{exc}; this is the offline answer."
        return self._answerer

    async def _model_search(self, answerer: Any, question: str, history: Sequence[Turn],
                            since: date | None, until: date | None,
                            outlet: str | None) -> tuple[str, list[SearchHit]]:
        query = await answerer.standalone(question, history)
        if query == question:  # no history, or the rewrite failed: carry names as offline
            query = standalone_question(question, history)
        return query, self.searcher.search(query, None, Filters(since, until, outlet))

    def _offline_fallback(self, query: str, hits: list[SearchHit]) -> Any:
        cfg = self.settings.answer
        return lambda: answer_extractively(query, hits, min_relevance=cfg.min_relevance,
                                           max_sentences=cfg.max_sentences)
    # END HOOK(issue 3)

    # HOOK(issue 6): summaries, timelines, and dates in questions (prompts.summaries,
    # prompts.timelines, prompts.timeframes; imported when first used).
    def today(self) -> date:
        """Today, for "latest", "last year" and old-evidence notices (tests replace it)."""
        from prompts.generative import local_today

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
        return answer if notice == answer.notice else _noticed(answer, notice or "")

    async def summarize(self, topic: str | None = None, *, article: str | None = None,
                        since: date | None = None, until: date | None = None,
                        outlet: str | None = None, timeline: bool = False,
                        mode: str | None = None) -> Any:
        """A cited :class:`prompts.summaries.Summary` of ``topic`` (or of one ``article``, by id or
        headline), or with ``timeline=True`` a :class:`prompts.timelines.Timeline`. Both have
        ``to_json()``, ``render_text()`` and ``as_answer()``."""
        import asyncio

        from prompts.summaries import summarize_article, summarize_topic

        if article:
            return await asyncio.to_thread(summarize_article, self, article)
        if not topic:
            raise QuestionError("give a topic to summarise, or an article")
        if timeline:
            return await self.timeline(topic, since, until, outlet)
        return await summarize_topic(self, topic, since, until, outlet, mode)

    async def timeline(self, topic: str, since: date | None = None, until: date | None = None,
                       outlet: str | None = None) -> Any:
        """A :class:`prompts.timelines.Timeline`: the topic's stories as dated, cited events."""
        from prompts.timelines import timeline

        return await timeline(self, topic, since, until, outlet)
    # END HOOK(issue 6)

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

    def reindex(self, corpus: Path | None = None, rebuild: bool = False,
                progress: Progress | None = None, source: str | None = None) -> ReindexReport:
        """Re-read the corpus and update the index; blocking (run it in a thread)."""
        # HOOK(issue 5): configured sources (folders, URL lists, feeds); ``source`` refreshes one.
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
        # END HOOK(issue 5)
        if progress:
            progress(0, 0, f"read {len(articles)} articles from {where}")
        # HOOK(issue 7): build on what another process may have published meanwhile
        self._follow_shared_index(force=True)
        # END HOOK(issue 7)
        builder = IndexBuilder(self.settings, self.index_root, self._indexing_embedder())
        report = builder.run(articles, problems, rebuild=rebuild, progress=progress)
        if self._searcher is not None or current_generation(self.index_root) is not None:
            self._load()
        return report

    def stats(self) -> CoverageStats:
        catalog = self.catalog
        dates = sorted(d for e in catalog.articles.values() if (d := e.published_date))
        outlets = sorted({e.outlet for e in catalog.articles.values() if e.outlet})
        return CoverageStats(
            articles=len(catalog.articles), passages=catalog.passages, outlets=tuple(outlets),
            start=dates[0] if dates else None, end=dates[-1] if dates else None,
            last_reindex=catalog.built,
        )

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


# HOOK(issue 3): helpers of the model-answer path.
def _noticed(answer: Answer, notice: str) -> Answer:
    import dataclasses

    return dataclasses.replace(answer, notice=notice)


def _asked(answer: Answer, question: str) -> Answer:
    """``answer`` as the answer to what the user asked, not to the rewritten follow-up."""
    import dataclasses

    return answer if answer.question == question else dataclasses.replace(answer, question=question)
# END HOOK(issue 3)
