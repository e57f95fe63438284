"""``embedding.provider: openai`` against the loopback OpenAI-compatible fake's ``/v1/embeddings``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from config import load_settings
from config.settings import EmbeddingSettings, Settings
from prompts.desk import Desk
from retrieval.api_embedding import build_api_embedder
from retrieval.minilm import EmbedderError
from tests.fakes.llm_fixtures import TEST_KEY, TEST_KEY_ENV
from tests.fakes.llm_server import Fail, FakeLLMServer


@pytest.fixture
def api_settings(llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)
    embedding = {
        "provider": "openai",
        "base_url": llm_server.base_url,
        "model": "fake-embed",
        "api_key_env": TEST_KEY_ENV,
        "timeout_s": 2.0,
        "retry_budget_s": 5.0,
        "max_attempts": 3,
    }
    return load_settings(embedding=embedding)


async def test_the_seeds_indexed_through_the_api_answer_with_citations(
    api_settings: Settings, llm_server: FakeLLMServer, tmp_path: Path
) -> None:
    desk = await asyncio.to_thread(Desk.open, api_settings, tmp_path)
    try:
        answer = await desk.ask("Who is the head of Rosneft?")
        catalog = desk.catalog
    finally:
        desk.close()
    assert "Igor Sechin" in answer.text and "[1]" in answer.text
    assert answer.citations and answer.citations[0].doc_id
    assert (catalog.embedder, catalog.embedding_model, catalog.dimension) == ("openai", "fake-embed", 64)
    requests = llm_server.embedding_requests
    assert requests and {r.body["model"] for r in requests} == {"fake-embed"}
    assert requests[0].headers["Authorization"] == f"Bearer {TEST_KEY}"


async def test_a_transient_failure_is_retried_by_the_shared_policy(
    api_settings: Settings, llm_server: FakeLLMServer
) -> None:
    llm_server.fail_embeddings(Fail(503), Fail(429, {"Retry-After": "0.05"}))
    embedder = build_api_embedder(api_settings.embedding)
    vector = await asyncio.to_thread(embedder.get_query_embedding, "Putin and Xi")
    assert len(vector) == 64
    assert len(llm_server.embedding_requests) == 3


async def test_a_refused_request_is_one_error_naming_the_settings_not_the_key(
    api_settings: Settings, llm_server: FakeLLMServer
) -> None:
    llm_server.fail_embeddings(Fail(401, message=f"bad key {TEST_KEY}"))
    embedder = build_api_embedder(api_settings.embedding)
    with pytest.raises(EmbedderError) as caught:
        await asyncio.to_thread(embedder.get_query_embedding, "Putin and Xi")
    message = str(caught.value)
    assert "HTTP 401" in message and "embedding.base_url" in message
    assert TEST_KEY not in message and "\n" not in message
    assert len(llm_server.embedding_requests) == 1  # a 401 is not retried


def test_no_key_and_no_base_url_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NEWSDESK_NO_SUCH_KEY", raising=False)
    cfg = EmbeddingSettings(provider="openai", api_key_env="NEWSDESK_NO_SUCH_KEY")
    with pytest.raises(EmbedderError, match="set the NEWSDESK_NO_SUCH_KEY environment variable"):
        build_api_embedder(cfg)
