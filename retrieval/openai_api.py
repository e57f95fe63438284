"""The OpenAI-compatible API seam shared by the chat model and the API embedder.

One place builds the ``openai`` clients (the key read from the environment and never logged,
a placeholder key for local servers that need none, the SDK's own retries off) and holds the
one retry policy both use: tenacity on transient errors only (timeouts, broken connections,
malformed replies, 408, 429 and 5xx), exponential backoff with full jitter unless the server
says ``Retry-After``, within an attempt limit and a total time budget, ``reraise=True``.
"""

from __future__ import annotations

import email.utils
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import openai
from tenacity import (
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_random_exponential,
)

from config.redaction import redact as redact_secrets
from config.settings import Settings

log = logging.getLogger(__name__)

#: Sent when no key is configured but a base URL is: local servers ignore it.
PLACEHOLDER_KEY = "no-key-needed"
#: An attempt is not started with less time than this left in the budget.
MIN_ATTEMPT_S = 0.05

_KEYLIKE = re.compile(r"\b(sk|key)-[A-Za-z0-9_*\-]{4,}")


class MissingKey(ValueError):
    """Neither a key in the environment nor a base URL: the API cannot be used."""


class MalformedReply(Exception):
    """A reply that could not be parsed; retried like a transport error."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    budget_s: float = 60.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0


def api_key(key_env: str, base_url: str | None) -> str:
    """The key from ``key_env``, or the placeholder for a server at ``base_url`` that needs none."""
    key = Settings.secret(key_env)
    if key is None and base_url is None:
        raise MissingKey(f"set the {key_env} environment variable or a base_url in the config file")
    return key or PLACEHOLDER_KEY


def async_client(key_env: str, base_url: str | None, timeout_s: float) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=api_key(key_env, base_url), base_url=base_url, timeout=timeout_s, max_retries=0
    )


def sync_client(key_env: str, base_url: str | None, timeout_s: float) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=api_key(key_env, base_url), base_url=base_url, timeout=timeout_s, max_retries=0
    )


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
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | MalformedReply | TimeoutError):
        return True  # APITimeoutError is an APIConnectionError; httpx's come mid-stream
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 and exc.code == "insufficient_quota":
            return False  # OpenAI's "out of credit": waiting does not help
        return exc.status_code in (408, 429) or exc.status_code >= 500
    return False


def retry_options(policy: RetryPolicy, before_sleep: Callable[[RetryCallState], None]) -> dict[str, Any]:
    """The arguments of tenacity's ``Retrying`` / ``AsyncRetrying`` for ``policy``."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_s(exc) if exc else None
        if asked is not None:
            return asked
        backoff = wait_random_exponential(multiplier=policy.backoff_initial_s, max=policy.backoff_max_s)
        return float(backoff(state))

    return {
        "retry": retry_if_exception(is_transient),
        "stop": stop_after_attempt(policy.max_attempts) | stop_before_delay(policy.budget_s),
        "wait": wait,
        "before_sleep": before_sleep,
        "reraise": True,
    }


def describe_error(exc: BaseException, key: str | None) -> str:
    """A short account of ``exc``, safe to show and log: keys are redacted."""
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        text = "timed out"
    elif isinstance(exc, openai.APIConnectionError):
        text = f"connection failed: {exc.__cause__ or exc}"
    elif isinstance(exc, openai.APIStatusError):
        # users see the status only; the server's own words go to the log, redacted
        log.warning("the server said (HTTP %s): %s", exc.status_code, redact(str(exc.message), key)[:500])
        text = f"HTTP {exc.status_code}"
    else:
        text = str(exc) or type(exc).__name__
    return redact(text, key)[:300]


def redact(text: str, key: str | None) -> str:
    if key and key != PLACEHOLDER_KEY:
        text = text.replace(key, "[redacted]")
    return redact_secrets(_KEYLIKE.sub("[redacted]", text))


def log_retry(log: logging.Logger, what: str, policy: RetryPolicy, key: str | None) -> Callable[..., None]:
    """A ``before_sleep`` hook that logs each retry of ``what`` (a model request, an embedding)."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s failed (%s); retry %d/%d in %.2fs",
            what,
            describe_error(exc, key) if exc else "?",
            state.attempt_number,
            policy.max_attempts - 1,
            state.upcoming_sleep,
        )

    return before_sleep
