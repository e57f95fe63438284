"""The real-model tier: a llama.cpp server with SmolLM2-135M on 127.0.0.1 behind newsdesk.

Opt-in (it needs a compiled runtime and minutes of CPU): ``.ci/run-model``, or
``NEWSDESK_REALMODEL=1 .venv/bin/python -m pytest -rs tests/realmodel``. With the variable set
the fixture installs the runtime itself when it is missing (tests/realmodel/server.py); where it
cannot be had, every test skips with the reason in one line, or fails with it when the variable
is ``require`` (the CI stage, which must not pass without having run).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from config import Settings
from config.settings import LLMSettings
from tests.fakes.discord_fixtures import copied_seed_desk
from tests.realmodel.server import MODEL_ALIAS, LlamaServer, Runtime, RuntimeUnavailable, install

ENABLE_ENV = "NEWSDESK_REALMODEL"
#: The value of ENABLE_ENV under which a missing runtime fails the tier instead of skipping it.
REQUIRED = "require"
#: The server's context window; the tier's prompts of four passages fit in it.
N_CTX = 2048


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.realmodel)


@pytest.fixture(scope="session")
def model_runtime() -> Runtime:
    if not os.environ.get(ENABLE_ENV):
        pytest.skip(f"real-model tier is opt-in: run .ci/run-model (or set {ENABLE_ENV}=1)")
    try:
        return install()
    except RuntimeUnavailable as exc:
        unavailable(f"real model runtime unavailable: {exc}")


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``; fail with it where the tier is required."""
    if os.environ.get(ENABLE_ENV) == REQUIRED:
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def model_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("llama") / "server.log"


@pytest.fixture(scope="session")
def llama_server(model_runtime: Runtime, model_log: Path) -> Iterator[LlamaServer]:
    """One server for the session (loading the model takes ~1 s; answers queue on one thread)."""
    server = LlamaServer(model_runtime, n_ctx=N_CTX, log=model_log)
    try:
        server.start()
    except RuntimeUnavailable as exc:
        unavailable(f"real model server did not start: {exc}")
    yield server
    server.stop()


def real_llm_settings(base_url: str, **overrides: Any) -> LLMSettings:
    """Budgets for SmolLM2-135M on one shared thread: a four-passage prompt takes ~10-30 s to
    read on an idle box and over 90 s at load 10 on two cores (a summary's model call timed out
    so in a tier run beside the benchmark), so one attempt gets 180 s and there is no time for
    a second."""
    values: dict[str, Any] = {
        "base_url": base_url,
        "model": MODEL_ALIAS,
        "api_key_env": "NEWSDESK_REALMODEL_KEY",  # unset: local servers need no key
        "temperature": 0.0,
        "max_tokens": 160,
        "timeout_s": 180.0,
        "retry_budget_s": 190.0,
        "max_attempts": 2,
        "backoff_initial_s": 0.2,
        "backoff_max_s": 1.0,
        "max_passages": 4,
        "context_tokens": N_CTX,
    }
    return LLMSettings(**(values | overrides))


def model_settings(settings: Settings, base_url: str, mode: str = "llm", **llm: Any) -> Settings:
    answer = settings.answer.model_copy(update={"mode": mode})
    return settings.model_copy(update={"llm": real_llm_settings(base_url, **llm), "answer": answer})


@pytest.fixture
async def real_desk(
    llama_server: LlamaServer, seed_data_dir: Path, settings: Settings, tmp_path: Path
) -> AsyncIterator[Any]:
    """The real Desk on a copy of the seed index, in model mode, talking to the real server."""
    desk = copied_seed_desk(seed_data_dir, model_settings(settings, llama_server.base_url), tmp_path / "data")
    yield desk
    await desk.aclose()
