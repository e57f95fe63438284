"""A scripted OpenAI-compatible server on 127.0.0.1, for tests that use the real ``openai`` client.

Each test queues the actions the server takes for the next requests (``server.queue(...)``);
when the queue is empty it asks ``server.script`` (a function of the request body), and without
one it answers 400 "no scripted reply", which the client does not retry. Every request is
recorded with its headers and JSON body.

    async with FakeLLMServer() as server:
        server.queue(Fail(429, {"Retry-After": "0.2"}), Reply("It did [P1]."))
        client = openai.AsyncOpenAI(base_url=server.base_url, api_key="k", max_retries=0)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(frozen=True)
class Reply:
    """A completion with ``text``; streamed a word at a time when the client asks for a stream.

    With ``stall_after`` the stream sends that many pieces and then hangs for ``stall_s``.
    """

    text: str
    stall_after: int | None = None
    stall_s: float = 0.0
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fail:
    """An error status with an OpenAI-shaped error body and optional headers (Retry-After)."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = "scripted failure"
    code: str | None = None


@dataclass(frozen=True)
class Hang:
    """Send nothing for ``seconds`` (the client should time out first), then a reply."""

    seconds: float
    then: Reply = field(default_factory=lambda: Reply("(too late)"))


@dataclass(frozen=True)
class Drip:
    """A 200 whose body arrives one byte every ``every_s`` seconds for ``seconds`` (blank space
    in a JSON body; SSE comment lines in a stream) before the reply: no read ever times out."""

    seconds: float
    every_s: float = 0.1
    then: Reply = field(default_factory=lambda: Reply("(too late)"))


@dataclass(frozen=True)
class Malformed:
    """A 200 response whose body is not valid JSON (or, in a stream, a broken data line)."""

    body: str = '{"id": "chatcmpl-broken", "choices": [{"message": '


@dataclass(frozen=True)
class Empty:
    """A well-formed completion with no content."""


Action = Reply | Fail | Hang | Drip | Malformed | Empty
Script = Callable[[dict[str, Any]], Action]


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def prompt(self) -> str:
        """All message contents of a chat request, joined (for assertions on the prompt)."""
        return "\n".join(str(m.get("content", "")) for m in self.body.get("messages", []))


def hashed_embedding(text: str, dims: int = 64) -> list[float]:
    """A deterministic bag-of-words vector: texts sharing words have a high cosine."""
    vector = [0.0] * dims
    for word in re.findall(r"\w+", text.lower()):
        digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
        vector[int.from_bytes(digest, "big") % dims] += 1.0
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


class FakeLLMServer:
    """``/v1/chat/completions`` (JSON and SSE) and ``/v1/embeddings`` on a loopback port."""

    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.script: Script | None = None
        self.errors: list[Exception] = []
        self._actions: deque[Action] = deque()
        self._embedding_failures: deque[Fail] = deque()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    def queue(self, *actions: Action) -> None:
        """Take these actions, in order, for the next chat requests."""
        self._actions.extend(actions)

    def fail_embeddings(self, *failures: Fail) -> None:
        """Answer the next embeddings requests with these failures (then embed as usual)."""
        self._embedding_failures.extend(failures)

    @property
    def embedding_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/embeddings")]

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    async def start(self) -> FakeLLMServer:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_get("/v1/models", self._models)
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def stop(self) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeLLMServer:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _record(self, request: web.Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = {}
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body, time.monotonic()))
        return body if isinstance(body, dict) else {}

    def _next_action(self, body: dict[str, Any]) -> Action | None:
        if self._actions:
            return self._actions.popleft()
        return self.script(body) if self.script else None

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            pass

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await self._record(request)
        try:
            action = self._next_action(body)
        except Exception as exc:  # a broken script: fail the request visibly, no retries
            self.errors.append(exc)
            return _error(400, f"fake server: the script raised {exc!r}")
        if action is None:
            return _error(400, "fake server: no scripted reply left for this request")
        if isinstance(action, Hang):
            await self._pause(action.seconds)
            action = action.then
        if isinstance(action, Fail):
            return _error(action.status, action.message, action.code, action.headers)
        if isinstance(action, Drip):
            return await self._drip(request, action, bool(body.get("stream")))
        if body.get("stream"):
            return await self._stream(request, action)
        if isinstance(action, Malformed):
            return web.Response(text=action.body, content_type="application/json")
        text = action.text if isinstance(action, Reply) else ""
        reason = action.finish_reason if isinstance(action, Reply) else "stop"
        return web.json_response(self._completion(text, reason))

    def _completion(self, text: str, finish_reason: str) -> dict[str, Any]:
        return {
            "id": "chatcmpl-fake",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        chunk = {
            "id": "chatcmpl-fake",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }
        return f"data: {json.dumps(chunk)}\n\n".encode()

    async def _drip(self, request: web.Request, action: Drip, stream: bool) -> web.StreamResponse:
        kind = "text/event-stream; charset=utf-8" if stream else "application/json"
        response = web.StreamResponse(headers={"Content-Type": kind})
        await response.prepare(request)
        if stream:
            await response.write(self._chunk({"role": "assistant", "content": "", "refusal": None}))
        ends = time.monotonic() + action.seconds
        try:
            while time.monotonic() < ends and not self._closing.is_set():
                await response.write(b": .\n\n" if stream else b" ")
                await asyncio.sleep(action.every_s)
            if stream:
                await response.write(self._chunk({"content": action.then.text}))
                await response.write(self._chunk({}, "stop") + b"data: [DONE]\n\n")
            else:
                await response.write(json.dumps(self._completion(action.then.text, "stop")).encode())
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):  # the client gave up, as it should
            pass
        return response

    async def _stream(self, request: web.Request, action: Action) -> web.StreamResponse:
        headers = {"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
        response = web.StreamResponse(headers=headers)
        await response.prepare(request)
        await response.write(self._chunk({"role": "assistant", "content": "", "refusal": None}))
        if isinstance(action, Malformed):
            await response.write(f"data: {action.body}\n\n".encode())
        elif isinstance(action, Reply):
            for i, piece in enumerate(re.findall(r"\S+\s*|\s+", action.text)):
                if action.stall_after is not None and i == action.stall_after:
                    await self._pause(action.stall_s)
                await response.write(self._chunk({"content": piece}))
        reason = action.finish_reason if isinstance(action, Reply) else "stop"
        await response.write(self._chunk({}, reason))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response

    async def _models(self, request: web.Request) -> web.Response:
        self.requests.append(RecordedRequest(request.path, dict(request.headers), {}, time.monotonic()))
        return web.json_response(
            {"object": "list", "data": [{"id": self.model, "object": "model", "owned_by": "fake"}]}
        )

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if self._embedding_failures:
            failure = self._embedding_failures.popleft()
            return _error(failure.status, failure.message, failure.code, failure.headers)
        inputs = body.get("input", [])
        texts = [inputs] if isinstance(inputs, str) else list(inputs)
        data = [
            {"object": "embedding", "index": i, "embedding": hashed_embedding(str(text))}
            for i, text in enumerate(texts)
        ]
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": body.get("model", self.model),
                "usage": {"prompt_tokens": len(texts), "total_tokens": len(texts)},
            }
        )


def _error(
    status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": "fake_error", "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers or {})


__all__ = [
    "Action",
    "Drip",
    "Empty",
    "Fail",
    "FakeLLMServer",
    "Hang",
    "Malformed",
    "RecordedRequest",
    "Reply",
    "Script",
    "hashed_embedding",
]
