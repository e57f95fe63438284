"""Fixtures around the fake LLM server; enable with ``pytest_plugins`` in tests/conftest.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from config.settings import LLMSettings
from prompts.chat_model import ChatModel
from tests.fakes.llm_server import FakeLLMServer

#: The env var the test settings read the key from, and the key the tests put there.
TEST_KEY_ENV = "NEWSDESK_TEST_LLM_KEY"
TEST_KEY = "sk-test-0123456789abcdef"


@pytest.fixture
async def llm_server() -> AsyncIterator[FakeLLMServer]:
    """A started scripted server; queue actions with ``llm_server.queue(...)``."""
    async with FakeLLMServer() as server:
        yield server


@pytest.fixture
def llm_settings(llm_server: FakeLLMServer, monkeypatch: pytest.MonkeyPatch) -> LLMSettings:
    """Settings pointing at the fake server, with budgets small enough for fast tests."""
    monkeypatch.setenv(TEST_KEY_ENV, TEST_KEY)
    return LLMSettings(
        base_url=llm_server.base_url,
        model="fake-model",
        api_key_env=TEST_KEY_ENV,
        temperature=0.0,
        max_tokens=300,
        timeout_s=0.5,
        retry_budget_s=2.0,
        max_attempts=3,
        backoff_initial_s=0.01,
        backoff_max_s=0.05,
    )


@pytest.fixture
async def chat_model(llm_settings: LLMSettings) -> AsyncIterator[ChatModel]:
    """The real adapter (unmodified ``openai`` client) talking to ``llm_server``."""
    model = ChatModel.from_settings(llm_settings)
    yield model
    await model.close()
