"""Embedders as llama-index ``BaseEmbedding``s: the bundled MiniLM (offline) or an API.

The provider is chosen by ``embedding.provider``; an OpenAI-compatible embeddings endpoint can
replace the bundled model without code changes elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from config.settings import EmbeddingSettings
from retrieval.catalog import MINILM_MODEL
from retrieval.minilm import MiniLMEncoder


class MiniLMEmbedding(BaseEmbedding):
    """all-MiniLM-L6-v2 (384 dims), int8 ONNX on the CPU; see :mod:`retrieval.minilm`."""

    _encoder: MiniLMEncoder = PrivateAttr()
    _on_batch: Callable[[int], None] | None = PrivateAttr(default=None)

    def __init__(self, encoder: MiniLMEncoder | None = None, embed_batch_size: int = 4, **kwargs: Any):
        super().__init__(model_name=MINILM_MODEL, embed_batch_size=embed_batch_size, **kwargs)
        self._encoder = encoder or MiniLMEncoder()

    @classmethod
    def class_name(cls) -> str:
        return "MiniLMEmbedding"

    @property
    def encoder(self) -> MiniLMEncoder:
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


def build_embedder(cfg: EmbeddingSettings, encoder: MiniLMEncoder | None = None) -> BaseEmbedding:
    """The embedder named by ``embedding.provider``."""
    if cfg.provider == "minilm":
        return MiniLMEmbedding(encoder or MiniLMEncoder(threads=cfg.threads), embed_batch_size=cfg.batch_size)
    from retrieval.api_embedding import build_api_embedder  # the one place an API embedder is built

    return build_api_embedder(cfg)
