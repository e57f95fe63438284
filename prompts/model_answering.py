"""The Desk's model-answer path over :mod:`prompts.generative` (openai loads only when used)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from prompts.citations import Answer, answered_as, with_notice
from prompts.extractive import answer_extractively
from prompts.questions import Turn, standalone_question
from retrieval.models import SearchHit
from retrieval.search import Filters

if TYPE_CHECKING:
    from config.settings import Settings
    from retrieval.search import HybridSearcher


class ModelAnswering:
    """Answers written by an OpenAI-compatible model, citations verified; a Desk mixin."""

    _answerer: Any = None

    if TYPE_CHECKING:  # provided by Desk
        settings: Settings
        encoder: Any

        @property
        def searcher(self) -> HybridSearcher: ...
        def check_question(self, question: str) -> str: ...
        def resolve_mode(self, mode: str | None) -> str: ...
        def _timeframe(self, question: str, since: date | None, until: date | None) -> Any: ...
        def _timed_hits(self, frame: Any, hits: list[SearchHit]) -> list[SearchHit]: ...
        def _untimed(self, text: str) -> str: ...
        def ask_offline(
            self,
            question: str,
            history: Sequence[Turn] = (),
            since: date | None = None,
            until: date | None = None,
            outlet: str | None = None,
        ) -> Answer: ...
        async def ask(
            self,
            question: str,
            history: Sequence[Turn] = (),
            mode: str | None = None,
            since: date | None = None,
            until: date | None = None,
            outlet: str | None = None,
        ) -> Answer: ...

    async def _ask_model(
        self,
        question: str,
        history: Sequence[Turn],
        since: date | None,
        until: date | None,
        outlet: str | None,
    ) -> Answer:
        """The model's verified answer; the offline one with a notice when no model is
        configured, it cannot be reached, or nothing it says checks out."""
        started = time.perf_counter()
        question = self.check_question(question)
        answerer = self._model_answerer()
        if isinstance(answerer, str):
            return with_notice(self.ask_offline(question, history, since, until, outlet), answerer)
        query, hits = await self._model_search(answerer, question, history, since, until, outlet)
        searched = time.perf_counter()
        answer = await answerer.answer(query, hits, self._offline_fallback(query, hits))
        done = time.perf_counter()
        answer.timings_ms.update({"retrieval": (searched - started) * 1000, "total": (done - started) * 1000})
        return answered_as(answer, question)

    async def ask_stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        mode: str | None = None,
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Any:
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
            yield answered_as(item, question) if isinstance(item, Answer) else item

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

    async def _model_search(
        self,
        answerer: Any,
        question: str,
        history: Sequence[Turn],
        since: date | None,
        until: date | None,
        outlet: str | None,
    ) -> tuple[str, list[SearchHit]]:
        query = await answerer.standalone(question, history)
        if query == question:  # no history, or the rewrite failed: carry names as offline
            query = standalone_question(question, history)
        frame = self._timeframe(query, since, until)  # "latest", "in 2022" as in offline answers
        query = self._untimed(query)  # the window is a filter now, not words to match
        hits = self.searcher.search(query, None, Filters(frame.since, frame.until, outlet))
        return query, self._timed_hits(frame, hits)

    def _offline_fallback(self, query: str, hits: list[SearchHit]) -> Any:
        cfg = self.settings.answer
        return lambda: answer_extractively(
            query, hits, min_relevance=cfg.min_relevance, max_sentences=cfg.max_sentences
        )
