"""``embedding.provider: openai``: passages embedded by any OpenAI-compatible embeddings endpoint.

OpenAI itself, or a local server (llama.cpp, vLLM, Ollama, LM Studio, text-embeddings-inference)
at ``embedding.base_url``. Requests go through the shared API seam (:mod:`retrieval.openai_api`):
the key from ``embedding.api_key_env``, the SDK's retries off and the one retry policy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import openai
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr
from tenacity import Retrying

from config.settings import EmbeddingSettings
from retrieval.minilm import EmbedderError
from retrieval.openai_api import (
    MIN_ATTEMPT_S,
    MalformedReply,
    MissingKey,
    RetryPolicy,
    describe_error,
    is_transient,
    log_retry,
    retry_options,
    sync_client,
)

log = logging.getLogger(__name__)


class APIEmbedding(BaseEmbedding):
    """Vectors from ``POST {base_url}/embeddings``, a batch of texts per request."""

    _client: openai.OpenAI = PrivateAttr()
    _policy: RetryPolicy = PrivateAttr()
    _timeout_s: float = PrivateAttr()

    def __init__(
        self,
        client: openai.OpenAI,
        model: str,
        *,
        policy: RetryPolicy | None = None,
        timeout_s: float = 30.0,
        embed_batch_size: int = 16,
        **kwargs: Any,
    ) -> None:
        super().__init__(model_name=model, embed_batch_size=embed_batch_size, **kwargs)
        self._client = client
        self._policy = policy or RetryPolicy()
        self._timeout_s = timeout_s

    @classmethod
    def class_name(cls) -> str:
        return "APIEmbedding"

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embed([query])[0]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return await asyncio.to_thread(self._get_query_embedding, query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embed([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embed(texts)

    def _embed(self, texts: list[str]) -> list[list[float]]:
        policy = self._policy
        started = time.monotonic()
        key = self._client.api_key
        retrying = Retrying(**retry_options(policy, log_retry(log, "embedding request", policy, key)))
        try:
            for trial in retrying:
                with trial:
                    left = policy.budget_s - (time.monotonic() - started)
                    return self._embed_once(texts, max(min(self._timeout_s, left), MIN_ATTEMPT_S))
        except Exception as exc:
            reason = describe_error(exc, key)
            if is_transient(exc):
                attempts = retrying.statistics.get("attempt_number", 1)
                raise EmbedderError(
                    f"the embeddings server did not answer after {attempts} attempt(s) "
                    f"in {time.monotonic() - started:.1f}s ({reason})"
                ) from None
            raise EmbedderError(
                f"the embeddings request failed ({reason}); check embedding.model "
                f"({self.model_name!r}), embedding.base_url and the key"
            ) from None
        raise AssertionError("unreachable: tenacity either returns or raises")

    def _embed_once(self, texts: list[str], timeout_s: float) -> list[list[float]]:
        try:
            reply: Any = self._client.embeddings.create(model=self.model_name, input=texts, timeout=timeout_s)
        except ValueError as exc:  # a body that is not the JSON promised
            raise MalformedReply(f"malformed JSON in the reply: {exc}") from None
        data = getattr(reply, "data", None)
        if not isinstance(data, list) or len(data) != len(texts):
            raise MalformedReply(f"expected {len(texts)} embeddings in the reply")
        rows = sorted(data, key=lambda item: item.index)
        return [[float(x) for x in row.embedding] for row in rows]


def build_api_embedder(cfg: EmbeddingSettings) -> APIEmbedding:
    """The embedder for ``embedding.provider: openai``; a missing key is one clear error."""
    try:
        client = sync_client(cfg.api_key_env, cfg.base_url, cfg.timeout_s)
    except MissingKey as exc:
        raise EmbedderError(f"embedding.provider is openai: {exc}") from None
    policy = RetryPolicy(max_attempts=cfg.max_attempts, budget_s=cfg.retry_budget_s)
    return APIEmbedding(
        client, cfg.model, policy=policy, timeout_s=cfg.timeout_s, embed_batch_size=cfg.batch_size
    )
