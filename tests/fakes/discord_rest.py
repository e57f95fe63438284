"""The fake Discord's REST API, as far as discord.py 2.7 uses it for this bot.

Every body is JSON with ``Content-Type: application/json`` exactly (discord.py compares the
header as a string). Interaction callbacks and webhooks take no Authorization, like Discord.
"""

from __future__ import annotations

import json
import re
import time
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.fakes.discord_server import FakeDiscord, InteractionRecord

EPHEMERAL, LOADING = 64, 128


def reply(data: Any = None, status: int = 200, headers: dict[str, str] | None = None):
    if status == 204:
        return web.Response(status=204)
    body = json.dumps(data).encode()
    return web.Response(
        body=body, status=status, headers={"Content-Type": "application/json", **(headers or {})}
    )


def error(status: int, code: int, message: str) -> web.Response:
    return reply({"message": message, "code": code}, status)


async def read_body(request: web.Request) -> Any:
    """JSON, or the payload_json part of a multipart body (sent when files are attached)."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if getattr(part, "name", None) == "payload_json":
                return json.loads(await part.text())  # type: ignore[union-attr]
        return {}
    raw = await request.read()
    return json.loads(raw) if raw else None


#: Discord's limits on a message (docs: Channel > Create Message, Embed Limits, Components)
CONTENT_MAX, EMBEDS_MAX, EMBED_TOTAL_MAX = 2000, 10, 6000
EMBED_TEXT_MAX = {"title": 256, "description": 4096}
FIELDS_MAX, FIELD_NAME_MAX, FIELD_VALUE_MAX, FOOTER_MAX, AUTHOR_MAX = 25, 256, 1024, 2048, 256
ROWS_MAX, ROW_ITEMS_MAX, LABEL_MAX, CUSTOM_ID_MAX = 5, 5, 80, 100


class InvalidFormBody(ValueError):
    """What Discord answers 400 / 50035 to: a message over one of its limits."""


def check_limits(body: dict[str, Any] | None) -> None:
    """Raise :class:`InvalidFormBody` naming the first limit ``body`` breaks, as Discord would."""
    if not body:
        return
    problems = []
    if len(body.get("content") or "") > CONTENT_MAX:
        problems.append(f"content is {len(body['content'])} characters (max {CONTENT_MAX})")
    embeds = body.get("embeds") or []
    if len(embeds) > EMBEDS_MAX:
        problems.append(f"{len(embeds)} embeds (max {EMBEDS_MAX})")
    total = 0
    for i, embed in enumerate(embeds):
        for key, limit in EMBED_TEXT_MAX.items():
            size = len(embed.get(key) or "")
            total += size
            if size > limit:
                problems.append(f"embeds[{i}].{key} is {size} characters (max {limit})")
        fields = embed.get("fields") or []
        if len(fields) > FIELDS_MAX:
            problems.append(f"embeds[{i}] has {len(fields)} fields (max {FIELDS_MAX})")
        for j, field in enumerate(fields):
            name, value = len(field.get("name") or ""), len(field.get("value") or "")
            total += name + value
            if name > FIELD_NAME_MAX or value > FIELD_VALUE_MAX:
                problems.append(f"embeds[{i}].fields[{j}] is {name}/{value} characters (max 256/1024)")
        for key, limit in (("footer", FOOTER_MAX), ("author", AUTHOR_MAX)):
            text = len((embed.get(key) or {}).get("text" if key == "footer" else "name") or "")
            total += text
            if text > limit:
                problems.append(f"embeds[{i}].{key} is {text} characters (max {limit})")
    if total > EMBED_TOTAL_MAX:
        problems.append(f"the embeds hold {total} characters in all (max {EMBED_TOTAL_MAX})")
    rows = body.get("components") or []
    if len(rows) > ROWS_MAX:
        problems.append(f"{len(rows)} action rows (max {ROWS_MAX})")
    for row in rows:
        items = row.get("components") or []
        if len(items) > ROW_ITEMS_MAX:
            problems.append(f"an action row of {len(items)} items (max {ROW_ITEMS_MAX})")
        for item in items:
            if len(item.get("label") or "") > LABEL_MAX or len(item.get("custom_id") or "") > CUSTOM_ID_MAX:
                problems.append(f"a button's label or custom_id is too long: {item}")
    if problems:
        raise InvalidFormBody("Invalid Form Body: " + "; ".join(problems))


class Rest:
    def __init__(self, fake: FakeDiscord) -> None:
        self.fake = fake
        self.world = fake.world

    def routes(self) -> list[web.RouteDef]:
        p = "/api/v10"
        return [
            web.get(p + "/users/@me", self.me),
            web.get(p + "/oauth2/applications/@me", self.application),
            web.get(p + "/gateway", self.gateway),
            web.get(p + "/gateway/bot", self.gateway_bot),
            web.put(p + "/applications/{app}/commands", self.sync),
            web.put(p + "/applications/{app}/guilds/{guild}/commands", self.sync),
            web.post(p + "/interactions/{id}/{token}/callback", self.callback),
            web.post(p + "/webhooks/{app}/{token}", self.followup),
            web.get(p + "/webhooks/{app}/{token}/messages/{mid}", self.get_webhook_message),
            web.patch(p + "/webhooks/{app}/{token}/messages/{mid}", self.edit_webhook_message),
            web.delete(p + "/webhooks/{app}/{token}/messages/{mid}", self.delete_webhook_message),
            web.post(p + "/channels/{channel}/typing", self.typing),
            web.post(p + "/channels/{channel}/messages", self.create_message),
        ]

    def authorised(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.world.token}"

    async def me(self, request: web.Request) -> web.Response:
        return reply(self.world.bot_user.payload() | {"verified": True, "mfa_enabled": False, "flags": 0})

    async def application(self, request: web.Request) -> web.Response:
        w = self.world
        return reply(
            {
                "id": str(w.app_id),
                "name": "newsdesk",
                "description": "",
                "icon": None,
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": w.owner.payload(),
                "verify_key": "0" * 64,
                "flags": 0,
                "interactions_endpoint_url": None,
                "team": None,
            }
        )

    async def gateway(self, request: web.Request) -> web.Response:
        return reply({"url": self.fake.gateway_url})

    async def gateway_bot(self, request: web.Request) -> web.Response:
        return reply(
            {
                "url": self.fake.gateway_url,
                "shards": self.fake.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 1000,
                    "reset_after": 0,
                    "max_concurrency": 16,
                },
            }
        )

    async def sync(self, request: web.Request) -> web.Response:
        guild = request.match_info.get("guild")
        stored = self.fake.commands.overwrite(
            int(guild) if guild else None, await read_body(request), self.world.ids
        )
        for command in stored:
            command["application_id"] = str(self.world.app_id)
            if guild:
                command["guild_id"] = guild
        await self.fake.note("syncs", guild)
        return reply(stored)

    async def callback(self, request: web.Request) -> web.Response:
        ix = self.fake.interactions_by_id.get(int(request.match_info["id"]))
        if ix is None or ix.token != request.match_info["token"]:
            return error(404, 10062, "Unknown interaction")
        if time.monotonic() - ix.created > self.fake.ack_deadline:
            return error(404, 10062, "Unknown interaction")
        if ix.callbacks:
            return error(400, 40060, "Interaction has already been acknowledged.")
        body = await read_body(request)
        check_limits(body.get("data"))
        ix.callbacks.append(body)
        ix.acked_at = time.monotonic()
        kind, data = body["type"], body.get("data") or {}
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            ix.original = self.fake.bot_message(ix.channel, data | {"flags": flags}, ix)
            if kind == 4:
                ix.answered_at = ix.acked_at
                await self.fake.post_to_channel(ix.original)
        await self.fake.note("acks", ix.id)
        resource: dict[str, Any] = {"type": kind}
        if kind == 4 and ix.original:
            resource["message"] = ix.original
        return reply(
            {
                "interaction": {
                    "id": str(ix.id),
                    "type": ix.type,
                    "response_message_id": ix.original["id"] if ix.original else None,
                    "response_message_loading": kind == 5,
                    "response_message_ephemeral": bool(ix.original and ix.original["flags"] & EPHEMERAL),
                },
                "resource": resource,
            }
        )

    def _webhook(self, request: web.Request) -> InteractionRecord | None:
        return self.fake.interactions_by_token.get(request.match_info["token"])

    def _expired(self, ix: InteractionRecord | None) -> web.Response | None:
        """Discord's answer to a webhook call with a token older than 15 minutes."""
        if ix is not None and time.monotonic() - ix.created > self.fake.token_lifetime:
            return error(401, 50027, "Invalid Webhook Token")
        return None

    async def followup(self, request: web.Request) -> web.Response:
        ix = self._webhook(request)
        if expired := self._expired(ix):
            return expired
        if ix is None or not ix.callbacks:
            return error(404, 10015, "Unknown Webhook")
        body = await read_body(request)
        check_limits(body)
        ix.raw_followups.append(body)
        original = ix.original
        if original is not None and original["flags"] & LOADING and not ix.original_deleted:
            # The first followup after a defer replaces "thinking…", keeping its visibility.
            keep = original["flags"] & EPHEMERAL
            ix.original = message = self.fake.bot_message(
                ix.channel, body | {"flags": keep}, ix, message_id=int(original["id"])
            )
        else:
            message = self.fake.bot_message(ix.channel, body, ix)
            ix.followups.append(message)
        ix.answered_at = ix.answered_at or time.monotonic()
        await self.fake.post_to_channel(message)
        await self.fake.note("followups", ix.id)
        return reply(message)

    def _target(self, ix: InteractionRecord, mid: str) -> dict[str, Any] | None:
        if mid == "@original":
            return None if ix.original_deleted else ix.original
        return next((m for m in ix.followups if m["id"] == mid), None)

    async def get_webhook_message(self, request: web.Request) -> web.Response:
        ix = self._webhook(request)
        if expired := self._expired(ix):
            return expired
        target = ix and self._target(ix, request.match_info["mid"])
        return reply(target) if target else error(404, 10008, "Unknown Message")

    async def edit_webhook_message(self, request: web.Request) -> web.Response:
        ix = self._webhook(request)
        if expired := self._expired(ix):
            return expired
        target = ix and self._target(ix, request.match_info["mid"])
        if not target:
            return error(404, 10008, "Unknown Message")
        body = await read_body(request)
        check_limits(body)
        ix.edits.append(body)  # type: ignore[union-attr]
        for key in ("content", "embeds", "components", "allowed_mentions"):
            if key in body:
                target[key] = body[key]
        target["flags"] &= ~LOADING
        await self.fake.note("edits", ix.id)  # type: ignore[union-attr]
        return reply(target)

    async def delete_webhook_message(self, request: web.Request) -> web.Response:
        ix = self._webhook(request)
        if expired := self._expired(ix):
            return expired
        if ix is None or not self._target(ix, request.match_info["mid"]):
            return error(404, 10008, "Unknown Message")
        if request.match_info["mid"] == "@original":
            ix.original_deleted = True
        await self.fake.note("deletes", ix.id)
        return reply(status=204)

    async def typing(self, request: web.Request) -> web.Response:
        if not self.world.channel(int(request.match_info["channel"])).bot_can_send:
            return error(403, 50013, "Missing Permissions")
        await self.fake.note("typing", int(request.match_info["channel"]))
        return reply(status=204)

    async def create_message(self, request: web.Request) -> web.Response:
        channel = self.world.channel(int(request.match_info["channel"]))
        if not channel.bot_can_send:
            return error(403, 50013, "Missing Permissions")
        body = await read_body(request)
        check_limits(body)
        message = self.fake.bot_message(channel, body, None)
        await self.fake.post_to_channel(message)
        return reply(message)


def path_matches(pattern: str, path: str) -> bool:
    return re.fullmatch(pattern, path) is not None
