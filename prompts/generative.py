"""Answers written by a chat model from the retrieved passages, their citations checked.

The flow: no evidence, no model call (the "cannot answer" phrase); otherwise the passages go
into the answer prompt under keys P1..Pn, the model's reply is verified
(:mod:`prompts.verification`), and the answer lists only the sources that survive. When the
model cannot be reached within the retry budget, refuses the request, or says nothing that the
passages support, the offline extractive answer is returned with a notice saying why.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from config.settings import Settings
from prompts.chat_model import ChatModel, ModelContextError, ModelError
from prompts.citations import CANNOT_ANSWER, Answer, coverage_of
from prompts.extractive import key_terms
from prompts.refusal import missing_names
from prompts.templates import ChatMessage, Prompts, load_prompts
from prompts.terms import named_terms
from prompts.timeframes import local_today
from prompts.verification import SentenceEmbedder, Verified, renumber_draft, split_claims, verify_answer
from retrieval.models import SearchHit

log = logging.getLogger(__name__)

MODEL_UNAVAILABLE = "The language model was unavailable ({reason}), so this is the offline answer."
UNVERIFIED = (
    "The language model's answer could not be checked against the coverage, so this is the offline answer."
)
THINNER = (
    "The language model's checked answer said less about the question than the offline answer, "
    "so this is the offline answer."
)
NO_EVIDENCE = (
    "No passage was close enough to the question to ask the language model, so this is the offline answer."
)
REMOVED = (
    "{n} sentence(s) of the model's answer were left out because the sources they cited don't support them."
)
#: Earlier turns shown to the follow-up rewriter, and the characters kept of each answer.
HISTORY_TURNS = 3
HISTORY_ANSWER_CHARS = 500


class ChatLike(Protocol):
    """What the answerers need of a chat model (:class:`prompts.chat_model.ChatModel`)."""

    async def complete(self, messages: Sequence[ChatMessage]) -> str: ...

    def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]: ...


class TurnLike(Protocol):
    @property
    def question(self) -> str: ...

    @property
    def answer(self) -> str: ...


@dataclass(frozen=True, slots=True)
class AnswerDraft:
    """The answer so far while the model writes it: unverified, keys numbered provisionally."""

    text: str


@dataclass(frozen=True, slots=True)
class AnswerOptions:
    """Settings the answerers use; build from ``settings.answer`` and ``settings.llm``."""

    min_relevance: float = 0.42
    max_sentences: int = 4
    #: Passages shown to the model, best first (None: all the search returned).
    max_passages: int | None = None
    #: The model's context window (None: unknown) and the reply's share of it.
    context_tokens: int | None = None
    max_tokens: int = 600


#: Characters per token when a prompt's length is estimated: the answer prompt runs ~4.1 with
#: SmolLM2's tokenizer (measured), and GPT and Llama tokenizers are similar; an estimate too low
#: is caught by the server's "too long" reply, one too high only drops a passage sooner.
CHARS_PER_TOKEN = 4.0
#: Tokens a chat template adds around each message (role markers).
MESSAGE_OVERHEAD = 8


def estimate_tokens(messages: Sequence[ChatMessage]) -> int:
    return sum(MESSAGE_OVERHEAD + math.ceil(len(m["content"]) / CHARS_PER_TOKEN) for m in messages)


def has_evidence(question: str, hits: Sequence[SearchHit], min_relevance: float) -> bool:
    """The model's evidence gate: a close enough passage that names the question's names (the
    offline answerer's gate when it was written; that one may now let more through, see
    :func:`without_evidence`)."""
    best = max((h.dense_score for h in hits if h.dense_score is not None), default=0.0)
    if not hits or best < min_relevance or not key_terms(question):
        return False
    return not missing_names(question, hits)  # months and years are matched against article dates


def key_passages(hits: Sequence[SearchHit]) -> dict[str, SearchHit]:
    """The hits under the keys the prompt shows: P1, P2, ... in ranking order."""
    return {f"P{i}": hit for i, hit in enumerate(hits, start=1)}


def _data(text: str) -> str:
    """Text from articles or users, unable to open or close the prompt's tags."""
    return text.replace("<", "‹").replace(">", "›")


