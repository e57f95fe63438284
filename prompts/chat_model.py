"""The chat-model adapter over the OpenAI-compatible API seam (:mod:`retrieval.openai_api`).

Any OpenAI-compatible server works (OpenAI, Azure's v1 endpoint, vLLM, Ollama, llama.cpp,
LM Studio): requests use only ``model``, ``messages``, ``temperature``, ``max_tokens`` and
``stream``. Retries happen in one layer, the policy shared with the API embedder (tenacity; the
SDK's own retries are off): on timeouts, connection errors, malformed replies, 408, 429 and 5xx,
with exponential backoff and full jitter, honouring ``Retry-After``, within a total time budget
and an attempt limit. The API key comes from the environment and is never logged or put in an
error message.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import httpx
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from tenacity import AsyncRetrying, RetryCallState

from config.settings import LLMSettings, Settings
from prompts.templates import ChatMessage
from retrieval.openai_api import (
    MIN_ATTEMPT_S,
    PLACEHOLDER_KEY,
    RetryPolicy,
    async_client,
    describe_error,
    is_transient,
    retry_after_s,
    retry_options,
)
from retrieval.openai_api import MalformedReply as _MalformedReply

log = logging.getLogger(__name__)

_T = TypeVar("_T")
#: How servers say a prompt is too long (OpenAI, vLLM and llama.cpp send the code; the rest
#: only words).
_TOO_LONG = re.compile(
    r"context[_ ](?:length|window|size)|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (?:model'?s? )?(?:context|maximum)",
    re.I,
)
#: How servers say the model does not exist (Ollama, vLLM, LM Studio, OpenAI).
_NO_MODEL = re.compile(r"model\b.{0,80}\b(?:not found|does not exist|not exist|unknown|no such)", re.I)


class ModelError(Exception):
    """The chat model gave no usable answer; the message is safe to show and to log."""


class ModelConfigError(ModelError):
    """The model cannot be used as configured (no key and no base URL)."""


class ModelUnavailable(ModelError):
    """Transient failures went on until the attempts or the time budget ran out."""


class ModelRequestError(ModelError):
    """The server refused the request (a 4xx other than 408/429); retrying cannot help."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelContextError(ModelRequestError):
    """The prompt does not fit the model's context window; a shorter one may."""


class ModelResponseError(ModelError):
    """The server answered, but not with a usable completion (malformed or empty)."""


def _error_text(exc: openai.APIStatusError) -> str:
    return f"{exc.code or ''} {exc.message}"


def is_context_error(exc: BaseException) -> bool:
    """Whether the server refused the request because the prompt is longer than its context."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 413, 422):
        return False
    return exc.code == "context_length_exceeded" or bool(_TOO_LONG.search(_error_text(exc)))


def is_unknown_model(exc: BaseException) -> bool:
    """Whether the server refused the request because it has no model of that name."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code not in (400, 404):
        return False
    return exc.code == "model_not_found" or bool(_NO_MODEL.search(_error_text(exc)))


