"""The offline answerer: cited sentences of the coverage (:mod:`prompts.extractive`), no model."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import date

from config.settings import AnswerSettings
from prompts.citations import Answer, answered_as
from prompts.extractive import ANSWER_PASSAGES, answer_extractively
from prompts.questions import Turn, standalone_question
from prompts.searching import Searching
from prompts.timeframes import strip_time
from retrieval.models import SearchHit


class OfflineAnswerer:
    """Answers from the coverage's own sentences, or a plain refusal."""

    def __init__(self, searching: Searching, settings: AnswerSettings) -> None:
        self.searching = searching
        self.settings = settings

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        since: date | None = None,
        until: date | None = None,
        outlet: str | None = None,
    ) -> Answer:
        """The extractive answer to ``question``; blocking (run it in a thread from async code)."""
        started = time.perf_counter()
        asked = question = self.searching.check_question(question)
        query = standalone_question(question, history)
        framed = self.searching.framed(query, since, until, outlet, k=ANSWER_PASSAGES)
        searched = time.perf_counter()
        answer = self.answer(strip_time(question), framed.hits)
        done = time.perf_counter()
        answer.timings_ms.update(
            {
                "retrieval": (searched - started) * 1000,
                "answer": (done - searched) * 1000,
                "total": (done - started) * 1000,
            }
        )
        return self.searching.dated(answered_as(answer, asked), framed.frame)

    def answer(self, question: str, hits: Sequence[SearchHit]) -> Answer:
        """The extractive answer from ``hits`` (no search)."""
        cfg = self.settings
        return answer_extractively(
            question, list(hits), min_relevance=cfg.min_relevance, max_sentences=cfg.max_sentences
        )

    def fallback(self, question: str, hits: Sequence[SearchHit]) -> Callable[[], Answer]:
        """The offline answer from ``hits``, for when a model's answer does not check out."""
        return lambda: self.answer(question, hits)
