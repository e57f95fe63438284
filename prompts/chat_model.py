"""The chat-model adapter: the only module that imports ``openai``.

Any OpenAI-compatible server works (OpenAI, Azure's v1 endpoint, vLLM, Ollama, llama.cpp,
LM Studio): requests use only ``model``, ``messages``, ``temperature``, ``max_tokens`` and
``stream``. Retries live here and only here (tenacity; the SDK's own retries are off): on
timeouts, connection errors, malformed replies, 408, 429 and 5xx, with exponential backoff and
full jitter, honouring ``Retry-After``, within a total time budget and an attempt limit. The
API key comes from the environment and is never logged or put in an error message.
"""

from __future__ import annotations

import email.utils
import logging
import re
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import httpx
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from config.settings import LLMSettings, Settings
from prompts.templates import ChatMessage

log = logging.getLogger(__name__)

#: Sent when no key is configured but a base URL is: local servers ignore it.
PLACEHOLDER_KEY = "no-key-needed"
#: An attempt is not started with less time than this left in the budget.
MIN_ATTEMPT_S = 0.05

_T = TypeVar("_T")
_KEYLIKE = re.compile(r"\b(sk|key)-[A-Za-z0-9_*\-]{4,}")
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


class _MalformedReply(Exception):
    """A reply that could not be parsed; retried like a transport error."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    budget_s: float = 60.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if any."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    if ms := headers.get("retry-after-ms"):
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt may succeed: timeouts, broken connections, 408/429/5xx."""
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | _MalformedReply):
        return True  # APITimeoutError is an APIConnectionError; httpx's come mid-stream
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 and exc.code == "insufficient_quota":
            return False  # OpenAI's "out of credit": waiting does not help
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


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


def _redact(text: str, key: str | None) -> str:
    if key and key != PLACEHOLDER_KEY:
        text = text.replace(key, "[redacted]")
    return _KEYLIKE.sub("[redacted]", text)


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
        client = openai.AsyncOpenAI(
            api_key=key or PLACEHOLDER_KEY,
            base_url=llm.base_url,
            timeout=llm.timeout_s,
            max_retries=0,
        )
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

    async def complete(self, messages: Sequence[ChatMessage]) -> str:
        """The model's reply to ``messages``; raises a :class:`ModelError` subclass."""
        return await self._with_retries(lambda timeout: self._complete_once(messages, timeout))

    async def stream(self, messages: Sequence[ChatMessage]) -> AsyncIterator[str]:
        """The reply as it is written, in pieces. Retries happen only before the first piece."""
        first, rest = await self._with_retries(lambda timeout: self._open_stream(messages, timeout))
        try:
            yield first
            try:
                async for piece in rest:
                    yield piece
            except (openai.OpenAIError, httpx.HTTPError, ValueError) as exc:
                raise ModelUnavailable(f"the model stopped in mid-answer ({self._describe(exc)})") from None
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
        retrying = AsyncRetrying(
            retry=retry_if_exception(is_transient),
            stop=stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.budget_s),
            wait=self._wait,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for trial in retrying:
                with trial:
                    left = policy.budget_s - (time.monotonic() - started)
                    timeout = max(min(self.timeout_s, left), MIN_ATTEMPT_S)
                    return await attempt(timeout)
        except ModelError:
            raise
        except Exception as exc:
            raise self._translate(exc, retrying.statistics, time.monotonic() - started) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc) if exc else None
        if asked is not None:
            return asked
        backoff = wait_random_exponential(
            multiplier=self.policy.backoff_initial_s, max=self.policy.backoff_max_s
        )
        return float(backoff(state))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
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
        message = f"the model server refused the request (HTTP {exc.status_code}): {reason}"
        return f"{message}; {hint}" if hint else message

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
            text = "timed out"
        elif isinstance(exc, openai.APIConnectionError):
            text = f"connection failed: {exc.__cause__ or exc}"
        elif isinstance(exc, openai.APIStatusError):
            text = f"HTTP {exc.status_code}: {exc.message}"
        else:
            text = str(exc) or type(exc).__name__
        return _redact(text, self._client.api_key)[:300]


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
