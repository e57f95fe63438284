"""A fake Discord on 127.0.0.1 (REST + gateway in one aiohttp app) that drives unmodified
discord.py over real sockets. Simulated users send slash commands, mentions and button clicks
through the same rules Discord applies; tests assert on what Discord received.

Facts it follows are measured in shared/notes/discord-wire.md.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from tests.fakes.discord_commands import CommandRegistry, build_options, check_permission
from tests.fakes.discord_gateway import GUILD_MESSAGES, MESSAGE_CONTENT, Gateway, Session
from tests.fakes.discord_rest import EPHEMERAL, LOADING, Rest, error, read_body, reply
from tests.fakes.discord_world import DISCORD_EPOCH_MS, Channel, User, World


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    status: int = 0


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    user: User
    channel: Channel
    name: str
    created: float = field(default_factory=time.monotonic)
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    raw_followups: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)
    edits: list[dict[str, Any]] = field(default_factory=list)
    original: dict[str, Any] | None = None
    original_deleted: bool = False
    acked_at: float | None = None
    answered_at: float | None = None  # first message the user can see

    @property
    def messages(self) -> list[dict[str, Any]]:
        """What the user can see: the original response (once not "thinking") and followups."""
        shown = [] if self.original is None or self.original_deleted else [self.original]
        return [m for m in shown if not m["flags"] & LOADING] + self.followups


@dataclass
class RateLimitRule:
    method: str
    pattern: str
    times: int
    retry_after: float


def iso_time(snowflake: int) -> str:
    ms = (snowflake >> 22) + DISCORD_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


class FakeDiscord:
    def __init__(
        self, world: World | None = None, *, ack_deadline: float = 3.0, token_lifetime: float = 15 * 60
    ) -> None:
        self.world = world or World()
        self.ack_deadline = ack_deadline
        #: an interaction's token works this long (Discord: 15 minutes), then 401 / 50027
        self.token_lifetime = token_lifetime
        self.recommended_shards = 1
        self.commands = CommandRegistry()
        self.gateway = Gateway(self)
        self.rest = Rest(self)
        self.requests: list[RecordedRequest] = []
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.interactions_by_id: dict[int, InteractionRecord] = {}
        self.interactions_by_token: dict[str, InteractionRecord] = {}
        self.rate_limits: list[RateLimitRule] = []
        self.spent_buckets: list[RateLimitRule] = []
        self.server_errors: list[BaseException] = []
        self._changed = asyncio.Condition()
        self._watched: list[asyncio.Task] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, port: int = 0) -> FakeDiscord:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(
            [
                *self.rest.routes(),
                web.get("/gateway/", self.gateway.handle),
                web.get("/", self.gateway.handle),
            ]
        )
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()

    async def go_offline(self) -> None:
        """Discord unreachable: connections are refused until :meth:`come_back`."""
        await self.stop()

    async def come_back(self) -> None:
        """Serve again on the same port, with the same world, commands and interactions."""
        await self.start(self.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway/"

    @property
    def gateway_received(self) -> list[dict[str, Any]]:
        """Every frame the bot sent on the gateway, in order."""
        return self.events["gateway_received"]

    @property
    def gateway_connects(self) -> list[dict[str, str]]:
        """The query string of every gateway connection (v, encoding, compress)."""
        return self.events["gateway_connects"]

    # -- recording and waiting -------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if request.path.startswith("/gateway") or request.path == "/":
            return await handler(request)
        path = request.path.removeprefix("/api/v10")
        body = await read_body(request) if request.can_read_body else None
        record = RecordedRequest(request.method, path, dict(request.query), dict(request.headers), body)
        response = (
            self._unauthorised(request, path)
            or self._rate_limited(request.method, path)
            or await self._call(handler, request)
        )
        self._say_bucket_spent(request.method, path, response)
        record.status = response.status
        await self.note("requests", record)
        return response

    async def _call(self, handler, request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPNotFound:
            return error(404, 0, "404: Not Found")
        except Exception as exc:  # never a 5xx: discord.py would retry it with sleeps
            self.server_errors.append(exc)
            return error(400, 50035, f"fake discord error: {exc!r}")

    def _unauthorised(self, request: web.Request, path: str) -> web.Response | None:
        """Bot routes need ``Authorization: Bot <token>``; interaction webhooks need none."""
        if path.startswith(("/interactions/", "/webhooks/")) or self.rest.authorised(request):
            return None
        return error(401, 0, "401: Unauthorized")

    def _rate_limited(self, method: str, path: str) -> web.Response | None:
        for rule in self.rate_limits:
            if rule.times > 0 and rule.method == method and re.fullmatch(rule.pattern, path):
                rule.times -= 1
                # discord.py only honours a 429 carrying Via (else it assumes a Cloudflare ban).
                return reply(
                    {
                        "message": "You are being rate limited.",
                        "global": False,
                        "retry_after": rule.retry_after,
                    },
                    429,
                    {"Via": "1.1 google", "X-RateLimit-Scope": "user", "Retry-After": str(rule.retry_after)},
                )
        return None

    def rate_limit(self, method: str, pattern: str, *, times: int = 1, retry_after: float = 0.05) -> None:
        """Answer the next ``times`` matching requests with 429."""
        self.rate_limits.append(RateLimitRule(method, pattern, times, retry_after))

    def spend_bucket(self, method: str, pattern: str, *, times: int = 1, reset_after: float = 0.05) -> None:
        """Serve the next ``times`` matching requests as usual, saying the bucket is spent
        (``X-RateLimit-Remaining: 0``) until it resets in ``reset_after`` seconds."""
        self.spent_buckets.append(RateLimitRule(method, pattern, times, reset_after))

    def _say_bucket_spent(self, method: str, path: str, response: web.StreamResponse) -> None:
        for rule in self.spent_buckets:
            if rule.times > 0 and rule.method == method and re.fullmatch(rule.pattern, path):
                rule.times -= 1
                response.headers.update(
                    {
                        "X-RateLimit-Limit": "5",
                        "X-RateLimit-Remaining": "0",
                        "X-RateLimit-Reset-After": str(rule.retry_after),
                        "X-RateLimit-Reset": str(time.time() + rule.retry_after),
                        "X-RateLimit-Bucket": "fake-bucket",
                    }
                )
                return

    async def note(self, kind: str, item: Any) -> None:
        if kind == "requests":
            self.requests.append(item)
        else:
            self.events[kind].append(item)
        async with self._changed:
            self._changed.notify_all()

    def watch(self, task: asyncio.Task) -> None:
        """Fail waits at once if ``task`` (the bot's connection) dies."""
        self._watched.append(task)
        task.add_done_callback(lambda _t: asyncio.ensure_future(self.note("watched", _t)))

    def _raise_if_broken(self) -> None:
        if self.server_errors:
            raise AssertionError("the fake failed to serve a request") from self.server_errors[0]
        for task in self._watched:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise AssertionError("the bot's connection died") from task.exception()

    async def wait_for(self, predicate: Callable[[], Any], within: float = 10.0) -> Any:
        """Wait until ``predicate()`` is truthy (re-checked on every change); return it."""

        def ready() -> Any:
            self._raise_if_broken()
            return predicate()

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(ready), within)
        return predicate()

    async def wait_for_request(
        self, method: str, pattern: str, count: int = 1, within: float = 10.0
    ) -> list[RecordedRequest]:
        def found() -> list[RecordedRequest]:
            hits = [r for r in self.requests if r.method == method and re.fullmatch(pattern, r.path)]
            return hits if len(hits) >= count else []

        return await self.wait_for(found, within)

    async def wait_for_ack(self, ix: InteractionRecord, within: float = 10.0) -> dict:
        return await self.wait_for(lambda: ix.callbacks and ix.callbacks[0], within)

    async def wait_for_final_message(self, ix: InteractionRecord, within: float = 10.0):
        """The first message the user sees (the reply, or what replaced "thinking…")."""
        return await self.wait_for(lambda: ix.messages and ix.messages[0], within)

    async def wait_for_messages_with_buttons(self, ix: InteractionRecord, within: float = 10.0):
        """All messages up to and including the one carrying components (the last of an answer)."""

        def done() -> list[dict[str, Any]]:
            shown = ix.messages
            return shown if shown and shown[-1].get("components") else []

        return await self.wait_for(done, within)

    # -- simulated users -------------------------------------------------------------------
    async def invoke_slash(
        self,
        user: User,
        channel: Channel,
        command: str,
        *,
        enforce_default_permissions: bool = True,
        **options: Any,
    ) -> InteractionRecord:
        """A user runs ``/command`` (or ``/group sub``); Discord's checks apply first."""
        name, *path = command.split()
        guild = self.world.guilds[channel.guild_id]
        schema, is_guild_command = self.commands.find(guild.id, name)
        if enforce_default_permissions:
            check_permission(schema, guild.permissions_of(user.id))
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": name,
            "type": 1,
            "options": build_options(schema, path, options),
        }
        if is_guild_command:
            data["guild_id"] = str(guild.id)
        return await self._interact(user, channel, 2, data, command, {})

    async def click_button(self, user: User, message: dict[str, Any], custom_id: str) -> InteractionRecord:
        """A user clicks the button ``custom_id`` on ``message`` (a component interaction)."""
        ids = [c.get("custom_id") for row in message.get("components", []) for c in row.get("components", [])]
        if custom_id not in ids:
            raise LookupError(f"no button {custom_id!r} on that message (has {ids})")
        channel = self.world.channel(int(message["channel_id"]))
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(user, channel, 3, data, custom_id, {"message": message})

    async def _interact(
        self, user: User, channel: Channel, kind: int, data: dict[str, Any], name: str, extra: dict[str, Any]
    ) -> InteractionRecord:
        w = self.world
        guild = w.guilds[channel.guild_id]
        ix = InteractionRecord(w.ids.next(), f"tok{w.ids.next()}", kind, user, channel, name)
        self.interactions_by_id[ix.id] = ix
        self.interactions_by_token[ix.token] = ix
        payload = {
            "id": str(ix.id),
            "application_id": str(w.app_id),
            "type": kind,
            "token": ix.token,
            "version": 1,
            "attachment_size_limit": 10 * 1024 * 1024,
            "guild_id": str(guild.id),
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "member": guild.members[user.id].payload(guild.permissions_of(user.id)),
            "app_permissions": str(guild.permissions_of(w.bot_user.id)),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(guild.id)},
            "data": data,
            **extra,
        }
        await self.gateway.broadcast("INTERACTION_CREATE", payload, None, guild.id)
        return ix

    async def send_message(
        self,
        user: User,
        channel: Channel,
        content: str,
        *,
        reply_to: dict[str, Any] | None = None,
        ping_reply: bool = True,
    ) -> dict[str, Any]:
        """A user posts ``content``; ``<@id>`` mentions and replies are parsed like Discord."""
        guild = self.world.guilds[channel.guild_id]
        mentioned = [int(m) for m in re.findall(r"<@!?(\d+)>", content)]
        if reply_to is not None and ping_reply:
            mentioned.append(int(reply_to["author"]["id"]))
        mentions = [
            self.world.users[i].payload() | {"member": guild.members[i].payload()}
            for i in dict.fromkeys(mentioned)
            if i in guild.members
        ]
        message = self._message(channel, user, {"content": content}) | {
            "mentions": mentions,
            "member": guild.members[user.id].payload(),
            "mention_roles": re.findall(r"<@&(\d+)>", content),
            "mention_everyone": "@everyone" in content,
        }
        if reply_to is not None:
            message |= {
                "type": 19,
                "referenced_message": reply_to,
                "message_reference": {
                    "message_id": reply_to["id"],
                    "channel_id": str(channel.id),
                    "guild_id": str(guild.id),
                    "type": 0,
                },
            }
        await self.post_to_channel(message)
        return message

    async def drop_gateway(self, code: int = 4000) -> None:
        """Close the bot's gateway socket(s) from the server side."""
        await self.gateway.drop(code)

    # -- messages --------------------------------------------------------------------------
    def _message(
        self, channel: Channel, author: User, body: dict[str, Any], message_id: int | None = None
    ) -> dict[str, Any]:
        mid = message_id or self.world.ids.next()
        return {
            "id": str(mid),
            "type": 0,
            "channel_id": str(channel.id),
            "guild_id": str(channel.guild_id),
            "author": author.payload(),
            "content": body.get("content") or "",
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "attachments": [],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": False,
            "timestamp": iso_time(mid),
            "edited_timestamp": None,
            "flags": int(body.get("flags") or 0),
            "allowed_mentions": body.get("allowed_mentions"),
        }

    def bot_message(
        self,
        channel: Channel,
        body: dict[str, Any],
        ix: InteractionRecord | None,
        message_id: int | None = None,
    ) -> dict[str, Any]:
        message = self._message(channel, self.world.bot_user, body, message_id)
        allowed = body.get("allowed_mentions")
        # Discord pings @everyone from content only if allowed_mentions lets it.
        message["mention_everyone"] = "@everyone" in message["content"] and (
            allowed is None or "everyone" in allowed.get("parse", [])
        )
        if body.get("message_reference"):
            message["type"] = 19
            message["message_reference"] = body["message_reference"]
        if ix is not None:
            message |= {
                "webhook_id": str(self.world.app_id),
                "application_id": str(self.world.app_id),
                "interaction_metadata": {
                    "id": str(ix.id),
                    "type": ix.type,
                    "user": ix.user.payload(),
                    "authorizing_integration_owners": {},
                },
            }
        return message

    async def post_to_channel(self, message: dict[str, Any]) -> None:
        """A visible message lands in its channel and is dispatched (bots see their own)."""
        if message["flags"] & (EPHEMERAL | LOADING):
            return
        channel = self.world.channel(int(message["channel_id"]))
        channel.messages.append(message)
        await self.note("messages", message)
        await self.gateway.broadcast("MESSAGE_CREATE", message, GUILD_MESSAGES, channel.guild_id)

    def shape_for(self, session: Session, event: str, data: dict[str, Any]) -> dict[str, Any]:
        """Blank message content for sessions without MESSAGE_CONTENT, as Discord does."""
        if event != "MESSAGE_CREATE" or session.has(MESSAGE_CONTENT):
            return data
        bot_id = str(self.world.bot_user.id)
        if data["author"]["id"] == bot_id or any(m["id"] == bot_id for m in data["mentions"]):
            return data
        return data | {"content": "", "embeds": [], "attachments": [], "components": []}

    def messages_in(self, channel: Channel) -> list[dict[str, Any]]:
        return list(channel.messages)
