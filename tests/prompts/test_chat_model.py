"""The chat adapter against the scripted server, over a real socket with the real client."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import openai
import pytest

from config.settings import LLMSettings
from prompts.chat_model import (
    PLACEHOLDER_KEY,
    ChatModel,
    ModelConfigError,
    ModelContextError,
    ModelRequestError,
    ModelResponseError,
    ModelUnavailable,
    retry_after_s,
)
from prompts.templates import ChatMessage
from tests.fakes.llm_fixtures import TEST_KEY
from tests.fakes.llm_server import Drip, Empty, Fail, FakeLLMServer, Hang, Malformed, Reply

MESSAGES: list[ChatMessage] = [
    {"role": "system", "content": "Answer from the passages."},
    {"role": "user", "content": "Who met?"},
]


async def test_complete_returns_the_reply_text(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Reply("Putin met Xi [P1]."))
    assert await chat_model.complete(MESSAGES) == "Putin met Xi [P1]."


async def test_request_sends_key_as_bearer_and_only_portable_fields(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Reply("ok"))
    await chat_model.complete(MESSAGES)
    [request] = llm_server.chat_requests
    assert request.headers["Authorization"] == f"Bearer {TEST_KEY}"
    assert set(request.body) <= {"model", "messages", "temperature", "max_tokens", "stream"}
    assert request.body["model"] == "fake-model"
    assert request.body["messages"] == MESSAGES


async def test_placeholder_key_is_sent_when_only_a_base_url_is_configured(
    llm_settings: LLMSettings, llm_server: FakeLLMServer
):
    settings = llm_settings.model_copy(update={"api_key_env": "NEWSDESK_UNSET_KEY_VAR"})
    model = ChatModel.from_settings(settings)
    llm_server.queue(Reply("ok"))
    await model.complete(MESSAGES)
    await model.close()
    assert llm_server.chat_requests[0].headers["Authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_no_key_and_no_base_url_is_a_config_error_naming_the_env_var():
    settings = LLMSettings(api_key_env="NEWSDESK_UNSET_KEY_VAR")
    with pytest.raises(ModelConfigError, match="NEWSDESK_UNSET_KEY_VAR"):
        ChatModel.from_settings(settings)


async def test_429_with_retry_after_waits_that_long_then_succeeds(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Fail(429, {"Retry-After": "0.3"}), Reply("done"))
    started = time.monotonic()
    assert await chat_model.complete(MESSAGES) == "done"
    elapsed = time.monotonic() - started
    first, second = llm_server.chat_requests
    gap = second.at - first.at
    print(f"429 Retry-After 0.3s: request gap {gap * 1000:.0f} ms, call {elapsed * 1000:.0f} ms")
    assert 0.3 <= gap < 0.45


async def test_500_on_every_attempt_raises_unavailable_after_max_attempts(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Fail(500), Fail(502), Fail(503))
    with pytest.raises(ModelUnavailable, match="3 attempt"):
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 3


async def test_a_hang_past_the_timeout_is_retried(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Hang(5), Reply("after the hang"))
    started = time.monotonic()
    assert await chat_model.complete(MESSAGES) == "after the hang"
    assert time.monotonic() - started < 1.5  # timeout_s is 0.5


async def test_hangs_until_the_budget_is_spent_raise_unavailable(
    llm_settings: LLMSettings, llm_server: FakeLLMServer
):
    settings = llm_settings.model_copy(update={"retry_budget_s": 0.8, "max_attempts": 10})
    model = ChatModel.from_settings(settings)
    llm_server.queue(*(Hang(5) for _ in range(10)))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="timed out"):
        await model.complete(MESSAGES)
    await model.close()
    assert time.monotonic() - started < 1.2


async def test_malformed_json_is_retried(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Malformed(), Reply("fine now"))
    assert await chat_model.complete(MESSAGES) == "fine now"


async def test_malformed_json_every_time_raises_unavailable(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Malformed(), Malformed(), Malformed())
    with pytest.raises(ModelUnavailable, match="malformed JSON"):
        await chat_model.complete(MESSAGES)


async def test_empty_completion_raises_response_error_without_retrying(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Empty(), Reply("unused"))
    with pytest.raises(ModelResponseError, match="empty"):
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 1


async def test_401_is_not_retried_and_names_the_env_var_but_not_the_key(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Fail(401, message=f"Incorrect API key provided: {TEST_KEY}"))
    with pytest.raises(ModelRequestError) as caught:
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 1
    assert caught.value.status == 401
    assert "NEWSDESK_TEST_LLM_KEY" in str(caught.value)
    assert TEST_KEY not in str(caught.value)


async def test_404_is_not_retried_and_names_the_model(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Fail(404, message="model not found"))
    with pytest.raises(ModelRequestError, match="fake-model"):
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 1


async def test_quota_exhausted_429_is_not_retried(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Fail(429, message="You exceeded your quota", code="insufficient_quota"))
    with pytest.raises(ModelRequestError, match="quota"):
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 1


async def test_retry_after_beyond_the_budget_gives_up_without_waiting(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Fail(429, {"Retry-After": "30"}), Reply("unused"))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="429"):
        await chat_model.complete(MESSAGES)
    assert time.monotonic() - started < 0.5


async def test_retries_never_log_the_key(
    chat_model: ChatModel, llm_server: FakeLLMServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    llm_server.queue(Fail(500, message=f"boom {TEST_KEY}"), Reply("ok"))
    await chat_model.complete(MESSAGES)
    assert "retry 1/2" in caplog.text
    assert TEST_KEY not in caplog.text


async def test_retries_are_info_lines_so_a_plain_run_shows_none(
    chat_model: ChatModel, llm_server: FakeLLMServer, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.WARNING)
    llm_server.queue(Fail(500), Reply("ok"))
    assert await chat_model.complete(MESSAGES) == "ok"
    assert "retry" not in caplog.text


async def test_stream_yields_the_reply_in_pieces(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Reply("Putin met Xi in Moscow [P1]."))
    pieces = [piece async for piece in chat_model.stream(MESSAGES)]
    assert len(pieces) > 1
    assert "".join(pieces) == "Putin met Xi in Moscow [P1]."
    assert llm_server.chat_requests[0].body["stream"] is True


async def test_stream_is_retried_before_its_first_piece(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Fail(503), Malformed(), Reply("second try"))
    assert "".join([p async for p in chat_model.stream(MESSAGES)]) == "second try"
    assert len(llm_server.chat_requests) == 3


async def test_stream_that_stalls_mid_answer_raises_unavailable(
    chat_model: ChatModel, llm_server: FakeLLMServer
):
    llm_server.queue(Reply("one two three four", stall_after=2, stall_s=5))
    pieces: list[str] = []
    with pytest.raises(ModelUnavailable, match="mid-answer"):
        async for piece in chat_model.stream(MESSAGES):
            pieces.append(piece)
    assert "".join(pieces) == "one two "


async def test_empty_stream_raises_response_error(chat_model: ChatModel, llm_server: FakeLLMServer):
    llm_server.queue(Empty())
    with pytest.raises(ModelResponseError, match="empty"):
        _ = [p async for p in chat_model.stream(MESSAGES)]


async def test_fake_server_embeddings_work_with_the_real_client(llm_server: FakeLLMServer):
    client = openai.AsyncOpenAI(base_url=llm_server.base_url, api_key="k", max_retries=0)
    result = await client.embeddings.create(model="fake-embed", input=["a b", "c"])
    await client.close()
    assert [len(item.embedding) for item in result.data] == [64, 64]
    assert llm_server.requests[-1].path == "/v1/embeddings"


def _status_error(headers: dict[str, str]) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(429, headers=headers, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "2"}, 2.0),
        ({"Retry-After": "0.25"}, 0.25),
        ({"retry-after-ms": "1500", "Retry-After": "9"}, 1.5),
        ({"Retry-After": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_header_is_read_in_seconds(headers: dict[str, str], expected: float | None):
    assert retry_after_s(_status_error(headers)) == expected


def test_retry_after_as_an_http_date_counts_from_now():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    seconds = retry_after_s(_status_error({"Retry-After": when}))
    assert seconds is not None and 25 < seconds <= 30


@pytest.mark.parametrize(
    ("status", "message", "code"),
    [
        (400, "This model's maximum context length is 512 tokens. However, you requested 900 tokens", None),
        (400, "Requested tokens (900) exceed context window of 512", "context_length_exceeded"),
        (400, "the prompt is too long for this model", None),
        (413, "input exceeds the context window", None),
    ],
)
async def test_a_prompt_too_long_is_a_context_error_and_not_retried(
    chat_model: ChatModel, llm_server: FakeLLMServer, status: int, message: str, code: str | None
):
    llm_server.queue(Fail(status, message=message, code=code))
    with pytest.raises(ModelContextError, match="too long"):
        await chat_model.complete(MESSAGES)
    assert len(llm_server.chat_requests) == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (404, 'model "fake-model" not found, try pulling it first'),  # Ollama
        (404, "The model `fake-model` does not exist."),  # vLLM, OpenAI
        (400, "model 'fake-model' not found"),
    ],
)
async def test_an_unknown_model_name_is_one_line_naming_the_setting(
    chat_model: ChatModel, llm_server: FakeLLMServer, status: int, message: str
):
    llm_server.queue(Fail(status, message=message))
    with pytest.raises(ModelRequestError) as caught:
        await chat_model.complete(MESSAGES)
    assert str(caught.value) == (
        "the model server has no model 'fake-model': set llm.model to one it serves (or check llm.base_url)"
    )


@pytest.mark.parametrize("stream", [False, True])
async def test_a_server_that_drips_bytes_is_cut_off_at_the_budget(
    llm_settings: LLMSettings, llm_server: FakeLLMServer, stream: bool
) -> None:
    """Each read arrives within the per-read timeout, so only a deadline on the whole call ends it."""
    settings = llm_settings.model_copy(update={"retry_budget_s": 1.0, "timeout_s": 0.5, "max_attempts": 1})
    model = ChatModel.from_settings(settings)
    llm_server.queue(Drip(seconds=10, every_s=0.1))
    started = time.monotonic()
    with pytest.raises(ModelUnavailable):
        if stream:
            async for _ in model.stream(MESSAGES):
                pass
        else:
            await model.complete(MESSAGES)
    await model.close()
    assert time.monotonic() - started < 2.0


async def test_the_servers_error_body_is_logged_redacted_not_shown(
    chat_model: ChatModel, llm_server: FakeLLMServer, caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.queue(Fail(400, message="internal trace: db password=hunter2 at /srv/app.py"))
    with pytest.raises(ModelRequestError) as caught:
        await chat_model.complete(MESSAGES)
    assert str(caught.value) == "the model server refused the request (HTTP 400)"
    assert "internal trace" in caplog.text and "hunter2" not in caplog.text