class ChatModel:
    """Completions from an OpenAI-compatible chat endpoint, with retries in one layer."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        *,
        model: str,
        temperature: float = 0.1,
        max_tokens: int = 600,
        timeout_s: float = 30.0,
        policy: RetryPolicy | None = None,
        key_env: str = "OPENAI_API_KEY",
    ) -> None:
        self._client = client
        _ = client.chat.completions  # the SDK imports its resources lazily: not inside a deadline
        self.model = model
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        self._key_env = key_env

    def __repr__(self) -> str:
        return f"ChatModel(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    @classmethod
    def from_settings(cls, llm: LLMSettings) -> ChatModel:
        """Build the client from settings; the key is read from ``llm.api_key_env``."""
        key = Settings.secret(llm.api_key_env)
        if key is None and llm.base_url is None:
            raise ModelConfigError(
                f"no model configured: set the {llm.api_key_env} environment variable "
                "or llm.base_url in the config file"
            )
        client = async_client(llm.api_key_env, llm.base_url, llm.timeout_s)
        policy = RetryPolicy(llm.max_attempts, llm.retry_budget_s, llm.backoff_initial_s, llm.backoff_max_s)
        return cls(
            client,
            model=llm.model,
            temperature=llm.temperature,
            max_tokens=llm.max_tokens,
            timeout_s=llm.timeout_s,
            policy=policy,
            key_env=llm.api_key_env,
        )

    async def close(self) -> None:
        await self._client.close()

    async def reachable(self, timeout_s: float = 5.0) -> bool:
        """Whether the endpoint answers (its model list: no completion is spent, no retries)."""
        try:
            await self._client.models.list(timeout=timeout_s)
        except (openai.OpenAIError, httpx.HTTPError):
            return False
        return True

    async def complete(self, messages: Sequence[ChatMessage]) -> str:
        """The model's reply to ``messages``; raises a :class:`ModelError` subclass."""
        return await self._with_retries(lambda timeout: self._complete_once(messages, timeout))

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The reply as it is written, in pieces. Retries happen only before the first piece;
        the whole reply must arrive within the retry budget (a server that sends a byte now and
        then is cut off there, not waited on)."""
        deadline = time.monotonic() + self.policy.budget_s
        first, rest = await self._with_retries(lambda timeout: self._open_stream(messages, timeout))
        try:
            yield first
            while True:
                try:
                    async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                        piece = await anext(rest, None)
                except TimeoutError:
                    raise ModelUnavailable(
                        f"the model did not finish within the {self.policy.budget_s:g} s budget"
                    ) from None
                except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
                    reason = self._describe(exc)
                    raise ModelUnavailable(f"the model stopped in mid-answer ({reason})") from None
                if piece is None:
                    return
                yield piece
        finally:
            await rest.aclose()

    def _params(self, messages: Sequence[ChatMessage], timeout: float) -> dict[str, Any]:
        return {
            "model": self.model,
            "messages": cast(list[ChatCompletionMessageParam], list(messages)),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "timeout": timeout,
        }

    async def _complete_once(self, messages: Sequence[ChatMessage], timeout_s: float) -> str:
        try:
            reply: Any = await self._client.chat.completions.create(**self._params(messages, timeout_s))
        except ValueError as exc:  # JSONDecodeError: a body that is not the JSON promised
            raise _MalformedReply(f"malformed JSON in the reply: {exc}") from None
        choices = getattr(reply, "choices", None)
        if not isinstance(choices, list):
            raise _MalformedReply("the reply is not a chat completion")
        content = choices[0].message.content if choices else None
        if not content or not content.strip():
            raise ModelResponseError("the model returned an empty answer")
        return str(content)

    async def _open_stream(
        self, messages: Sequence[ChatMessage], timeout_s: float
    ) -> tuple[str, AsyncGenerator[str, None]]:
        try:
            stream = await self._client.chat.completions.create(
                **self._params(messages, timeout_s), stream=True
            )
            pieces = _pieces(stream)
            first = await anext(pieces, None)
        except ValueError as exc:
            raise _MalformedReply(f"malformed JSON in the stream: {exc}") from None
        if first is None:
            raise ModelResponseError("the model returned an empty answer")
        return first, pieces

    async def _with_retries(self, attempt: Callable[[float], Awaitable[_T]]) -> _T:
        policy = self.policy
        started = time.monotonic()
        retrying = AsyncRetrying(**retry_options(policy, self._log_retry))
        try:
            async for trial in retrying:
                with trial:
                    left = policy.budget_s - (time.monotonic() - started)
                    timeout = max(min(self.timeout_s, left), MIN_ATTEMPT_S)
                    # the budget is a deadline on the whole call: httpx's timeout is per read,
                    # and a server that drips a byte at a time never trips it
                    async with asyncio.timeout(max(left, MIN_ATTEMPT_S)):
                        return await attempt(timeout)
        except ModelError:
            raise
        except Exception as exc:
            raise self._translate(exc, retrying.statistics, time.monotonic() - started) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _log_retry(self, state: RetryCallState) -> None:
        """One INFO line a retry (``-v`` shows them); the failure that ends the retries is the
        caller's one WARNING and the answer's notice, so a plain run is not flooded."""
        exc = state.outcome.exception() if state.outcome else None
        log.info(
            "model request failed (%s); retry %d/%d in %.2fs",
            self._describe(exc) if exc else "?",
            state.attempt_number,
            self.policy.max_attempts - 1,
            state.upcoming_sleep,
        )

    def _translate(self, exc: Exception, stats: dict[str, Any], elapsed: float) -> ModelError:
        reason = self._describe(exc)
        if is_transient(exc):
            attempts = stats.get("attempt_number", 1)
            return ModelUnavailable(
                f"the model server did not answer after {attempts} attempt(s) in {elapsed:.1f}s ({reason})"
            )
        if isinstance(exc, openai.APIStatusError):
            if is_context_error(exc):
                return ModelContextError(f"the prompt is too long for the model ({reason})", exc.status_code)
            if is_unknown_model(exc):
                return ModelRequestError(
                    f"the model server has no model {self.model!r}: set llm.model to one it serves "
                    "(or check llm.base_url)",
                    exc.status_code,
                )
            return ModelRequestError(self._refusal(exc, reason), exc.status_code)
        return ModelRequestError(f"the model request failed: {reason}")

    def _refusal(self, exc: openai.APIStatusError, reason: str) -> str:
        hint = {
            401: f"check the API key in the {self._key_env} environment variable",
            403: "the key may not have access to this model",
            404: f"check llm.model ({self.model!r}) and llm.base_url",
            429: "the account's quota is used up",
        }.get(exc.status_code, "")
        message = f"the model server refused the request ({reason})"
        return f"{message}; {hint}" if hint else message

    def _describe(self, exc: BaseException) -> str:
        return describe_error(exc, self._client.api_key)


async def _pieces(
    stream: openai.AsyncStream[ChatCompletionChunk],
) -> AsyncGenerator[str, None]:
    """Non-empty content deltas of a chat-completion stream; closes the stream at the end."""
    try:
        async for chunk in stream:
            if chunk.choices and (text := chunk.choices[0].delta.content):
                yield text
    finally:
        await stream.close()


__all__ = [
    "PLACEHOLDER_KEY",
    "ChatModel",
    "ModelConfigError",
    "ModelContextError",
    "ModelError",
    "ModelRequestError",
    "ModelResponseError",
    "ModelUnavailable",
    "RetryPolicy",
    "is_context_error",
    "is_transient",
    "is_unknown_model",
    "retry_after_s",
]
