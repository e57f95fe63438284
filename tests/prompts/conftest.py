"""Fixtures for the prompts tests: the real MiniLM embedder, loaded once per session."""

from __future__ import annotations

import pytest

from retrieval.embedding import MiniLMEmbedding
from retrieval.minilm import MiniLMEncoder


@pytest.fixture(scope="session")
def minilm(encoder: MiniLMEncoder) -> MiniLMEmbedding:
    """The bundled all-MiniLM-L6-v2 (int8 ONNX) that verification thresholds are tuned for."""
    return MiniLMEmbedding(encoder)