def format_passages(keyed: Mapping[str, SearchHit]) -> str:
    """The passages block of the answer prompt: one delimited passage per key, with its date."""
    blocks = []
    for key, hit in keyed.items():
        p = hit.passage
        published = p.published.isoformat() if p.published else "unknown"
        attrs = {"key": key, "published": published, "outlet": p.outlet or "unknown"}
        attrs["title"] = p.title
        head = " ".join(f'{k}="{_data(v).replace(chr(34), chr(39))}"' for k, v in attrs.items())
        blocks.append(f"<passage {head}>\n{_data(p.text)}\n</passage>")
    return "\n\n".join(blocks)


def answer_messages(
    prompts: Prompts, question: str, keyed: Mapping[str, SearchHit], today: date, max_sentences: int
) -> list[ChatMessage]:
    return prompts.answer.render(
        today=today.isoformat(),
        question=_data(question),
        passages=format_passages(keyed),
        cannot_answer=CANNOT_ANSWER,
        max_sentences=max_sentences,
    )


def fit_prompt(
    prompts: Prompts, question: str, hits: Sequence[SearchHit], today: date, options: AnswerOptions
) -> tuple[dict[str, SearchHit], list[ChatMessage]]:
    """The passages the model is shown (best first) and the prompt showing them: at most
    ``max_passages``, fewer when the prompt and the reply would not fit ``context_tokens``
    (one passage is always shown)."""
    shown = list(hits[: options.max_passages or len(hits)])
    while True:
        keyed = key_passages(shown)
        messages = answer_messages(prompts, question, keyed, today, options.max_sentences)
        if options.context_tokens is None or len(shown) <= 1:
            return keyed, messages
        if estimate_tokens(messages) + options.max_tokens <= options.context_tokens:
            return keyed, messages
        shown.pop()


