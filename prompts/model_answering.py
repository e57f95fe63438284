"""Answers written by an OpenAI-compatible model over :mod:`prompts.generative`, citations
verified; openai loads only when a model is first used."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from config.settings import Settings
from prompts.citations import Answer, answered_as, with_notice
from prompts.offline import OfflineAnswerer
from prompts.questions import Turn, standalone_question
from prompts.searching import Framed, Searching

if TYPE_CHECKING:
    from prompts.generative import AnswerDraft, ModelAnswerer

log = logging.getLogger(__name__)


class ModelAnswers:
    """The model's verified answers; the offline answer, with a notice, when no model is
    configured, it cannot be reached, or nothing it says checks out."""

    def __init__(
        self, searching: Searching, offline: OfflineAnswerer, settings: Settings, embedder: Any
    ) -> None:
        self.searching = searching
        self.offline = offline
        self.settings = settings
        self.embedder = embedder
        self._answerer: ModelAnswerer | None = None

    def answerer(self) -> ModelAnswerer | str:
        """The ``ModelAnswerer`` (built once, on the searching's clock), or why there is none
        as a notice string."""
        from prompts.chat_model import ModelConfigError
        from prompts.generative import ModelAnswerer

        if self._answerer is None:
            try:
                answerer = ModelAnswerer.from_settings(self.settings, self.embedder)
            except ModelConfigError as exc:
                return f"{exc}; this is the offline answer."
            answerer.today = self.searching.today  # one clock for offline and model answers
            self._answerer = answerer
        return self._answerer

    async def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Answer:
        started = time.perf_counter()
        question = self.searching.check_question(question)
        answerer = self.answerer()
        if isinstance(answerer, str):
            return with_notice(self.offline.ask(question, history, since, until, outlet), answerer)
        framed = await self._search(answerer, question, history, since, until, outlet)
        searched = time.perf_counter()
        answer = await answerer.answer(
            framed.query, framed.hits, self.offline.fallback(framed.query, framed.hits)
        )
        done = time.perf_counter()
        answer.timings_ms.update({"retrieval": (searched - started) * 1000, "total": (done - started) * 1000})
        # the question's window and old evidence said as offline ("Read 'in 2030' as ...")
        return self.searching.dated(answered_as(answer, question), framed.frame)

    async def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> AsyncIterator[AnswerDraft | Answer]:
        """Drafts of the answer as the model writes it (unverified text so far), then the final
        :class:`Answer`, always last."""
        answerer = self.answerer()
        if isinstance(answerer, str):
            yield await self.ask(question, history, since, until, outlet)
            return
        question = self.searching.check_question(question)
        framed = await self._search(answerer, question, history, since, until, outlet)
        fallback = self.offline.fallback(framed.query, framed.hits)
        async for item in answerer.stream(framed.query, framed.hits, fallback):
            if isinstance(item, Answer):
                yield self.searching.dated(answered_as(item, question), framed.frame)
            else:
                yield item

    async def _search(
        self,
        answerer: ModelAnswerer,
        question: str,
        history: Sequence[Turn],
        since: date | None,
        until: date | None,
        outlet: str | None,
    ) -> Framed:
        query = await answerer.standalone(question, history)
        if query == question:  # no history, or the rewrite failed: carry names as offline
            query = standalone_question(question, history)
        return self.searching.framed(query, since, until, outlet)  # "latest", "in 2022" as offline

    async def reachable(self) -> bool | None:
        """Whether the model endpoint answers (None when no model is configured)."""
        answerer = self.answerer()
        if isinstance(answerer, str):
            return None
        return await answerer.chat.reachable()

    async def aclose(self) -> None:
        """Close the model client, if one was opened."""
        answerer, self._answerer = self._answerer, None
        if answerer is not None:
            await answerer.close()
