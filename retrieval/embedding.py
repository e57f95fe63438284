"""Embedders as llama-index ``BaseEmbedding``s: a local encoder (offline) or an API.

The provider is chosen by ``embedding.provider``: the bundled MiniLM-L6, the ``fast`` extra's
MiniLM-L3 or WordLlama (:mod:`retrieval.encoders`), or an OpenAI-compatible embeddings endpoint,
without code changes elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from config.settings import EmbeddingSettings
from retrieval.catalog import MINILM_MODEL, embedder_model
from retrieval.encoders import LOCAL_PROVIDERS, LocalEncoder, local_encoder
from retrieval.minilm import MiniLMEncoder


class MiniLMEmbedding(BaseEmbedding):
    """A local encoder in llama-index: all-MiniLM-L6-v2 int8 ONNX (:mod:`retrieval.minilm`) unless
    another :class:`retrieval.encoders.LocalEncoder` and its ``model_name`` are passed in."""

    _encoder: LocalEncoder = PrivateAttr()
    _on_batch: Callable[[int], None] | None = PrivateAttr(default=None)

    def __init__(
        self,
        encoder: LocalEncoder | None = None,
        embed_batch_size: int = 4,
        model_name: str = MINILM_MODEL,
        **kwargs: Any,
    ):
        super().__init__(model_name=model_name, embed_batch_size=embed_batch_size, **kwargs)
        self._encoder = encoder or MiniLMEncoder()

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    @property
    def encoder(self) -> LocalEncoder:
        return self._encoder

    def on_batch(self, callback: Callable[[int], None] | None) -> None:
        """Call ``callback(n)`` after each batch of ``n`` texts is embedded (progress bars)."""
        self._on_batch = callback

    def _get_query_embedding(self, query: str) -> list[float]:
        return [float(x) for x in self._encoder.embed_query(query)]

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._get_text_embeddings([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        vectors = [[float(x) for x in row] for row in self._encoder.encode(texts)]
        if self._on_batch is not None:
            self._on_batch(len(texts))
        return vectors


def build_embedder(cfg: EmbeddingSettings, encoder: LocalEncoder | None = None) -> BaseEmbedding:
    """The embedder named by ``embedding.provider``; ``encoder``: that provider's local encoder
    when the caller already has it (for ``minilm``, the MiniLM-L6 encoder)."""
    local = (encoder if cfg.provider in LOCAL_PROVIDERS else None) or local_encoder(cfg)
    if local is not None:
        return MiniLMEmbedding(local, embed_batch_size=cfg.batch_size, model_name=embedder_model(cfg))
    from retrieval.api_embedding import build_api_embedder  # the one place an API embedder is built

    return build_api_embedder(cfg)