def _fewer(hits: Sequence[SearchHit], shown: int) -> list[SearchHit] | None:
    """Half the passages last shown, for a server that said the prompt was too long."""
    if shown <= 1:
        return None
    log.info("the prompt did not fit the model's context: retrying with %d of %d passages", shown // 2, shown)
    return list(hits[: shown // 2])


def cannot_answer(question: str) -> Answer:
    return Answer(question=question, text=CANNOT_ANSWER, citations=(), grounded=False, mode="llm")


def _fallback(fallback: Callable[[], Answer], notice: str) -> Answer:
    return dataclasses.replace(fallback(), notice=notice)


def without_evidence(question: str, fallback: Callable[[], Answer]) -> Answer:
    """No passage passes the model's evidence gate: the model is not asked. The offline
    answerer judges the same passages by its own gate, which may find an answer (it then
    stands, with a notice); otherwise the refusal."""
    offline = fallback()
    if not offline.citations:
        return cannot_answer(question)
    return dataclasses.replace(offline, notice=NO_EVIDENCE)


def on_topic(text: str, question: str) -> int:
    """How many sentences of ``text`` are about the question's subject: they name one of its
    names (capitalised words, numbers) or share two of its key terms (one, if it has one).
    Terms of one character do not count: "1990s" leaves an "s" that every plural matches."""
    terms = {t for t in key_terms(question) if len(t) > 1}
    names = {t for t in named_terms(question) if len(t) > 1}
    need = min(2, len(terms))

    def about(sentence: set[str]) -> bool:
        return bool(sentence & names) or (need > 0 and len(sentence & terms) >= need)

    return sum(about(key_terms(claim.text)) for claim in split_claims(text))


#: The share of the offline answer's lead facts (:func:`lead_facts`) that the model's checked
#: answer must state for it to be given instead; set on the tuning half of RealTimeQA
#: (BENCHMARKS.md §10).
LEAD_COVER_MIN = 0.5


def lead_facts(offline: Answer, question: str) -> set[str]:
    """What the offline answer leads with beyond the question's own words: the key terms of its
    direct answer (``short``), else of its first sentence; empty for a refusal."""
    if not offline.citations:
        return set()
    if offline.short is not None:
        lead = offline.short.text
    else:
        claims = split_claims(offline.text)
        lead = claims[0].text if claims else ""
    return added_facts(lead, question)


def added_facts(text: str, question: str) -> set[str]:
    """The key terms of ``text`` beyond the question's own (one-letter terms aside)."""
    return {t for t in key_terms(text) if len(t) > 1} - key_terms(question)


def _states(text: str, facts: set[str]) -> bool:
    """Whether ``text`` states at least LEAD_COVER_MIN of ``facts`` (any text states none)."""
    return not facts or len(facts & key_terms(text)) >= LEAD_COVER_MIN * len(facts)


def _words(text: str) -> str:
    """``text`` lower-cased, without citation markers, punctuation read as spaces; padded so
    that containment is of whole words."""
    text = re.sub(r"\[\d+\]", " ", text.lower().replace("’", "'"))
    return " " + " ".join(re.sub(r"[^\w%$']+", " ", text).split()) + " "


def says(text: str, phrase: str) -> bool:
    """Whether ``text`` contains ``phrase`` word for word (case, punctuation and citation
    markers aside). Words are not stemmed: "snail" does not say "snails", nor "6" "60"."""
    wanted = _words(phrase)
    return wanted.strip() != "" and wanted in _words(text)


def covers(text: str, sentence: str, question: str) -> bool:
    """Whether ``text`` states at least LEAD_COVER_MIN of what ``sentence`` adds to the
    question (its key terms beyond the question's)."""
    return _states(text, added_facts(sentence, question))


def thinner(question: str, checked: Verified, offline: Answer) -> bool:
    """Whether the model's checked answer says less about the question than the offline one,
    so that giving it could make newsdesk worse. A weak model copies a passage sentence that is
    supported but is about something else, restates the question without its answer, guesses
    so that most of what it wrote is removed, or gives one fact where the offline answer gives
    three. Its answer is given only when it says at least what the offline answer says: it is
    thinner when none of its kept sentences names the question's subject (then even an offline
    refusal is better), when it does not say the offline answer's direct answer (``short``) word
    for word, when it leaves out what one of the offline answer's sentences about the question
    (:func:`on_topic`) adds (LEAD_COVER_MIN of it), when it states less than LEAD_COVER_MIN of
    the offline answer's lead facts, or when the verifier removed more sentences than it kept
    and fewer kept ones name the subject than the offline answer's do."""
    mine = on_topic(checked.text, question)
    if mine == 0:
        return True
    if not offline.citations:
        return False
    if offline.short is not None and not says(checked.text, offline.short.text):
        return True
    about = [claim.text for claim in split_claims(offline.text) if on_topic(claim.text, question)]
    if not all(covers(checked.text, sentence, question) for sentence in about):
        return True
    if not _states(checked.text, lead_facts(offline, question)):
        return True
    return len(checked.removed) > checked.kept and mine < on_topic(offline.text, question)


def _assemble(
    question: str, checked: Verified, fallback: Callable[[], Answer], timings: dict[str, float]
) -> Answer:
    """The model's verified answer, the plain refusal, or the offline answer when nothing held."""
    if checked.cannot_answer:
        answer = cannot_answer(question)
    elif not checked.citations:
        log.info("no sentence of the model's answer verified; %d removed", len(checked.removed))
        answer = _fallback(fallback, UNVERIFIED)
    elif thinner(question, checked, offline := fallback()):
        log.info("the model's checked answer is thinner than the offline one; giving that")
        answer = dataclasses.replace(offline, notice=THINNER)
    else:
        removed = len(checked.removed)
        answer = Answer(
            question=question,
            text=checked.text,
            citations=checked.citations,
            grounded=True,
            mode="llm",
            coverage=coverage_of(checked.citations),
            notice=REMOVED.format(n=removed) if removed else None,
        )
    answer.timings_ms.update(timings)
    return answer


async def _verify(
    question: str,
    reply: str,
    keyed: Mapping[str, SearchHit],
    embedder: SentenceEmbedder,
    fallback: Callable[[], Answer],
    timings: dict[str, float],
) -> Answer:
    started = time.perf_counter()
    checked = await asyncio.to_thread(verify_answer, reply, keyed, embedder, question)
    timings["verify"] = (time.perf_counter() - started) * 1000
    if checked.unknown_keys:
        log.info("model cited keys that match no passage: %s", ", ".join(checked.unknown_keys))
    return _assemble(question, checked, fallback, timings)


async def answer_with_model(
    question: str,
    hits: Sequence[SearchHit],
    chat: ChatLike,
    embedder: SentenceEmbedder,
    today: date,
    fallback: Callable[[], Answer],
    *,
    prompts: Prompts,
    options: AnswerOptions | None = None,
) -> Answer:
    """The model's answer from ``hits``, verified; ``fallback()`` gives the offline answer."""
    options = options or AnswerOptions()
    if not has_evidence(question, hits, options.min_relevance):
        return without_evidence(question, fallback)
    started = time.perf_counter()
    shown: list[SearchHit] | None = list(hits)
    while shown is not None:
        keyed, messages = fit_prompt(prompts, question, shown, today, options)
        try:
            reply = await chat.complete(messages)
            break
        except ModelContextError as exc:
            if (shown := _fewer(shown, len(keyed))) is None:
                return _fallback(fallback, MODEL_UNAVAILABLE.format(reason=exc))
        except ModelError as exc:
            log.warning("model answer failed: %s", exc)
            return _fallback(fallback, MODEL_UNAVAILABLE.format(reason=exc))
    timings = {"model": (time.perf_counter() - started) * 1000}
    return await _verify(question, reply, keyed, embedder, fallback, timings)


async def stream_answer_with_model(
    question: str,
    hits: Sequence[SearchHit],
    chat: ChatLike,
    embedder: SentenceEmbedder,
    today: date,
    fallback: Callable[[], Answer],
    *,
    prompts: Prompts,
    options: AnswerOptions | None = None,
) -> AsyncIterator[AnswerDraft | Answer]:
    """Drafts of the answer as the model writes it, then the verified :class:`Answer` (last).

    Drafts are for display only (show the final answer in their place); if the model fails
    mid-answer, the last item is the offline answer with a notice.
    """
    options = options or AnswerOptions()
    if not has_evidence(question, hits, options.min_relevance):
        yield without_evidence(question, fallback)
        return
    started = time.perf_counter()
    first = 0.0
    parts: list[str] = []
    shown: list[SearchHit] | None = list(hits)
    while shown is not None:
        keyed, messages = fit_prompt(prompts, question, shown, today, options)
        try:
            async for piece in chat.stream(messages):
                if not parts:
                    first = (time.perf_counter() - started) * 1000
                parts.append(piece)
                yield AnswerDraft(renumber_draft("".join(parts), keyed))
            break
        except ModelContextError as exc:  # refused before the first piece: try fewer passages
            if (shown := _fewer(shown, len(keyed))) is None:
                yield _fallback(fallback, MODEL_UNAVAILABLE.format(reason=exc))
                return
        except ModelError as exc:
            log.warning("model answer failed: %s", exc)
            yield _fallback(fallback, MODEL_UNAVAILABLE.format(reason=exc))
            return
    timings = {"model_first_token": first, "model": (time.perf_counter() - started) * 1000}
    yield await _verify(question, "".join(parts), keyed, embedder, fallback, timings)


def format_history(history: Sequence[TurnLike]) -> str:
    lines = []
    for turn in history[-HISTORY_TURNS:]:
        answer = " ".join(turn.answer.split())[:HISTORY_ANSWER_CHARS]
        lines.append(f"User: {_data(turn.question)}\nAssistant: {_data(answer)}")
    return "\n".join(lines)


def _clean_rewrite(reply: str, question: str, max_chars: int) -> str:
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not lines:
        return question
    text = lines[0].removeprefix("Standalone question:").strip().strip("\"'“”")
    return text if 0 < len(text) <= max_chars else question


async def rewrite_followup(
    question: str,
    history: Sequence[TurnLike],
    chat: ChatLike,
    *,
    prompts: Prompts,
    max_chars: int = 2000,
) -> str:
    """``question`` rewritten to stand alone, using the conversation so far. With no history
    there is no model call; if the model fails, the question is returned as it was."""
    if not history:
        return question
    messages = prompts.followup.render(history=format_history(history), question=_data(question))
    try:
        reply = await chat.complete(messages)
    except ModelError as exc:
        log.warning("follow-up rewrite failed, searching with the question as asked: %s", exc)
        return question
    return _clean_rewrite(reply, question, max_chars)


@dataclass
class ModelAnswerer:
    """What the model path needs, built once from settings and kept by the desk."""

    chat: ChatModel
    prompts: Prompts
    embedder: SentenceEmbedder
    options: AnswerOptions
    max_question_chars: int = 2000
    today: Callable[[], date] = field(default=lambda: local_today())

    @classmethod
    def from_settings(cls, settings: Settings, embedder: SentenceEmbedder) -> ModelAnswerer:
        """Raises :class:`prompts.chat_model.ModelConfigError` when no model is configured and
        :class:`prompts.templates.TemplateError` when a template file is broken."""
        answer = settings.answer
        return cls(
            chat=ChatModel.from_settings(settings.llm),
            prompts=load_prompts(),
            embedder=embedder,
            options=AnswerOptions(
                answer.min_relevance,
                answer.max_sentences,
                max_passages=settings.llm.max_passages,
                context_tokens=settings.llm.context_tokens,
                max_tokens=settings.llm.max_tokens,
            ),
            max_question_chars=answer.max_question_chars,
        )

    async def standalone(self, question: str, history: Sequence[TurnLike]) -> str:
        return await rewrite_followup(
            question, history, self.chat, prompts=self.prompts, max_chars=self.max_question_chars
        )

    async def answer(
        self, question: str, hits: Sequence[SearchHit], fallback: Callable[[], Answer]
    ) -> Answer:
        return await answer_with_model(
            question,
            hits,
            self.chat,
            self.embedder,
            self.today(),
            fallback,
            prompts=self.prompts,
            options=self.options,
        )

    def stream(
        self, question: str, hits: Sequence[SearchHit], fallback: Callable[[], Answer]
    ) -> AsyncIterator[AnswerDraft | Answer]:
        return stream_answer_with_model(
            question,
            hits,
            self.chat,
            self.embedder,
            self.today(),
            fallback,
            prompts=self.prompts,
            options=self.options,
        )

    async def close(self) -> None:
        await self.chat.close()


__all__ = [
    "LEAD_COVER_MIN",
    "MODEL_UNAVAILABLE",
    "REMOVED",
    "THINNER",
    "UNVERIFIED",
    "AnswerDraft",
    "AnswerOptions",
    "ChatLike",
    "ModelAnswerer",
    "answer_with_model",
    "covers",
    "estimate_tokens",
    "fit_prompt",
    "format_passages",
    "has_evidence",
    "key_passages",
    "lead_facts",
    "on_topic",
    "rewrite_followup",
    "says",
    "stream_answer_with_model",
    "thinner",
]
