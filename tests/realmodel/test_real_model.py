"""newsdesk's model path, unmodified, against a real llama.cpp server with SmolLM2-135M.

The model is tiny and invents facts, so these tests check what must hold whatever it writes:
the request goes through, the answer arrives, and every citation a user sees verifies (the
model's sentence kept only when its passage supports it, otherwise the offline answer).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from config import Settings
from corpus import SAMPLE_CORPUS
from prompts.citations import Answer
from prompts.generative import AnswerDraft
from retrieval.sources import read_folder
from tests.fakes.discord_fixtures import copied_seed_desk
from tests.prompts.citation_check import citations_verify
from tests.realmodel.conftest import N_CTX, model_settings, real_llm_settings
from tests.realmodel.server import LlamaServer, Runtime

QUESTION = "Which court issued an arrest warrant for Putin?"
ARTICLES = {a.doc_id: a for a in read_folder(SAMPLE_CORPUS)[0]}
REPO = Path(__file__).resolve().parents[2]


def assert_answered(answer: Answer) -> None:
    """An answer a user may see: grounded, its citations verify, and no failure notice."""
    assert answer.grounded and answer.citations, answer
    assert citations_verify(answer, ARTICLES), answer
    assert "unavailable" not in (answer.notice or ""), answer.notice


async def test_ask_in_model_mode_gets_a_verified_answer(real_desk: Any):
    answer = await real_desk.ask(QUESTION, mode="llm")
    assert_answered(answer)
    assert answer.timings_ms["model"] > 0  # the model was asked, whichever answer was kept


async def test_ask_stream_in_auto_mode_streams_drafts_then_a_verified_answer(real_desk: Any):
    items = [item async for item in real_desk.ask_stream(QUESTION, mode="auto")]
    drafts, final = items[:-1], items[-1]
    assert drafts and all(isinstance(d, AnswerDraft) for d in drafts)
    assert isinstance(final, Answer)
    assert_answered(final)
    assert 0 < final.timings_ms["model_first_token"] <= final.timings_ms["model"]


def write_config(folder: Path, base_url: str, mode: str) -> Path:
    llm = real_llm_settings(base_url).model_dump(mode="json")
    path = folder / "newsdesk.yaml"
    path.write_text(yaml.safe_dump({"answer": {"mode": mode}, "llm": llm}), encoding="utf-8")
    return path


def cli(*args: str, timeout: float = 400) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        check=False,
    )


@pytest.fixture
def cli_data(seed_data_dir: Path, settings: Settings, tmp_path: Path) -> Path:
    copied_seed_desk(seed_data_dir, settings, tmp_path / "data").close()
    return tmp_path / "data"


@pytest.mark.parametrize("mode", ["llm", "auto"])
def test_cli_ask_answers_through_the_model(
    llama_server: LlamaServer, cli_data: Path, tmp_path: Path, mode: str
):
    config = write_config(tmp_path, llama_server.base_url, "extractive")
    done = cli(
        "--config", str(config), "--data-dir", str(cli_data), "ask", "--mode", mode, "--json", QUESTION
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["grounded"] and answer["citations"]
    assert "unavailable" not in answer.get("notice", "")
    assert answer["timings_ms"]["model"] > 0


def test_cli_summary_in_model_mode(llama_server: LlamaServer, cli_data: Path, tmp_path: Path):
    config = write_config(tmp_path, llama_server.base_url, "llm")
    done = cli(
        "--config",
        str(config),
        "--data-dir",
        str(cli_data),
        "summary",
        "--mode",
        "llm",
        "--json",
        "--topic",
        "Xi Jinping visit to Moscow",
        "--since",
        "2023-03-01",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["citations"], summary
    assert "unavailable" not in json.dumps(summary)


@pytest.fixture
async def unknown_model_desk(
    llama_server: LlamaServer, seed_data_dir: Path, settings: Settings, tmp_path: Path
):
    # llama.cpp serves its one model whatever name is asked for; this documents that
    desk_settings = model_settings(settings, llama_server.base_url, model="no-such-model")
    desk = copied_seed_desk(seed_data_dir, desk_settings, tmp_path / "data")
    yield desk
    await desk.aclose()


async def test_llama_cpp_answers_whatever_model_name_is_configured(unknown_model_desk: Any):
    answer = await unknown_model_desk.ask(QUESTION, mode="llm")
    assert_answered(answer)


# -- the server going away, and prompts too long for it ------------------------------------


@pytest.fixture
def own_server(model_runtime: Runtime, model_log: Path):
    servers: list[LlamaServer] = []

    def start(n_ctx: int = N_CTX) -> LlamaServer:
        servers.append(LlamaServer(model_runtime, n_ctx=n_ctx, log=model_log).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


async def test_server_killed_mid_stream_gives_the_offline_answer_with_a_notice(
    own_server: Any, seed_data_dir: Path, settings: Settings, tmp_path: Path
):
    server = own_server()
    desk = copied_seed_desk(seed_data_dir, model_settings(settings, server.base_url), tmp_path / "data")
    try:
        items = []
        async for item in desk.ask_stream(QUESTION, mode="llm"):
            items.append(item)
            if len(items) == 1:
                server.kill()
        final = items[-1]
        assert isinstance(items[0], AnswerDraft) and isinstance(final, Answer)
        assert final.mode == "extractive" and final.citations
        assert final.notice and "stopped in mid-answer" in final.notice
        assert citations_verify(final, ARTICLES)
    finally:
        await desk.aclose()


@pytest.mark.parametrize("known", [True, False], ids=["context-configured", "context-unknown"])
async def test_a_prompt_longer_than_the_context_is_trimmed_not_an_error(
    own_server: Any, seed_data_dir: Path, settings: Settings, tmp_path: Path, known: bool
):
    n_ctx = 1024  # the system prompt and six passages need ~2,000 tokens
    server = own_server(n_ctx)
    overrides: dict[str, Any] = {"max_passages": None, "context_tokens": n_ctx if known else None}
    desk = copied_seed_desk(
        seed_data_dir, model_settings(settings, server.base_url, **overrides), tmp_path / "data"
    )
    try:
        answer = await desk.ask(QUESTION, mode="llm")
        assert_answered(answer)
    finally:
        await desk.aclose()
